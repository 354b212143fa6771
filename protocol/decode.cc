// File: protocol/decode.cc
//
// DecodeMessage (protocol/codec.h): one validating pass over an ASAP or ENRP
// message (RFC 5354 §3-4), driven by the message's row of the message table
// (protocol/message_table.h) and each parameter's row of the parameter table
// (protocol/param_table.h), and the parameter views' readers over validated
// bytes.

#include <array>
#include <cstring>
#include <new>
#include <type_traits>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "protocol/codec.h"
#include "protocol/message_table.h"
#include "protocol/param_table.h"

namespace rspd::protocol {
namespace {

constexpr uint16_t T(ParamType t) { return static_cast<uint16_t>(t); }

// Fast paths for the Pool Element shape that registrars send: SCTP user
// transport, policy, SCTP ASAP transport, each with well-formed IPv4/IPv6
// addresses. They only answer "certainly valid"; anything else goes through
// the full checks, which find and report the fault.
// An SCTP Transport TLV at p (at most `left` bytes); returns its padded size or 0.
size_t QuickSctpTransport(const uint8_t* p, size_t left) {
  if (left < 16 || Load16(p) != T(ParamType::kSctpTransport)) return 0;
  const size_t length = Load16(p + 2);
  if (length > left || Load16(p + 6) > 1) return 0;
  // The common cases, one or two IPv4 addresses, without the loop.
  if (length == 16) return Load32(p + 8) == 0x00010008u ? 16 : 0;
  if (length == 24 && Load32(p + 8) == 0x00010008u && Load32(p + 16) == 0x00010008u) return 24;
  size_t at = 8;
  size_t addresses = 0;
  while (at + 8 <= length) {
    const uint32_t header = Load32(p + at);
    const size_t step = header == 0x00010008u ? 8 : (header == 0x00020014u ? 20 : 0);
    if (step == 0 || at + step > length) return 0;
    at += step;
    ++addresses;
  }
  return at == length && addresses > 0 ? length : 0;  // address TLVs need no padding
}

// A policy TLV at p; returns its padded size or 0.
size_t QuickPolicy(const uint8_t* p, size_t left) {
  if (left < 8 || Load16(p) != T(ParamType::kPolicy)) return 0;
  const size_t length = Load16(p + 2);
  if (length > left || length % 4 != 0) return 0;
  const PolicyRow* row = FindPolicy(Load32(p + 4));
  return row != nullptr && row->rfc && length == 8 + 4 * size_t{row->value_count} ? length : 0;
}

bool QuickPoolElement(absl::Span<const uint8_t> value) {
  const uint8_t* p = value.data() + 12;
  size_t left = value.size() - 12;
  size_t n = QuickSctpTransport(p, left);
  if (n == 0) return false;
  p += n;
  left -= n;
  if ((n = QuickPolicy(p, left)) == 0) return false;
  p += n;
  left -= n;
  if (left == 0) return true;
  return QuickSctpTransport(p, left) == left;
}

// The validating decoder: one pass over the message, filling `out`.
class Decoder {
 public:
  Decoder(absl::Span<const uint8_t> message, Message* out, DecodeError* error)
      : message_(message), out_(out), error_(error) {}

  bool Run(Protocol protocol);

 private:
  enum class Verdict { kOk, kFailed, kUnknown };

  bool Fail(Cause cause, const uint8_t* at, absl::Span<const uint8_t> offending,
            const char* reason) {
    error_->cause = cause;
    error_->offset = static_cast<uint32_t>(at - message_.data());
    error_->offending = offending;
    error_->report = true;
    error_->reason = reason;
    return false;
  }
  bool Invalid(const Tlv& tlv, const char* reason) {
    return Fail(Cause::kInvalidValues, tlv.whole.data(), tlv.whole, reason);
  }

  // Walks the TLVs of a region, calling on_param(tlv) for each. Unknown ones
  // (on_param returns kUnknown) follow their action bits (RFC 5354 §3).
  template <typename F>
  bool Walk(absl::Span<const uint8_t> region, F&& on_param);

