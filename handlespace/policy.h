// File: handlespace/policy.h
//
// Pool member selection policies (RFC 5356) as data: for each policy type,
// which selection structure serves it, which parameters it uses (read from
// protocol/policy_table.h), and the sort key (ordered policies) or selection
// weight (randomized policies) of a PE. The selection structures themselves are in selection.h; the
// per-pool wiring is in pool_table.cc.
//
// RSPLIB's extended policies (docs/policies.md, not in any RFC) map onto the same four
// structures, with keys and weights as RSPLIB computes them (saturating
// 32-bit sums; weights never below 1 for the "randomized" family).
//
// Example:
//   const PolicyTraits& t = TraitsOf(PolicyType::kLeastUsedWithDegradation);
//   uint32_t key = OrderKey(PolicyType::kLeastUsedWithDegradation, params, degradation);

#pragma once

#include <algorithm>
#include <cstdint>

#include "handlespace/types.h"

namespace rspd::handlespace {

// Which per-pool structure selects the PEs of a pool.
enum class SelectorKind : uint8_t {
  kRoundRobin,      // index array + head cursor (RFC 5356 §4.1)
  kRandom,          // index array, uniform draws without duplicates (§4.3)
  kOrdered,         // 4-ary indexed heap on (key, sequence) (§4.2, §4.5, §5.1-5.3)
  kWeightedRandom,  // Fenwick tree over weights (§4.4, §5.4)
};

struct PolicyTraits {
  SelectorKind kind = SelectorKind::kRoundRobin;
  // Which values the policy carries: its row of protocol/policy_table.h.
  bool uses_weight = false;  // weight or priority in params[0]
  bool uses_load = false;    // load in params[0]
  bool uses_load_degradation = false;
  bool uses_dpf = false;
  bool uses_distance = false;
  // A per-PE degradation accumulator grows by load_degradation each time the
  // PE is selected (RFC 5356 §5.2.2) and is reset by (re-)registration.
  bool degrades = false;
  // The key/weight includes load_degradation itself (PLU, RFC 5356 §5.3).
  bool adds_load_degradation = false;
  // Weighted round robin: the key is a virtual pass time (selection.h).
  bool weighted_round_robin = false;
  bool priority = false;  // key = ~priority (RFC 5356 §4.5: highest first)
};

const PolicyTraits& TraitsOf(PolicyType type);

// The policy parameters the store keeps per PE, packed: [0] weight/priority
// or load, [1] load degradation, [2] DPF, [3] distance.
using PackedPolicy = std::array<uint32_t, 4>;
PackedPolicy PackPolicy(const protocol::PolicyInfo& info);
protocol::PolicyInfo UnpackPolicy(PolicyType type, const PackedPolicy& p);

inline uint32_t Saturate32(uint64_t v) {
  return v > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(v);
}

// RSPLIB's distance penalty: distance * (dpf / 0xffffffff) * 0xffffffff,
// i.e. distance * dpf in integer arithmetic (docs/policies.md).
inline uint64_t DistancePenalty(const PackedPolicy& p) { return uint64_t{p[3]} * p[2]; }

// Sort key of an ordered (non-WRR) policy; smaller is selected first.
//   PRIO: ~priority (RFC 5356 §4.5).  LU: load (§5.1).
//   LUD: load + counter * load_degradation, with the product kept as an
//        accumulator (§5.2.2; saturating as RSPLIB does).
//   PLU: load + load_degradation (§5.3.2).  DPF variants add the penalty.
inline uint32_t OrderKey(const PolicyTraits& t, const PackedPolicy& p, uint32_t degradation) {
  if (t.priority) {
    return ~p[0];
  }
  uint64_t key = p[0];
  if (t.adds_load_degradation) {
    key += p[1];
  }
  if (t.degrades) {
    key += degradation;
  }
  if (t.uses_distance) {
    key += DistancePenalty(p);
  }
  return Saturate32(key);
}

// Selection weight of a weighted-random policy.
//   WRAND: weight (RFC 5356 §4.4; 0 = never selected, §3.2).
//   WRAND-DPF: weight - weight * distance * dpf / 0xffffffff, at least 1 (RSPLIB).
//   RLU family: 0xffffffff - load [- load_degradation] [- degradation], at
//   least 1 (RFC 5356 §5.4.2; RSPLIB keeps a fully loaded PE selectable with
//   weight 1 so that a pool of fully loaded PEs still answers).
inline uint32_t RandomWeight(const PolicyTraits& t, const PackedPolicy& p, uint32_t degradation) {
  if (t.uses_weight) {
    if (!t.uses_distance) {
      return p[0];
    }
    const unsigned __int128 penalty =
        static_cast<unsigned __int128>(p[0]) * p[3] * p[2] / 0xffffffffu;
    if (penalty >= p[0]) {
      return 1;
    }
    return std::max<uint32_t>(1, p[0] - static_cast<uint32_t>(penalty));
  }
  if (!t.uses_load) {
    return 1;  // RAND
  }
  int64_t v = int64_t{0xffffffff} - p[0];
  if (t.adds_load_degradation) {
    v -= p[1];
  }
  if (t.degrades) {
    v -= degradation;
  }
  return v < 1 ? 1 : static_cast<uint32_t>(v);
}

}  // namespace rspd::handlespace
