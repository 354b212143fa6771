// File: handlespace/policy.cc
//
// Policy traits table (RFC 5356 §4-5, and RSPLIB's extensions: docs/policies.md).

#include "handlespace/policy.h"

namespace rspd::handlespace {
namespace {

PolicyTraits Make(SelectorKind kind) {
  PolicyTraits t;
  t.kind = kind;
  return t;
}

PolicyTraits Compute(PolicyType type) {
  PolicyTraits t;
  switch (type) {
    case PolicyType::kRoundRobin:  // RFC 5356 §4.1
      return Make(SelectorKind::kRoundRobin);
    case PolicyType::kWeightedRoundRobin:  // §4.2
      t = Make(SelectorKind::kOrdered);
      t.uses_weight = true;
      t.weighted_round_robin = true;
      return t;
    case PolicyType::kRandom:  // §4.3
      return Make(SelectorKind::kRandom);
    case PolicyType::kWeightedRandom:  // §4.4
      t = Make(SelectorKind::kWeightedRandom);
      t.uses_weight = true;
      return t;
    case PolicyType::kPriority:  // §4.5
      t = Make(SelectorKind::kOrdered);
      t.uses_weight = true;
      t.priority = true;
      return t;
    case PolicyType::kLeastUsed:  // §5.1
      t = Make(SelectorKind::kOrdered);
      t.uses_load = true;
      return t;
    case PolicyType::kLeastUsedWithDegradation:  // §5.2
      t = Make(SelectorKind::kOrdered);
      t.uses_load = t.uses_load_degradation = t.degrades = true;
      return t;
    case PolicyType::kPriorityLeastUsed:  // §5.3
      t = Make(SelectorKind::kOrdered);
      t.uses_load = t.uses_load_degradation = t.adds_load_degradation = true;
      return t;
    case PolicyType::kRandomizedLeastUsed:  // §5.4
      t = Make(SelectorKind::kWeightedRandom);
      t.uses_load = true;
      return t;
    case PolicyType::kRandomizedPriorityLeastUsed:  // RSPLIB 0xb0001001
      t = Make(SelectorKind::kWeightedRandom);
      t.uses_load = t.uses_load_degradation = t.adds_load_degradation = true;
      return t;
    case PolicyType::kRandomizedLeastUsedWithDegradation:  // RSPLIB 0xb0001002
      t = Make(SelectorKind::kWeightedRandom);
      t.uses_load = t.uses_load_degradation = t.degrades = true;
      return t;
    case PolicyType::kPriorityLeastUsedWithDegradation:  // RSPLIB 0xb0001003
      t = Make(SelectorKind::kOrdered);
      t.uses_load = t.uses_load_degradation = t.adds_load_degradation = t.degrades = true;
      return t;
    case PolicyType::kRandomizedPriorityLeastUsedWithDegradation:  // RSPLIB 0xb0001004
      t = Make(SelectorKind::kWeightedRandom);
      t.uses_load = t.uses_load_degradation = t.adds_load_degradation = t.degrades = true;
      return t;
    case PolicyType::kWeightedRandomWithDpf:  // RSPLIB 0xb0002001
      t = Make(SelectorKind::kWeightedRandom);
      t.uses_weight = t.uses_dpf = t.uses_distance = true;
      return t;
    case PolicyType::kLeastUsedWithDpf:  // RSPLIB 0xb0002002
      t = Make(SelectorKind::kOrdered);
      t.uses_load = t.uses_dpf = t.uses_distance = true;
      return t;
    case PolicyType::kLeastUsedWithDegradationWithDpf:  // RSPLIB 0xb0002003
      t = Make(SelectorKind::kOrdered);
      t.uses_load = t.uses_load_degradation = t.degrades = true;
      t.uses_dpf = t.uses_distance = true;
      return t;
    case PolicyType::kPriorityLeastUsedWithDpf:  // RSPLIB 0xb0002004 (layout UNCONFIRMED)
      t = Make(SelectorKind::kOrdered);
      t.uses_load = t.uses_load_degradation = t.adds_load_degradation = true;
      t.uses_dpf = t.uses_distance = true;
      return t;
    case PolicyType::kPriorityLeastUsedWithDegradationWithDpf:  // RSPLIB 0xb0002005
      t = Make(SelectorKind::kOrdered);
      t.uses_load = t.uses_load_degradation = t.adds_load_degradation = t.degrades = true;
      t.uses_dpf = t.uses_distance = true;
      return t;
  }
  return t;
}

}  // namespace

const PolicyTraits& TraitsOf(PolicyType type) {
  static const PolicyTraits kTable[] = {
      Compute(PolicyType::kRoundRobin),
      Compute(PolicyType::kWeightedRoundRobin),
      Compute(PolicyType::kRandom),
      Compute(PolicyType::kWeightedRandom),
      Compute(PolicyType::kPriority),
      Compute(PolicyType::kLeastUsed),
      Compute(PolicyType::kLeastUsedWithDegradation),
      Compute(PolicyType::kPriorityLeastUsed),
      Compute(PolicyType::kRandomizedLeastUsed),
      Compute(PolicyType::kRandomizedPriorityLeastUsed),
      Compute(PolicyType::kRandomizedLeastUsedWithDegradation),
      Compute(PolicyType::kPriorityLeastUsedWithDegradation),
      Compute(PolicyType::kRandomizedPriorityLeastUsedWithDegradation),
      Compute(PolicyType::kWeightedRandomWithDpf),
      Compute(PolicyType::kLeastUsedWithDpf),
      Compute(PolicyType::kLeastUsedWithDegradationWithDpf),
      Compute(PolicyType::kPriorityLeastUsedWithDpf),
      Compute(PolicyType::kPriorityLeastUsedWithDegradationWithDpf),
  };
  const uint32_t v = static_cast<uint32_t>(type);
  if (v >= 1 && v <= 5) {
    return kTable[v - 1];
  }
  if (v >= 0x40000001 && v <= 0x40000004) {
    return kTable[5 + (v - 0x40000001)];
  }
  if (v >= 0xb0001001 && v <= 0xb0001004) {
    return kTable[9 + (v - 0xb0001001)];
  }
  if (v >= 0xb0002001 && v <= 0xb0002005) {
    return kTable[13 + (v - 0xb0002001)];
  }
  return kTable[0];  // callers check IsKnownPolicy first
}

bool IsKnownPolicy(PolicyType type) {
  const uint32_t v = static_cast<uint32_t>(type);
  return (v >= 1 && v <= 5) || (v >= 0x40000001 && v <= 0x40000004) ||
         (v >= 0xb0001001 && v <= 0xb0001004) || (v >= 0xb0002001 && v <= 0xb0002005);
}

const char* PolicyName(PolicyType type) {
  switch (type) {
    case PolicyType::kRoundRobin:
      return "RoundRobin";
    case PolicyType::kWeightedRoundRobin:
      return "WeightedRoundRobin";
    case PolicyType::kRandom:
      return "Random";
    case PolicyType::kWeightedRandom:
      return "WeightedRandom";
    case PolicyType::kPriority:
      return "Priority";
    case PolicyType::kLeastUsed:
      return "LeastUsed";
    case PolicyType::kLeastUsedWithDegradation:
      return "LeastUsedWithDegradation";
    case PolicyType::kPriorityLeastUsed:
      return "PriorityLeastUsed";
    case PolicyType::kRandomizedLeastUsed:
      return "RandomizedLeastUsed";
    case PolicyType::kRandomizedPriorityLeastUsed:
      return "RandomizedPriorityLeastUsed";
    case PolicyType::kRandomizedLeastUsedWithDegradation:
      return "RandomizedLeastUsedWithDegradation";
    case PolicyType::kPriorityLeastUsedWithDegradation:
      return "PriorityLeastUsedWithDegradation";
    case PolicyType::kRandomizedPriorityLeastUsedWithDegradation:
      return "RandomizedPriorityLeastUsedWithDegradation";
    case PolicyType::kWeightedRandomWithDpf:
      return "WeightedRandomWithDpf";
    case PolicyType::kLeastUsedWithDpf:
      return "LeastUsedWithDpf";
    case PolicyType::kLeastUsedWithDegradationWithDpf:
      return "LeastUsedWithDegradationWithDpf";
    case PolicyType::kPriorityLeastUsedWithDpf:
      return "PriorityLeastUsedWithDpf";
    case PolicyType::kPriorityLeastUsedWithDegradationWithDpf:
      return "PriorityLeastUsedWithDegradationWithDpf";
  }
  return "Unknown";
}

PackedPolicy PackPolicy(const PolicyInfo& info) {
  const PolicyTraits& t = TraitsOf(info.type);
  PackedPolicy p{};
  p[0] = t.uses_weight ? info.weight : (t.uses_load ? info.load : 0);
  p[1] = t.uses_load_degradation ? info.load_degradation : 0;
  p[2] = t.uses_dpf ? info.dpf : 0;
  p[3] = t.uses_distance ? info.distance : 0;
  return p;
}

PolicyInfo UnpackPolicy(PolicyType type, const PackedPolicy& p) {
  const PolicyTraits& t = TraitsOf(type);
  PolicyInfo info;
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

PolicyInfo PolicyInfo::Normalized() const { return UnpackPolicy(type, PackPolicy(*this)); }

}  // namespace rspd::handlespace
