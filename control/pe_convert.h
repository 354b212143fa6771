// File: control/pe_convert.h
//
// Between the wire's Pool Element parameter (protocol::PoolElement, RFC 5354
// §3.10) and the handlespace's record (handlespace::PoolElementInfo), in both
// directions, including the per-policy value layouts of RFC 5356 and RSPLIB.
//
// Example:
//   handlespace::PoolElementInfo info;
//   Cause cause = PoolElementFromWire(message.pool_element, &info);
//   EncodePoolElementInfo(writer, info);   // the same bytes, no copy

#pragma once

#include "handlespace/types.h"
#include "protocol/codec.h"

namespace rspd::control {

// Fills *out; returns kNoError, or the RFC 5354 cause to reject with:
// Invalid Values for a transport the handlespace does not hold (opaque),
// Lack of Resources for more addresses than a PE record takes.
protocol::Cause PoolElementFromWire(const protocol::PoolElement& wire,
                                    handlespace::PoolElementInfo* out);

// The wire values of a policy, in RFC 5356 / RSPLIB order.
protocol::Policy PolicyToWire(const handlespace::PolicyInfo& policy);

// Writes a handlespace record as a Pool Element parameter (RFC 5354 §3.10),
// with its ASAP transport when it has one, straight from the record.
void EncodePoolElementInfo(protocol::Writer& w, const handlespace::PoolElementInfo& info);
// Writes the record's user transport as a parameter of type `type` (the
// record's own, or the pool's for Inconsistent Transport Type information).
void EncodeUserTransport(protocol::Writer& w, const handlespace::UserTransport& transport,
                         protocol::ParamType type);

}  // namespace rspd::control
