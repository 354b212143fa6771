// File: protocol/types.h
//
// The numbers of RSerPool: ASAP and ENRP message types and flags, parameter
// types, error causes, pool member selection policies, PPIDs and ports.
// RFC 5354 (parameters, causes), RFC 5352 §2.2 and §8 (ASAP), RFC 5353 §2 and
// §5 (ENRP), RFC 5356 (policies). Pure constants; no code.
//
// Example:
//   if (header.type == static_cast<uint8_t>(AsapType::kRegistration)) ...

#pragma once

#include <cstddef>
#include <cstdint>

namespace rspd::protocol {

// RFC 5352 §8.3, RFC 5353 §5.4.
inline constexpr uint32_t kAsapPpid = 11;
inline constexpr uint32_t kEnrpPpid = 12;
// RFC 5352 §8.2, RFC 5353 §5.3, RFC 6951 §5.1.
inline constexpr uint16_t kAsapPort = 3863;
inline constexpr uint16_t kAsapTlsPort = 3864;
inline constexpr uint16_t kEnrpPort = 9901;
inline constexpr uint16_t kEnrpTlsPort = 9902;
inline constexpr uint16_t kSctpUdpEncapsulationPort = 9899;

// Which protocol a message belongs to. The type spaces overlap (RFC 5352
// §2.2, RFC 5353 §2); the PPID or the association tells them apart.
enum class Protocol : uint8_t { kAsap, kEnrp };

// RFC 5352 §2.2.
enum class AsapType : uint8_t {
  kRegistration = 0x01,
  kDeregistration = 0x02,
  kRegistrationResponse = 0x03,
  kDeregistrationResponse = 0x04,
  kHandleResolution = 0x05,
  kHandleResolutionResponse = 0x06,
  kEndpointKeepAlive = 0x07,
  kEndpointKeepAliveAck = 0x08,
  kEndpointUnreachable = 0x09,
  kServerAnnounce = 0x0a,
  kCookie = 0x0b,
  kCookieEcho = 0x0c,
  kBusinessCard = 0x0d,
  kError = 0x0e,
};

// RFC 5353 §2.
enum class EnrpType : uint8_t {
  kPresence = 0x01,
  kHandleTableRequest = 0x02,
  kHandleTableResponse = 0x03,
  kHandleUpdate = 0x04,
  kListRequest = 0x05,
  kListResponse = 0x06,
  kInitTakeover = 0x07,
  kInitTakeoverAck = 0x08,
  kTakeoverServer = 0x09,
  kError = 0x0a,
};

// Flag bits; bit 0 is the least significant bit of the flags octet.
inline constexpr uint8_t kFlagRegistrationReject = 0x01;  // R, RFC 5352 §2.2.3
inline constexpr uint8_t kFlagSubscribe = 0x01;           // S, RFC 5352 §2.2.5
inline constexpr uint8_t kFlagUpdatesAccepted = 0x01;     // A, RFC 5352 §2.2.6
inline constexpr uint8_t kFlagHome = 0x01;                // H, RFC 5352 §2.2.7
inline constexpr uint8_t kFlagReplyRequired = 0x01;       // RFC 5353 §2.1 (docs/decisions.md)
inline constexpr uint8_t kFlagOwnChildrenOnly = 0x01;     // W, RFC 5353 §2.2
inline constexpr uint8_t kFlagTableReject = 0x01;         // R, RFC 5353 §2.3
inline constexpr uint8_t kFlagMoreToSend = 0x02;          // M, RFC 5353 §2.3
inline constexpr uint8_t kFlagListReject = 0x01;          // R, RFC 5353 §2.6

// rspd's extension inside a Pool Element (RFC 5354 §3.10) or Server
// Information (§3.11) parameter: the UDP port of the endpoint under SCTP over
// UDP (RFC 6951), which the SCTP transport parameter cannot name, so that a
// registrar that takes a PE over (RFC 5353 §3.5.2), or learns of a peer from
// a LIST_RESPONSE (§3.2.2), can reach it. Its action bits (10) tell a receiver
// that does not know it to skip it silently (RFC 5354 §3); value: port (16
// bits), reserved (16 bits). Sent in ENRP only (docs/decisions.md, "SCTP over
// UDP ports in ENRP").
inline constexpr uint16_t kUdpEncapsulationPortParam = 0xbffe;

// rspd's extension inside a Server Information parameter (RFC 5354 §3.11) of
// an ENRP_LIST_RESPONSE to an operator's tool (a LIST_REQUEST with Sending
// Server ID 0; docs/decisions.md): how the answering registrar sees that
// peer. Skipped silently by receivers that do not know it (action bits 10);
// value: state (8 bits, PeerState), reserved (24 bits), milliseconds since
// the peer was last heard (32 bits).
inline constexpr uint16_t kPeerStatusParam = 0xbffd;

// A registrar's view of an ENRP peer (RFC 5353 §3.4, §3.5.1), as the Peer
// Status parameter carries it.
enum class PeerState : uint8_t {
  kActive = 0,
  kProbed = 1,      // silent too long: a reply-required PRESENCE is out
  kInactive = 2,    // another server takes it over; waiting for its TAKEOVER_SERVER
  kTakingOver = 3,  // we take it over
};

// RFC 5353 §2.4 Update Action.
enum class UpdateAction : uint16_t { kAddPe = 0x0000, kDelPe = 0x0001 };

// RFC 5354 §3 parameter types.
enum class ParamType : uint16_t {
  kIpv4Address = 0x1,
  kIpv6Address = 0x2,
  kDccpTransport = 0x3,
  kSctpTransport = 0x4,
  kTcpTransport = 0x5,
  kUdpTransport = 0x6,
  kUdpLiteTransport = 0x7,
  kPolicy = 0x8,
  kPoolHandle = 0x9,
  kPoolElement = 0xa,
  kServerInformation = 0xb,
  kOperationError = 0xc,
  kCookie = 0xd,
  kPeIdentifier = 0xe,
  kPeChecksum = 0xf,
  kOpaqueTransport = 0x10,
  // RSPLIB custom (draft-dreibholz-rserpool-asap-hropt): number of PEs wanted.
  // Sent with action bits 10 (0x803f) so that a receiver that does not know it skips it.
  kHandleResolutionOption = 0x3f,
};

// RFC 5354 §3: the two high bits of an unknown parameter type (mask 0xC000).
enum class UnknownParamAction : uint8_t {
  kStop = 0,           // 00: stop processing, discard the message
  kStopAndReport = 1,  // 01: stop, discard, report Unrecognized Parameter
  kSkip = 2,           // 10: skip the parameter, continue
  kSkipAndReport = 3,  // 11: skip, continue, report
};

// SCTP Transport "Transport Use" (RFC 5354 §3.4).
enum class TransportUse : uint16_t { kDataOnly = 0x0000, kDataPlusControl = 0x0001 };

// RFC 5354 §3.12 error causes.
enum class Cause : uint16_t {
  kUnspecified = 0x0,
  kUnrecognizedParameter = 0x1,
  kUnrecognizedMessage = 0x2,
  kInvalidValues = 0x3,
  kNonUniquePeIdentifier = 0x4,
  kInconsistentPoolingPolicy = 0x5,
  kLackOfResources = 0x6,
  kInconsistentTransportType = 0x7,
  kInconsistentDataControlConfiguration = 0x8,
  kUnknownPoolHandle = 0x9,
  kRejectedDueToSecurity = 0xa,
};

// RFC 5356 §4 policy type codes, plus RSPLIB's extended ones (docs/policies.md).
enum class PolicyType : uint32_t {
  kRoundRobin = 0x00000001,
  kWeightedRoundRobin = 0x00000002,
  kRandom = 0x00000003,
  kWeightedRandom = 0x00000004,
  kPriority = 0x00000005,
  kLeastUsed = 0x40000001,
  kLeastUsedWithDegradation = 0x40000002,
  kPriorityLeastUsed = 0x40000003,
  kRandomizedLeastUsed = 0x40000004,
  // RSPLIB extensions (non-RFC).
  kRandomizedPriorityLeastUsed = 0xb0001001,
  kRandomizedLeastUsedWithDegradation = 0xb0001002,
  kPriorityLeastUsedWithDegradation = 0xb0001003,
  kRandomizedPriorityLeastUsedWithDegradation = 0xb0001004,
  kWeightedRandomWithDpf = 0xb0002001,
  kLeastUsedWithDpf = 0xb0002002,
  kLeastUsedWithDegradationWithDpf = 0xb0002003,
  kPriorityLeastUsedWithDpf = 0xb0002004,
  kPriorityLeastUsedWithDegradationWithDpf = 0xb0002005,
};

// Not an RFC 5354 §3.12 cause: "no error", the result of a check or command
// that succeeded. The causes are 0x0-0xa; 0xffff never goes on the wire.
inline constexpr Cause kNoError = static_cast<Cause>(0xffff);

// Registration Life value meaning "infinite" (RFC 5354 §3.10).
inline constexpr int32_t kInfiniteLifetime = -1;

// The largest ASAP or ENRP message: the Message Length field is 16 bits
// (RFC 5354 §4), and it counts the whole message but its final padding.
inline constexpr size_t kMaxMessageSize = 0xffff;
// The longest pool handle rspd accepts, in bytes (registrar and client
// library alike). RFC 5354 §3.9 sets no bound below the message size; RSPLIB's
// MAX_POOLHANDLESIZE is 32. 255 keeps the registrar's pool record small and is
// far above any handle seen in practice.
inline constexpr size_t kMaxPoolHandleSize = 255;
// The most PEs one handle resolution answers: RSPLIB's hard limit on
// `MaxHResItems`, which rspd keeps (RFC 5352 §3.3 leaves the count open).
inline constexpr size_t kMaxResolutionItems = 128;

}  // namespace rspd::protocol
