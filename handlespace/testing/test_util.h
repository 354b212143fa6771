// File: handlespace/testing/test_util.h
//
// Test helpers: build pool elements, and compute the RFC 5353 §3.6.2 PE
// checksum from scratch (byte blocks, RFC 1071) to check the incremental one.

#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "handlespace/pe_checksum.h"
#include "handlespace/types.h"

namespace rspd::handlespace::testing {

inline protocol::PoolElement MakePe(PoolElementId id, RegistrarId home,
                                    PolicyType policy = PolicyType::kRoundRobin, uint32_t value = 0,
                                    uint32_t load_degradation = 0) {
  protocol::PoolElement pe;
  pe.id = id;
  pe.home = home;
  pe.registration_life = 30;
  pe.user.type = ParamType::kSctpTransport;
  pe.user.port = static_cast<uint16_t>(20000 + id % 1000);
  pe.user.use = TransportUse::kDataOnly;
  pe.user.addresses.push_back(protocol::IpAddress::V4(0x0a000000u | (id & 0xffffff)));
  pe.asap.port = 30000;
  pe.asap.addresses.push_back(protocol::IpAddress::V4(0x0a000000u | (id & 0xffffff)));
  pe.policy.type = policy;
  pe.policy.weight = value;
  pe.policy.load = value;
  pe.policy.load_degradation = load_degradation;
  return pe.policy = pe.policy.Normalized(), pe;
}

// RFC 5353 §3.6.2 from scratch: concatenate every (handle, PE id) block and
// take the RFC 1071 checksum of the whole stream.
inline uint16_t ReferenceChecksum(const std::vector<std::pair<std::string, uint32_t>>& blocks) {
  std::vector<uint8_t> bytes;
  for (const auto& [handle, id] : blocks) {
    bytes.insert(bytes.end(), handle.begin(), handle.end());
    while (bytes.size() % 4 != 0) {
      bytes.push_back(0);
    }
    bytes.push_back(static_cast<uint8_t>(id >> 24));
    bytes.push_back(static_cast<uint8_t>(id >> 16));
    bytes.push_back(static_cast<uint8_t>(id >> 8));
    bytes.push_back(static_cast<uint8_t>(id));
  }
  return InternetChecksum(bytes);
}

}  // namespace rspd::handlespace::testing
