// `rspctl peers` and `rspctl dump`: what a registrar's ENRP server knows
// (RFC 5353), asked over its ENRP port as an operator's tool (Sending Server
// ID 0: answered, never taken for a peer; docs/decisions.md).
//
//   peers: LIST_REQUEST (§2.5) for the servers it knows, and the handle
//          table for what each owns and the checksum of that (§3.6.2), as
//          the registrar sees it.
//   dump:  every PE with its owner, from HANDLE_TABLE_REQUESTs (§2.2), one
//          chunk per request while the M bit says more (§3.2.3).
//
// With the --tls_* flags both run over ENRP's TLS port (docs/security.md).

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/asap_session.h"
#include "client/sctp_association.h"
#include "handlespace/pe_checksum.h"
#include "protocol/address.h"
#include "protocol/codec.h"
#include "protocol/pool_element_codec.h"
#include "tools/rspctl_commands.h"
#include "tools/rspctl_flags.h"
#include "tools/rspctl_print.h"

ABSL_FLAG(int64_t, enrp_port, 0,
          "peers, dump: the registrar's ENRP SCTP port (0: 9901, or 9902 with the --tls_* flags)");

namespace rspd::tools {
namespace {

constexpr absl::Duration kTimeout = absl::Seconds(5);

struct Entry {
  std::string pool;
  protocol::PoolElement pe;
};

// An ENRP request from an operator's tool: sender and receiver 0.
std::vector<uint8_t> Request(protocol::EnrpType type) {
  protocol::Message m;
  m.protocol = protocol::Protocol::kEnrp;
  m.type = static_cast<uint8_t>(type);
  return protocol::EncodeMessageToVector(m);
}

// One association to the registrar's ENRP port, over TLS with the --tls_*
// flags (docs/security.md: ENRP 9902; the tool needs an identity the
// registrar's policy lets monitor), in plaintext without them.
class EnrpLink {
 public:
  static absl::StatusOr<std::unique_ptr<EnrpLink>> Connect() {
    absl::StatusOr<client::RegistrarAddress> registrar = RegistrarFromFlags();
    if (!registrar.ok()) return registrar.status();
    const bool secure = registrar->tls != nullptr;
    int64_t port = absl::GetFlag(FLAGS_enrp_port);
    if (port == 0) port = secure ? protocol::kEnrpTlsPort : protocol::kEnrpPort;
    if (absl::Status s = CheckRange("--enrp_port", port, 1, kMaxPort); !s.ok()) return s;
    std::unique_ptr<EnrpLink> link(new EnrpLink());
    EnrpLink* self = link.get();
    auto server = client::SctpServer::Listen(
        0,
        [self](uint32_t, uint32_t ppid, absl::Span<const uint8_t> data) {
          std::lock_guard<std::mutex> lock(self->mu_);
          self->inbox_.push_back({ppid, std::vector<uint8_t>(data.begin(), data.end())});
          self->cv_.notify_all();
        },
        [self](uint32_t, bool up) {
          std::lock_guard<std::mutex> lock(self->mu_);
          (up ? self->up_ : self->down_) = true;
          self->cv_.notify_all();
        },
        {registrar->tls, protocol::kEnrpPpid});
    if (!server.ok()) return server.status();
    link->server_ = std::move(*server);
    auto assoc =
        link->server_->Connect(registrar->host, static_cast<uint16_t>(port), registrar->udp_port);
    if (!assoc.ok()) return assoc.status();
    link->assoc_ = *assoc;
    std::unique_lock<std::mutex> lock(link->mu_);
    if (!link->cv_.wait_for(lock, absl::ToChronoMilliseconds(kTimeout),
                            [&] { return link->up_ || link->down_; }) ||
        !link->up_) {
      const std::string tls_error = link->server_->tls_error();
      return absl::UnavailableError(absl::StrCat(
          "no association to ", protocol::JoinHostPort(registrar->host, registrar->udp_port),
          " ENRP port ", port, tls_error.empty() ? "" : ": TLS: ", tls_error));
    }
    return link;
  }

