#include "protocol/testing/samples.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace rspd::protocol::testing {
namespace {

constexpr uint32_t kServerA = 0x11111111;
constexpr uint32_t kServerB = 0x22222222;

const uint8_t kV6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};

Message Asap(AsapType type, uint8_t flags = 0) {
  Message m;
  m.protocol = Protocol::kAsap;
  m.type = static_cast<uint8_t>(type);
  m.flags = flags;
  return m;
}

Message Enrp(EnrpType type, uint8_t flags = 0) {
  Message m;
  m.protocol = Protocol::kEnrp;
  m.type = static_cast<uint8_t>(type);
  m.flags = flags;
  m.sender_id = kServerA;
  m.receiver_id = kServerB;
  return m;
}

// Storage for the addresses that transports point to.
const std::array<IpAddress, 3>& Addresses() {
  static const std::array<IpAddress, 3> addresses = {IpAddress::V4(0x0a000001),
                                                     IpAddress::V4(0x0a000002), IpAddress::V6(kV6)};
  return addresses;
}

TransportView MakeTransport(ParamType type, uint16_t port, size_t first, size_t count,
                            uint16_t use = 0) {
  TransportView t;
  t.type = type;
  t.port = port;
  t.transport_use = use;
  if (type == ParamType::kDccpTransport) t.dccp_service_code = 0xdcc90001;
  t.addresses = ParamList<IpAddress>(absl::MakeConstSpan(Addresses()).subspan(first, count));
  return t;
}

PoolElementView MakePe(uint32_t id, TransportView user, Policy policy) {
  PoolElementView e;
  e.pe_id = id;
  e.home_registrar = kServerA;
  e.registration_life = 300;
  e.user_transport = user;
  e.policy = policy;
  e.has_asap_transport = true;
  e.asap_transport = MakeTransport(ParamType::kSctpTransport, 30000, 0, 2);
  return e;
}

const uint8_t kCookie[] = {'s', 'e', 's', 's', 'i', 'o', 'n', '-', '4', '2'};
const uint8_t kOpaque[] = {'h', 't', 't', 'p', ':', '/', '/', 'x'};

}  // namespace