  // The parameter's check, by the shape its row gives (protocol/param_table.h).
  // Inlined, as the dispatch they replace was: they run once per parameter.
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool CheckParam(const ParamRow& param, const Tlv& tlv);
  bool CheckFixedSize(const ParamRow& param, const Tlv& tlv) {
    return tlv.value.size() == param.value_size ? true : Invalid(tlv, param.wrong_size);
  }
  bool CheckTransport(const Tlv& tlv);
  bool CheckPolicy(const Tlv& tlv);
  // The registrars' shape of PE inline (QuickPoolElement), the full walk
  // out of line.
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool CheckPoolElement(const Tlv& tlv) {
    return tlv.value.size() >= 12 && QuickPoolElement(tlv.value) ? true : WalkPoolElement(tlv);
  }
  ABSL_ATTRIBUTE_NOINLINE bool WalkPoolElement(const Tlv& tlv);
  bool CheckServerInformation(const Tlv& tlv);
  bool CheckOperationError(const Tlv& tlv);
  bool CheckPoolHandle(const Tlv& tlv) {
    return tlv.value.empty() ? Invalid(tlv, "empty Pool Handle") : true;
  }
  ABSL_ATTRIBUTE_ALWAYS_INLINE Verdict OnMessageParam(const Tlv& tlv,
                                                      absl::Span<const uint8_t> rest);
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Store(Field field, const Tlv& tlv,
                                          absl::Span<const uint8_t> rest);
  bool CheckRequired();

