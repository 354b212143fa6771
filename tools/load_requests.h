// File: tools/load_requests.h
//
// The ASAP requests the load generators send (tools/rspd_load over kernel
// UDP, bench/dpdk_load over DPDK), encoded once so that every server and
// every path gets the same bytes.
//
// Example:
//   std::vector<uint8_t> r = ResolutionRequest("load", 3);

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/address.h"

namespace rspd::tools {

// HANDLE_RESOLUTION for `pool` asking for `items` PEs (RFC 5352 §2.2.5).
std::vector<uint8_t> ResolutionRequest(const std::string& pool, uint32_t items);
// REGISTRATION of PE `pe_id` in `pool` (round robin, 300 s life) at
// `address` (RFC 5352 §2.2.1): the registrar takes a PE's addresses only
// from the host it hears, so the load generator's own.
std::vector<uint8_t> RegistrationRequest(const std::string& pool, uint32_t pe_id,
                                         const protocol::IpAddress& address);

}  // namespace rspd::tools