std::vector<Sample> AllSamples() {
  std::vector<Sample> out;
  auto add = [&out](const std::string& name, const Message& m) {
    out.push_back({m.protocol, m.type, name, EncodeMessageToVector(m)});
  };

  // Every policy type (RFC 5356 and RSPLIB) in a REGISTRATION.
  const std::vector<std::pair<const char*, Policy>> policies = {
      {"rr", Policy::Of(PolicyType::kRoundRobin)},
      {"wrr", Policy::Of(PolicyType::kWeightedRoundRobin, {7})},
      {"random", Policy::Of(PolicyType::kRandom)},
      {"wrandom", Policy::Of(PolicyType::kWeightedRandom, {9})},
      {"priority", Policy::Of(PolicyType::kPriority, {3})},
      {"lu", Policy::Of(PolicyType::kLeastUsed, {0x40000000})},
      {"lud", Policy::Of(PolicyType::kLeastUsedWithDegradation, {0x10000000, 0x01000000})},
      {"plu", Policy::Of(PolicyType::kPriorityLeastUsed, {0x20000000, 0x02000000})},
      {"rlu", Policy::Of(PolicyType::kRandomizedLeastUsed, {0x30000000})},
      {"rplu", Policy::Of(PolicyType::kRandomizedPriorityLeastUsed, {1, 2})},
      {"rlud", Policy::Of(PolicyType::kRandomizedLeastUsedWithDegradation, {1, 2})},
      {"plud", Policy::Of(PolicyType::kPriorityLeastUsedWithDegradation, {1, 2})},
      {"rplud", Policy::Of(PolicyType::kRandomizedPriorityLeastUsedWithDegradation, {1, 2})},
      {"wrand_dpf", Policy::Of(PolicyType::kWeightedRandomWithDpf, {5, 6, 7})},
      {"lu_dpf", Policy::Of(PolicyType::kLeastUsedWithDpf, {5, 6, 7})},
      {"lud_dpf", Policy::Of(PolicyType::kLeastUsedWithDegradationWithDpf, {5, 6, 7, 8})},
  };
  for (const auto& [name, policy] : policies) {
    Message m = Asap(AsapType::kRegistration);
    m.has_pool_handle = true;
    m.pool_handle = "echo";
    m.has_pool_element = true;
    m.pool_element = MakePe(0x1000 + static_cast<uint32_t>(out.size()),
                            MakeTransport(ParamType::kSctpTransport, 7, 0, 3,
                                          static_cast<uint16_t>(TransportUse::kDataPlusControl)),
                            policy);
    add(absl::StrCat("asap_registration_sctp_", name), m);
  }
  // Every user transport type.
  const std::vector<std::pair<const char*, TransportView>> transports = {
      {"tcp", MakeTransport(ParamType::kTcpTransport, 80, 0, 1)},
      {"udp", MakeTransport(ParamType::kUdpTransport, 53, 2, 1)},
      {"udplite", MakeTransport(ParamType::kUdpLiteTransport, 5004, 1, 1)},
      {"dccp", MakeTransport(ParamType::kDccpTransport, 5005, 0, 1)},
  };
  for (const auto& [name, transport] : transports) {
    Message m = Asap(AsapType::kRegistration);
    m.has_pool_handle = true;
    m.pool_handle = "transport-pool";
    m.has_pool_element = true;
    m.pool_element = MakePe(0x2000, transport, Policy::Of(PolicyType::kRoundRobin));
    add(absl::StrCat("asap_registration_", name), m);
  }
  {
    Message m = Asap(AsapType::kRegistration);
    m.has_pool_handle = true;
    m.pool_handle = "opaque-pool";
    m.has_pool_element = true;
    TransportView opaque;
    opaque.type = ParamType::kOpaqueTransport;
    opaque.opaque = kOpaque;
    m.pool_element = MakePe(0x2001, opaque, Policy::Of(PolicyType::kRoundRobin));
    m.pool_element.has_asap_transport = false;  // the registrar fills it in
    add("asap_registration_opaque", m);
  }
  {
    Message m = Asap(AsapType::kDeregistration);
    m.has_pool_handle = true;
    m.pool_handle = "echo";
    m.has_pe_id = true;
    m.pe_id = 0x1000;
    add("asap_deregistration", m);
  }
  // Every error cause, in registration responses (R=1 reject).
  const Cause causes[] = {Cause::kUnspecified,
                          Cause::kUnrecognizedParameter,
                          Cause::kUnrecognizedMessage,
                          Cause::kInvalidValues,
                          Cause::kNonUniquePeIdentifier,
                          Cause::kInconsistentPoolingPolicy,
                          Cause::kLackOfResources,
                          Cause::kInconsistentTransportType,
                          Cause::kInconsistentDataControlConfiguration,
                          Cause::kUnknownPoolHandle,
                          Cause::kRejectedDueToSecurity};
  static const uint8_t kPolicyInfo[] = {0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01};
  static const uint8_t kUnknownParam[] = {0x40, 0x77, 0x00, 0x06, 0xab, 0xcd};
  static const uint8_t kUnknownMessage[] = {0x4f, 0x00, 0x00, 0x04};
  static const uint8_t kBadAddress[] = {0x00, 0x01, 0x00, 0x08, 0x7f, 0x00, 0x00, 0x01};
  static const uint8_t kTcpTransport[] = {0x00, 0x05, 0x00, 0x10, 0x00, 0x50, 0x00, 0x00,
                                          0x00, 0x01, 0x00, 0x08, 0x0a, 0x00, 0x00, 0x01};
  for (Cause cause : causes) {
    Message m = Asap(AsapType::kRegistrationResponse, kFlagRegistrationReject);
    m.has_pool_handle = true;
    m.pool_handle = "echo";
    m.has_pe_id = true;
    m.pe_id = 0x1000;
    m.has_error = true;
    // Cause-specific info as RFC 5354 §3.12 describes it (a TLV or nothing).
    ErrorCause error{cause, {}};
    if (cause == Cause::kInconsistentPoolingPolicy) error.info = kPolicyInfo;
    if (cause == Cause::kUnrecognizedParameter) error.info = kUnknownParam;
    if (cause == Cause::kUnrecognizedMessage) error.info = kUnknownMessage;
    if (cause == Cause::kInvalidValues) error.info = kBadAddress;
    if (cause == Cause::kInconsistentTransportType) error.info = kTcpTransport;
    static ErrorCause storage[16];
    storage[static_cast<int>(cause)] = error;
    m.error_causes =
        ParamList<ErrorCause>(absl::MakeConstSpan(&storage[static_cast<int>(cause)], 1));
    add(absl::StrCat("asap_registration_response_cause_", static_cast<int>(cause)), m);
  }
  {
    Message m = Asap(AsapType::kRegistrationResponse);
    m.has_pool_handle = true;
    m.pool_handle = "echo";
    m.has_pe_id = true;
    m.pe_id = 0x1000;
    add("asap_registration_response_ok", m);
  }
  {
    Message m = Asap(AsapType::kDeregistrationResponse);
    m.has_pool_handle = true;
    m.pool_handle = "echo";
    m.has_pe_id = true;
    m.pe_id = 0x1000;
    add("asap_deregistration_response", m);
  }
  {
    Message m = Asap(AsapType::kHandleResolution, kFlagSubscribe);
    m.has_pool_handle = true;
    m.pool_handle = "echo";
    m.has_handle_resolution_items = true;
    m.handle_resolution_items = 5;
    add("asap_handle_resolution", m);
  }
  {
    std::vector<uint8_t> bytes = HandleResolutionResponse(3);
    out.push_back({Protocol::kAsap, static_cast<uint8_t>(AsapType::kHandleResolutionResponse),
                   "asap_handle_resolution_response_3", bytes});
  }
  {
    Message m = Asap(AsapType::kHandleResolutionResponse);
    m.has_pool_handle = true;
    m.pool_handle = "nosuchpool";
    m.has_error = true;
    static const ErrorCause unknown{Cause::kUnknownPoolHandle, {}};
    m.error_causes = ParamList<ErrorCause>(absl::MakeConstSpan(&unknown, 1));
    add("asap_handle_resolution_response_unknown_pool", m);
  }
  {
    Message m = Asap(AsapType::kEndpointKeepAlive, kFlagHome);
    m.server_id = kServerA;
    m.has_pool_handle = true;
    m.pool_handle = "echo";
    add("asap_endpoint_keep_alive", m);
  }
  {
    Message m = Asap(AsapType::kEndpointKeepAliveAck);
    m.has_pool_handle = true;
    m.pool_handle = "echo";
    m.has_pe_id = true;
    m.pe_id = 0x1000;
    add("asap_endpoint_keep_alive_ack", m);
  }
  {
    Message m = Asap(AsapType::kEndpointUnreachable);
    m.has_pool_handle = true;
    m.pool_handle = "echo";
    m.has_pe_id = true;
    m.pe_id = 0x1001;
    add("asap_endpoint_unreachable", m);
  }
  {
    Message m = Asap(AsapType::kServerAnnounce);
    m.server_id = kServerA;
    static const TransportView announce[] = {
        MakeTransport(ParamType::kSctpTransport, kAsapPort, 0, 2),
        MakeTransport(ParamType::kTcpTransport, kAsapPort, 0, 1)};
    m.transports = ParamList<TransportView>(announce);
    add("asap_server_announce", m);
  }
  {
    Message m = Asap(AsapType::kCookie);
    m.has_cookie = true;
    m.cookie = kCookie;
    add("asap_cookie", m);
    m.type = static_cast<uint8_t>(AsapType::kCookieEcho);
    add("asap_cookie_echo", m);
  }
  {
    Message m = Asap(AsapType::kBusinessCard);
    m.has_pool_handle = true;
    m.pool_handle = "echo";
    static const PoolElementView card[] = {
        MakePe(0x1000, MakeTransport(ParamType::kSctpTransport, 7, 0, 1),
               Policy::Of(PolicyType::kRoundRobin)),
        MakePe(0x1001, MakeTransport(ParamType::kSctpTransport, 7, 1, 1),
               Policy::Of(PolicyType::kRoundRobin))};
    m.pool_elements = ParamList<PoolElementView>(card);
    add("asap_business_card", m);
  }
  {
    Message m = Asap(AsapType::kError);
    m.has_error = true;
    static const uint8_t kUnknownMessageInError[] = {0x4f, 0x00, 0x00, 0x04};
    static const ErrorCause error{Cause::kUnrecognizedMessage, kUnknownMessageInError};
    m.error_causes = ParamList<ErrorCause>(absl::MakeConstSpan(&error, 1));
    add("asap_error", m);
  }

  // ENRP.
  {
    Message m = Enrp(EnrpType::kPresence, kFlagReplyRequired);
    m.has_checksum = true;
    m.checksum = 0xbeef;
    m.has_server_information = true;
    m.server_information.server_id = kServerA;
    m.server_information.transport = MakeTransport(ParamType::kSctpTransport, kEnrpPort, 0, 3);
    add("enrp_presence", m);
  }
  {
    Message m = Enrp(EnrpType::kHandleTableRequest, kFlagOwnChildrenOnly);
    add("enrp_handle_table_request", m);
  }
  {
    std::vector<uint8_t> bytes = HandleTableResponse(2, 2);
    out.push_back({Protocol::kEnrp, static_cast<uint8_t>(EnrpType::kHandleTableResponse),
                   "enrp_handle_table_response", bytes});
  }
  {
    Message m = Enrp(EnrpType::kHandleTableResponse, kFlagTableReject);
    add("enrp_handle_table_response_reject", m);
  }
  for (UpdateAction action : {UpdateAction::kAddPe, UpdateAction::kDelPe}) {
    Message m = Enrp(EnrpType::kHandleUpdate);
    m.receiver_id = 0;  // group-cast, RFC 5353 §3.3.1
    m.update_action = action;
    m.has_pool_handle = true;
    m.pool_handle = "echo";
    m.has_pool_element = true;
    m.pool_element = MakePe(0x1000, MakeTransport(ParamType::kSctpTransport, 7, 0, 2),
                            Policy::Of(PolicyType::kLeastUsed, {0x1234}));
    add(action == UpdateAction::kAddPe ? "enrp_handle_update_add" : "enrp_handle_update_del", m);
  }
  {
    // rspd's extension (kUdpEncapsulationPortParam, docs/decisions.md): the
    // UDP port of a PE's ASAP endpoint and of a server, which other
    // implementations skip (action bits 10).
    Message m = Enrp(EnrpType::kHandleUpdate);
    m.receiver_id = 0;
    m.update_action = UpdateAction::kAddPe;
    m.has_pool_handle = true;
    m.pool_handle = "echo";
    m.has_pool_element = true;
    m.pool_element = MakePe(0x1001, MakeTransport(ParamType::kSctpTransport, 7, 0, 1),
                            Policy::Of(PolicyType::kRoundRobin));
    m.pool_element.asap_udp_port = 40123;
    add("enrp_handle_update_udp_port", m);
  }
  {
    Message m = Enrp(EnrpType::kPresence);
    m.has_checksum = true;
    m.checksum = 0xffff;
    m.has_server_information = true;
    m.server_information.server_id = kServerA;
    m.server_information.transport = MakeTransport(ParamType::kSctpTransport, kEnrpPort, 0, 1);
    m.server_information.udp_port = 19001;
    add("enrp_presence_udp_port", m);
  }
  add("enrp_list_request", Enrp(EnrpType::kListRequest));
  {
    Message m = Enrp(EnrpType::kListResponse);
    static ServerInformation servers[2];
    servers[0].server_id = kServerA;
    servers[0].transport = MakeTransport(ParamType::kSctpTransport, kEnrpPort, 0, 1);
    servers[1].server_id = kServerB;
    servers[1].transport = MakeTransport(ParamType::kSctpTransport, kEnrpPort, 1, 2);
    m.servers = ParamList<ServerInformation>(servers);
    add("enrp_list_response", m);
  }
  {
    // To an operator's tool: rspd's Peer Status parameter (kPeerStatusParam).
    Message m = Enrp(EnrpType::kListResponse);
    static ServerInformation servers[2];
    servers[0].server_id = kServerA;
    servers[0].transport = MakeTransport(ParamType::kSctpTransport, kEnrpPort, 0, 1);
    servers[1].server_id = kServerB;
    servers[1].transport = MakeTransport(ParamType::kSctpTransport, kEnrpPort, 1, 1);
    servers[1].udp_port = 19002;
    servers[1].has_peer_status = true;
    servers[1].peer_state = PeerState::kProbed;
    servers[1].last_heard_ms = 61234;
    m.servers = ParamList<ServerInformation>(servers);
    add("enrp_list_response_peer_status", m);
  }
  for (EnrpType type :
       {EnrpType::kInitTakeover, EnrpType::kInitTakeoverAck, EnrpType::kTakeoverServer}) {
    Message m = Enrp(type);
    m.target_id = 0x33333333;
    add(absl::StrCat("enrp_takeover_", static_cast<int>(type)), m);
  }
  {
    Message m = Enrp(EnrpType::kError);
    m.has_error = true;
    static const ErrorCause error{Cause::kUnspecified, {}};
    m.error_causes = ParamList<ErrorCause>(absl::MakeConstSpan(&error, 1));
    add("enrp_error", m);
  }
  return out;
}