  absl::Span<const uint8_t> message_;
  Message* out_;
  DecodeError* error_;
  const MessageRow* row_ = nullptr;
  absl::Span<const uint8_t> body_;  // the parameters
  uint32_t seen_ = 0;               // Bit(field) of every field a parameter went into
  // Items of each list field: the lists become views over the body once the
  // walk is done.
  std::array<uint32_t, kFieldCount> counts_{};
  bool entry_open_ = false;  // HANDLE_TABLE_RESPONSE: a handle waits for its first PE
};

template <typename F>
bool Decoder::Walk(absl::Span<const uint8_t> region, F&& on_param) {
  // Raw pointers: this loop runs once per parameter of every message.
  const uint8_t* at = region.data();
  const uint8_t* const end = at + region.size();
  while (at != end) {
    const size_t left = static_cast<size_t>(end - at);
    if (ABSL_PREDICT_FALSE(left < 4)) {
      return Fail(Cause::kUnspecified, at, {}, "truncated parameter header");
    }
    const uint16_t length = Load16(at + 2);
    if (ABSL_PREDICT_FALSE(length < 4 || length > left)) {
      return Fail(Cause::kUnspecified, at, {},
                  "parameter length exceeds its container or is below 4");
    }
    // RFC 5354 §3: padding between parameters counts in the enclosing length;
    // the last parameter's padding does not.
    const size_t padded = Padded(length);
    const uint8_t* next;
    if (ABSL_PREDICT_TRUE(padded <= left)) {
      next = at + padded;
    } else if (length == left) {
      next = end;
    } else {
      return Fail(Cause::kInvalidValues, at + length, absl::MakeConstSpan(at, length),
                  "partial padding after parameter");
    }
    const Tlv tlv{Load16(at), absl::MakeConstSpan(at + 4, length - 4u),
                  absl::MakeConstSpan(at, length)};
    const absl::Span<const uint8_t> rest =
        absl::MakeConstSpan(next, static_cast<size_t>(end - next));
    Verdict verdict = on_param(tlv, rest);
    if (verdict == Verdict::kFailed) {
      return false;
    }
    if (verdict == Verdict::kUnknown) {
      // RFC 5354 §3: the two high bits say what to do with an unknown parameter.
      switch (static_cast<UnknownParamAction>(tlv.type >> 14)) {
        case UnknownParamAction::kStop:
          Fail(Cause::kUnrecognizedParameter, at, tlv.whole, "unrecognized parameter (stop)");
          error_->report = false;
          return false;
        case UnknownParamAction::kStopAndReport:
          return Fail(Cause::kUnrecognizedParameter, at, tlv.whole,
                      "unrecognized parameter (stop and report)");
        case UnknownParamAction::kSkip:
          break;
        case UnknownParamAction::kSkipAndReport: {
          Unrecognized& u = out_->unrecognized;
          if (u.count < Unrecognized::kMaxKept) {
            u.params[u.count] = tlv.whole;
          }
          ++u.count;
          break;
        }
      }
    }
    at = next;
  }
  return true;
}

bool Decoder::CheckTransport(const Tlv& tlv) {
  uint16_t type = PureParamType(tlv.type);
  if (type == T(ParamType::kOpaqueTransport)) {
    return true;  // RFC 5354 §3.16: opaque to RSerPool
  }
  size_t fixed = type == T(ParamType::kDccpTransport) ? 8 : 4;
  if (tlv.value.size() < fixed) {
    return Invalid(tlv, "transport parameter too short");
  }
  // RFC 5354 §3.4: Transport Use is 0 (data only) or 1 (data plus control).
  if (type == T(ParamType::kSctpTransport) && Load16(tlv.value.data() + 2) > 1) {
    return Invalid(tlv, "SCTP Transport Use is neither DATA ONLY nor DATA PLUS CONTROL");
  }
  size_t addresses = 0;
  absl::Span<const uint8_t> region = tlv.value.subspan(fixed);
  // Fast path: well-formed IPv4/IPv6 Address TLVs (header 0x0001 0x0008 or
  // 0x0002 0x0014, no padding needed). Anything else goes to the full walk,
  // which reports the fault.
  while (region.size() >= 8) {
    uint32_t header = Load32(region.data());
    size_t step = header == 0x00010008u ? 8 : (header == 0x00020014u ? 20 : 0);
    if (step == 0 || step > region.size()) break;
    ++addresses;
    region.remove_prefix(step);
  }
  bool ok = Walk(region, [&](const Tlv& a, absl::Span<const uint8_t>) {
    if (!ParamTraits<IpAddress>::Matches(PureParamType(a.type))) {
      return Verdict::kUnknown;
    }
    ++addresses;
    return CheckFixedSize(*FindParam(PureParamType(a.type)), a) ? Verdict::kOk : Verdict::kFailed;
  });
  if (!ok) {
    return false;
  }
  // RFC 5354 §3.4: SCTP carries one or more addresses; §3.3, 3.5-3.7: the
  // others exactly one.
  if (addresses == 0 || (type != T(ParamType::kSctpTransport) && addresses != 1)) {
    return Invalid(tlv, "wrong number of addresses in transport parameter");
  }
  return true;
}

bool Decoder::CheckPolicy(const Tlv& tlv) {
  if (tlv.value.size() < 4 || tlv.value.size() % 4 != 0 ||
      tlv.value.size() > 4 + 4 * kMaxPolicyValues) {
    return Invalid(tlv, "policy parameter of wrong length");
  }
  uint32_t type = Load32(tlv.value.data());
  // RFC 5356 §4: 0x00000000 and 0x40000000 are not valid policy types.
  if ((type & 0x3fffffff) == 0) {
    return Invalid(tlv, "invalid policy type");
  }
  // RFC 5356 §4-5: an RFC policy carries exactly its values; RSPLIB's
  // extensions and unknown types 0-4 (docs/decisions.md).
  const PolicyRow* row = FindPolicy(type);
  if (row != nullptr && row->rfc && tlv.value.size() != 4 + 4 * size_t{row->value_count}) {
    return Invalid(tlv, "policy parameter length does not match its policy type");
  }
  return true;
}

bool Decoder::WalkPoolElement(const Tlv& tlv) {
  if (tlv.value.size() < 12) {
    return Invalid(tlv, "Pool Element parameter too short");
  }
  int transports = 0;
  bool has_policy = false;
  bool ok = Walk(tlv.value.subspan(12), [&](const Tlv& p, absl::Span<const uint8_t>) {
    uint16_t type = PureParamType(p.type);
    if (IsTransportType(type)) {
      // RFC 5354 §3.10: one User Transport, then (after the policy) the ASAP
      // Transport, which MUST be SCTP.
      if (transports == 2 || (transports == 1 && !has_policy)) {
        return Invalid(p, "extra transport parameter in Pool Element") ? Verdict::kOk
                                                                       : Verdict::kFailed;
      }
      if (transports == 1 && type != T(ParamType::kSctpTransport)) {
        return Invalid(p, "ASAP Transport is not an SCTP transport") ? Verdict::kOk
                                                                     : Verdict::kFailed;
      }
      ++transports;
      return CheckTransport(p) ? Verdict::kOk : Verdict::kFailed;
    }
    if (type == T(ParamType::kPolicy)) {
      if (has_policy || transports == 0) {
        return Invalid(p, "policy parameter out of place in Pool Element") ? Verdict::kOk
                                                                           : Verdict::kFailed;
      }
      has_policy = true;
      return CheckPolicy(p) ? Verdict::kOk : Verdict::kFailed;
    }
    return Verdict::kUnknown;
  });
  if (!ok) {
    return false;
  }
  if (transports == 0 || !has_policy) {
    return Invalid(tlv, "Pool Element lacks its User Transport or policy");
  }
  return true;
}

bool Decoder::CheckServerInformation(const Tlv& tlv) {
  if (tlv.value.size() < 4) {
    return Invalid(tlv, "Server Information parameter too short");
  }
  int transports = 0;
  bool ok = Walk(tlv.value.subspan(4), [&](const Tlv& p, absl::Span<const uint8_t>) {
    if (PureParamType(p.type) != T(ParamType::kSctpTransport)) {
      return Verdict::kUnknown;
    }
    if (++transports > 1) {
      return Invalid(p, "second transport in Server Information") ? Verdict::kOk : Verdict::kFailed;
    }
    return CheckTransport(p) ? Verdict::kOk : Verdict::kFailed;
  });
  if (!ok) {
    return false;
  }
  return transports == 1 ? true : Invalid(tlv, "Server Information lacks its SCTP transport");
}

bool Decoder::CheckOperationError(const Tlv& tlv) {
  // RFC 5354 §3.12: one or more causes, each code(16) length(16) info, padded.
  absl::Span<const uint8_t> region = tlv.value;
  if (region.empty()) {
    return Invalid(tlv, "Operation Error without a cause");
  }
  while (!region.empty()) {
    if (region.size() < 4) {
      return Invalid(tlv, "truncated error cause");
    }
    uint16_t length = Load16(region.data() + 2);
    if (length < 4 || length > region.size()) {
      return Invalid(tlv, "error cause length exceeds the Operation Error");
    }
    size_t padded = Padded(length);
    if (padded > region.size() && length != region.size()) {
      return Invalid(tlv, "partial padding after error cause");
    }
    region = padded >= region.size() ? absl::Span<const uint8_t>() : region.subspan(padded);
  }
  return true;
}

// Which parameters each message carries (RFC 5352 §2.2, RFC 5353 §2), and

inline bool Decoder::CheckParam(const ParamRow& param, const Tlv& tlv) {
  switch (param.shape) {
    case ParamShape::kFixedSize:
      return CheckFixedSize(param, tlv);
    case ParamShape::kTransport:
      return CheckTransport(tlv);
    case ParamShape::kPolicy:
      return CheckPolicy(tlv);
    case ParamShape::kPoolHandle:
      return CheckPoolHandle(tlv);
    case ParamShape::kPoolElement:
      return CheckPoolElement(tlv);
    case ParamShape::kServerInformation:
      return CheckServerInformation(tlv);
    case ParamShape::kOperationError:
      return CheckOperationError(tlv);
    case ParamShape::kOpaque:
    case ParamShape::kNone:
      return true;
  }
  return true;
}

// Which parameters the message carries, and what goes where, comes from its
// row (protocol/message_table.h): one slot per pure parameter type, read
// once, and one switch on its op. A parameter checked everywhere (its row in
// protocol/param_table.h) is checked before the rule is applied, the others
// after the duplicate and entry order checks.
inline Decoder::Verdict Decoder::OnMessageParam(const Tlv& tlv, absl::Span<const uint8_t> rest) {
  const uint16_t type = PureParamType(tlv.type);
  if (ABSL_PREDICT_FALSE(type >= kParamTypeCount)) {
    return Verdict::kUnknown;
  }
  const ParamSlot slot = row_->slots[type];
  // `check` and `between` in the slot's order.
  auto ordered = [&slot](auto&& check, auto&& between) {
    return slot.checked_everywhere ? check() && between() : between() && check();
  };
  // A single parameter: checked, then stored. The op names the field
  // (SlotFor in protocol/message_table.h), so Store folds to one case.
  auto single = [&](Field field, auto&& check) {
    auto once = [&] {
      return (seen_ & Bit(field)) == 0 ? true : Invalid(tlv, "parameter appears twice");
    };
    if (!ordered(check, once)) {
      return Verdict::kFailed;
    }
    seen_ |= Bit(field);
    Store(field, tlv, rest);
    return Verdict::kOk;
  };
  // A list item: checked, then counted.
  auto item = [&](Field field, bool ok) {
    if (!ok) {
      return Verdict::kFailed;
    }
    seen_ |= Bit(field);
    ++counts_[static_cast<size_t>(field)];
    return Verdict::kOk;
  };
  auto fixed_size = [&] {
    return tlv.value.size() == slot.value_size ? true : Invalid(tlv, kParamTable[type].wrong_size);
  };
  auto pool_element = [&] { return CheckPoolElement(tlv); };
  auto pool_handle = [&] { return CheckPoolHandle(tlv); };
  switch (slot.op) {
    // The commonest first: PEs of handle resolutions and handle tables.
    case ParamOp::kPoolElements:
      return item(Field::kPoolElements, CheckPoolElement(tlv));
    case ParamOp::kEntryElement: {
      auto entry_open = [&] {
        return counts_[static_cast<size_t>(Field::kPoolEntries)] == 0
                   ? Invalid(tlv, "Pool Element before any Pool Handle in handle table")
                   : true;
      };
      if (!ordered(pool_element, entry_open)) {
        return Verdict::kFailed;
      }
      // A handle table entry counts once, at its Pool Handle.
      seen_ |= Bit(Field::kPoolEntries);
      entry_open_ = false;
      return Verdict::kOk;
    }
    case ParamOp::kEntryHandle: {
      auto entry_closed = [&] {
        return entry_open_ ? Invalid(tlv, "Pool Handle without Pool Elements in handle table")
                           : true;
      };
      if (!ordered(pool_handle, entry_closed)) {
        return Verdict::kFailed;
      }
      entry_open_ = true;
      return item(Field::kPoolEntries, true);
    }
    case ParamOp::kPoolHandle:
      return single(Field::kPoolHandle, pool_handle);
    case ParamOp::kPeId:
      return single(Field::kPeId, fixed_size);
    case ParamOp::kPoolElement:
      return single(Field::kPoolElement, [&] { return CheckPoolElement(tlv); });
    case ParamOp::kPolicy:
      return single(Field::kPolicy, [&] { return CheckPolicy(tlv); });
    case ParamOp::kServerInformation:
      return single(Field::kServerInformation, [&] { return CheckServerInformation(tlv); });
    case ParamOp::kChecksum:
      return single(Field::kChecksum, fixed_size);
    case ParamOp::kCookie:
      return single(Field::kCookie, [] { return true; });
    case ParamOp::kError:
      return single(Field::kError, [&] { return CheckOperationError(tlv); });
    case ParamOp::kHandleResolutionItems:
      return single(Field::kHandleResolutionItems, fixed_size);
    case ParamOp::kServers:
      return item(Field::kServers, CheckServerInformation(tlv));
    case ParamOp::kTransports:
      return item(Field::kTransports, CheckTransport(tlv));
    case ParamOp::kRefused:
      if (slot.checked_everywhere && !CheckParam(kParamTable[type], tlv)) {
        return Verdict::kFailed;
      }
      Invalid(tlv, row_->refused);
      return Verdict::kFailed;
    case ParamOp::kNone:
      if (slot.checked_everywhere && !CheckParam(kParamTable[type], tlv)) {
        return Verdict::kFailed;
      }
      return Verdict::kUnknown;
  }
  return Verdict::kFailed;
}

// Puts a checked single parameter into its `Message` field.
inline void Decoder::Store(Field field, const Tlv& tlv, absl::Span<const uint8_t> rest) {
  Message& m = *out_;
  switch (field) {
    case Field::kPoolHandle:
      m.has_pool_handle = true;
      m.pool_handle =
          absl::string_view(reinterpret_cast<const char*>(tlv.value.data()), tlv.value.size());
      return;
    case Field::kPeId:
      m.has_pe_id = true;
      m.pe_id = Load32(tlv.value.data());
      return;
    case Field::kPoolElement:
      m.has_pool_element = true;
      m.pool_element = PoolElementView::FromWire(tlv, rest);
      return;
    case Field::kPolicy:
      m.has_policy = true;
      m.policy = Policy::FromWire(tlv, rest);
      return;
    case Field::kServerInformation:
      m.has_server_information = true;
      m.server_information = ServerInformation::FromWire(tlv, rest);
      return;
    case Field::kChecksum:
      m.has_checksum = true;
      m.checksum = Load16(tlv.value.data());
      return;
    case Field::kCookie:
      m.has_cookie = true;
      m.cookie = tlv.value;
      return;
    case Field::kError: {
      m.has_error = true;
      size_t causes = 0;
      for (absl::Span<const uint8_t> r = tlv.value; !r.empty(); r = AfterTlv(r)) {
        ++causes;
      }
      m.error_causes = ParamList<ErrorCause>::Wire(tlv.value, causes);
      return;
    }
    case Field::kHandleResolutionItems:
      m.has_handle_resolution_items = true;
      m.handle_resolution_items = Load32(tlv.value.data());
      return;
    case Field::kPoolElements:
    case Field::kPoolEntries:
    case Field::kServers:
    case Field::kTransports:
      return;  // lists: counted in OnMessageParam
  }
}

bool Decoder::CheckRequired() {
  const MessageRow& row = *row_;
  auto missing = [&](const char* reason) {
    return Fail(Cause::kUnspecified, message_.data(), {}, reason);
  };
  if ((row.mandatory & ~seen_) != 0 && !(row.error_instead && (seen_ & Bit(Field::kError)))) {
    return missing(row.missing);
  }
  // RFC 5353 §2.4: only ADD_PE and DEL_PE are defined.
  if (row.fixed == FixedFields::kEnrpUpdateAction && out_->update_action != UpdateAction::kAddPe &&
      out_->update_action != UpdateAction::kDelPe) {
    return Fail(Cause::kUnspecified, message_.data() + 12, {}, "unknown Update Action");
  }
  if (entry_open_) {
    return missing("last Pool Handle in handle table has no Pool Element");
  }
  if ((out_->flags & row.reject_flag) != 0 && seen_ != 0) {
    return missing(row.rejecting);
  }
  return true;
}

bool Decoder::Run(Protocol protocol) {
  // Message is trivially destructible: construct in place rather than
  // building a temporary and copying it.
  static_assert(std::is_trivially_destructible_v<Message>);
  new (out_) Message();
  out_->protocol = protocol;
  *error_ = DecodeError();
  const uint8_t* p = message_.data();
  // RFC 5354 §4: Type(8) Flags(8) Length(16), Length excludes trailing padding.
  if (message_.size() < 4) {
    return Fail(Cause::kUnspecified, p, {}, "shorter than the message header");
  }
  out_->type = p[0];
  out_->flags = p[1];
  const uint16_t length = Load16(p + 2);
  if (length < 4 || length > message_.size() || Padded(length) < message_.size()) {
    return Fail(Cause::kUnspecified, p + 2, {}, "message length does not match the received size");
  }
  message_ = message_.subspan(0, length);
  row_ = FindMessage(protocol, out_->type);
  if (row_ == nullptr) {
    // RFC 5354 §4: the two high bits of an unknown type: 00 discard silently,
    // 01 discard and report Unrecognized Message.
    Fail(Cause::kUnrecognizedMessage, p, message_, "unknown message type");
    error_->report = (out_->type >> 6) == 1;
    return false;
  }
  const int fixed = FixedFieldsSize(row_->fixed);
  if (length < 4 + fixed) {
    return Fail(Cause::kUnspecified, p, {}, "message too short for its fixed fields");
  }
  switch (row_->fixed) {
    case FixedFields::kNone:
      break;
    case FixedFields::kServerId:
      out_->server_id = Load32(p + 4);
      break;
    case FixedFields::kEnrpIds:
    case FixedFields::kEnrpUpdateAction:
    case FixedFields::kEnrpTargetId:
      out_->sender_id = Load32(p + 4);
      out_->receiver_id = Load32(p + 8);
      if (row_->fixed == FixedFields::kEnrpUpdateAction) {
        // RFC 5353 §2.4: Update Action(16), Reserved(16) (ignored on receipt).
        out_->update_action = static_cast<UpdateAction>(Load16(p + 12));
      } else if (row_->fixed == FixedFields::kEnrpTargetId) {
        out_->target_id = Load32(p + 12);
      }
      break;
  }
  body_ = message_.subspan(4 + fixed);
  bool ok = Walk(body_, [this](const Tlv& tlv, absl::Span<const uint8_t> rest) {
    return OnMessageParam(tlv, rest);
  });
  if (!ok || !CheckRequired()) {
    return false;
  }
  auto count = [this](Field field) { return counts_[static_cast<size_t>(field)]; };
  if (count(Field::kPoolElements) != 0) {
    out_->pool_elements = ParamList<PoolElementView>::Wire(body_, count(Field::kPoolElements));
  }
  if (count(Field::kPoolEntries) != 0) {
    out_->pool_entries = ParamList<PoolEntry>::Wire(body_, count(Field::kPoolEntries));
  }
  if (count(Field::kServers) != 0) {
    out_->servers = ParamList<ServerInformation>::Wire(body_, count(Field::kServers));
  }
  if (count(Field::kTransports) != 0) {
    out_->transports = ParamList<TransportView>::Wire(body_, count(Field::kTransports));
  }
  return true;
}

}  // namespace

// ---- Parameter values from validated wire bytes ------------------------------

IpAddress ParamTraits<IpAddress>::FromWire(const Tlv& tlv, absl::Span<const uint8_t>) {
  if (PureParamType(tlv.type) == T(ParamType::kIpv4Address)) {
    return IpAddress::V4(Load32(tlv.value.data()));
  }
  IpAddress a;
  memcpy(a.bytes.data(), tlv.value.data(), 16);
  return a;
}

bool TransportView::Matches(uint16_t type) { return IsTransportType(type); }

TransportView TransportView::FromWire(const Tlv& tlv, absl::Span<const uint8_t>) {
  TransportView t;
  t.type = static_cast<ParamType>(PureParamType(tlv.type));
  if (t.type == ParamType::kOpaqueTransport) {
    t.opaque = tlv.value;
    return t;
  }
  const uint8_t* v = tlv.value.data();
  t.port = Load16(v);
  t.transport_use = Load16(v + 2);
  size_t fixed = 4;
  if (t.type == ParamType::kDccpTransport) {
    t.dccp_service_code = Load32(v + 4);
    fixed = 8;
  }
  absl::Span<const uint8_t> region = tlv.value.subspan(fixed);
  size_t count = 0;
  for (absl::Span<const uint8_t> r = region; !r.empty(); r = AfterTlv(r)) {
    if (ParamTraits<IpAddress>::Matches(PureParamType(Load16(r.data())))) ++count;
  }
  t.addresses = ParamList<IpAddress>::Wire(region, count);
  return t;
}

Policy Policy::FromWire(const Tlv& tlv, absl::Span<const uint8_t>) {
  Policy p;
  p.type = Load32(tlv.value.data());
  p.value_count = static_cast<uint8_t>((tlv.value.size() - 4) / 4);
  for (size_t i = 0; i < p.value_count; ++i) {
    p.values[i] = Load32(tlv.value.data() + 4 + 4 * i);
  }
  return p;
}

PoolElementView PoolElementView::FromWire(const Tlv& tlv, absl::Span<const uint8_t>) {
  PoolElementView e;
  const uint8_t* v = tlv.value.data();
  e.pe_id = Load32(v);
  e.home_registrar = Load32(v + 4);
  e.registration_life = static_cast<int32_t>(Load32(v + 8));
  int transports = 0;
  for (absl::Span<const uint8_t> r = tlv.value.subspan(12); !r.empty(); r = AfterTlv(r)) {
    Tlv p = ReadTlv(r);
    uint16_t type = PureParamType(p.type);
    if (type == T(ParamType::kPolicy)) {
      e.policy = Policy::FromWire(p, {});
    } else if (IsTransportType(type)) {
      if (transports++ == 0) {
        e.user_transport = TransportView::FromWire(p, {});
      } else {
        e.has_asap_transport = true;
        e.asap_transport = TransportView::FromWire(p, {});
      }
    } else if (p.type == kUdpEncapsulationPortParam && p.value.size() >= 2) {
      e.asap_udp_port = Load16(p.value.data());
    }
  }
  return e;
}

ServerInformation ServerInformation::FromWire(const Tlv& tlv, absl::Span<const uint8_t>) {
  ServerInformation s;
  s.server_id = Load32(tlv.value.data());
  for (absl::Span<const uint8_t> r = tlv.value.subspan(4); !r.empty(); r = AfterTlv(r)) {
    Tlv p = ReadTlv(r);
    if (PureParamType(p.type) == T(ParamType::kSctpTransport)) {
      s.transport = TransportView::FromWire(p, {});
    } else if (p.type == kUdpEncapsulationPortParam && p.value.size() >= 2) {
      s.udp_port = Load16(p.value.data());
    } else if (p.type == kPeerStatusParam && p.value.size() >= 8 &&
               p.value[0] <= static_cast<uint8_t>(PeerState::kTakingOver)) {
      s.has_peer_status = true;
      s.peer_state = static_cast<PeerState>(p.value[0]);
      s.last_heard_ms = Load32(p.value.data() + 4);
    }
  }
  return s;
}

ErrorCause ErrorCause::FromWire(const Tlv& tlv, absl::Span<const uint8_t>) {
  return ErrorCause{static_cast<Cause>(tlv.type), tlv.value};
}

PoolEntry PoolEntry::FromWire(const Tlv& tlv, absl::Span<const uint8_t> rest) {
  PoolEntry entry;
  entry.pool_handle =
      absl::string_view(reinterpret_cast<const char*>(tlv.value.data()), tlv.value.size());
  size_t count = 0;
  absl::Span<const uint8_t> r = rest;
  for (; !r.empty(); r = AfterTlv(r)) {
    uint16_t type = PureParamType(Load16(r.data()));
    if (type == T(ParamType::kPoolHandle)) break;
    if (type == T(ParamType::kPoolElement)) ++count;
  }
  entry.elements = ParamList<PoolElementView>::Wire(rest.subspan(0, rest.size() - r.size()), count);
  return entry;
}

// ---- Public API ---------------------------------------------------------------

bool DecodeMessage(Protocol protocol, absl::Span<const uint8_t> bytes, Message* out,
                   DecodeError* error) {
  return Decoder(bytes, out, error).Run(protocol);
}

}  // namespace rspd::protocol
