// File: protocol/describe.h
//
// Human- and machine-readable renderings of decoded messages, for
// `rspctl decode`, logs and tests: one line of text, or one JSON object whose
// keys follow the RFC names ("type": "ASAP_REGISTRATION", "pe_id", ...).
//
// Example:
//   std::string line = DescribeMessage(message);  // ASAP_REGISTRATION handle="echo" ...
//   std::string json = MessageToJson(message);    // {"proto":"asap","type":...}

#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "protocol/codec.h"

namespace rspd::protocol {

std::string DescribeMessage(const Message& message);
std::string MessageToJson(const Message& message);

// "sctp", "tcp", "udp", "udplite", "dccp", "opaque" ("unknown" otherwise).
const char* TransportName(ParamType type);
// JSON object for one PE: pe_id, home_registrar, registration_life,
// addresses, port, transport, transport_use, policy, policy_values, asap_transport.
std::string PoolElementToJson(const PoolElementView& element);

}  // namespace rspd::protocol
