#include "tools/rspctl_policy.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(std::string, policy, "rr",
          "register: rr|wrr|random|wrandom|priority|lu|lud|plu|rlu (RFC 5356)");
ABSL_FLAG(uint32_t, weight, 1, "register: weight for wrr and wrandom");
ABSL_FLAG(uint32_t, priority, 1, "register: priority for the priority policy");
ABSL_FLAG(uint32_t, load, 0, "register: load for lu, lud, plu, rlu (0 = 0 %, 4294967295 = 100 %)");
ABSL_FLAG(uint32_t, load_degradation, 0, "register: load degradation for lud and plu");

namespace rspd::tools {

absl::StatusOr<protocol::Policy> PolicyFromFlags() {
  using protocol::Policy;
  using protocol::PolicyType;
  const std::string name = absl::GetFlag(FLAGS_policy);
  const uint32_t weight = absl::GetFlag(FLAGS_weight);
  const uint32_t load = absl::GetFlag(FLAGS_load);
  const uint32_t degradation = absl::GetFlag(FLAGS_load_degradation);
  if (name == "rr") return Policy::Of(PolicyType::kRoundRobin);
  if (name == "wrr") return Policy::Of(PolicyType::kWeightedRoundRobin, {weight});
  if (name == "random") return Policy::Of(PolicyType::kRandom);
  if (name == "wrandom") return Policy::Of(PolicyType::kWeightedRandom, {weight});
  if (name == "priority") return Policy::Of(PolicyType::kPriority, {absl::GetFlag(FLAGS_priority)});
  if (name == "lu") return Policy::Of(PolicyType::kLeastUsed, {load});
  if (name == "lud") return Policy::Of(PolicyType::kLeastUsedWithDegradation, {load, degradation});
  if (name == "plu") return Policy::Of(PolicyType::kPriorityLeastUsed, {load, degradation});
  if (name == "rlu") return Policy::Of(PolicyType::kRandomizedLeastUsed, {load});
  return absl::InvalidArgumentError(absl::StrCat(
      "--policy must be rr, wrr, random, wrandom, priority, lu, lud, plu or rlu; got '", name,
      "'"));
}

}  // namespace rspd::tools
