// File: tools/rspctl_policy.h
//
// The --policy family of rspctl flags as an RFC 5356 policy: --policy takes a
// short name of protocol/policy_table.h (rr, wrr, random, wrandom, priority,
// lu, lud, plu, rlu), and each value the policy carries comes from its flag
// (--weight, --priority, --load, --load_degradation).

#pragma once

#include "absl/status/statusor.h"
#include "protocol/pool_element.h"

namespace rspd::tools {

absl::StatusOr<protocol::PolicyInfo> PolicyFromFlags();

}  // namespace rspd::tools
