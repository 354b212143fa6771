// File: tools/snmp/mib_rows.h
//
// The pure half of rspd-snmp: rspd's management JSON (docs/management.md)
// turned into the rows of RSERPOOL-MIB's ENRP server branch (RFC 5525 §5.1,
// §6): rserpoolENRPTable (rspd itself), rserpoolENRPPoolTable,
// rserpoolENRPPoolElementTable with its ASAP and user address tables, and
// rserpoolENRPPeerTable with its address table. No I/O and no net-snmp here,
// so that the conversion is tested on its own (mib_rows_test.cc); agent.h
// serves the result.
//
// Indices are stable, derived from the data, and numbered from 1 (the MIB's
// index ranges are 1..4294967295):
//   - rserpoolENRPIndex: 1, rspd itself (one registrar per subagent).
//   - rserpoolENRPPoolIndex: pools sorted by handle bytes.
//   - rserpoolENRPPoolElementIndex: a pool's PEs sorted by PE identifier
//     (equal identifiers, which RFC 5525 allows for, keep rspd's order).
//   - address indices: the addresses in the order rspd lists them.
//   - rserpoolENRPPeerIndex: peers sorted by server identifier.
// A row the JSON gives no valid key or value for (a PE without an id, a
// policy rspd does not name, an address that is not IPv4 or IPv6) is left
// out and counted in MibSnapshot::skipped; nothing in the input can crash it.
//
// Example:
//   SnapshotBuilder builder(/*max_pool_elements=*/100000);
//   RETURN_IF_ERROR(builder.SetStatus(status_json));
//   for (const PoolRef& pool : *ParsePoolList(pools_json, &truncated))
//     RETURN_IF_ERROR(builder.AddPool(pool_json_of(pool)));
//   RETURN_IF_ERROR(builder.SetPeers(peers_json));
//   MibSnapshot snapshot = std::move(builder).Finish();

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rspd::tools::snmp {

// InetAddressType (RFC 4001) values the MIB uses.
inline constexpr int kInetAddressUnknown = 0;
inline constexpr int kInetAddressIpv4 = 1;
inline constexpr int kInetAddressIpv6 = 2;

// An InetAddressType / InetAddress pair: 4 octets for ipv4, 16 for ipv6.
struct InetAddress {
  int type = kInetAddressIpv4;
  std::string octets;
};

// rserpoolENRPEntry (RFC 5525 §6) of rspd itself.
struct ServerRow {
  uint32_t server_id = 0;  // rserpoolENRPIdentifier
  std::string description;
  uint32_t uptime_ticks = 0;  // hundredths of a second
};

// rserpoolENRPPoolElementEntry (RFC 5525 §6), with the PE's addresses.
struct ElementRow {
  uint32_t index = 0;  // rserpoolENRPPoolElementIndex
  uint32_t id = 0;
  uint32_t asap_port = 0;
  uint32_t user_protocol = 0;  // IP protocol number: 132 SCTP, 6 TCP, 17 UDP, 33 DCCP
  uint32_t user_port = 0;
  int user_use = 0;  // RSerPoolTransportUseTypeTC: dataOnly(0), dataPlusControl(1)
  uint32_t policy_id = 0;
  std::string policy_description;
  uint32_t policy_weight = 0;
  uint32_t policy_load = 0;
  uint32_t policy_load_degradation = 0;
  uint32_t registration_life_ticks = 0;
  uint32_t home = 0;
  std::vector<InetAddress> asap_addresses;
  std::vector<InetAddress> user_addresses;
};

// rserpoolENRPPoolEntry (RFC 5525 §6) and the pool's PEs.
struct PoolRow {
  uint32_t index = 0;  // rserpoolENRPPoolIndex
  std::string handle;  // bytes
  std::vector<ElementRow> elements;
};

// rserpoolENRPPeerEntry (RFC 5525 §6), with the peer's address.
struct PeerRow {
  uint32_t index = 0;  // rserpoolENRPPeerIndex
  uint32_t server_id = 0;
  uint32_t port = 0;
  uint32_t last_heard_ticks = 0;
  std::vector<InetAddress> addresses;
};

struct MibSnapshot {
  bool has_server = false;
  ServerRow server;
  std::vector<PoolRow> pools;
  std::vector<PeerRow> peers;
  size_t pool_elements = 0;  // rows in the PE table
  // Rows (or addresses) left out because the JSON had no valid value.
  size_t skipped = 0;
  // PEs left out because of --max_pool_elements or rspd's own limits.
  bool truncated = false;
};

// A pool named by /api/pools: its handle bytes and handle_hex for the query.
struct PoolRef {
  std::string handle;
  std::string handle_hex;
};

// /api/pools: the pools, in the answer's order. `*truncated` is set when
// rspd left pools out; `*skipped` counts entries without a usable handle.
absl::StatusOr<std::vector<PoolRef>> ParsePoolList(absl::string_view json, bool* truncated,
                                                   size_t* skipped);

class SnapshotBuilder {
 public:
  // At most `max_pool_elements` rows in the PE table; the rest is left out
  // and MibSnapshot::truncated says so.
  explicit SnapshotBuilder(size_t max_pool_elements);

  // /api/status: rspd's own row. Fails on JSON that is not an object or has
  // no valid server_id (the row's key).
  absl::Status SetStatus(absl::string_view json);
  // /api/pool for one pool. Fails on JSON that is not an object or has no
  // handle; PEs without valid values are skipped and counted.
  absl::Status AddPool(absl::string_view json);
  // /api/peers. Fails on JSON that is not an object with a "peers" array.
  absl::Status SetPeers(absl::string_view json);

  // How many more PEs fit (for the `limit` of the next /api/pool).
  size_t remaining() const;
  // Rows left out before they reached the builder: pools rspd left out
  // (/api/pools' "truncated") or that had no handle.
  void NoteTruncated() { snapshot_.truncated = true; }
  void NoteSkipped(size_t rows) { snapshot_.skipped += rows; }

  // Sorts and numbers the rows (the indices above).
  MibSnapshot Finish() &&;

 private:
  size_t max_pool_elements_;
  MibSnapshot snapshot_;
};

// Decodes an address as rspd writes it ("127.0.0.1", "::1"); false for
// anything else.
bool ParseInetAddress(absl::string_view text, InetAddress* out);

}  // namespace rspd::tools::snmp
