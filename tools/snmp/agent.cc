#include "tools/snmp/agent.h"

// net-snmp's headers must come in this order.
// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
// clang-format on

#include <algorithm>
#include <initializer_list>
#include <iterator>
#include <string>
#include <utility>

namespace rspd::tools::snmp {
namespace {

// rserpoolENRPServers: { experimental(1.3.6.1.3) rserpoolMIB(125)
// rserpoolMIBObjects(1) 1 } (RFC 5525 §6).
constexpr oid kEnrpServers[] = {1, 3, 6, 1, 3, 125, 1, 1};
constexpr size_t kEnrpServersLength = sizeof(kEnrpServers) / sizeof(kEnrpServers[0]);

// The tables' arcs under rserpoolENRPServers.
enum Arc : size_t {
  kEnrpTable = 1,
  kPoolTable = 3,
  kPoolElementTable = 4,
  kAsapAddrTable = 5,
  kUserAddrTable = 6,
  kPeerTable = 8,
  kPeerAddrTable = 9,
  kArcCount = 10,
};

// rserpoolENRPIndex of rspd itself (mib_rows.h, "Indices").
constexpr uint32_t kServerIndex = 1;

// The 0.0.0.0 of an announce address rspd does not report.
const InetAddress& Unspecified() {
  static const InetAddress* const address = new InetAddress{kInetAddressIpv4, std::string(4, '\0')};
  return *address;
}

void SetUnsigned(netsnmp_variable_list* var, uint32_t value) {
  snmp_set_var_typed_integer(var, ASN_UNSIGNED, static_cast<long>(value));
}
void SetTicks(netsnmp_variable_list* var, uint32_t value) {
  snmp_set_var_typed_integer(var, ASN_TIMETICKS, static_cast<long>(value));
}
void SetInteger(netsnmp_variable_list* var, int value) {
  snmp_set_var_typed_integer(var, ASN_INTEGER, value);
}
void SetOctets(netsnmp_variable_list* var, const std::string& bytes) {
  snmp_set_var_typed_value(var, ASN_OCTET_STR, reinterpret_cast<const u_char*>(bytes.data()),
                           bytes.size());
}

// Each Fill sets column `column` of a row of its table; false for a column
// the table does not have (the table helper keeps requests within
// min_column..max_column, so this is a safety net).
using FillFunction = bool (*)(const void* row, unsigned column, netsnmp_variable_list* var);

// rserpoolENRPEntry: 2 OperationScope .. 12 ENRPAnnounceAddr.
bool FillServer(const void* data, unsigned column, netsnmp_variable_list* var) {
  const auto& row = *static_cast<const ServerRow*>(data);
  static const std::string kEmpty;
  switch (column) {
    case 2:
      SetOctets(var, kEmpty);
      return true;  // no operation scope
    case 3:
      SetUnsigned(var, row.server_id);
      return true;
    case 4:
      SetOctets(var, row.description);
      return true;
    case 5:
      SetTicks(var, row.uptime_ticks);
      return true;
    case 6:  // ENRP SCTP port: not reported
    case 7:  // ASAP announce port: not reported
    case 10:
      SetUnsigned(var, 0);
      return true;  // ENRP announce port: not reported
    case 8:
    case 11:
      SetInteger(var, Unspecified().type);
      return true;
    case 9:
    case 12:
      SetOctets(var, Unspecified().octets);
      return true;
    default:
      return false;
  }
}

// rserpoolENRPPoolEntry: 2 PoolHandle.
bool FillPool(const void* data, unsigned column, netsnmp_variable_list* var) {
  if (column != 2) return false;
  SetOctets(var, static_cast<const PoolRow*>(data)->handle);
  return true;
}

// rserpoolENRPPoolElementEntry: 2 PoolElementID .. 13 HomeENRPServer.
bool FillElement(const void* data, unsigned column, netsnmp_variable_list* var) {
  const auto& row = *static_cast<const ElementRow*>(data);
  switch (column) {
    case 2:
      SetUnsigned(var, row.id);
      return true;
    case 3:
      SetUnsigned(var, row.asap_port);
      return true;
    case 4:
      SetUnsigned(var, row.user_protocol);
      return true;
    case 5:
      SetUnsigned(var, row.user_port);
      return true;
    case 6:
      SetInteger(var, row.user_use);
      return true;
    case 7:
      SetUnsigned(var, row.policy_id);
      return true;
    case 8:
      SetOctets(var, row.policy_description);
      return true;
    case 9:
      SetUnsigned(var, row.policy_weight);
      return true;
    case 10:
      SetUnsigned(var, row.policy_load);
      return true;
    case 11:
      SetUnsigned(var, row.policy_load_degradation);
      return true;
    case 12:
      SetTicks(var, row.registration_life_ticks);
      return true;
    case 13:
      SetUnsigned(var, row.home);
      return true;
    default:
      return false;
  }
}

// The address tables: 2 L3Type, 3 L3Addr (and for the user transport's,
// 4 L3Opaque, empty: rspd registers IP addresses only).
bool FillAddress(const void* data, unsigned column, netsnmp_variable_list* var) {
  const auto& address = *static_cast<const InetAddress*>(data);
  static const std::string kEmpty;
  switch (column) {
    case 2:
      SetInteger(var, address.type);
      return true;
    case 3:
      SetOctets(var, address.octets);
      return true;
    case 4:
      SetOctets(var, kEmpty);
      return true;
    default:
      return false;
  }
}

// rserpoolENRPPeerEntry: 2 PeerIdentifier, 3 PeerPort, 4 PeerLastHeard.
bool FillPeer(const void* data, unsigned column, netsnmp_variable_list* var) {
  const auto& row = *static_cast<const PeerRow*>(data);
  switch (column) {
    case 2:
      SetUnsigned(var, row.server_id);
      return true;
    case 3:
      SetUnsigned(var, row.port);
      return true;
    case 4:
      SetTicks(var, row.last_heard_ticks);
      return true;
    default:
      return false;
  }
}

// The tdata helper has found the row (or the next one, for GETNEXT) before
// this runs; it answers GET with the row's column.
int TableHandler(netsnmp_mib_handler* handler, netsnmp_handler_registration* reginfo,
                 netsnmp_agent_request_info* reqinfo, netsnmp_request_info* requests) {
  if (reqinfo->mode != MODE_GET) return SNMP_ERR_NOERROR;
  auto fill = reinterpret_cast<FillFunction>(reginfo->my_reg_void);
  for (netsnmp_request_info* request = requests; request != nullptr; request = request->next) {
    if (request->processed) continue;
    void* row = netsnmp_tdata_extract_entry(request);
    netsnmp_table_request_info* info = netsnmp_extract_table_info(request);
    if (row == nullptr || info == nullptr) {
      netsnmp_set_request_error(reqinfo, request, SNMP_NOSUCHINSTANCE);
      continue;
    }
    if (!fill(row, info->colnum, request->requestvb)) {
      netsnmp_set_request_error(reqinfo, request, SNMP_NOSUCHOBJECT);
    }
  }
  return SNMP_ERR_NOERROR;
}

struct TableSpec {
  Arc arc;
  const char* name;
  unsigned index_count;
  unsigned max_column;
  FillFunction fill;
};

constexpr TableSpec kTables[] = {
    {kEnrpTable, "rserpoolENRPTable", 1, 12, FillServer},
    {kPoolTable, "rserpoolENRPPoolTable", 2, 2, FillPool},
    {kPoolElementTable, "rserpoolENRPPoolElementTable", 3, 13, FillElement},
    {kAsapAddrTable, "rserpoolENRPASAPAddrTable", 4, 3, FillAddress},
    {kUserAddrTable, "rserpoolENRPUserAddrTable", 4, 4, FillAddress},
    {kPeerTable, "rserpoolENRPPeerTable", 1, 4, FillPeer},
    {kPeerAddrTable, "rserpoolENRPPeerAddrTable", 2, 3, FillAddress},
};

// Adds a row whose data is `data` (owned by the snapshot) under `index`.
void AddRow(netsnmp_tdata* table, const void* data, std::initializer_list<uint32_t> index) {
  if (table == nullptr) return;
  netsnmp_tdata_row* row = netsnmp_tdata_create_row();
  if (row == nullptr) return;
  row->data = const_cast<void*>(data);
  for (uint32_t i : index) {
    u_long value = i;
    netsnmp_tdata_row_add_index(row, ASN_UNSIGNED, &value, sizeof(value));
  }
  if (netsnmp_tdata_add_row(table, row) != SNMPERR_SUCCESS) {
    netsnmp_tdata_delete_row(row);
  }
}

void DeleteRow(void* row, void* /*context*/) {
  netsnmp_tdata_delete_row(static_cast<netsnmp_tdata_row*>(row));
}

}  // namespace

MibAgent::MibAgent() : snapshot_(std::make_unique<MibSnapshot>()), tables_(kArcCount, nullptr) {}

// net-snmp owns the registered tables and frees what it frees at
// snmp_shutdown(); the rows point into snapshot_, which outlives them there.
MibAgent::~MibAgent() = default;

bool MibAgent::Register() {
  for (const TableSpec& spec : kTables) {
    oid table_oid[kEnrpServersLength + 1];
    std::copy(std::begin(kEnrpServers), std::end(kEnrpServers), table_oid);
    table_oid[kEnrpServersLength] = spec.arc;
    netsnmp_handler_registration* reg = netsnmp_create_handler_registration(
        spec.name, TableHandler, table_oid, kEnrpServersLength + 1, HANDLER_CAN_RONLY);
    netsnmp_tdata* table = netsnmp_tdata_create_table(spec.name, 0);
    netsnmp_table_registration_info* info = SNMP_MALLOC_TYPEDEF(netsnmp_table_registration_info);
    if (reg == nullptr || table == nullptr || info == nullptr) {
      snmp_log(LOG_ERR, "rspd-snmp: out of memory registering %s\n", spec.name);
      return false;
    }
    reg->my_reg_void = reinterpret_cast<void*>(spec.fill);
    // Rows go in in index order each refresh: without the duplicate check
    // an insert is an append, and the container sorts once, on first use.
    int rc = 0;
    CONTAINER_SET_OPTIONS(table->container, CONTAINER_KEY_ALLOW_DUPLICATES, rc);
    (void)rc;
    for (unsigned i = 0; i < spec.index_count; ++i) {
      netsnmp_table_helper_add_index(info, ASN_UNSIGNED);
    }
    info->min_column = 2;  // column 1 is the index (not-accessible)
    info->max_column = spec.max_column;
    if (netsnmp_tdata_register(reg, table, info) != MIB_REGISTERED_OK) {
      snmp_log(LOG_ERR, "rspd-snmp: could not register %s\n", spec.name);
      return false;
    }
    tables_[spec.arc] = table;
  }
  return true;
}

void MibAgent::Clear() {
  for (netsnmp_tdata* table : tables_) {
    if (table != nullptr) CONTAINER_CLEAR(table->container, DeleteRow, nullptr);
  }
}

void MibAgent::Replace(MibSnapshot snapshot) {
  Clear();
  snapshot_ = std::make_unique<MibSnapshot>(std::move(snapshot));
  const MibSnapshot& s = *snapshot_;
  if (s.has_server) AddRow(tables_[kEnrpTable], &s.server, {kServerIndex});
  for (const PoolRow& pool : s.pools) {
    AddRow(tables_[kPoolTable], &pool, {kServerIndex, pool.index});
    for (const ElementRow& e : pool.elements) {
      AddRow(tables_[kPoolElementTable], &e, {kServerIndex, pool.index, e.index});
      uint32_t a = 0;
      for (const InetAddress& address : e.asap_addresses) {
        AddRow(tables_[kAsapAddrTable], &address, {kServerIndex, pool.index, e.index, ++a});
      }
      a = 0;
      for (const InetAddress& address : e.user_addresses) {
        AddRow(tables_[kUserAddrTable], &address, {kServerIndex, pool.index, e.index, ++a});
      }
    }
  }
  for (const PeerRow& peer : s.peers) {
    AddRow(tables_[kPeerTable], &peer, {peer.index});
    uint32_t a = 0;
    for (const InetAddress& address : peer.addresses) {
      AddRow(tables_[kPeerAddrTable], &address, {peer.index, ++a});
    }
  }
}

}  // namespace rspd::tools::snmp
