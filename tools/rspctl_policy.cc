#include "tools/rspctl_policy.h"

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/rspctl_flags.h"

ABSL_FLAG(std::string, policy, "rr",
          "register: rr|wrr|random|wrandom|priority|lu|lud|plu|rlu (RFC 5356)");
ABSL_FLAG(int64_t, weight, 1, "register: weight for wrr and wrandom, 1 to 4294967295");
ABSL_FLAG(int64_t, priority, 1, "register: priority for the priority policy, 0 to 4294967295");
ABSL_FLAG(int64_t, load, 0, "register: load for lu, lud, plu, rlu (0 = 0 %, 4294967295 = 100 %)");
ABSL_FLAG(int64_t, load_degradation, 0,
          "register: load degradation for lud and plu, 0 to 4294967295");

namespace rspd::tools {
namespace {

using protocol::PolicyField;

// A policy value's flag, checked: RFC 5356 values are 32-bit unsigned.
absl::StatusOr<uint32_t> Value(PolicyField field) {
  const char* flag = "--load_degradation";
  int64_t value = absl::GetFlag(FLAGS_load_degradation);
  int64_t min = 0;
  switch (field) {
    case PolicyField::kWeight:
      // RFC 5356 §3.2: a weight of 0 says the PE cannot serve at all; a PE
      // that registers to serve has 1 or more.
      flag = "--weight";
      value = absl::GetFlag(FLAGS_weight);
      min = 1;
      break;
    case PolicyField::kPriority:
      flag = "--priority";
      value = absl::GetFlag(FLAGS_priority);
      break;
    case PolicyField::kLoad:
      flag = "--load";
      value = absl::GetFlag(FLAGS_load);
      break;
    case PolicyField::kLoadDegradation:
      break;
    case PolicyField::kDpf:
    case PolicyField::kDistance:
      // No rspctl policy carries them (RSPLIB's extensions have no short name).
      return absl::InvalidArgumentError("rspctl has no flag for DPF or distance values");
  }
  if (absl::Status s = CheckRange(flag, value, min, kMaxUint32); !s.ok()) return s;
  return static_cast<uint32_t>(value);
}

}  // namespace

absl::StatusOr<protocol::PolicyInfo> PolicyFromFlags() {
  const std::string name = absl::GetFlag(FLAGS_policy);
  const protocol::PolicyRow* row = protocol::FindPolicyByShortName(name);
  if (row == nullptr) {
    std::vector<std::string> names;
    for (const protocol::PolicyRow& r : protocol::PolicyTable()) {
      if (r.short_name != nullptr) names.push_back(r.short_name);
    }
    const std::string last = names.back();
    names.pop_back();
    return absl::InvalidArgumentError(absl::StrCat("--policy must be ", absl::StrJoin(names, ", "),
                                                   " or ", last, "; got '", name, "'"));
  }
  protocol::PolicyInfo policy;
  policy.type = row->type;
  for (size_t i = 0; i < row->value_count; ++i) {
    absl::StatusOr<uint32_t> value = Value(row->values[i]);
    if (!value.ok()) return value.status();
    policy.at(row->values[i]) = *value;
  }
  return policy;
}

}  // namespace rspd::tools
