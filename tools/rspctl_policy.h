// File: tools/rspctl_policy.h
//
// The --policy family of rspctl flags (rr, wrr, random, wrandom, priority,
// lu, lud, plu, rlu with --weight, --priority, --load, --load_degradation) as
// an RFC 5356 policy parameter.

#pragma once

#include "absl/status/statusor.h"
#include "protocol/codec.h"

namespace rspd::tools {

absl::StatusOr<protocol::Policy> PolicyFromFlags();

}  // namespace rspd::tools
