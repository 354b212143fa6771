// File: protocol/policy_table.h
//
// Every pool member selection policy rspd knows, once: the nine of RFC 5356
// §4-5 and RSPLIB's nine extensions (docs/policies.md). A row gives the type
// code, the name, rspctl's short name, and the wire layout of the policy's
// 32-bit values (RFC 5354 §3.8: which values follow the type, in order). The
// codec (value counts), the owned PE model, the handlespace (which values a
// policy selects by) and rspctl read this table; nothing else spells a layout.
//
// Example:
//   const PolicyRow* row = FindPolicy(0x40000002);  // Least Used with Degradation
//   row->value_count;                               // 2: load, load degradation
//   FindPolicyByShortName("lud") == row;            // rspctl --policy=lud

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "protocol/types.h"

namespace rspd::protocol {

// One 32-bit policy value (RFC 5356 §4-5, RSPLIB's structures). The priority
// and the weight share the owned record's `weight` field.
enum class PolicyField : uint8_t {
  kWeight,
  kPriority,
  kLoad,
  kLoadDegradation,
  kDpf,  // RSPLIB's distance penalty factor (weight DPF or load DPF)
  kDistance,
};

// The most values a policy parameter carries (RSPLIB's DPF policies: 4).
inline constexpr size_t kMaxPolicyValues = 4;

struct PolicyRow {
  PolicyType type;
  const char* name;        // "Least Used with Degradation"
  const char* short_name;  // rspctl --policy ("lud"); nullptr: rspctl does not offer it
  // RFC 5356 policies must carry exactly their values; RSPLIB's extensions
  // may carry 0-4 (docs/decisions.md, "Wire format").
  bool rfc;
  uint8_t value_count;
  std::array<PolicyField, kMaxPolicyValues> values;  // the first value_count, in wire order
};

// How many rows: RFC 5356's nine and RSPLIB's nine.
inline constexpr size_t kPolicyCount = 18;

// All rows, RFC 5356 first, in type order.
absl::Span<const PolicyRow> PolicyTable();
// The row of a type code, or nullptr for a type rspd does not know.
const PolicyRow* FindPolicy(uint32_t type);
inline const PolicyRow* FindPolicy(PolicyType type) {
  return FindPolicy(static_cast<uint32_t>(type));
}
// The row rspctl's --policy=`short_name` names, or nullptr.
const PolicyRow* FindPolicyByShortName(absl::string_view short_name);
// The row's position in PolicyTable(), for per-policy arrays; -1 if unknown.
int PolicyIndex(PolicyType type);
// The RFC or RSPLIB name, "Unknown Policy" for an unknown type.
const char* PolicyTypeName(uint32_t type);

}  // namespace rspd::protocol
