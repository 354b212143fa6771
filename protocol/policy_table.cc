#include "protocol/policy_table.h"

#include <cassert>

namespace rspd::protocol {
namespace {

using F = PolicyField;
using P = PolicyType;

constexpr PolicyRow kRows[] = {
    // RFC 5356 §4.1-4.5 (§x.4 of each gives the values).
    {P::kRoundRobin, "Round Robin", "rr", true, 0, {}},
    {P::kWeightedRoundRobin, "Weighted Round Robin", "wrr", true, 1, {F::kWeight}},
    {P::kRandom, "Random", "random", true, 0, {}},
    {P::kWeightedRandom, "Weighted Random", "wrandom", true, 1, {F::kWeight}},
    {P::kPriority, "Priority", "priority", true, 1, {F::kPriority}},
    // RFC 5356 §5.1-5.4.
    {P::kLeastUsed, "Least Used", "lu", true, 1, {F::kLoad}},
    {P::kLeastUsedWithDegradation,
     "Least Used with Degradation",
     "lud",
     true,
     2,
     {F::kLoad, F::kLoadDegradation}},
    {P::kPriorityLeastUsed, "Priority Least Used", "plu", true, 2, {F::kLoad, F::kLoadDegradation}},
    {P::kRandomizedLeastUsed, "Randomized Least Used", "rlu", true, 1, {F::kLoad}},
    // RSPLIB's extensions (docs/policies.md).
    {P::kRandomizedPriorityLeastUsed,
     "Randomized Priority Least Used",
     nullptr,
     false,
     2,
     {F::kLoad, F::kLoadDegradation}},
    {P::kRandomizedLeastUsedWithDegradation,
     "Randomized Least Used with Degradation",
     nullptr,
     false,
     2,
     {F::kLoad, F::kLoadDegradation}},
    {P::kPriorityLeastUsedWithDegradation,
     "Priority Least Used with Degradation",
     nullptr,
     false,
     2,
     {F::kLoad, F::kLoadDegradation}},
    {P::kRandomizedPriorityLeastUsedWithDegradation,
     "Randomized Priority Least Used with Degradation",
     nullptr,
     false,
     2,
     {F::kLoad, F::kLoadDegradation}},
    {P::kWeightedRandomWithDpf,
     "Weighted Random with DPF",
     nullptr,
     false,
     3,
     {F::kWeight, F::kDpf, F::kDistance}},
    {P::kLeastUsedWithDpf,
     "Least Used with DPF",
     nullptr,
     false,
     3,
     {F::kLoad, F::kDpf, F::kDistance}},
    {P::kLeastUsedWithDegradationWithDpf,
     "Least Used with Degradation and DPF",
     nullptr,
     false,
     4,
     {F::kLoad, F::kLoadDegradation, F::kDpf, F::kDistance}},
    {P::kPriorityLeastUsedWithDpf,
     "Priority Least Used with DPF",
     nullptr,
     false,
     4,
     {F::kLoad, F::kLoadDegradation, F::kDpf, F::kDistance}},
    {P::kPriorityLeastUsedWithDegradationWithDpf,
     "Priority Least Used with Degradation and DPF",
     nullptr,
     false,
     4,
     {F::kLoad, F::kLoadDegradation, F::kDpf, F::kDistance}},
};

static_assert(std::size(kRows) == kPolicyCount);

}  // namespace

absl::Span<const PolicyRow> PolicyTable() { return kRows; }

int PolicyIndex(PolicyType type) {
  // The codes come in four contiguous runs (RFC 5356 §4, §5; RSPLIB's two
  // families); the codec looks a policy up per Pool Element, so no search.
  struct Run {
    uint32_t first;
    uint32_t last;
    int index;
  };
  static constexpr Run kRuns[] = {
      {0x00000001, 0x00000005, 0},
      {0x40000001, 0x40000004, 5},
      {0xb0001001, 0xb0001004, 9},
      {0xb0002001, 0xb0002005, 13},
  };
  const uint32_t v = static_cast<uint32_t>(type);
  for (const Run& run : kRuns) {
    if (v >= run.first && v <= run.last) {
      const int i = run.index + static_cast<int>(v - run.first);
      assert(kRows[i].type == type);
      return i;
    }
  }
  return -1;
}

const PolicyRow* FindPolicy(uint32_t type) {
  const int i = PolicyIndex(static_cast<PolicyType>(type));
  return i < 0 ? nullptr : &kRows[i];
}

const PolicyRow* FindPolicyByShortName(absl::string_view short_name) {
  for (const PolicyRow& row : kRows) {
    if (row.short_name != nullptr && short_name == row.short_name) {
      return &row;
    }
  }
  return nullptr;
}

const char* PolicyTypeName(uint32_t type) {
  const PolicyRow* row = FindPolicy(type);
  return row == nullptr ? "Unknown Policy" : row->name;
}

}  // namespace rspd::protocol
