// File: protocol/testing/samples.h
//
// One encoded example of every ASAP and ENRP message, each carrying every
// parameter the message can carry (all transports, policies and error causes
// appear somewhere). Shared by the codec tests, the Wireshark golden test,
// the fuzzer's seed corpus and the benchmarks.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/codec.h"

namespace rspd::protocol::testing {

struct Sample {
  Protocol protocol;
  uint8_t type;
  std::string name;  // unique, e.g. "asap_registration_sctp_lud"
  std::vector<uint8_t> bytes;
};

std::vector<Sample> AllSamples();

// A HANDLE_RESOLUTION_RESPONSE with `count` PEs (SCTP, two IPv4 addresses
// each, Least Used), as the registrar sends it.
std::vector<uint8_t> HandleResolutionResponse(int count);
// An ENRP_HANDLE_TABLE_RESPONSE with `pools` pools of `per_pool` PEs.
std::vector<uint8_t> HandleTableResponse(int pools, int per_pool);

}  // namespace rspd::protocol::testing