  absl::Status Send(absl::Span<const uint8_t> message) {
    return server_->Send(assoc_, protocol::kEnrpPpid, message);
  }

  // The next ENRP message of `type`, decoded into *m (its views point into
  // *bytes).
  absl::Status Await(protocol::EnrpType type, std::vector<uint8_t>* bytes, protocol::Message* m) {
    const absl::Time deadline = absl::Now() + kTimeout;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait_for(
          lock, absl::ToChronoMilliseconds(std::max(deadline - absl::Now(), absl::ZeroDuration())),
          [&] { return !inbox_.empty() || down_; });
      if (inbox_.empty()) {
        return down_ ? absl::UnavailableError("the registrar closed the association")
                     : absl::DeadlineExceededError(
                           absl::StrCat("no answer within ", absl::FormatDuration(kTimeout)));
      }
      auto [ppid, data] = std::move(inbox_.front());
      inbox_.pop_front();
      if (ppid != protocol::kEnrpPpid) continue;
      *bytes = std::move(data);
      protocol::DecodeError error;
      if (!protocol::DecodeMessage(protocol::Protocol::kEnrp, *bytes, m, &error)) {
        return absl::DataLossError(absl::StrCat("undecodable answer: ", error.reason));
      }
      if (m->type == static_cast<uint8_t>(type)) return absl::OkStatus();
    }
  }

 private:
  EnrpLink() = default;
  std::mutex mu_;
  std::condition_variable cv_;
  bool up_ = false;
  bool down_ = false;
  std::deque<std::pair<uint32_t, std::vector<uint8_t>>> inbox_;  // (PPID, message)
  uint32_t assoc_ = 0;
  // Last: closed first, so that no callback runs on a half-destroyed link.
  std::unique_ptr<client::SctpServer> server_;
};

// The whole handle table (W=0), chunk by chunk. The table may change
// between chunks (RFC 5353 §3.2.3 pages a live handlespace, not a
// snapshot): a PE met twice is listed once, as last seen.
absl::StatusOr<std::vector<Entry>> Download(EnrpLink& link) {
  std::vector<Entry> entries;
  std::map<std::pair<std::string, uint32_t>, size_t> seen;  // (pool, PE id) -> index
  while (true) {
    if (absl::Status s = link.Send(Request(protocol::EnrpType::kHandleTableRequest)); !s.ok()) {
      return s;
    }
    std::vector<uint8_t> bytes;
    protocol::Message m;
    if (absl::Status s = link.Await(protocol::EnrpType::kHandleTableResponse, &bytes, &m);
        !s.ok()) {
      return s;
    }
    if (m.flags & protocol::kFlagTableReject) {
      return absl::UnavailableError(
          "the registrar refused (still initializing, or serving too many downloads)");
    }
    for (const protocol::PoolEntry& pool : m.pool_entries) {
      for (const protocol::PoolElementView& view : pool.elements) {
        Entry e;
        e.pool = std::string(pool.pool_handle);
        if (protocol::PoolElementFromView(view, &e.pe) != protocol::kNoError) continue;
        const auto [at, added] = seen.try_emplace({e.pool, e.pe.id}, entries.size());
        if (added) {
          entries.push_back(std::move(e));
        } else {
          entries[at->second] = std::move(e);
        }
      }
    }
    if (!(m.flags & protocol::kFlagMoreToSend)) return entries;
  }
}

int Fail(absl::string_view command, const absl::Status& status) {
  if (absl::IsInvalidArgument(status)) return UsageError(command, status);
  fprintf(stderr, "rspctl %s: %s\n", std::string(command).c_str(),
          std::string(status.message()).c_str());
  return 1;
}

int RunDump(const std::vector<std::string>& /*args*/) {
  constexpr absl::string_view kCommand = "dump";
  auto link = EnrpLink::Connect();
  if (!link.ok()) return Fail(kCommand, link.status());
  absl::StatusOr<std::vector<Entry>> entries = Download(**link);
  if (!entries.ok()) return Fail(kCommand, entries.status());
  // In a stable order, so that dumps of two registrars compare.
  std::sort(entries->begin(), entries->end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.pool, a.pe.id) < std::tie(b.pool, b.pe.id);
  });
  const bool json = absl::GetFlag(FLAGS_json);
  for (const Entry& e : *entries) PrintPoolElement(e.pool, e.pe, json, /*name_pool=*/true);
  return 0;
}

