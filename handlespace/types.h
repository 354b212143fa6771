// File: handlespace/types.h
//
// The vocabulary of the handlespace: time, pool handles, pool element and
// registrar identifiers (RFC 5354 §3.9-3.10, RFC 5353 §2.1) and its limits.
// The pool element itself is protocol/pool_element.h's.
//
// Example:
//   PoolHandle handle = "echo";
//   Tick deadline = now + 30'000;  // milliseconds, as rspd counts

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "protocol/pool_element.h"
#include "protocol/types.h"

namespace rspd::handlespace {

using protocol::Cause;
using protocol::kNoError;
using protocol::ParamType;
using protocol::PolicyType;
using protocol::TransportUse;

// Time, in a unit the caller chooses (rspd uses milliseconds). The handlespace
// never reads a clock: every time-dependent call takes `Tick now` (docs/style.md).
using Tick = uint64_t;
inline constexpr Tick kNever = ~Tick{0};

// RFC 5354 §3.9: 32-bit PE identifier, unique within its pool.
using PoolElementId = uint32_t;
// RFC 5353 §2.1: 32-bit ENRP server (registrar) identifier; 0 = undetermined.
using RegistrarId = uint32_t;
// RFC 5354 §3.8: a pool handle is an opaque byte string. Held once per pool.
using PoolHandle = std::string;
using PoolHandleView = absl::string_view;

// The limits the client library checks too, defined once in protocol/types.h.
inline constexpr size_t kMaxResolutionItems = protocol::kMaxResolutionItems;
inline constexpr size_t kMaxPoolHandleSize = protocol::kMaxPoolHandleSize;

}  // namespace rspd::handlespace
