// File: protocol/pool_element.h
//
// The pool element as rspd owns it: the values of the Pool Element parameter
// (RFC 5354 §3.10) with its user transport (§3.3-3.7), ASAP transport
// (RFC 5352 §3.1 rule 4) and member selection policy (§3.8, RFC 5356 §4-5).
// The registrar's store, the client library and the tools all hold PEs in
// this form; the codec's PoolElementView is the lazy view of one on the wire,
// and protocol/pool_element_codec.h converts between the two. Plain values,
// fixed size, no allocation.
//
// Example:
//   PoolElement pe;
//   pe.id = 0x12345678;
//   pe.registration_life = 30;  // seconds, RFC 5354 §3.10
//   pe.user.addresses.push_back(IpAddress::V4(0x0a000001));
//   pe.user.port = 20000;
//   pe.policy.type = PolicyType::kLeastUsed;
//   pe.policy.load = 0x40000000;

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "protocol/address.h"
#include "protocol/policy_table.h"
#include "protocol/types.h"

namespace rspd::protocol {

// A transport carries at most this many addresses. The registrar's store
// keeps the common case (up to 20 bytes of addresses) inside the PE record
// and spills longer lists. 8 covers every multi-homed host we know of; a
// longer list is rejected with Lack of Resources (RFC 5352 §3.1 rule 5).
inline constexpr size_t kMaxTransportAddresses = 8;

// A fixed-capacity address list.
struct AddressList {
  uint8_t size = 0;
  std::array<IpAddress, kMaxTransportAddresses> items{};

  // Returns false (and adds nothing) when full.
  bool push_back(const IpAddress& a) {
    if (size >= kMaxTransportAddresses) {
      return false;
    }
    items[size++] = a;
    return true;
  }
  bool empty() const { return size == 0; }
  absl::Span<const IpAddress> span() const { return {items.data(), size}; }
  friend bool operator==(const AddressList& a, const AddressList& b) {
    return a.span() == b.span();
  }
  friend bool operator!=(const AddressList& a, const AddressList& b) { return !(a == b); }
};

// RFC 5354 §3.3-3.7: the PE's User Transport parameter. `type` is the
// parameter type (SCTP, TCP, UDP, DCCP, UDP-Lite). Transport Use exists only
// for SCTP (§3.4); other transports are data-only.
struct UserTransport {
  ParamType type = ParamType::kSctpTransport;
  uint16_t port = 0;
  TransportUse use = TransportUse::kDataOnly;
  AddressList addresses;
  // RFC 5354 §3.3: the DCCP transport's service code (DCCP only).
  uint32_t dccp_service_code = 0;
  friend bool operator==(const UserTransport& a, const UserTransport& b) {
    return a.type == b.type && a.port == b.port && a.use == b.use && a.addresses == b.addresses &&
           a.dccp_service_code == b.dccp_service_code;
  }
};

// RFC 5352 §3.1 rule 4: the SCTP transport the PR reached the PE on. Empty
// addresses: none (a registering PE need not send it).
struct AsapTransport {
  uint16_t port = 0;
  AddressList addresses;
  // SCTP over UDP (RFC 6951): the UDP port the PE's ASAP endpoint uses, as
  // the registrar that heard it saw it; 0 = not known (RFC 6951 §5.1's 9899
  // is tried). Carried between registrars in an rspd extension parameter
  // inside the Pool Element (docs/decisions.md, "Reaching a PE taken over").
  uint16_t udp_port = 0;
  friend bool operator==(const AsapTransport& a, const AsapTransport& b) {
    return a.port == b.port && a.addresses == b.addresses && a.udp_port == b.udp_port;
  }
};

// RFC 5356 §4-5 member selection policy, and RSPLIB's extensions
// (docs/policies.md). Which fields a type carries is its row of
// protocol/policy_table.h; the priority lives in `weight`.
struct PolicyInfo {
  PolicyType type = PolicyType::kRoundRobin;
  uint32_t weight = 0;
  uint32_t load = 0;
  uint32_t load_degradation = 0;
  uint32_t dpf = 0;
  uint32_t distance = 0;

  uint32_t& at(PolicyField field);
  uint32_t at(PolicyField field) const { return const_cast<PolicyInfo*>(this)->at(field); }
  // A copy with the fields the type does not carry zeroed (all of them for
  // an unknown type): what the registrar stores.
  PolicyInfo Normalized() const;
  friend bool operator==(const PolicyInfo& a, const PolicyInfo& b) {
    return a.type == b.type && a.weight == b.weight && a.load == b.load &&
           a.load_degradation == b.load_degradation && a.dpf == b.dpf && a.distance == b.distance;
  }
};

// RFC 5354 §3.10 Pool Element parameter.
struct PoolElement {
  uint32_t id = 0;
  uint32_t home = 0;                              // home registrar; 0 = undetermined
  int32_t registration_life = kInfiniteLifetime;  // seconds, -1 = infinite
  UserTransport user;
  AsapTransport asap;
  PolicyInfo policy;
  friend bool operator==(const PoolElement& a, const PoolElement& b) {
    return a.id == b.id && a.home == b.home && a.registration_life == b.registration_life &&
           a.user == b.user && a.asap == b.asap && a.policy == b.policy;
  }
};

}  // namespace rspd::protocol
