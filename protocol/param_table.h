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

extern const std::array<ParamRow, kParamTypeCount> kParamTable;

// The row of a pure parameter type, or nullptr if it has none.
inline const ParamRow* FindParam(uint16_t pure_type) {
  if (pure_type >= kParamTypeCount || kParamTable[pure_type].name == nullptr) {
    return nullptr;
  }
  return &kParamTable[pure_type];
}

inline bool IsTransportType(uint16_t pure_type) {
  const ParamRow* row = FindParam(pure_type);
  return row != nullptr && row->shape == ParamShape::kTransport;
}

}  // namespace rspd::protocol
