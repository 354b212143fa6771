// File: control/pe_convert.h
//
// Between the wire's Pool Element parameter (protocol::PoolElement, RFC 5354
// §3.10) and the handlespace's record (handlespace::PoolElementInfo), in both
// directions, including the per-policy value layouts of RFC 5356 and RSPLIB.
//
// Example:
//   handlespace::PoolElementInfo info;
//   Cause cause = PoolElementFromWire(message.pool_element, &info);
//   WirePoolElement wire(info);       // owns the address storage
//   EncodePoolElement(writer, wire.element());

#pragma once

#include <array>

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

// A protocol::PoolElement built from a handlespace record, with the storage
// its address lists point into.
class WirePoolElement {
 public:
  explicit WirePoolElement(const handlespace::PoolElementInfo& info);
  WirePoolElement(const WirePoolElement&) = delete;
  WirePoolElement& operator=(const WirePoolElement&) = delete;
  const protocol::PoolElement& element() const { return element_; }

 private:
  std::array<protocol::IpAddress, handlespace::kMaxTransportAddresses> user_{};
  std::array<protocol::IpAddress, handlespace::kMaxTransportAddresses> asap_{};
  protocol::PoolElement element_;
};

protocol::IpAddress AddressToWire(const handlespace::IpAddress& address);
handlespace::IpAddress AddressFromWire(const protocol::IpAddress& address);

}  // namespace rspd::control