int RunPeers(const std::vector<std::string>& /*args*/) {
  constexpr absl::string_view kCommand = "peers";
  auto link = EnrpLink::Connect();
  if (!link.ok()) return Fail(kCommand, link.status());
  if (absl::Status s = (*link)->Send(Request(protocol::EnrpType::kListRequest)); !s.ok()) {
    return Fail(kCommand, s);
  }
  std::vector<uint8_t> bytes;
  protocol::Message list;
  if (absl::Status s = (*link)->Await(protocol::EnrpType::kListResponse, &bytes, &list); !s.ok()) {
    return Fail(kCommand, s);
  }
  if (list.flags & protocol::kFlagListReject) {
    return Fail(kCommand, absl::UnavailableError("the registrar refused (still initializing)"));
  }
  absl::StatusOr<std::vector<Entry>> entries = Download(**link);
  if (!entries.ok()) return Fail(kCommand, entries.status());
  // RFC 5353 §3.6.2: per owner, the PEs and their checksum.
  std::map<uint32_t, std::pair<size_t, uint64_t>> owned;
  for (const Entry& e : *entries) {
    auto& o = owned[e.pe.home];
    ++o.first;
    o.second += handlespace::PeBlockSum(handlespace::HandleWordSum(e.pool), e.pe.id);
  }
  const bool json = absl::GetFlag(FLAGS_json);
  bool first = true;
  for (const protocol::ServerInformation& server : list.servers) {
    std::string addresses;
    for (const protocol::IpAddress& a : server.transport.addresses) {
      absl::StrAppend(&addresses, addresses.empty() ? "" : ",",
                      protocol::JoinHostPort(a, server.transport.port));
    }
    const auto o = owned[server.server_id];
    const uint16_t checksum = handlespace::FinishChecksum(o.second);
    // The registrar lists itself first, then every peer with its view of it
    // (rspd's Peer Status parameter; other registrars list active peers).
    const char* role = first ? "registrar" : "peer";
    const char* state = protocol::PeerStateName(server.peer_state);
    // Milliseconds since it was last heard; -1: never (only listed by a
    // mentor), or not told.
    const int64_t last_heard =
        server.has_peer_status && server.last_heard_ms != UINT32_MAX ? server.last_heard_ms : -1;
    if (json) {
      printf(
          "{\"role\":\"%s\",\"server_id\":%u,\"addresses\":\"%s\",\"state\":\"%s\","
          "\"last_heard_ms\":%lld,\"owned_pes\":%zu,\"checksum\":%u}\n",
          role, server.server_id, addresses.c_str(), state, static_cast<long long>(last_heard),
          o.first, checksum);
    } else {
      // Nothing for the registrar itself, or from one that is not rspd.
      const std::string heard = !server.has_peer_status ? std::string()
                                : last_heard < 0
                                    ? std::string(" last_heard=never")
                                    : absl::StrFormat(" last_heard=%.1fs", last_heard / 1000.0);
      printf("%-9s 0x%08x %s state=%s owned=%zu checksum=0x%04x%s\n", role, server.server_id,
             addresses.c_str(), state, o.first, checksum, heard.c_str());
    }
    first = false;
  }
  return 0;
}

}  // namespace

const Command kDumpCommand = {
    "dump", "print the registrar's whole handlespace with owners, as ENRP sees it ([--json])",
    RunDump};
const Command kPeersCommand = {
    "peers", "print the registrar's ENRP peers, what each owns and its checksum ([--json])",
    RunPeers};

}  // namespace rspd::tools
