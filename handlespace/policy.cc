// File: handlespace/policy.cc
//
// Policy traits table (RFC 5356 §4-5, and RSPLIB's extensions: docs/policies.md),
// one row per row of protocol/policy_table.h.

#include "handlespace/policy.h"

#include <array>
#include <cassert>

namespace rspd::handlespace {
namespace {

// Which structure selects, and how a PE's key or weight is formed (RFC 5356
// §4-5; RSPLIB's extensions as RSPLIB computes them). Which values a policy
// carries is the protocol's policy table; this only adds the selection.
PolicyTraits Selection(PolicyType type) {
  using K = SelectorKind;
  PolicyTraits t;
  switch (type) {
    case PolicyType::kRoundRobin:  // RFC 5356 §4.1
      t.kind = K::kRoundRobin;
      break;
    case PolicyType::kWeightedRoundRobin:  // §4.2
      t.kind = K::kOrdered;
      t.weighted_round_robin = true;
      break;
    case PolicyType::kRandom:  // §4.3
      t.kind = K::kRandom;
      break;
    case PolicyType::kWeightedRandom:         // §4.4
    case PolicyType::kRandomizedLeastUsed:    // §5.4
    case PolicyType::kWeightedRandomWithDpf:  // RSPLIB 0xb0002001
      t.kind = K::kWeightedRandom;
      break;
    case PolicyType::kPriority:  // §4.5
      t.kind = K::kOrdered;
      t.priority = true;
      break;
    case PolicyType::kLeastUsed:         // §5.1
    case PolicyType::kLeastUsedWithDpf:  // RSPLIB 0xb0002002
      t.kind = K::kOrdered;
      break;
    case PolicyType::kLeastUsedWithDegradation:         // §5.2
    case PolicyType::kLeastUsedWithDegradationWithDpf:  // RSPLIB 0xb0002003
      t.kind = K::kOrdered;
      t.degrades = true;
      break;
    case PolicyType::kPriorityLeastUsed:         // §5.3
    case PolicyType::kPriorityLeastUsedWithDpf:  // RSPLIB 0xb0002004
      t.kind = K::kOrdered;
      t.adds_load_degradation = true;
      break;
    case PolicyType::kRandomizedPriorityLeastUsed:  // RSPLIB 0xb0001001
      t.kind = K::kWeightedRandom;
      t.adds_load_degradation = true;
      break;
    case PolicyType::kRandomizedLeastUsedWithDegradation:  // RSPLIB 0xb0001002
      t.kind = K::kWeightedRandom;
      t.degrades = true;
      break;
    case PolicyType::kPriorityLeastUsedWithDegradation:         // RSPLIB 0xb0001003
    case PolicyType::kPriorityLeastUsedWithDegradationWithDpf:  // RSPLIB 0xb0002005
      t.kind = K::kOrdered;
      t.adds_load_degradation = t.degrades = true;
      break;
    case PolicyType::kRandomizedPriorityLeastUsedWithDegradation:  // RSPLIB 0xb0001004
      t.kind = K::kWeightedRandom;
      t.adds_load_degradation = t.degrades = true;
      break;
  }
  return t;
}

PolicyTraits Compute(const protocol::PolicyRow& row) {
  PolicyTraits t = Selection(row.type);
  for (size_t i = 0; i < row.value_count; ++i) {
    switch (row.values[i]) {
      case protocol::PolicyField::kWeight:
      case protocol::PolicyField::kPriority:
        t.uses_weight = true;
        break;
      case protocol::PolicyField::kLoad:
        t.uses_load = true;
        break;
      case protocol::PolicyField::kLoadDegradation:
        t.uses_load_degradation = true;
        break;
      case protocol::PolicyField::kDpf:
        t.uses_dpf = true;
        break;
      case protocol::PolicyField::kDistance:
        t.uses_distance = true;
        break;
    }
  }
  return t;
}

// One row of traits per row of the protocol's policy table, same order.
using TraitsTable = std::array<PolicyTraits, protocol::kPolicyCount>;

TraitsTable ComputeAll() {
  TraitsTable out;
  absl::Span<const protocol::PolicyRow> rows = protocol::PolicyTable();
  assert(rows.size() == out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = Compute(rows[i]);
  }
  return out;
}

}  // namespace

const PolicyTraits& TraitsOf(PolicyType type) {
  static const TraitsTable kTable = ComputeAll();
  const int i = protocol::PolicyIndex(type);
  return kTable[i < 0 ? 0 : static_cast<size_t>(i)];  // callers check FindPolicy first
}

PackedPolicy PackPolicy(const protocol::PolicyInfo& info) {
  const PolicyTraits& t = TraitsOf(info.type);
  PackedPolicy p{};
  p[0] = t.uses_weight ? info.weight : (t.uses_load ? info.load : 0);
  p[1] = t.uses_load_degradation ? info.load_degradation : 0;
  p[2] = t.uses_dpf ? info.dpf : 0;
  p[3] = t.uses_distance ? info.distance : 0;
  return p;
}

protocol::PolicyInfo UnpackPolicy(PolicyType type, const PackedPolicy& p) {
  const PolicyTraits& t = TraitsOf(type);
  protocol::PolicyInfo info;
  info.type = type;
  if (t.uses_weight) {
    info.weight = p[0];
  } else if (t.uses_load) {
    info.load = p[0];
  }
  info.load_degradation = p[1];
  info.dpf = p[2];
  info.distance = p[3];
  return info;
}

}  // namespace rspd::handlespace
