// File: protocol/codec.h
//
// The ASAP and ENRP wire format (RFC 5354; message bodies from RFC 5352 §2.2
// and RFC 5353 §2): every message and parameter, decoded into views over the
// received buffer and encoded into a caller's buffer.
//
// Decoding validates the whole message once (lengths, padding, nesting,
// counts, values) and fills a `Message` whose lists are lazy views over the
// input: no allocation and no payload copies. A rejected message yields a
// `DecodeError` naming the RFC 5354 §3.12 cause, the offending offset and
// whether the RFC asks for a report (unknown type action bits, §3 and §4).
// Encoding writes at most the buffer it is given and returns the bytes
// written, or 0 if the message did not fit.
//
// Example:
//   Message m;
//   m.protocol = Protocol::kAsap;
//   m.type = static_cast<uint8_t>(AsapType::kHandleResolution);
//   m.has_pool_handle = true;
//   m.pool_handle = "echo";
//   uint8_t buffer[256];
//   size_t n = EncodeMessage(m, absl::MakeSpan(buffer));
//
//   Message decoded;
//   DecodeError error;
//   if (!DecodeMessage(Protocol::kAsap, absl::MakeConstSpan(buffer, n), &decoded, &error)) ...

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "protocol/address.h"
#include "protocol/policy_table.h"
#include "protocol/types.h"
#include "protocol/wire.h"

namespace rspd::protocol {

// IPv4 or IPv6 Address parameter (RFC 5354 §3.1, §3.2): an IPv4 address
// decodes to the IPv4-mapped form (protocol/address.h).
template <>
struct ParamTraits<IpAddress> {
  static bool Matches(uint16_t type) {
    return type == static_cast<uint16_t>(ParamType::kIpv4Address) ||
           type == static_cast<uint16_t>(ParamType::kIpv6Address);
  }
  static IpAddress FromWire(const Tlv& tlv, absl::Span<const uint8_t> rest);
};

// A user or ASAP transport: DCCP, SCTP, TCP, UDP, UDP-Lite or Opaque
// (RFC 5354 §3.3-3.7, §3.16).
struct TransportView {
  ParamType type = ParamType::kSctpTransport;
  uint16_t port = 0;
  // SCTP: Transport Use (0 data only, 1 data plus control). TCP/UDP/UDP-Lite/
  // DCCP: the reserved field (RSPLIB puts a transport use into TCP's).
  uint16_t transport_use = 0;
  uint32_t dccp_service_code = 0;
  ParamList<IpAddress> addresses;
  absl::Span<const uint8_t> opaque;  // Opaque Transport only

  static bool Matches(uint16_t type);
  static TransportView FromWire(const Tlv& tlv, absl::Span<const uint8_t> rest);
};

// Pool Member Selection Policy (RFC 5354 §3.8, RFC 5356 §4-5).
struct Policy {
  uint32_t type = static_cast<uint32_t>(PolicyType::kRoundRobin);
  // Policy-specific 32-bit values in wire order (protocol/policy_table.h).
  std::array<uint32_t, kMaxPolicyValues> values{};
  uint8_t value_count = 0;

  PolicyType kind() const { return static_cast<PolicyType>(type); }
  static Policy Of(PolicyType type, std::initializer_list<uint32_t> values = {});
  static bool Matches(uint16_t type) { return type == static_cast<uint16_t>(ParamType::kPolicy); }
  static Policy FromWire(const Tlv& tlv, absl::Span<const uint8_t> rest);
};

// Pool Element parameter (RFC 5354 §3.10).
struct PoolElementView {
  uint32_t pe_id = 0;
  uint32_t home_registrar = 0;    // 0 = undetermined
  int32_t registration_life = 0;  // seconds, -1 infinite
  TransportView user_transport;
  Policy policy;
  // RFC 5354 §3.10 makes it part of the parameter; a registering PE may leave
  // it out and the registrar fills it in (RFC 5352 §3.1 rule 4).
  bool has_asap_transport = false;
  TransportView asap_transport;
  uint16_t asap_udp_port = 0;  // kUdpEncapsulationPortParam; 0 = absent

