// File: tools/snmp/agent.h
//
// RSERPOOL-MIB's ENRP server branch (RFC 5525 §5.1, §6) served by net-snmp:
// one netsnmp_tdata table per MIB table, registered under
// rserpoolENRPServers (1.3.6.1.3.125.1.1), holding rows that point into the
// MibSnapshot (mib_rows.h) they were built from. Replace() swaps in a new
// snapshot between requests, so a walk sees one consistent copy.
//
// Served, read-only (the MIB's read-write objects, rserpoolENRPDescription,
// answer notWritable: rspd is configured by its own files):
//   rserpoolENRPTable (1), rserpoolENRPPoolTable (3),
//   rserpoolENRPPoolElementTable (4), rserpoolENRPASAPAddrTable (5),
//   rserpoolENRPUserAddrTable (6), rserpoolENRPPeerTable (8),
//   rserpoolENRPPeerAddrTable (9).
// Not registered: rserpoolENRPENRPAddrTable (7), since the management
// interface does not report rspd's own ENRP addresses, and the
// rserpoolPoolElements and rserpoolPoolUsers branches, which describe PEs
// and PUs running on this host (RFC 5525 §5.2-5.3), not a registrar.
//
// Columns rspd reports nothing for take these values (tools/snmp/README.md):
//   rserpoolENRPOperationScope: "" (rspd has no operation scope setting);
//   rserpoolENRPPort, ...ASAPAnnouncePort, ...ENRPAnnouncePort: 0 (unknown,
//   RFC 4001's InetPortNumber); ...AnnounceAddrType ipv4(1) with
//   ...AnnounceAddr 0.0.0.0 (unspecified);
//   rserpoolENRPUserL3Opaque: "" (rspd registers IP addresses only).
//
// Example (the net-snmp agent is initialised, init_agent() called):
//   MibAgent agent;
//   if (!agent.Register()) return 1;
//   agent.Replace(std::move(snapshot));

#pragma once

#include <memory>
#include <vector>

#include "tools/snmp/mib_rows.h"

struct netsnmp_tdata_s;

namespace rspd::tools::snmp {

class MibAgent {
 public:
  MibAgent();
  ~MibAgent();
  MibAgent(const MibAgent&) = delete;
  MibAgent& operator=(const MibAgent&) = delete;

  // Registers the tables with the agent; false (logged) if net-snmp refuses.
  bool Register();

  // Serves `snapshot` from now on (an empty one empties the tables).
  void Replace(MibSnapshot snapshot);

 private:
  void Clear();

  std::unique_ptr<MibSnapshot> snapshot_;
  // Indexed by the table's arc under rserpoolENRPServers; null where not
  // registered.
  std::vector<netsnmp_tdata_s*> tables_;
};

}  // namespace rspd::tools::snmp
