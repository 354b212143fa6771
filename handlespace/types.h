// File: handlespace/types.h
//
// The vocabulary of the handlespace: pool handles, pool element identifiers,
// registrar identifiers, transport addresses, member selection policies and
// the pool element as RFC 5352 §2.2.1 / RFC 5353 §2.4 carry it (RFC 5354 §3.9
// Pool Element parameter). Plain value types, no behaviour beyond helpers.
//
// Example:
//   PoolElementInfo pe;
//   pe.id = 0x12345678;
//   pe.home = my_server_id;
//   pe.registration_life = 30;  // seconds, RFC 5354 §3.9
//   pe.user.addresses.push_back(protocol::IpAddress::V4(0x0a000001));
//   pe.user.port = 20000;
//   pe.policy.type = PolicyType::kLeastUsed;
//   pe.policy.load = 0x40000000;

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "protocol/address.h"
#include "protocol/types.h"

namespace rspd::handlespace {

using protocol::Cause;
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

// The result of a command that succeeded. Not an RFC 5354 §3.12 cause code:
// the causes are 0x0-0xa; 0xffff is outside them and never goes on the wire.
inline constexpr Cause kNoError = static_cast<Cause>(0xffff);

// A transport carries at most this many addresses inline in a request. The
// store keeps the common case (up to 20 bytes of addresses) inside the PE
// record and spills longer lists. 8 covers every multi-homed host we know of;
// a longer list is rejected with Lack of Resources (RFC 5352 §3.1 rule 5).
inline constexpr size_t kMaxTransportAddresses = 8;
// The limits the client library checks too, defined once in protocol/types.h.
inline constexpr size_t kMaxResolutionItems = protocol::kMaxResolutionItems;
inline constexpr size_t kMaxPoolHandleSize = protocol::kMaxPoolHandleSize;

// A fixed-capacity address list (no allocation on the command path).
struct AddressList {
  uint8_t size = 0;
  std::array<protocol::IpAddress, kMaxTransportAddresses> items{};

  // Returns false (and adds nothing) when full.
  bool push_back(const protocol::IpAddress& a) {
    if (size >= kMaxTransportAddresses) {
      return false;
    }
    items[size++] = a;
    return true;
  }
  absl::Span<const protocol::IpAddress> span() const { return {items.data(), size}; }
  friend bool operator==(const AddressList& a, const AddressList& b) {
    if (a.size != b.size) {
      return false;
    }
    for (size_t i = 0; i < a.size; ++i) {
      if (a.items[i] != b.items[i]) {
        return false;
      }
    }
    return true;
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

// RFC 5352 §3.1 rule 4: the SCTP transport the PR reached the PE on.
struct AsapTransport {
  uint16_t port = 0;
  AddressList addresses;
  friend bool operator==(const AsapTransport& a, const AsapTransport& b) {
    return a.port == b.port && a.addresses == b.addresses;
  }
};

// RFC 5356 §4-5 member selection policy parameter, and RSPLIB's extensions
// (docs/policies.md). Which fields a type uses:
//   RR, RAND: none.  WRR, WRAND: weight.  PRIO: weight = priority.
//   LU, RLU: load.   LUD, PLU and RSPLIB's RLUD, RPLU, PLUD, RPLUD: load, load_degradation.
//   WRAND-DPF: weight, dpf (= weight DPF), distance.  LU-DPF: load, dpf (= load DPF), distance.
//   LUD-DPF, PLU-DPF, PLUD-DPF: load, load_degradation, dpf, distance.
// The store keeps only the used fields; `Normalized()` zeroes the others.
struct PolicyInfo {
  PolicyType type = PolicyType::kRoundRobin;
  uint32_t weight = 0;
  uint32_t load = 0;
  uint32_t load_degradation = 0;
  uint32_t dpf = 0;
  uint32_t distance = 0;

  PolicyInfo Normalized() const;
  friend bool operator==(const PolicyInfo& a, const PolicyInfo& b) {
    return a.type == b.type && a.weight == b.weight && a.load == b.load &&
           a.load_degradation == b.load_degradation && a.dpf == b.dpf && a.distance == b.distance;
  }
};

// RFC 5354 §3.9 Pool Element parameter.
struct PoolElementInfo {
  PoolElementId id = 0;
  RegistrarId home = 0;
  int32_t registration_life = protocol::kInfiniteLifetime;  // seconds, -1 = infinite
  UserTransport user;
  AsapTransport asap;
  PolicyInfo policy;
  friend bool operator==(const PoolElementInfo& a, const PoolElementInfo& b) {
    return a.id == b.id && a.home == b.home && a.registration_life == b.registration_life &&
           a.user == b.user && a.asap == b.asap && a.policy == b.policy;
  }
};

// True for every policy type this handlespace can hold and serve: the nine of
// RFC 5356 and RSPLIB's nine extensions.
bool IsKnownPolicy(PolicyType type);
// Name for logs and tests ("RoundRobin", ...), "Unknown" otherwise.
const char* PolicyName(PolicyType type);

}  // namespace rspd::handlespace