  static bool Matches(uint16_t type) {
    return type == static_cast<uint16_t>(ParamType::kPoolElement);
  }
  static PoolElementView FromWire(const Tlv& tlv, absl::Span<const uint8_t> rest);
};

// Server Information parameter (RFC 5354 §3.11).
struct ServerInformation {
  uint32_t server_id = 0;
  TransportView transport;  // SCTP
  uint16_t udp_port = 0;    // kUdpEncapsulationPortParam (rspd's); 0 = absent
  // kPeerStatusParam (rspd's, to operators' tools only).
  bool has_peer_status = false;
  PeerState peer_state = PeerState::kActive;
  uint32_t last_heard_ms = 0;  // since the answering registrar last heard it

  static bool Matches(uint16_t type) {
    return type == static_cast<uint16_t>(ParamType::kServerInformation);
  }
  static ServerInformation FromWire(const Tlv& tlv, absl::Span<const uint8_t> rest);
};

// One error cause of an Operation Error parameter (RFC 5354 §3.12).
struct ErrorCause {
  Cause code = Cause::kUnspecified;
  absl::Span<const uint8_t> info;  // cause-specific information

  static bool Matches(uint16_t) { return true; }
  static ErrorCause FromWire(const Tlv& tlv, absl::Span<const uint8_t> rest);
};

// A pool in an ENRP_HANDLE_TABLE_RESPONSE: a Pool Handle followed by its PEs
// (RFC 5353 §2.3).
struct PoolEntry {
  absl::string_view pool_handle;
  ParamList<PoolElementView> elements;

  static bool Matches(uint16_t type) {
    return type == static_cast<uint16_t>(ParamType::kPoolHandle);
  }
  static PoolEntry FromWire(const Tlv& tlv, absl::Span<const uint8_t> rest);
};

// The parameters the decoder skipped but must report (action bits 11).
struct Unrecognized {
  static constexpr size_t kMaxKept = 4;
  std::array<absl::Span<const uint8_t>, kMaxKept> params;  // whole TLVs
  size_t count = 0;  // may exceed kMaxKept; only the first kMaxKept are kept
};

// Any ASAP or ENRP message. `type` is the AsapType or EnrpType value; a field
// or parameter is meaningful only for the messages that carry it (comments
// name them), and `has_*` says whether an optional one is present.
struct Message {
  Protocol protocol = Protocol::kAsap;
  uint8_t type = 0;
  uint8_t flags = 0;

  // Fixed fields.
  uint32_t server_id = 0;    // ASAP ENDPOINT_KEEP_ALIVE, SERVER_ANNOUNCE
  uint32_t sender_id = 0;    // every ENRP message
  uint32_t receiver_id = 0;  // every ENRP message
  uint32_t target_id = 0;    // ENRP INIT_TAKEOVER, INIT_TAKEOVER_ACK, TAKEOVER_SERVER
  UpdateAction update_action = UpdateAction::kAddPe;  // ENRP HANDLE_UPDATE

  // Parameters.
  bool has_pool_handle = false;
  absl::string_view pool_handle;
  bool has_pe_id = false;
  uint32_t pe_id = 0;
  bool has_pool_element = false;  // ASAP REGISTRATION, ENRP HANDLE_UPDATE
  PoolElementView pool_element;
  ParamList<PoolElementView> pool_elements;  // HANDLE_RESOLUTION_RESPONSE, BUSINESS_CARD
  bool has_policy = false;                   // HANDLE_RESOLUTION_RESPONSE overall policy
  Policy policy;
  ParamList<PoolEntry> pool_entries;     // ENRP HANDLE_TABLE_RESPONSE
  ParamList<ServerInformation> servers;  // ENRP LIST_RESPONSE
  bool has_server_information = false;   // ENRP PRESENCE
  ServerInformation server_information;
  ParamList<TransportView> transports;  // ASAP SERVER_ANNOUNCE
  bool has_checksum = false;            // ENRP PRESENCE
  uint16_t checksum = 0;
  bool has_cookie = false;  // ASAP COOKIE, COOKIE_ECHO
  absl::Span<const uint8_t> cookie;
  bool has_error = false;  // responses, ASAP_ERROR, ENRP_ERROR
  ParamList<ErrorCause> error_causes;
  // RSPLIB's Handle Resolution option (type 0x3f): how many PEs the PU wants.
  bool has_handle_resolution_items = false;
  uint32_t handle_resolution_items = 0;

