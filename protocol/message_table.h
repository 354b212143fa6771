// File: protocol/message_table.h
//
// The message table of the codec: one row per ASAP message (RFC 5352 §2.2)
// and ENRP message (RFC 5353 §2), indexed by protocol and type. A row holds
// the message's RFC name, its fixed fields, the flags the RFC defines for it,
// and its parameters: which type, into which `Message` field, mandatory or
// optional, single or repeated, in the order the encoder writes them. The
// decoder (protocol/decode.cc), the encoder (protocol/encode.cc) and the
// names (protocol/names.cc) are loops over a row; a new message is a new row.
// Internal to the `:codec` target; callers use protocol/codec.h.
//
// Example:
//   const MessageRow* row = FindMessage(Protocol::kAsap, header_type);
//   if (row == nullptr) ...  // Unrecognized Message (RFC 5354 §4)
//   const ParamSlot& slot = row->slots[PureParamType(tlv.type)];  // type < kParamTypeCount

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "protocol/param_table.h"
#include "protocol/types.h"

namespace rspd::protocol {

// The fields between the common header and the parameters.
enum class FixedFields : uint8_t {
  kNone,
  kServerId,          // ASAP: Server Identifier(32)
  kEnrpIds,           // ENRP: Sending Server's ID(32), Receiving Server's ID(32)
  kEnrpUpdateAction,  // ENRP ids, Update Action(16), Reserved(16)
  kEnrpTargetId,      // ENRP ids, Target Server's ID(32)
};

// Bytes of the fixed fields.
constexpr int FixedFieldsSize(FixedFields fixed) {
  switch (fixed) {
    case FixedFields::kNone:
      return 0;
    case FixedFields::kServerId:
      return 4;
    case FixedFields::kEnrpIds:
      return 8;
    case FixedFields::kEnrpUpdateAction:
    case FixedFields::kEnrpTargetId:
      return 12;
  }
  return 0;
}

// The `Message` member a parameter goes into (protocol/codec.h).
enum class Field : uint8_t {
  kPoolHandle,             // has_pool_handle, pool_handle
  kPeId,                   // has_pe_id, pe_id
  kPoolElement,            // has_pool_element, pool_element
  kPoolElements,           // pool_elements
  kPolicy,                 // has_policy, policy
  kPoolEntries,            // pool_entries: a Pool Handle, then its Pool Elements
  kServers,                // servers
  kServerInformation,      // has_server_information, server_information
  kTransports,             // transports
  kChecksum,               // has_checksum, checksum
  kCookie,                 // has_cookie, cookie
  kError,                  // has_error, error_causes
  kHandleResolutionItems,  // has_handle_resolution_items, handle_resolution_items
};
inline constexpr size_t kFieldCount = static_cast<size_t>(Field::kHandleResolutionItems) + 1;
constexpr uint32_t Bit(Field field) { return uint32_t{1} << static_cast<int>(field); }

enum class Presence : uint8_t {
  kOptional,
  kMandatory,
  kRefused,  // Invalid Values with the row's `refused` reason
};

// One parameter a message carries.
struct ParamRule {
  ParamType type = ParamType::kPoolHandle;
  Field field = Field::kPoolHandle;
  Presence presence = Presence::kOptional;
  bool repeated = false;
};

// What the decoder does with a parameter in a message: one value per way a
// parameter goes into `Message` (its field and whether single or a list),
// so that the decoder's hot path is one read of the message's slot for the
// parameter's type and one switch (protocol/decode.cc). Derived from the
// rule and the parameter's row at compile time (SlotFor below).
enum class ParamOp : uint8_t {
  kNone,     // no rule: the action bits decide (RFC 5354 §3)
  kRefused,  // Invalid Values with the row's `refused` reason
  // Single parameters: checked, then stored in their field.
  kPoolHandle,
  kPeId,
  kPoolElement,
  kPolicy,
  kServerInformation,
  kChecksum,
  kCookie,
  kError,
  kHandleResolutionItems,
  // Lists: checked and counted.
  kPoolElements,
  kServers,
  kTransports,
  // RFC 5353 §2.3: a handle table entry's Pool Handle, and its Pool Elements.
  kEntryHandle,
  kEntryElement,
};

// Everything the decoder's hot path needs about one pure parameter type in
// one message.
struct ParamSlot {
  ParamOp op = ParamOp::kNone;  // names the field too
  // ParamShape::kFixedSize: the value's size (kParamTable has the reason).
  uint8_t value_size = 0;
  // The parameter's row says so: checked before the rule is applied.
  bool checked_everywhere = false;
};
static_assert(sizeof(ParamSlot) <= 4);

// Not constexpr: a rule whose field cannot hold its parameter does not compile.
void RuleDoesNotFitItsField();

// The slot of a rule: its op follows from its field and its parameter's
// shape.
constexpr ParamSlot SlotFor(const ParamRule& rule) {
  const ParamRow& param = kParamTable[static_cast<size_t>(rule.type)];
  ParamSlot slot;
  slot.value_size = param.value_size;
  slot.checked_everywhere = param.checked_everywhere;
  auto expect = [&](ParamOp op, ParamShape shape, bool repeated) {
    if (param.shape != shape || rule.repeated != repeated) {
      RuleDoesNotFitItsField();
    }
    return op;
  };
  auto expect_size = [&](ParamOp op, uint8_t size) {
    if (param.shape != ParamShape::kFixedSize || param.value_size != size || rule.repeated) {
      RuleDoesNotFitItsField();
    }
    return op;
  };
  if (param.name == nullptr) {
    RuleDoesNotFitItsField();
  }
  if (rule.presence == Presence::kRefused) {
    slot.op = ParamOp::kRefused;
    return slot;
  }
  switch (rule.field) {
    case Field::kPoolHandle:
      slot.op = expect(ParamOp::kPoolHandle, ParamShape::kPoolHandle, false);
      break;
    case Field::kPeId:
      slot.op = expect_size(ParamOp::kPeId, 4);
      break;
    case Field::kPoolElement:
      slot.op = expect(ParamOp::kPoolElement, ParamShape::kPoolElement, false);
      break;
    case Field::kPoolElements:
      slot.op = expect(ParamOp::kPoolElements, ParamShape::kPoolElement, true);
      break;
    case Field::kPolicy:
      slot.op = expect(ParamOp::kPolicy, ParamShape::kPolicy, false);
      break;
    case Field::kPoolEntries:
      slot.op = param.shape == ParamShape::kPoolHandle
                    ? expect(ParamOp::kEntryHandle, ParamShape::kPoolHandle, true)
                    : expect(ParamOp::kEntryElement, ParamShape::kPoolElement, true);
      break;
    case Field::kServers:
      slot.op = expect(ParamOp::kServers, ParamShape::kServerInformation, true);
      break;
    case Field::kServerInformation:
      slot.op = expect(ParamOp::kServerInformation, ParamShape::kServerInformation, false);
      break;
    case Field::kTransports:
      slot.op = expect(ParamOp::kTransports, ParamShape::kTransport, true);
      break;
    case Field::kChecksum:
      slot.op = expect_size(ParamOp::kChecksum, 2);
      break;
    case Field::kCookie:
      slot.op = expect(ParamOp::kCookie, ParamShape::kOpaque, false);
      break;
    case Field::kError:
      slot.op = expect(ParamOp::kError, ParamShape::kOperationError, false);
      break;
    case Field::kHandleResolutionItems:
      slot.op = expect_size(ParamOp::kHandleResolutionItems, 4);
      break;
  }
  return slot;
}

// The slots of a message without rules: only the parameters checked
// everywhere are looked at.
constexpr std::array<ParamSlot, kParamTypeCount> SlotsWithoutRules() {
  std::array<ParamSlot, kParamTypeCount> slots{};
  for (size_t type = 0; type < kParamTypeCount; ++type) {
    slots[type].checked_everywhere = kParamTable[type].checked_everywhere;
  }
  return slots;
}

inline constexpr size_t kMaxRules = 6;

struct MessageRow {
  const char* name = nullptr;  // RFC name; nullptr: no such message
  FixedFields fixed = FixedFields::kNone;
  // Flags the RFC defines for the message (protocol/types.h); the encoder
  // sends the others as 0 (RFC 5354 §4).
  uint8_t defined_flags = 0;
  // Reasons for DecodeError: a mandatory parameter is absent; a refused
  // parameter is present.
  const char* missing = nullptr;
  const char* refused = nullptr;
  // A negative response: an Operation Error stands for the mandatory
  // parameters.
  bool error_instead = false;
  // A rejection (this flag set) carries no parameters, else `rejecting`.
  uint8_t reject_flag = 0;
  const char* rejecting = nullptr;

  std::array<ParamRule, kMaxRules> rules{};
  uint8_t rule_count = 0;
  uint32_t mandatory = 0;  // Bit(field) of the mandatory rules
  // By pure parameter type: what the decoder does with it (ParamSlot).
  std::array<ParamSlot, kParamTypeCount> slots = SlotsWithoutRules();
};

// Message types 0x00-0x0f have rows: ASAP uses 0x01-0x0e, ENRP 0x01-0x0a.
inline constexpr size_t kMessageTypeCount = 0x10;

extern const std::array<MessageRow, kMessageTypeCount> kAsapMessages;
extern const std::array<MessageRow, kMessageTypeCount> kEnrpMessages;

// The row of a message type, or nullptr if the protocol has no such type.
inline const MessageRow* FindMessage(Protocol protocol, uint8_t type) {
  if (type >= kMessageTypeCount) {
    return nullptr;
  }
  const MessageRow& row = (protocol == Protocol::kAsap ? kAsapMessages : kEnrpMessages)[type];
  return row.name == nullptr ? nullptr : &row;
}

}  // namespace rspd::protocol
