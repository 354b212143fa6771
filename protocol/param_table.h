// File: protocol/param_table.h
//
// The parameter table of the codec: one row per parameter type of RFC 5354 §3
// (and RSPLIB's Handle Resolution option), indexed by the pure type (action
// bits cleared): its RFC name, the shape of its value, which selects its
// check in protocol/decode.cc, and what the encoder (protocol/encode.cc) puts
// on the wire as its type. Internal to the `:codec` target; callers use
// protocol/codec.h.
//
// Example:
//   const ParamRow* row = FindParam(PureParamType(tlv.type));
//   if (row == nullptr) ...  // unknown: follow the action bits (RFC 5354 §3)

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "protocol/types.h"

namespace rspd::protocol {

// Pure parameter types below this have a row: RFC 5354 §3 uses 0x1-0x10,
// RSPLIB's Handle Resolution option is 0x3f.
inline constexpr size_t kParamTypeCount = 0x40;

// The layout of a parameter's value; each has one check in the decoder.
enum class ParamShape : uint8_t {
  kNone,               // no such parameter
  kFixedSize,          // exactly `value_size` bytes (addresses, identifiers)
  kTransport,          // RFC 5354 §3.3-3.7, §3.16
  kPolicy,             // RFC 5354 §3.8
  kPoolHandle,         // RFC 5354 §3.9
  kPoolElement,        // RFC 5354 §3.10
  kServerInformation,  // RFC 5354 §3.11
  kOperationError,     // RFC 5354 §3.12
  kOpaque,             // RFC 5354 §3.13 (Cookie): any bytes
};

struct ParamRow {
  const char* name = nullptr;  // RFC name; nullptr: no such parameter
  ParamShape shape = ParamShape::kNone;
  // The type as sent, action bits included (RFC 5354 §3).
  uint16_t sent_as = 0;
  // kFixedSize: the value's size and the reason when it differs.
  uint8_t value_size = 0;
  const char* wrong_size = nullptr;
  // Validated before the message's row is consulted: a malformed one is
  // Invalid Values even in a message that does not carry it.
  bool checked_everywhere = false;
};

// The rows, one per RFC 5354 §3 parameter type; built at compile time, so
// that the message table (protocol/message_table.h) can copy what the
// decoder needs into its rows.
namespace param_table_internal {

constexpr ParamRow Row(const char* name, ParamShape shape, ParamType type) {
  ParamRow row;
  row.name = name;
  row.shape = shape;
  row.sent_as = static_cast<uint16_t>(type);
  return row;
}
constexpr ParamRow Fixed(const char* name, ParamType type, uint8_t size, const char* wrong_size) {
  ParamRow row = Row(name, ParamShape::kFixedSize, type);
  row.value_size = size;
  row.wrong_size = wrong_size;
  return row;
}
constexpr ParamRow CheckedEverywhere(ParamRow row) {
  row.checked_everywhere = true;
  return row;
}
constexpr ParamRow SentAs(ParamRow row, uint16_t sent_as) {
  row.sent_as = sent_as;
  return row;
}

constexpr std::array<ParamRow, kParamTypeCount> BuildParamTable() {
  std::array<ParamRow, kParamTypeCount> t{};
  auto at = [&t](ParamType type) -> ParamRow& { return t[static_cast<size_t>(type)]; };
  constexpr const char* kWrongAddress = "address parameter of wrong length";
  // RFC 5354 §3.1-3.2.
  at(ParamType::kIpv4Address) = Fixed("IPv4 Address", ParamType::kIpv4Address, 4, kWrongAddress);
  at(ParamType::kIpv6Address) = Fixed("IPv6 Address", ParamType::kIpv6Address, 16, kWrongAddress);
  // RFC 5354 §3.3-3.7.
  at(ParamType::kDccpTransport) =
      Row("DCCP Transport", ParamShape::kTransport, ParamType::kDccpTransport);
  at(ParamType::kSctpTransport) =
      Row("SCTP Transport", ParamShape::kTransport, ParamType::kSctpTransport);
  at(ParamType::kTcpTransport) =
      Row("TCP Transport", ParamShape::kTransport, ParamType::kTcpTransport);
  at(ParamType::kUdpTransport) =
      Row("UDP Transport", ParamShape::kTransport, ParamType::kUdpTransport);
  at(ParamType::kUdpLiteTransport) =
      Row("UDP-Lite Transport", ParamShape::kTransport, ParamType::kUdpLiteTransport);
  // RFC 5354 §3.8.
  at(ParamType::kPolicy) =
      Row("Pool Member Selection Policy", ParamShape::kPolicy, ParamType::kPolicy);
  // RFC 5354 §3.9.
  at(ParamType::kPoolHandle) = Row("Pool Handle", ParamShape::kPoolHandle, ParamType::kPoolHandle);
  // RFC 5354 §3.10.
  at(ParamType::kPoolElement) =
      CheckedEverywhere(Row("Pool Element", ParamShape::kPoolElement, ParamType::kPoolElement));
  // RFC 5354 §3.11.
  at(ParamType::kServerInformation) = CheckedEverywhere(
      Row("Server Information", ParamShape::kServerInformation, ParamType::kServerInformation));
  // RFC 5354 §3.12.
  at(ParamType::kOperationError) =
      Row("Operation Error", ParamShape::kOperationError, ParamType::kOperationError);
  // RFC 5354 §3.13.
  at(ParamType::kCookie) = Row("Cookie", ParamShape::kOpaque, ParamType::kCookie);
  // RFC 5354 §3.14.
  at(ParamType::kPeIdentifier) = Fixed("PE Identifier", ParamType::kPeIdentifier, 4,
                                       "PE Identifier parameter of wrong length");
  // RFC 5354 §3.15: a 16-bit checksum; Length = 6.
  at(ParamType::kPeChecksum) =
      Fixed("PE Checksum", ParamType::kPeChecksum, 2, "PE Checksum parameter of wrong length");
  // RFC 5354 §3.16: opaque to RSerPool.
  at(ParamType::kOpaqueTransport) =
      Row("Opaque Transport", ParamShape::kTransport, ParamType::kOpaqueTransport);
  // RSPLIB's Handle Resolution option (protocol/types.h): sent with action
  // bits 10, so that a receiver that does not know it skips it.
  at(ParamType::kHandleResolutionOption) =
      SentAs(Fixed("Handle Resolution", ParamType::kHandleResolutionOption, 4,
                   "Handle Resolution option of wrong length"),
             0x8000 | static_cast<uint16_t>(ParamType::kHandleResolutionOption));
  return t;
}

}  // namespace param_table_internal

inline constexpr std::array<ParamRow, kParamTypeCount> kParamTable =
    param_table_internal::BuildParamTable();

// The row of a pure parameter type, or nullptr if it has none.
constexpr const ParamRow* FindParam(uint16_t pure_type) {
  if (pure_type >= kParamTypeCount || kParamTable[pure_type].name == nullptr) {
    return nullptr;
  }
  return &kParamTable[pure_type];
}

constexpr bool IsTransportType(uint16_t pure_type) {
  const ParamRow* row = FindParam(pure_type);
  return row != nullptr && row->shape == ParamShape::kTransport;
}

}  // namespace rspd::protocol
