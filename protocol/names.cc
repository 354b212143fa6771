// File: protocol/names.cc
//
// The RFC names of messages, parameters and error causes (protocol/codec.h),
// read from the message table (protocol/message_table.h), the parameter
// table (protocol/param_table.h) and the cause table below (RFC 5354 §3.12).
// Policy names come from the policy table (protocol/policy_table.h).

#include <array>
#include <cstddef>

#include "protocol/codec.h"
#include "protocol/message_table.h"
#include "protocol/param_table.h"

namespace rspd::protocol {
namespace {

// RFC 5354 §3.12, indexed by cause code.
constexpr std::array<const char*, 11> kCauseNames = {
    "Unspecified Error",                        // 0x0
    "Unrecognized Parameter",                   // 0x1
    "Unrecognized Message",                     // 0x2
    "Invalid Values",                           // 0x3
    "Non-unique PE Identifier",                 // 0x4
    "Inconsistent Pooling Policy",              // 0x5
    "Lack of Resources",                        // 0x6
    "Inconsistent Transport Type",              // 0x7
    "Inconsistent Data/Control Configuration",  // 0x8
    "Unknown Pool Handle",                      // 0x9
    "Rejected due to security considerations",  // 0xa
};
static_assert(kCauseNames.size() == static_cast<size_t>(Cause::kRejectedDueToSecurity) + 1);

}  // namespace

const char* MessageTypeName(Protocol protocol, uint8_t type) {
  const MessageRow* row = FindMessage(protocol, type);
  if (row != nullptr) {
    return row->name;
  }
  return protocol == Protocol::kAsap ? "ASAP_UNKNOWN" : "ENRP_UNKNOWN";
}

const char* ParamTypeName(uint16_t pure_type) {
  const ParamRow* row = FindParam(pure_type);
  return row == nullptr ? "Unknown" : row->name;
}

const char* CauseName(Cause cause) {
  const size_t code = static_cast<size_t>(cause);
  return code < kCauseNames.size() ? kCauseNames[code] : "Unknown Cause";
}

const char* PeerStateName(PeerState state) {
  switch (state) {
    case PeerState::kActive:
      return "active";
    case PeerState::kProbed:
      return "probed";
    case PeerState::kInactive:
      return "inactive";
    case PeerState::kTakingOver:
      return "taking-over";
  }
  return "unknown";
}

}  // namespace rspd::protocol
