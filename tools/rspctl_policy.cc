#include "tools/rspctl_policy.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
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

// A policy value flag, checked: RFC 5356 values are 32-bit unsigned.
absl::StatusOr<uint32_t> Value(const char* flag, int64_t value, int64_t min = 0) {
  if (absl::Status s = CheckRange(flag, value, min, kMaxUint32); !s.ok()) return s;
  return static_cast<uint32_t>(value);
}

}  // namespace

absl::StatusOr<protocol::Policy> PolicyFromFlags() {
  using protocol::Policy;
  using protocol::PolicyType;
  const std::string name = absl::GetFlag(FLAGS_policy);
  const bool weighted = name == "wrr" || name == "wrandom";
  const bool loaded = name == "lu" || name == "lud" || name == "plu" || name == "rlu";
  const bool degraded = name == "lud" || name == "plu";
  // RFC 5356 §3.2: a weight of 0 says the PE cannot serve at all; a PE that
  // registers to serve has 1 or more.
  absl::StatusOr<uint32_t> weight =
      weighted ? Value("--weight", absl::GetFlag(FLAGS_weight), 1) : 0u;
  absl::StatusOr<uint32_t> priority =
      name == "priority" ? Value("--priority", absl::GetFlag(FLAGS_priority)) : 0u;
  absl::StatusOr<uint32_t> load = loaded ? Value("--load", absl::GetFlag(FLAGS_load)) : 0u;
  absl::StatusOr<uint32_t> degradation =
      degraded ? Value("--load_degradation", absl::GetFlag(FLAGS_load_degradation)) : 0u;
  for (const absl::Status& s :
       {weight.status(), priority.status(), load.status(), degradation.status()}) {
    if (!s.ok()) return s;
  }
  if (name == "rr") return Policy::Of(PolicyType::kRoundRobin);
  if (name == "wrr") return Policy::Of(PolicyType::kWeightedRoundRobin, {*weight});
  if (name == "random") return Policy::Of(PolicyType::kRandom);
  if (name == "wrandom") return Policy::Of(PolicyType::kWeightedRandom, {*weight});
  if (name == "priority") return Policy::Of(PolicyType::kPriority, {*priority});
  if (name == "lu") return Policy::Of(PolicyType::kLeastUsed, {*load});
  if (name == "lud")
    return Policy::Of(PolicyType::kLeastUsedWithDegradation, {*load, *degradation});
  if (name == "plu") return Policy::Of(PolicyType::kPriorityLeastUsed, {*load, *degradation});
  if (name == "rlu") return Policy::Of(PolicyType::kRandomizedLeastUsed, {*load});
  return absl::InvalidArgumentError(absl::StrCat(
      "--policy must be rr, wrr, random, wrandom, priority, lu, lud, plu or rlu; got '", name,
      "'"));
}

}  // namespace rspd::tools
