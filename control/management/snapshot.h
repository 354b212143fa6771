// File: control/management/snapshot.h
//
// What the management interface reports (docs/management.md), as plain data:
// the registrar fills these on its I/O thread, the HTTP threads render them
// (render.h). Nothing here points into the registrar.
//
// Example:
//   StatusSnapshot s;
//   s.families.push_back({"registrations", "new PEs registered", Family::kCounter, {{"", 5}}});

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "handlespace/pool_table.h"

namespace rspd::control::management {

// One metric: a counter or a gauge, with one sample per label set.
struct Family {
  enum Type { kCounter, kGauge };
  struct Sample {
    std::string label_name;  // empty: no label
    std::string label_value;
    uint64_t value = 0;
  };
  std::string name;  // without the rspd_ prefix and the _total suffix
  std::string help;
  Type type = kCounter;
  std::vector<Sample> samples;
};

// A latency histogram: cumulative counts per upper bound (seconds), then the
// total (the +Inf bucket) and the sum.
struct Histogram {
  std::string name;  // without the rspd_ prefix
  std::string help;
  std::vector<std::pair<double, uint64_t>> buckets;  // (le, cumulative count)
  uint64_t count = 0;
  double sum = 0;
};

struct Rates {
  double asap_messages = 0;
  double registrations = 0;
  double resolutions = 0;
  double enrp_messages = 0;
};

struct StatusSnapshot {
  std::string version;
  uint32_t server_id = 0;
  double uptime_seconds = 0;
  bool secure = false;
  bool ready = false;
  std::string io;
  uint64_t pools = 0;
  uint64_t pool_elements = 0;
  uint64_t owned_pool_elements = 0;
  uint64_t asap_sessions = 0;
  uint64_t associations = 0;
  uint64_t peers = 0;
  Rates rates;  // over the last whole second
  std::vector<Family> families;
  std::vector<Histogram> histograms;
};

struct PoolsSnapshot {
  size_t total = 0;
  bool truncated = false;
  std::vector<handlespace::PoolTable::PoolSummary> pools;
};

struct PoolSnapshot {
  bool found = false;
  handlespace::PoolTable::PoolSummary pool;
  bool truncated = false;
  uint32_t home = 0;  // this registrar's ID: whose PEs are "owned"
  uint64_t now = 0;   // the loop's tick, for the PEs' expiries
  std::vector<handlespace::PoolTable::ElementDetail> elements;
};

struct PeerView {
  uint32_t server_id = 0;
  std::string address;  // HOST:UDP_PORT
  std::string state;    // RFC 5353's: active, probed, inactive, taking-over
  uint64_t last_heard_ms = 0;
  uint64_t pool_elements = 0;
};

struct PeersSnapshot {
  std::vector<PeerView> peers;
};

}  // namespace rspd::control::management
