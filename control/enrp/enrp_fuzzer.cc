// libFuzzer target for the ENRP server (RFC 5353): a sequence of messages
// from a few peers, with time passing between them, drives the whole state
// machine (peer table, downloads, updates, takeovers, audits) over an inline
// handlespace shard. Input: records of [peer (1 byte)][milliseconds to
// advance (1 byte)][length (2 bytes)][message]. Nothing may crash, and every
// shard command must be answered.

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "control/asap/asap_server.h"
#include "control/config.h"
#include "control/enrp/enrp_server.h"
#include "dataplane/shard_executor.h"
#include "dataplane/transport.h"
#include "protocol/codec.h"

namespace {

using rspd::dataplane::AssocRef;

// Takes every message; its size must fit the 16-bit length (RFC 5354 §4).
class Sink final : public rspd::dataplane::MessageSender, public rspd::dataplane::AddressedSender {
 public:
  bool Send(const AssocRef&, uint16_t, uint32_t, absl::Span<const uint8_t> m) override {
    if (m.size() > 0xffff) abort();
    return true;
  }
  bool SendTo(const rspd::protocol::IpAddress&, uint16_t, uint16_t, uint16_t, uint32_t,
              absl::Span<const uint8_t> m) override {
    if (m.size() > 0xffff) abort();
    return true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rspd::control::RegistrarConfig config;
  config.server_id = 1;
  config.enrp_peers = {{"127.0.0.1", 9900}};
  config.max_elements_per_table_response = 4;
  config.peer_heartbeat_cycle = absl::Milliseconds(100);
  config.max_time_last_heard = absl::Milliseconds(200);
  config.max_time_no_response = absl::Milliseconds(100);
  config.takeover_expiry = absl::Milliseconds(100);
  config.mentor_discovery_timeout = absl::Milliseconds(100);
  rspd::dataplane::ShardExecutor shards({});
  Sink sink;
  rspd::control::AsapServer asap(config, &shards, &sink, nullptr, &sink);
  rspd::control::EnrpServer::DirectHost host(&shards, &asap);
  rspd::control::EnrpServer enrp(config, &host, &sink, &sink);
  asap.set_observer(&enrp);
  static int peers[4];
  uint64_t now = 1000;
  const auto collect = [&] { rspd::control::CollectShardAnswers(shards, asap, enrp, now); };
  enrp.Start(9899, now);
  while (size >= 4) {
    const uint8_t who = data[0] & 3;
    now += data[1];
    const size_t length = std::min<size_t>(size - 4, static_cast<size_t>(data[2] << 8 | data[3]));
    rspd::dataplane::InboundMessage in;
    in.from = AssocRef{&peers[who], who};
    in.local_port = config.enrp_port;
    in.remote_port = config.enrp_port;
    in.remote_ip = *rspd::protocol::IpAddress::Parse("127.0.0.1");
    in.remote_udp_port = static_cast<uint16_t>(9900 + who);
    in.ppid = rspd::protocol::kEnrpPpid;
    in.data = absl::MakeConstSpan(data + 4, length);
    rspd::protocol::Message m;
    rspd::protocol::DecodeError error;
    if (rspd::protocol::DecodeMessage(rspd::protocol::Protocol::kEnrp, in.data, &m, &error)) {
      enrp.OnMessage(in, m, now);
    } else {
      enrp.OnUndecodable(in, error);
    }
    collect();
    enrp.OnTimer(now);
    asap.OnTimer(now);
    collect();
    data += 4 + length;
    size -= 4 + length;
  }
  if (enrp.in_flight() != 0 || shards.in_flight() != 0) abort();
  return 0;
}
