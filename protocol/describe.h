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

// "10.0.0.1" or "2001:db8::42".
std::string AddressToString(const IpAddress& address);
// An address (or host) with a port, as people and URIs write it (RFC 3986
// §3.2.2): "10.0.0.1:7600", "[2001:db8::42]:7600". The one place that
// brackets IPv6 literals; registrars, PE transports and capture endpoints
// are all printed through it.
std::string JoinHostPort(absl::string_view host, uint16_t port);
std::string JoinHostPort(const IpAddress& address, uint16_t port);
// "sctp", "tcp", "udp", "udplite", "dccp", "opaque" ("unknown" otherwise).
const char* TransportName(ParamType type);
// JSON object for one PE: pe_id, home_registrar, registration_life,
// addresses, port, transport, transport_use, policy, policy_values, asap_transport.
std::string PoolElementToJson(const PoolElement& element);

}  // namespace rspd::protocol