std::vector<uint8_t> HandleResolutionResponse(int count) {
  Message m = Asap(AsapType::kHandleResolutionResponse);
  m.has_pool_handle = true;
  m.pool_handle = "pool000001";
  m.has_policy = true;
  m.policy = Policy::Of(PolicyType::kLeastUsed, {0});
  std::vector<PoolElementView> pes;
  for (int i = 0; i < count; ++i) {
    pes.push_back(MakePe(static_cast<uint32_t>(i + 1) * 2654435761u,
                         MakeTransport(ParamType::kSctpTransport, 20000, 0, 2),
                         Policy::Of(PolicyType::kLeastUsed, {static_cast<uint32_t>(i) << 20})));
  }
  m.pool_elements = ParamList<PoolElementView>(absl::MakeConstSpan(pes));
  return EncodeMessageToVector(m);
}

std::vector<uint8_t> HandleTableResponse(int pools, int per_pool) {
  Message m = Enrp(EnrpType::kHandleTableResponse, kFlagMoreToSend);
  std::vector<std::string> handles;
  for (int p = 0; p < pools; ++p) handles.push_back(absl::StrCat("pool", 100000 + p));
  std::vector<PoolElementView> pes;
  for (int i = 0; i < per_pool; ++i) {
    pes.push_back(MakePe(static_cast<uint32_t>(i + 1) * 2654435761u,
                         MakeTransport(ParamType::kSctpTransport, 20000, 0, 1),
                         Policy::Of(PolicyType::kRoundRobin)));
  }
  std::vector<PoolEntry> entries;
  for (const std::string& h : handles) {
    entries.push_back({h, ParamList<PoolElementView>(absl::MakeConstSpan(pes))});
  }
  m.pool_entries = ParamList<PoolEntry>(absl::MakeConstSpan(entries));
  return EncodeMessageToVector(m);
}

}  // namespace rspd::protocol::testing
