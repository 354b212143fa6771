// `rspctl peers` and `rspctl dump`: what a registrar's ENRP server knows
// (RFC 5353), asked over its ENRP port as an operator's tool (Sending Server
// ID 0: answered, never taken for a peer; docs/decisions.md).
//
//   peers: LIST_REQUEST (§2.5) for the servers it knows, and the handle
//          table for what each owns and the checksum of that (§3.6.2), as
//          the registrar sees it.
//   dump:  every PE with its owner, from HANDLE_TABLE_REQUESTs (§2.2), one
//          chunk per request while the M bit says more (§3.2.3).

#include <cstdio>
#include <map>
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

ABSL_FLAG(int64_t, enrp_port, 9901, "peers, dump: the registrar's ENRP SCTP port");

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

// The next ENRP message of `type`, decoded into *m (its views point into
// *bytes).
absl::Status Await(client::SctpAssociation& assoc, protocol::EnrpType type,
                   std::vector<uint8_t>* bytes, protocol::Message* m) {
  while (true) {
    absl::StatusOr<client::SctpAssociation::Received> r = assoc.Receive(kTimeout);
    if (!r.ok()) return r.status();
    if (r->ppid != protocol::kEnrpPpid) continue;
    *bytes = std::move(r->data);
    protocol::DecodeError error;
    if (!protocol::DecodeMessage(protocol::Protocol::kEnrp, *bytes, m, &error)) {
      return absl::DataLossError(absl::StrCat("undecodable answer: ", error.reason));
    }
    if (m->type == static_cast<uint8_t>(type)) return absl::OkStatus();
  }
}

absl::StatusOr<std::unique_ptr<client::SctpAssociation>> ConnectEnrp() {
  absl::StatusOr<client::RegistrarAddress> registrar =
      client::ParseRegistrarAddress(absl::GetFlag(FLAGS_registrar));
  if (!registrar.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--registrar: ", registrar.status().message()));
  }
  const int64_t port = absl::GetFlag(FLAGS_enrp_port);
  if (absl::Status s = CheckRange("--enrp_port", port, 1, kMaxPort); !s.ok()) return s;
  return client::SctpAssociation::Connect(registrar->host, static_cast<uint16_t>(port),
                                          registrar->udp_port, kTimeout);
}

// The whole handle table (W=0), chunk by chunk. The table may change
// between chunks (RFC 5353 §3.2.3 pages a live handlespace, not a
// snapshot): a PE met twice is listed once, as last seen.
absl::StatusOr<std::vector<Entry>> Download(client::SctpAssociation& assoc) {
  std::vector<Entry> entries;
  std::map<std::pair<std::string, uint32_t>, size_t> seen;  // (pool, PE id) -> index
  while (true) {
    if (absl::Status s =
            assoc.Send(protocol::kEnrpPpid, Request(protocol::EnrpType::kHandleTableRequest));
        !s.ok()) {
      return s;
    }
    std::vector<uint8_t> bytes;
    protocol::Message m;
    if (absl::Status s = Await(assoc, protocol::EnrpType::kHandleTableResponse, &bytes, &m);
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
  auto assoc = ConnectEnrp();
  if (!assoc.ok()) return Fail(kCommand, assoc.status());
  absl::StatusOr<std::vector<Entry>> entries = Download(**assoc);
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
  auto assoc = ConnectEnrp();
  if (!assoc.ok()) return Fail(kCommand, assoc.status());
  if (absl::Status s =
          (*assoc)->Send(protocol::kEnrpPpid, Request(protocol::EnrpType::kListRequest));
      !s.ok()) {
    return Fail(kCommand, s);
  }
  std::vector<uint8_t> bytes;
  protocol::Message list;
  if (absl::Status s = Await(**assoc, protocol::EnrpType::kListResponse, &bytes, &list); !s.ok()) {
    return Fail(kCommand, s);
  }
  if (list.flags & protocol::kFlagListReject) {
    return Fail(kCommand, absl::UnavailableError("the registrar refused (still initializing)"));
  }
  absl::StatusOr<std::vector<Entry>> entries = Download(**assoc);
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
