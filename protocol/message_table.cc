// File: protocol/message_table.cc
//
// The rows of the message table (protocol/message_table.h): every ASAP
// message of RFC 5352 §2.2 and ENRP message of RFC 5353 §2, each with the
// section that defines it. Rules are listed in the order the encoder writes
// them.

#include "protocol/message_table.h"

namespace rspd::protocol {
namespace {

constexpr ParamRule One(ParamType type, Field field, Presence presence = Presence::kOptional) {
  return ParamRule{type, field, presence, false};
}
constexpr ParamRule Many(ParamType type, Field field, Presence presence = Presence::kOptional) {
  return ParamRule{type, field, presence, true};
}
constexpr ParamRule Refuse(ParamType type, Field field) {
  return ParamRule{type, field, Presence::kRefused, true};
}
constexpr Presence kMandatory = Presence::kMandatory;

constexpr MessageRow Row(const char* name, FixedFields fixed, uint8_t defined_flags,
                         std::initializer_list<ParamRule> rules) {
  MessageRow row;
  row.name = name;
  row.fixed = fixed;
  row.defined_flags = defined_flags;
  for (const ParamRule& rule : rules) {
    row.rules[row.rule_count] = rule;
    ++row.rule_count;
    row.slots[static_cast<size_t>(rule.type)] = SlotFor(rule);
    if (rule.presence == Presence::kMandatory) {
      row.mandatory |= Bit(rule.field);
    }
  }
  return row;
}
constexpr MessageRow Missing(MessageRow row, const char* reason) {
  row.missing = reason;
  return row;
}
constexpr MessageRow Refused(MessageRow row, const char* reason) {
  row.refused = reason;
  return row;
}
constexpr MessageRow ErrorInstead(MessageRow row) {
  row.error_instead = true;
  return row;
}
constexpr MessageRow RejectionIsEmpty(MessageRow row, uint8_t flag, const char* reason) {
  row.reject_flag = flag;
  row.rejecting = reason;
  return row;
}

constexpr const char* kNeedsHandleAndPeId = "message needs a Pool Handle and a PE Identifier";
constexpr const char* kNeedsHandle = "message needs a Pool Handle";
constexpr const char* kNeedsCookie = "message needs a Cookie";

constexpr std::array<MessageRow, kMessageTypeCount> BuildAsap() {
  std::array<MessageRow, kMessageTypeCount> t{};
  auto at = [&t](AsapType type) -> MessageRow& { return t[static_cast<size_t>(type)]; };
  const ParamRule handle = One(ParamType::kPoolHandle, Field::kPoolHandle, kMandatory);
  const ParamRule pe_id = One(ParamType::kPeIdentifier, Field::kPeId, kMandatory);
  const ParamRule error = One(ParamType::kOperationError, Field::kError);
  // RFC 5352 §2.2.1.
  at(AsapType::kRegistration) =
      Missing(Row("ASAP_REGISTRATION", FixedFields::kNone, 0,
                  {handle, One(ParamType::kPoolElement, Field::kPoolElement, kMandatory)}),
              "REGISTRATION needs a Pool Handle and a Pool Element");
  // RFC 5352 §2.2.2.
  at(AsapType::kDeregistration) = Missing(
      Row("ASAP_DEREGISTRATION", FixedFields::kNone, 0, {handle, pe_id}), kNeedsHandleAndPeId);
  // RFC 5352 §2.2.3.
  at(AsapType::kRegistrationResponse) =
      Missing(Row("ASAP_REGISTRATION_RESPONSE", FixedFields::kNone, kFlagRegistrationReject,
                  {handle, pe_id, error}),
              kNeedsHandleAndPeId);
  // RFC 5352 §2.2.4.
  at(AsapType::kDeregistrationResponse) =
      Missing(Row("ASAP_DEREGISTRATION_RESPONSE", FixedFields::kNone, 0, {handle, pe_id, error}),
              kNeedsHandleAndPeId);
  // RFC 5352 §2.2.5; RSPLIB's Handle Resolution option (protocol/types.h).
  at(AsapType::kHandleResolution) =
      Missing(Row("ASAP_HANDLE_RESOLUTION", FixedFields::kNone, kFlagSubscribe,
                  {handle, One(ParamType::kHandleResolutionOption, Field::kHandleResolutionItems)}),
              kNeedsHandle);
  // RFC 5352 §2.2.6: positive = Pool Handle + PEs; negative = Operation Error.
  at(AsapType::kHandleResolutionResponse) = ErrorInstead(
      Missing(Row("ASAP_HANDLE_RESOLUTION_RESPONSE", FixedFields::kNone, kFlagUpdatesAccepted,
                  {handle, One(ParamType::kPolicy, Field::kPolicy),
                   Many(ParamType::kPoolElement, Field::kPoolElements, kMandatory), error}),
              "HANDLE_RESOLUTION_RESPONSE needs PEs or an Operation Error"));
  // RFC 5352 §2.2.7.
  at(AsapType::kEndpointKeepAlive) =
      Missing(Row("ASAP_ENDPOINT_KEEP_ALIVE", FixedFields::kServerId, kFlagHome,
                  {handle, One(ParamType::kPeIdentifier, Field::kPeId)}),
              kNeedsHandle);
  // RFC 5352 §2.2.8.
  at(AsapType::kEndpointKeepAliveAck) =
      Missing(Row("ASAP_ENDPOINT_KEEP_ALIVE_ACK", FixedFields::kNone, 0, {handle, pe_id}),
              kNeedsHandleAndPeId);
  // RFC 5352 §2.2.9.
  at(AsapType::kEndpointUnreachable) =
      Missing(Row("ASAP_ENDPOINT_UNREACHABLE", FixedFields::kNone, 0, {handle, pe_id}),
              kNeedsHandleAndPeId);
  // RFC 5352 §2.2.10: SERVER_ANNOUNCE lists SCTP and TCP transports.
  at(AsapType::kServerAnnounce) =
      Refused(Row("ASAP_SERVER_ANNOUNCE", FixedFields::kServerId, 0,
                  {Many(ParamType::kSctpTransport, Field::kTransports),
                   Many(ParamType::kTcpTransport, Field::kTransports),
                   Refuse(ParamType::kDccpTransport, Field::kTransports),
                   Refuse(ParamType::kUdpTransport, Field::kTransports),
                   Refuse(ParamType::kUdpLiteTransport, Field::kTransports),
                   Refuse(ParamType::kOpaqueTransport, Field::kTransports)}),
              "SERVER_ANNOUNCE transport is neither SCTP nor TCP");
  // RFC 5352 §2.2.11.
  at(AsapType::kCookie) = Missing(Row("ASAP_COOKIE", FixedFields::kNone, 0,
                                      {One(ParamType::kCookie, Field::kCookie, kMandatory)}),
                                  kNeedsCookie);
  // RFC 5352 §2.2.12.
  at(AsapType::kCookieEcho) = Missing(Row("ASAP_COOKIE_ECHO", FixedFields::kNone, 0,
                                          {One(ParamType::kCookie, Field::kCookie, kMandatory)}),
                                      kNeedsCookie);
  // RFC 5352 §2.2.13.
  at(AsapType::kBusinessCard) =
      Missing(Row("ASAP_BUSINESS_CARD", FixedFields::kNone, 0,
                  {handle, Many(ParamType::kPoolElement, Field::kPoolElements, kMandatory)}),
              "BUSINESS_CARD needs a Pool Handle and at least one PE");
  // RFC 5352 §2.2.14.
  at(AsapType::kError) = Missing(Row("ASAP_ERROR", FixedFields::kNone, 0,
                                     {One(ParamType::kOperationError, Field::kError, kMandatory)}),
                                 "ASAP_ERROR needs an Operation Error");
  return t;
}

constexpr std::array<MessageRow, kMessageTypeCount> BuildEnrp() {
  std::array<MessageRow, kMessageTypeCount> t{};
  auto at = [&t](EnrpType type) -> MessageRow& { return t[static_cast<size_t>(type)]; };
  // RFC 5353 §2.1.
  at(EnrpType::kPresence) = Row("ENRP_PRESENCE", FixedFields::kEnrpIds, kFlagReplyRequired,
                                {One(ParamType::kPeChecksum, Field::kChecksum),
                                 One(ParamType::kServerInformation, Field::kServerInformation)});
  // RFC 5353 §2.2.
  at(EnrpType::kHandleTableRequest) =
      Row("ENRP_HANDLE_TABLE_REQUEST", FixedFields::kEnrpIds, kFlagOwnChildrenOnly, {});
  // RFC 5353 §2.3: entries are a Pool Handle followed by its PEs; a
  // rejection MUST NOT carry entries.
  at(EnrpType::kHandleTableResponse) = RejectionIsEmpty(
      Row("ENRP_HANDLE_TABLE_RESPONSE", FixedFields::kEnrpIds, kFlagTableReject | kFlagMoreToSend,
          {Many(ParamType::kPoolHandle, Field::kPoolEntries),
           Many(ParamType::kPoolElement, Field::kPoolEntries)}),
      kFlagTableReject, "rejecting HANDLE_TABLE_RESPONSE carries entries");
  // RFC 5353 §2.4.
  at(EnrpType::kHandleUpdate) =
      Missing(Row("ENRP_HANDLE_UPDATE", FixedFields::kEnrpUpdateAction, 0,
                  {One(ParamType::kPoolHandle, Field::kPoolHandle, kMandatory),
                   One(ParamType::kPoolElement, Field::kPoolElement, kMandatory)}),
              "HANDLE_UPDATE needs a Pool Handle and a Pool Element");
  // RFC 5353 §2.5.
  at(EnrpType::kListRequest) = Row("ENRP_LIST_REQUEST", FixedFields::kEnrpIds, 0, {});
  // RFC 5353 §2.6: a rejection carries no servers.
  at(EnrpType::kListResponse) =
      RejectionIsEmpty(Row("ENRP_LIST_RESPONSE", FixedFields::kEnrpIds, kFlagListReject,
                           {Many(ParamType::kServerInformation, Field::kServers)}),
                       kFlagListReject, "rejecting LIST_RESPONSE carries servers");
  // RFC 5353 §2.7.
  at(EnrpType::kInitTakeover) = Row("ENRP_INIT_TAKEOVER", FixedFields::kEnrpTargetId, 0, {});
  // RFC 5353 §2.8.
  at(EnrpType::kInitTakeoverAck) = Row("ENRP_INIT_TAKEOVER_ACK", FixedFields::kEnrpTargetId, 0, {});
  // RFC 5353 §2.9.
  at(EnrpType::kTakeoverServer) = Row("ENRP_TAKEOVER_SERVER", FixedFields::kEnrpTargetId, 0, {});
  // RFC 5353 §2.10.
  at(EnrpType::kError) = Missing(Row("ENRP_ERROR", FixedFields::kEnrpIds, 0,
                                     {One(ParamType::kOperationError, Field::kError, kMandatory)}),
                                 "ENRP_ERROR needs an Operation Error");
  return t;
}

// Built at compile time: a row too long for kMaxRules does not compile.
constexpr std::array<MessageRow, kMessageTypeCount> kAsapRows = BuildAsap();
constexpr std::array<MessageRow, kMessageTypeCount> kEnrpRows = BuildEnrp();

}  // namespace

const std::array<MessageRow, kMessageTypeCount> kAsapMessages = kAsapRows;
const std::array<MessageRow, kMessageTypeCount> kEnrpMessages = kEnrpRows;

}  // namespace rspd::protocol
