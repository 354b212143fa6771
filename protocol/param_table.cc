// File: protocol/param_table.cc
//
// The rows of the parameter table (protocol/param_table.h), one per RFC 5354
// §3 parameter type.

#include "protocol/param_table.h"

namespace rspd::protocol {
namespace {

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

constexpr std::array<ParamRow, kParamTypeCount> Build() {
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

// Built at compile time.
constexpr std::array<ParamRow, kParamTypeCount> kRows = Build();

}  // namespace

const std::array<ParamRow, kParamTypeCount> kParamTable = kRows;

}  // namespace rspd::protocol
