// File: protocol/encode.cc
//
// EncodeMessage and the parameter encoders (protocol/codec.h): the fixed
// fields and then each parameter of the message's row of the message table
// (protocol/message_table.h), in the row's order, with the type the
// parameter table gives (protocol/param_table.h). Lengths exclude the final
// padding (RFC 5354 §3-4); nothing is written past the caller's buffer.

#include <array>
#include <cstddef>
#include <vector>

#include "protocol/codec.h"
#include "protocol/message_table.h"
#include "protocol/param_table.h"

namespace rspd::protocol {
namespace {

// Starts a parameter with the type the parameter table sends it as.
size_t BeginParam(Writer& w, ParamType type) {
  return w.BeginTlv(kParamTable[static_cast<size_t>(type)].sent_as);
}

void EncodeErrorCauses(Writer& w, const ParamList<ErrorCause>& causes) {
  size_t param = BeginParam(w, ParamType::kOperationError);
  for (const ErrorCause& cause : causes) {
    size_t c = w.BeginTlv(static_cast<uint16_t>(cause.code));
    w.Bytes(cause.info);
    w.EndTlv(c);
  }
  w.EndTlv(param);
}

void EncodeU32Param(Writer& w, ParamType type, uint32_t value) {
  size_t p = BeginParam(w, type);
  w.U32(value);
  w.EndTlv(p);
}

void EncodeUdpEncapsulationPort(Writer& w, uint16_t port) {
  if (port == 0) return;
  const size_t x = w.BeginTlv(kUdpEncapsulationPortParam);
  w.U16(port);
  w.U16(0);
  w.EndTlv(x);
}

void EncodeServerInformation(Writer& w, const ServerInformation& s) {
  size_t p = BeginParam(w, ParamType::kServerInformation);
  w.U32(s.server_id);
  EncodeTransport(w, s.transport);
  EncodeUdpEncapsulationPort(w, s.udp_port);
  if (s.has_peer_status) {
    const size_t x = w.BeginTlv(kPeerStatusParam);
    w.U8(static_cast<uint8_t>(s.peer_state));
    w.U8(0);
    w.U16(0);
    w.U32(s.last_heard_ms);
    w.EndTlv(x);
  }
  w.EndTlv(p);
}

// The fixed fields of a row (RFC 5352 §2.2, RFC 5353 §2).
void EncodeFixedFields(Writer& w, FixedFields fixed, const Message& m) {
  switch (fixed) {
    case FixedFields::kNone:
      return;
    case FixedFields::kServerId:
      w.U32(m.server_id);
      return;
    case FixedFields::kEnrpIds:
    case FixedFields::kEnrpUpdateAction:
    case FixedFields::kEnrpTargetId:
      w.U32(m.sender_id);
      w.U32(m.receiver_id);
      if (fixed == FixedFields::kEnrpUpdateAction) {
        w.U16(static_cast<uint16_t>(m.update_action));
        w.U16(0);  // reserved, RFC 5353 §2.4
      } else if (fixed == FixedFields::kEnrpTargetId) {
        w.U32(m.target_id);
      }
      return;
  }
}

// Writes the parameters of one `Message` field, if it holds any.
void EncodeField(Writer& w, Field field, const Message& m) {
  switch (field) {
    case Field::kPoolHandle:
      if (m.has_pool_handle) EncodePoolHandle(w, m.pool_handle);
      return;
    case Field::kPeId:
      if (m.has_pe_id) EncodeU32Param(w, ParamType::kPeIdentifier, m.pe_id);
      return;
    case Field::kPoolElement:
      if (m.has_pool_element) EncodePoolElement(w, m.pool_element);
      return;
    case Field::kPoolElements:
      for (const PoolElementView& e : m.pool_elements) EncodePoolElement(w, e);
      return;
    case Field::kPolicy:
      if (m.has_policy) EncodePolicy(w, m.policy);
      return;
    case Field::kPoolEntries:
      for (const PoolEntry& entry : m.pool_entries) {
        EncodePoolHandle(w, entry.pool_handle);
        for (const PoolElementView& e : entry.elements) EncodePoolElement(w, e);
      }
      return;
    case Field::kServers:
      for (const ServerInformation& s : m.servers) EncodeServerInformation(w, s);
      return;
    case Field::kServerInformation:
      if (m.has_server_information) EncodeServerInformation(w, m.server_information);
      return;
    case Field::kTransports:
      for (const TransportView& t : m.transports) EncodeTransport(w, t);
      return;
    case Field::kChecksum:
      if (m.has_checksum) {
        size_t p = BeginParam(w, ParamType::kPeChecksum);
        w.U16(m.checksum);
        w.EndTlv(p);
      }
      return;
    case Field::kCookie:
      if (m.has_cookie) {
        size_t p = BeginParam(w, ParamType::kCookie);
        w.Bytes(m.cookie);
        w.EndTlv(p);
      }
      return;
    case Field::kError:
      if (m.has_error) EncodeErrorCauses(w, m.error_causes);
      return;
    case Field::kHandleResolutionItems:
      if (m.has_handle_resolution_items) {
        EncodeU32Param(w, ParamType::kHandleResolutionOption, m.handle_resolution_items);
      }
      return;
  }
}

}  // namespace

Policy Policy::Of(PolicyType type, std::initializer_list<uint32_t> values) {
  Policy p;
  p.type = static_cast<uint32_t>(type);
  for (uint32_t v : values) {
    if (p.value_count < kMaxPolicyValues) p.values[p.value_count++] = v;
  }
  return p;
}

void EncodeAddress(Writer& w, const IpAddress& address) {
  // Address TLVs are 8 or 20 bytes and need no padding (RFC 5354 §3.1-3.2).
  if (address.is_v4()) {
    w.U32(0x00010008u);
    w.Bytes(address.bytes.data() + 12, 4);
  } else {
    w.U32(0x00020014u);
    w.Bytes(address.bytes.data(), 16);
  }
}

size_t BeginTransport(Writer& w, ParamType type, uint16_t port, uint16_t transport_use,
                      uint32_t dccp_service_code) {
  size_t p = BeginParam(w, type);
  w.U16(port);
  // RFC 5354 §3.3, 3.5-3.7: the field is reserved (0) except for SCTP and TCP.
  w.U16(type == ParamType::kSctpTransport || type == ParamType::kTcpTransport ? transport_use : 0);
  if (type == ParamType::kDccpTransport) {
    w.U32(dccp_service_code);
  }
  return p;
}

void EncodeTransport(Writer& w, const TransportView& t) {
  if (t.type == ParamType::kOpaqueTransport) {
    size_t p = BeginParam(w, t.type);
    w.Bytes(t.opaque);
    w.EndTlv(p);
    return;
  }
  size_t p = BeginTransport(w, t.type, t.port, t.transport_use, t.dccp_service_code);
  for (const IpAddress& a : t.addresses) {
    EncodeAddress(w, a);
  }
  w.EndTlv(p);
}

void EncodePolicy(Writer& w, const Policy& policy) {
  size_t p = BeginParam(w, ParamType::kPolicy);
  w.U32(policy.type);
  for (size_t i = 0; i < policy.value_count; ++i) {
    w.U32(policy.values[i]);
  }
  w.EndTlv(p);
}

void EncodePoolHandle(Writer& w, absl::string_view handle) {
  size_t p = BeginParam(w, ParamType::kPoolHandle);
  w.Bytes(handle.data(), handle.size());
  w.EndTlv(p);
}

size_t BeginPoolElement(Writer& w, uint32_t pe_id, uint32_t home_registrar,
                        int32_t registration_life) {
  size_t p = BeginParam(w, ParamType::kPoolElement);
  w.U32(pe_id);
  w.U32(home_registrar);
  w.U32(static_cast<uint32_t>(registration_life));
  return p;
}

void EncodePoolElement(Writer& w, const PoolElementView& e) {
  size_t p = BeginPoolElement(w, e.pe_id, e.home_registrar, e.registration_life);
  EncodeTransport(w, e.user_transport);
  EncodePolicy(w, e.policy);
  if (e.has_asap_transport) {
    EncodeTransport(w, e.asap_transport);
  }
  EncodeUdpEncapsulationPort(w, e.asap_udp_port);
  w.EndTlv(p);
}

size_t EncodeMessage(const Message& m, absl::Span<uint8_t> buffer) {
  const MessageRow* row = FindMessage(m.protocol, m.type);
  if (row == nullptr) {
    return 0;
  }
  Writer w(buffer);
  BeginMessage(w, m.type, m.flags & row->defined_flags);
  EncodeFixedFields(w, row->fixed, m);
  // A field that several rules fill (a list of transports, handle table
  // entries) is written once, at its first rule.
  uint32_t written = 0;
  for (size_t i = 0; i < row->rule_count; ++i) {
    const Field field = row->rules[i].field;
    if ((written & Bit(field)) == 0) {
      written |= Bit(field);
      EncodeField(w, field, m);
    }
  }
  return FinishMessage(w);
}

std::vector<uint8_t> EncodeMessageToVector(const Message& message) {
  // Room for the largest message RFC 5354 §4 allows, kept per thread: the
  // result holds only the message. On the heap: a 64 KiB thread_local array
  // would sit in the static TLS of every thread of the process, taken from
  // the stack of each (a library's worker with a small fixed stack, such as
  // civetweb's 100 KiB, would be left with little).
  thread_local std::vector<uint8_t> scratch;
  scratch.resize(Padded(0xffff));
  const size_t n = EncodeMessage(message, absl::MakeSpan(scratch));
  return std::vector<uint8_t>(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(n));
}

void BeginMessage(Writer& w, uint8_t type, uint8_t flags) {
  w.U8(type);
  w.U8(flags);
  w.U16(0);
}

size_t FinishMessage(Writer& w) {
  // The message length excludes the trailing padding (RFC 5354 §4).
  const size_t unpadded = w.content_end();
  if (w.overflow() || unpadded > 0xffff) {
    return 0;
  }
  w.Pad();
  if (w.overflow()) {
    return 0;
  }
  Store16(w.data() + 2, static_cast<uint16_t>(unpadded));
  return w.size();
}

size_t EncodeErrorReport(Protocol protocol, const DecodeError& error, uint32_t sender_id,
                         uint32_t receiver_id, absl::Span<uint8_t> buffer) {
  Message m;
  m.protocol = protocol;
  m.type = protocol == Protocol::kAsap ? static_cast<uint8_t>(AsapType::kError)
                                       : static_cast<uint8_t>(EnrpType::kError);
  m.sender_id = sender_id;
  m.receiver_id = receiver_id;
  m.has_error = true;
  ErrorCause cause{error.cause, error.offending};
  m.error_causes = ParamList<ErrorCause>(absl::MakeConstSpan(&cause, 1));
  size_t n = EncodeMessage(m, buffer);
  if (n == 0 && !error.offending.empty()) {
    // The offending bytes do not fit: report the cause alone.
    cause.info = {};
    n = EncodeMessage(m, buffer);
  }
  return n;
}

}  // namespace rspd::protocol