  // Decoding only: skipped parameters the RFC asks to report.
  Unrecognized unrecognized;
};

// Why a message was rejected. The cause is Invalid Values, Unrecognized
// Parameter or Unrecognized Message when `offending` holds the parameter or
// message that RFC 5354 §3.12 puts into the cause; a fault that is not in one
// whole parameter (a bad message length, a missing mandatory parameter, a
// truncated TLV header) is Unspecified Error, which carries no information
// (docs/decisions.md).
struct DecodeError {
  Cause cause = Cause::kUnspecified;
  // Offset of the offending field or parameter from the start of the message.
  uint32_t offset = 0;
  // The offending parameter (for Invalid Values / Unrecognized Parameter), or
  // the whole message (Unrecognized Message); may be empty.
  absl::Span<const uint8_t> offending;
  // True if the RFC asks the receiver to send an error report (RFC 5354 §3
  // and §4 action bits; always true for Invalid Values).
  bool report = false;
  const char* reason = "";  // static text for logs and `rspctl decode`
};

// Decodes one message (one SCTP user message, or one UDP datagram). The views
// in *out point into `bytes`, which must outlive them.
bool DecodeMessage(Protocol protocol, absl::Span<const uint8_t> bytes, Message* out,
                   DecodeError* error);

// Encodes `message` into `buffer` and returns the bytes written (a multiple of
// 4), or 0 if it does not fit or `message.type` is not a known type.
size_t EncodeMessage(const Message& message, absl::Span<uint8_t> buffer);

// Encodes into a new vector sized to the message: for control-plane, client
// and test code (the fast path encodes into its own buffers). Empty if the
// message cannot be encoded.
std::vector<uint8_t> EncodeMessageToVector(const Message& message);

// Encodes the error report for a rejected message (ASAP_ERROR or ENRP_ERROR
// with one Operation Error cause carrying error.offending, RFC 5352 §2.2.14,
// RFC 5353 §2.10). For ENRP, sender/receiver go into the fixed fields.
size_t EncodeErrorReport(Protocol protocol, const DecodeError& error, uint32_t sender_id,
                         uint32_t receiver_id, absl::Span<uint8_t> buffer);

// Piecewise encoding, for callers that write parameters straight from their
// tables (the registrar's handle resolution responses):
//   Writer w(buffer);
//   BeginMessage(w, type, flags);
//   EncodePoolHandle(w, handle); ... EncodePoolElement(w, pe); ...
//   size_t n = FinishMessage(w);  // 0 if it did not fit
void BeginMessage(Writer& w, uint8_t type, uint8_t flags);
size_t FinishMessage(Writer& w);

// Parameter encoders. An IPv4-mapped address is written as an IPv4 Address
// parameter, any other as IPv6 (docs/decisions.md, "Addresses").
void EncodeAddress(Writer& w, const IpAddress& address);
void EncodeTransport(Writer& w, const TransportView& transport);
void EncodePolicy(Writer& w, const Policy& policy);
void EncodePoolElement(Writer& w, const PoolElementView& element);
void EncodePoolHandle(Writer& w, absl::string_view handle);
// The parts of a Pool Element, for records that are not a PoolElementView (the
// owned PoolElement, see protocol/pool_element_codec.h): the header (RFC 5354 §3.10, up to
// the Registration Life), a transport parameter's fixed part (§3.3-3.7, not
// opaque), each followed by EncodeAddress()es / parameters and w.EndTlv().
size_t BeginPoolElement(Writer& w, uint32_t pe_id, uint32_t home_registrar,
                        int32_t registration_life);
size_t BeginTransport(Writer& w, ParamType type, uint16_t port, uint16_t transport_use,
                      uint32_t dccp_service_code);

// RFC names, e.g. "ASAP_REGISTRATION", "ENRP_PRESENCE", "Invalid Values".
const char* MessageTypeName(Protocol protocol, uint8_t type);
const char* ParamTypeName(uint16_t pure_type);
const char* CauseName(Cause cause);
// "active", "probed", "inactive", "taking-over".
const char* PeerStateName(PeerState state);

}  // namespace rspd::protocol
