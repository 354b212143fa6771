// enrp_mentor: an in-process load generator for bench/enrp.sh. It plays an
// ENRP server (RFC 5353) that owns --pes PEs (pools bulk0..bulk999, round
// robin) and is the mentor of the rspd that lists it as its peer: it answers
// PRESENCE and hands its handle table out in HANDLE_TABLE_RESPONSEs of
// --chunk PEs (§3.2.3), so that a registrar holds a million PEs within
// seconds instead of the minutes a million ASAP registrations take. It sends
// a PRESENCE every 500 ms until it is killed, which the benchmark does to
// time the takeover of its PEs.
//
// Its PEs' ASAP transport names its own endpoint (one SCTP-over-UDP
// endpoint), so that the H-bit keep-alives after a takeover go to one place.
//
// Usage: enrp_mentor --udp_port=U --server_id=N --pes=1000000

#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/sctp_association.h"
#include "protocol/codec.h"
#include "protocol/pool_element.h"
#include "protocol/pool_element_codec.h"

ABSL_FLAG(uint16_t, udp_port, 0, "this process's SCTP-over-UDP port");
ABSL_FLAG(uint32_t, server_id, 0x10ad, "the server ID it plays");
ABSL_FLAG(uint32_t, pes, 1000000, "PEs it owns");
ABSL_FLAG(uint32_t, chunk, 800, "PEs per HANDLE_TABLE_RESPONSE");

namespace {

using rspd::protocol::EnrpType;
using rspd::protocol::Message;

constexpr uint32_t kPools = 1000;

std::vector<uint8_t> Header(EnrpType type, uint32_t sender, uint8_t flags) {
  Message m;
  m.protocol = rspd::protocol::Protocol::kEnrp;
  m.type = static_cast<uint8_t>(type);
  m.flags = flags;
  m.sender_id = sender;
  return rspd::protocol::EncodeMessageToVector(m);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const uint16_t udp_port = absl::GetFlag(FLAGS_udp_port);
  const uint32_t id = absl::GetFlag(FLAGS_server_id);
  const uint32_t total = absl::GetFlag(FLAGS_pes);
  const uint32_t chunk = absl::GetFlag(FLAGS_chunk);
  if (absl::Status s = rspd::client::StartSctp(udp_port); !s.ok()) {
    fprintf(stderr, "enrp_mentor: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  rspd::protocol::PoolElement pe;
  pe.home = id;
  pe.registration_life = 30;
  pe.user.type = rspd::protocol::ParamType::kSctpTransport;
  pe.user.port = 7;
  pe.user.addresses.push_back(rspd::protocol::IpAddress::V4(0x7f000001));
  pe.asap.port = 4000;
  pe.asap.udp_port = udp_port;
  pe.asap.addresses.push_back(rspd::protocol::IpAddress::V4(0x7f000001));

  std::mutex mu;
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> outbox;  // (assoc, message)
  uint32_t next = 0;  // the next PE of the download (one downloader at a time)
  std::unique_ptr<rspd::client::SctpServer> server;
  auto on_message = [&](uint32_t assoc, uint32_t ppid, absl::Span<const uint8_t> data) {
    if (ppid != rspd::protocol::kEnrpPpid) return;
    Message m;
    rspd::protocol::DecodeError error;
    if (!rspd::protocol::DecodeMessage(rspd::protocol::Protocol::kEnrp, data, &m, &error)) return;
    std::lock_guard<std::mutex> lock(mu);
    if (m.type == static_cast<uint8_t>(EnrpType::kPresence) &&
        (m.flags & rspd::protocol::kFlagReplyRequired)) {
      outbox.emplace_back(assoc, Header(EnrpType::kPresence, id, 0));
    } else if (m.type == static_cast<uint8_t>(EnrpType::kHandleTableRequest)) {
      // One chunk, PEs grouped by pool (RFC 5353 §2.3): PE i is in pool
      // bulk(i / (total / kPools)).
      std::vector<uint8_t> buffer(rspd::protocol::kMaxMessageSize);
      rspd::protocol::Writer w(absl::MakeSpan(buffer));
      rspd::protocol::BeginMessage(w, static_cast<uint8_t>(EnrpType::kHandleTableResponse), 0);
      w.U32(id);
      w.U32(m.sender_id);
      const uint32_t per_pool = std::max<uint32_t>(1, total / kPools);
      uint32_t pool = UINT32_MAX;
      const uint32_t end = std::min(total, next + chunk);
      for (; next < end; ++next) {
        if (next / per_pool != pool) {
          pool = next / per_pool;
          rspd::protocol::EncodePoolHandle(w, absl::StrCat("bulk", pool));
        }
        pe.id = next + 1;
        rspd::protocol::EncodePoolElement(w, pe, /*with_udp_port=*/true);
      }
      const size_t n = rspd::protocol::FinishMessage(w);
      buffer.resize(n);
      if (next < total)
        buffer[1] = rspd::protocol::kFlagMoreToSend;
      else
        next = 0;  // the next download starts over
      outbox.emplace_back(assoc, std::move(buffer));
    }
  };
  std::vector<uint32_t> associations;
  auto on_event = [&](uint32_t assoc, bool up) {
    std::lock_guard<std::mutex> lock(mu);
    if (up) associations.push_back(assoc);
  };
  auto listening =
      rspd::client::SctpServer::Listen(rspd::protocol::kEnrpPort, on_message, on_event);
  if (!listening.ok()) {
    fprintf(stderr, "enrp_mentor: %s\n", std::string(listening.status().message()).c_str());
    return 1;
  }
  server = std::move(*listening);
  printf("enrp_mentor: server 0x%08x with %u PEs on UDP port %u\n", id, total, udp_port);
  fflush(stdout);
  absl::Time next_presence = absl::Now();
  while (true) {
    std::vector<std::pair<uint32_t, std::vector<uint8_t>>> sending;
    {
      std::lock_guard<std::mutex> lock(mu);
      sending.swap(outbox);
      if (absl::Now() >= next_presence) {
        next_presence = absl::Now() + absl::Milliseconds(500);
        for (uint32_t a : associations) {
          sending.emplace_back(a, Header(EnrpType::kPresence, id, 0));
        }
      }
    }
    for (auto& [assoc, bytes] : sending) {
      // Waits for room in the send buffer rather than dropping a chunk (a
      // gone association gives up after a while).
      for (int tries = 0; tries < 10000; ++tries) {
        if (server->Send(assoc, rspd::protocol::kEnrpPpid, bytes).ok()) break;
        absl::SleepFor(absl::Microseconds(200));
      }
    }
    if (sending.empty()) absl::SleepFor(absl::Microseconds(200));
  }
}
