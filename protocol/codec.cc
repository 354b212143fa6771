#include "protocol/codec.h"

#include <array>
#include <cstring>
#include <new>
#include <type_traits>

#include "absl/base/optimization.h"

namespace rspd::protocol {
namespace {

constexpr uint16_t T(ParamType t) { return static_cast<uint16_t>(t); }

bool IsTransportType(uint16_t type) {
  switch (static_cast<ParamType>(type)) {
    case ParamType::kDccpTransport:
    case ParamType::kSctpTransport:
    case ParamType::kTcpTransport:
    case ParamType::kUdpTransport:
    case ParamType::kUdpLiteTransport:
    case ParamType::kOpaqueTransport:
      return true;
    default:
      return false;
  }
}

// Size of the fixed fields between the common header and the parameters.
int FixedFieldsSize(Protocol protocol, uint8_t type) {
  if (protocol == Protocol::kAsap) {
    switch (static_cast<AsapType>(type)) {
      case AsapType::kEndpointKeepAlive:  // RFC 5352 §2.2.7
      case AsapType::kServerAnnounce:     // RFC 5352 §2.2.10
        return 4;
      default:
        return 0;
    }
  }
  switch (static_cast<EnrpType>(type)) {  // RFC 5353 §2: sender, receiver
    case EnrpType::kHandleUpdate:         // + update action, reserved
    case EnrpType::kInitTakeover:         // + target server ID
    case EnrpType::kInitTakeoverAck:
    case EnrpType::kTakeoverServer:
      return 12;
    default:
      return 8;
  }
}

bool IsKnownType(Protocol protocol, uint8_t type) {
  return protocol == Protocol::kAsap ? type >= static_cast<uint8_t>(AsapType::kRegistration) &&
                                           type <= static_cast<uint8_t>(AsapType::kError)
                                     : type >= static_cast<uint8_t>(EnrpType::kPresence) &&
                                           type <= static_cast<uint8_t>(EnrpType::kError);
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

  bool CheckAddress(const Tlv& tlv);
  // Validates a transport; *address_count gets the number of addresses.
  bool CheckTransport(const Tlv& tlv);
  bool CheckPolicy(const Tlv& tlv);
  bool CheckPoolElement(const Tlv& tlv);
  bool CheckServerInformation(const Tlv& tlv);
  bool CheckOperationError(const Tlv& tlv);
  bool CheckPoolHandle(const Tlv& tlv) {
    return tlv.value.empty() ? Invalid(tlv, "empty Pool Handle") : true;
  }
  Verdict OnMessageParam(const Tlv& tlv, absl::Span<const uint8_t> rest);
  bool CheckRequired();

  absl::Span<const uint8_t> message_;
  Message* out_;
  DecodeError* error_;
  absl::Span<const uint8_t> body_;  // the parameters
  // Counters for list parameters.
  size_t pool_elements_ = 0;
  size_t pool_entries_ = 0;
  size_t servers_ = 0;
  size_t transports_ = 0;
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

bool Decoder::CheckAddress(const Tlv& tlv) {
  size_t want = PureParamType(tlv.type) == T(ParamType::kIpv4Address) ? 4 : 16;
  return tlv.value.size() == want ? true : Invalid(tlv, "address parameter of wrong length");
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
    return CheckAddress(a) ? Verdict::kOk : Verdict::kFailed;
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

// Fast paths for the Pool Element shape that registrars send: SCTP user
// transport, policy, SCTP ASAP transport, each with well-formed IPv4/IPv6
// addresses. They only answer "certainly valid"; anything else goes through
// the full checks, which find and report the fault.
namespace {

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

}  // namespace

bool Decoder::CheckPoolElement(const Tlv& tlv) {
  if (tlv.value.size() < 12) {
    return Invalid(tlv, "Pool Element parameter too short");
  }
  if (QuickPoolElement(tlv.value)) {
    return true;
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
// what to do with them.
Decoder::Verdict Decoder::OnMessageParam(const Tlv& tlv, absl::Span<const uint8_t> rest) {
  const uint16_t type = PureParamType(tlv.type);
  const bool asap = out_->protocol == Protocol::kAsap;
  const uint8_t mt = out_->type;
  auto asap_is = [&](AsapType a) { return asap && mt == static_cast<uint8_t>(a); };
  auto enrp_is = [&](EnrpType e) { return !asap && mt == static_cast<uint8_t>(e); };
  auto verdict = [](bool ok) { return ok ? Verdict::kOk : Verdict::kFailed; };
  auto duplicate = [&](bool already) {
    return already && !Invalid(tlv, "parameter appears twice");
  };

  switch (static_cast<ParamType>(type)) {
    case ParamType::kPoolHandle:
      if (enrp_is(EnrpType::kHandleTableResponse)) {
        if (entry_open_) {
          return verdict(Invalid(tlv, "Pool Handle without Pool Elements in handle table"));
        }
        entry_open_ = true;
        ++pool_entries_;
        return verdict(CheckPoolHandle(tlv));
      }
      if (!(asap && !asap_is(AsapType::kServerAnnounce) && !asap_is(AsapType::kCookie) &&
            !asap_is(AsapType::kCookieEcho) && !asap_is(AsapType::kError)) &&
          !enrp_is(EnrpType::kHandleUpdate)) {
        return Verdict::kUnknown;
      }
      if (duplicate(out_->has_pool_handle) || !CheckPoolHandle(tlv)) {
        return Verdict::kFailed;
      }
      out_->has_pool_handle = true;
      out_->pool_handle =
          absl::string_view(reinterpret_cast<const char*>(tlv.value.data()), tlv.value.size());
      return Verdict::kOk;

    case ParamType::kPoolElement:
      if (!CheckPoolElement(tlv)) {
        return Verdict::kFailed;
      }
      if (asap_is(AsapType::kRegistration) || enrp_is(EnrpType::kHandleUpdate)) {
        if (duplicate(out_->has_pool_element)) {
          return Verdict::kFailed;
        }
        out_->has_pool_element = true;
        out_->pool_element = PoolElementView::FromWire(tlv, rest);
        return Verdict::kOk;
      }
      if (asap_is(AsapType::kHandleResolutionResponse) || asap_is(AsapType::kBusinessCard)) {
        ++pool_elements_;
        return Verdict::kOk;
      }
      if (enrp_is(EnrpType::kHandleTableResponse)) {
        if (pool_entries_ == 0) {
          return verdict(Invalid(tlv, "Pool Element before any Pool Handle in handle table"));
        }
        entry_open_ = false;
        return Verdict::kOk;
      }
      return Verdict::kUnknown;

    case ParamType::kPeIdentifier:
      if (!(asap_is(AsapType::kDeregistration) || asap_is(AsapType::kRegistrationResponse) ||
            asap_is(AsapType::kDeregistrationResponse) || asap_is(AsapType::kEndpointKeepAlive) ||
            asap_is(AsapType::kEndpointKeepAliveAck) || asap_is(AsapType::kEndpointUnreachable))) {
        return Verdict::kUnknown;
      }
      if (duplicate(out_->has_pe_id)) {
        return Verdict::kFailed;
      }
      if (tlv.value.size() != 4) {
        return verdict(Invalid(tlv, "PE Identifier parameter of wrong length"));
      }
      out_->has_pe_id = true;
      out_->pe_id = Load32(tlv.value.data());
      return Verdict::kOk;

    case ParamType::kPolicy:
      if (!asap_is(AsapType::kHandleResolutionResponse)) {
        return Verdict::kUnknown;
      }
      if (duplicate(out_->has_policy) || !CheckPolicy(tlv)) {
        return Verdict::kFailed;
      }
      out_->has_policy = true;
      out_->policy = Policy::FromWire(tlv, rest);
      return Verdict::kOk;

    case ParamType::kOperationError:
      if (!(asap_is(AsapType::kRegistrationResponse) ||
            asap_is(AsapType::kDeregistrationResponse) ||
            asap_is(AsapType::kHandleResolutionResponse) || asap_is(AsapType::kError) ||
            enrp_is(EnrpType::kError))) {
        return Verdict::kUnknown;
      }
      if (duplicate(out_->has_error) || !CheckOperationError(tlv)) {
        return Verdict::kFailed;
      }
      out_->has_error = true;
      {
        size_t causes = 0;
        for (absl::Span<const uint8_t> r = tlv.value; !r.empty(); r = AfterTlv(r)) {
          ++causes;
        }
        out_->error_causes = ParamList<ErrorCause>::Wire(tlv.value, causes);
      }
      return Verdict::kOk;

    case ParamType::kCookie:
      if (!(asap_is(AsapType::kCookie) || asap_is(AsapType::kCookieEcho))) {
        return Verdict::kUnknown;
      }
      if (duplicate(out_->has_cookie)) {
        return Verdict::kFailed;
      }
      out_->has_cookie = true;
      out_->cookie = tlv.value;
      return Verdict::kOk;

    case ParamType::kPeChecksum:
      if (!enrp_is(EnrpType::kPresence)) {
        return Verdict::kUnknown;
      }
      if (duplicate(out_->has_checksum)) {
        return Verdict::kFailed;
      }
      // RFC 5354 §3.15: a 16-bit checksum; Length = 6.
      if (tlv.value.size() != 2) {
        return verdict(Invalid(tlv, "PE Checksum parameter of wrong length"));
      }
      out_->has_checksum = true;
      out_->checksum = Load16(tlv.value.data());
      return Verdict::kOk;

    case ParamType::kServerInformation:
      if (!CheckServerInformation(tlv)) {
        return Verdict::kFailed;
      }
      if (enrp_is(EnrpType::kPresence)) {
        if (duplicate(out_->has_server_information)) {
          return Verdict::kFailed;
        }
        out_->has_server_information = true;
        out_->server_information = ServerInformation::FromWire(tlv, rest);
        return Verdict::kOk;
      }
      if (enrp_is(EnrpType::kListResponse)) {
        ++servers_;
        return Verdict::kOk;
      }
      return Verdict::kUnknown;

    case ParamType::kHandleResolutionOption:
      if (!asap_is(AsapType::kHandleResolution)) {
        return Verdict::kUnknown;
      }
      if (duplicate(out_->has_handle_resolution_items)) {
        return Verdict::kFailed;
      }
      if (tlv.value.size() != 4) {
        return verdict(Invalid(tlv, "Handle Resolution option of wrong length"));
      }
      out_->has_handle_resolution_items = true;
      out_->handle_resolution_items = Load32(tlv.value.data());
      return Verdict::kOk;

    default:
      // RFC 5352 §2.2.10: SERVER_ANNOUNCE lists SCTP and TCP transports.
      if (IsTransportType(type) && asap_is(AsapType::kServerAnnounce)) {
        if (type != T(ParamType::kSctpTransport) && type != T(ParamType::kTcpTransport)) {
          return verdict(Invalid(tlv, "SERVER_ANNOUNCE transport is neither SCTP nor TCP"));
        }
        ++transports_;
        return verdict(CheckTransport(tlv));
      }
      return Verdict::kUnknown;
  }
}

bool Decoder::CheckRequired() {
  const Message& m = *out_;
  auto missing = [&](const char* reason) {
    return Fail(Cause::kUnspecified, message_.data(), {}, reason);
  };
  if (m.protocol == Protocol::kAsap) {
    switch (static_cast<AsapType>(m.type)) {
      case AsapType::kRegistration:
        if (!m.has_pool_handle || !m.has_pool_element) {
          return missing("REGISTRATION needs a Pool Handle and a Pool Element");
        }
        break;
      case AsapType::kDeregistration:
      case AsapType::kRegistrationResponse:
      case AsapType::kDeregistrationResponse:
      case AsapType::kEndpointKeepAliveAck:
      case AsapType::kEndpointUnreachable:
        if (!m.has_pool_handle || !m.has_pe_id) {
          return missing("message needs a Pool Handle and a PE Identifier");
        }
        break;
      case AsapType::kHandleResolution:
      case AsapType::kEndpointKeepAlive:
        if (!m.has_pool_handle) {
          return missing("message needs a Pool Handle");
        }
        break;
      case AsapType::kHandleResolutionResponse:
        // RFC 5352 §2.2.6: positive = Pool Handle + PEs; negative = Operation Error.
        if (!m.has_error && (!m.has_pool_handle || pool_elements_ == 0)) {
          return missing("HANDLE_RESOLUTION_RESPONSE needs PEs or an Operation Error");
        }
        break;
      case AsapType::kBusinessCard:
        if (!m.has_pool_handle || pool_elements_ == 0) {
          return missing("BUSINESS_CARD needs a Pool Handle and at least one PE");
        }
        break;
      case AsapType::kCookie:
      case AsapType::kCookieEcho:
        if (!m.has_cookie) {
          return missing("message needs a Cookie");
        }
        break;
      case AsapType::kError:
        if (!m.has_error) {
          return missing("ASAP_ERROR needs an Operation Error");
        }
        break;
      case AsapType::kServerAnnounce:
        break;
    }
    return true;
  }
  switch (static_cast<EnrpType>(m.type)) {
    case EnrpType::kHandleUpdate:
      if (!m.has_pool_handle || !m.has_pool_element) {
        return missing("HANDLE_UPDATE needs a Pool Handle and a Pool Element");
      }
      // RFC 5353 §2.4: only ADD_PE and DEL_PE are defined.
      if (m.update_action != UpdateAction::kAddPe && m.update_action != UpdateAction::kDelPe) {
        return Fail(Cause::kUnspecified, message_.data() + 12, {}, "unknown Update Action");
      }
      break;
    case EnrpType::kHandleTableResponse:
      if (entry_open_) {
        return missing("last Pool Handle in handle table has no Pool Element");
      }
      // RFC 5353 §2.3: a rejection MUST NOT carry entries.
      if ((m.flags & kFlagTableReject) && pool_entries_ != 0) {
        return missing("rejecting HANDLE_TABLE_RESPONSE carries entries");
      }
      break;
    case EnrpType::kListResponse:
      if ((m.flags & kFlagListReject) && servers_ != 0) {
        return missing("rejecting LIST_RESPONSE carries servers");
      }
      break;
    case EnrpType::kError:
      if (!m.has_error) {
        return missing("ENRP_ERROR needs an Operation Error");
      }
      break;
    default:
      break;
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
  if (!IsKnownType(protocol, out_->type)) {
    // RFC 5354 §4: the two high bits of an unknown type: 00 discard silently,
    // 01 discard and report Unrecognized Message.
    Fail(Cause::kUnrecognizedMessage, p, message_, "unknown message type");
    error_->report = (out_->type >> 6) == 1;
    return false;
  }
  const int fixed = FixedFieldsSize(protocol, out_->type);
  if (length < 4 + fixed) {
    return Fail(Cause::kUnspecified, p, {}, "message too short for its fixed fields");
  }
  if (protocol == Protocol::kAsap) {
    if (fixed == 4) out_->server_id = Load32(p + 4);
  } else {
    out_->sender_id = Load32(p + 4);
    out_->receiver_id = Load32(p + 8);
    if (fixed == 12) {
      if (out_->type == static_cast<uint8_t>(EnrpType::kHandleUpdate)) {
        // RFC 5353 §2.4: Update Action(16), Reserved(16) (ignored on receipt).
        out_->update_action = static_cast<UpdateAction>(Load16(p + 12));
      } else {
        out_->target_id = Load32(p + 12);
      }
    }
  }
  body_ = message_.subspan(4 + fixed);
  bool ok = Walk(body_, [this](const Tlv& tlv, absl::Span<const uint8_t> rest) {
    return OnMessageParam(tlv, rest);
  });
  if (!ok || !CheckRequired()) {
    return false;
  }
  if (pool_elements_ != 0)
    out_->pool_elements = ParamList<PoolElementView>::Wire(body_, pool_elements_);
  if (pool_entries_ != 0) out_->pool_entries = ParamList<PoolEntry>::Wire(body_, pool_entries_);
  if (servers_ != 0) out_->servers = ParamList<ServerInformation>::Wire(body_, servers_);
  if (transports_ != 0) out_->transports = ParamList<TransportView>::Wire(body_, transports_);
  return true;
}

// ---- Encoding ---------------------------------------------------------------

void EncodeErrorCauses(Writer& w, const ParamList<ErrorCause>& causes) {
  size_t param = w.BeginTlv(T(ParamType::kOperationError));
  for (const ErrorCause& cause : causes) {
    size_t c = w.BeginTlv(static_cast<uint16_t>(cause.code));
    w.Bytes(cause.info);
    w.EndTlv(c);
  }
  w.EndTlv(param);
}

void EncodeU32Param(Writer& w, ParamType type, uint32_t value) {
  size_t p = w.BeginTlv(T(type));
  w.U32(value);
  w.EndTlv(p);
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

Policy Policy::Of(PolicyType type, std::initializer_list<uint32_t> values) {
  Policy p;
  p.type = static_cast<uint32_t>(type);
  for (uint32_t v : values) {
    if (p.value_count < kMaxPolicyValues) p.values[p.value_count++] = v;
  }
  return p;
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
  size_t p = w.BeginTlv(T(type));
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
    size_t p = w.BeginTlv(T(t.type));
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
  size_t p = w.BeginTlv(T(ParamType::kPolicy));
  w.U32(policy.type);
  for (size_t i = 0; i < policy.value_count; ++i) {
    w.U32(policy.values[i]);
  }
  w.EndTlv(p);
}

void EncodePoolHandle(Writer& w, absl::string_view handle) {
  size_t p = w.BeginTlv(T(ParamType::kPoolHandle));
  w.Bytes(handle.data(), handle.size());
  w.EndTlv(p);
}

size_t BeginPoolElement(Writer& w, uint32_t pe_id, uint32_t home_registrar,
                        int32_t registration_life) {
  size_t p = w.BeginTlv(T(ParamType::kPoolElement));
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
  w.EndTlv(p);
}

namespace {

void EncodeServerInformation(Writer& w, const ServerInformation& s) {
  size_t p = w.BeginTlv(T(ParamType::kServerInformation));
  w.U32(s.server_id);
  EncodeTransport(w, s.transport);
  w.EndTlv(p);
}

// Flags the RFCs define per message; others are sent as 0 (RFC 5354 §4).
uint8_t DefinedFlags(Protocol protocol, uint8_t type) {
  if (protocol == Protocol::kAsap) {
    switch (static_cast<AsapType>(type)) {
      case AsapType::kRegistrationResponse:
      case AsapType::kHandleResolution:
      case AsapType::kHandleResolutionResponse:
      case AsapType::kEndpointKeepAlive:
        return 0x01;
      default:
        return 0;
    }
  }
  switch (static_cast<EnrpType>(type)) {
    case EnrpType::kPresence:
    case EnrpType::kHandleTableRequest:
    case EnrpType::kListResponse:
      return 0x01;
    case EnrpType::kHandleTableResponse:
      return 0x03;
    default:
      return 0;
  }
}

}  // namespace

size_t EncodeMessage(const Message& m, absl::Span<uint8_t> buffer) {
  if (!IsKnownType(m.protocol, m.type)) {
    return 0;
  }
  Writer w(buffer);
  BeginMessage(w, m.type, m.flags & DefinedFlags(m.protocol, m.type));
  auto handle = [&] {
    if (m.has_pool_handle) EncodePoolHandle(w, m.pool_handle);
  };
  auto pe_id = [&] {
    if (m.has_pe_id) EncodeU32Param(w, ParamType::kPeIdentifier, m.pe_id);
  };
  auto error = [&] {
    if (m.has_error) EncodeErrorCauses(w, m.error_causes);
  };
  if (m.protocol == Protocol::kAsap) {
    switch (static_cast<AsapType>(m.type)) {
      case AsapType::kRegistration:
        handle();
        if (m.has_pool_element) EncodePoolElement(w, m.pool_element);
        break;
      case AsapType::kDeregistration:
      case AsapType::kEndpointKeepAliveAck:
      case AsapType::kEndpointUnreachable:
        handle();
        pe_id();
        break;
      case AsapType::kRegistrationResponse:
      case AsapType::kDeregistrationResponse:
        handle();
        pe_id();
        error();
        break;
      case AsapType::kHandleResolution:
        handle();
        if (m.has_handle_resolution_items) {
          // Action bits 10: a receiver that does not know it skips it.
          size_t p = w.BeginTlv(0x8000 | T(ParamType::kHandleResolutionOption));
          w.U32(m.handle_resolution_items);
          w.EndTlv(p);
        }
        break;
      case AsapType::kHandleResolutionResponse:
        handle();
        if (m.has_policy) EncodePolicy(w, m.policy);
        for (const PoolElementView& e : m.pool_elements) EncodePoolElement(w, e);
        error();
        break;
      case AsapType::kEndpointKeepAlive:
        w.U32(m.server_id);
        handle();
        pe_id();
        break;
      case AsapType::kServerAnnounce:
        w.U32(m.server_id);
        for (const TransportView& t : m.transports) EncodeTransport(w, t);
        break;
      case AsapType::kCookie:
      case AsapType::kCookieEcho:
        if (m.has_cookie) {
          size_t p = w.BeginTlv(T(ParamType::kCookie));
          w.Bytes(m.cookie);
          w.EndTlv(p);
        }
        break;
      case AsapType::kBusinessCard:
        handle();
        for (const PoolElementView& e : m.pool_elements) EncodePoolElement(w, e);
        break;
      case AsapType::kError:
        error();
        break;
    }
  } else {
    w.U32(m.sender_id);
    w.U32(m.receiver_id);
    switch (static_cast<EnrpType>(m.type)) {
      case EnrpType::kPresence:
        if (m.has_checksum) {
          size_t p = w.BeginTlv(T(ParamType::kPeChecksum));
          w.U16(m.checksum);
          w.EndTlv(p);
        }
        if (m.has_server_information) EncodeServerInformation(w, m.server_information);
        break;
      case EnrpType::kHandleTableRequest:
      case EnrpType::kListRequest:
        break;
      case EnrpType::kHandleTableResponse:
        for (const PoolEntry& entry : m.pool_entries) {
          EncodePoolHandle(w, entry.pool_handle);
          for (const PoolElementView& e : entry.elements) EncodePoolElement(w, e);
        }
        break;
      case EnrpType::kHandleUpdate:
        w.U16(static_cast<uint16_t>(m.update_action));
        w.U16(0);  // reserved, RFC 5353 §2.4
        handle();
        if (m.has_pool_element) EncodePoolElement(w, m.pool_element);
        break;
      case EnrpType::kListResponse:
        for (const ServerInformation& s : m.servers) EncodeServerInformation(w, s);
        break;
      case EnrpType::kInitTakeover:
      case EnrpType::kInitTakeoverAck:
      case EnrpType::kTakeoverServer:
        w.U32(m.target_id);
        break;
      case EnrpType::kError:
        error();
        break;
    }
  }
  return FinishMessage(w);
}

std::vector<uint8_t> EncodeMessageToVector(const Message& message) {
  // Room for the largest message RFC 5354 §4 allows, kept per thread: the
  // result holds only the message.
  thread_local std::array<uint8_t, Padded(0xffff)> scratch;
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

const char* MessageTypeName(Protocol protocol, uint8_t type) {
  if (protocol == Protocol::kAsap) {
    switch (static_cast<AsapType>(type)) {
      case AsapType::kRegistration:
        return "ASAP_REGISTRATION";
      case AsapType::kDeregistration:
        return "ASAP_DEREGISTRATION";
      case AsapType::kRegistrationResponse:
        return "ASAP_REGISTRATION_RESPONSE";
      case AsapType::kDeregistrationResponse:
        return "ASAP_DEREGISTRATION_RESPONSE";
      case AsapType::kHandleResolution:
        return "ASAP_HANDLE_RESOLUTION";
      case AsapType::kHandleResolutionResponse:
        return "ASAP_HANDLE_RESOLUTION_RESPONSE";
      case AsapType::kEndpointKeepAlive:
        return "ASAP_ENDPOINT_KEEP_ALIVE";
      case AsapType::kEndpointKeepAliveAck:
        return "ASAP_ENDPOINT_KEEP_ALIVE_ACK";
      case AsapType::kEndpointUnreachable:
        return "ASAP_ENDPOINT_UNREACHABLE";
      case AsapType::kServerAnnounce:
        return "ASAP_SERVER_ANNOUNCE";
      case AsapType::kCookie:
        return "ASAP_COOKIE";
      case AsapType::kCookieEcho:
        return "ASAP_COOKIE_ECHO";
      case AsapType::kBusinessCard:
        return "ASAP_BUSINESS_CARD";
      case AsapType::kError:
        return "ASAP_ERROR";
    }
    return "ASAP_UNKNOWN";
  }
  switch (static_cast<EnrpType>(type)) {
    case EnrpType::kPresence:
      return "ENRP_PRESENCE";
    case EnrpType::kHandleTableRequest:
      return "ENRP_HANDLE_TABLE_REQUEST";
    case EnrpType::kHandleTableResponse:
      return "ENRP_HANDLE_TABLE_RESPONSE";
    case EnrpType::kHandleUpdate:
      return "ENRP_HANDLE_UPDATE";
    case EnrpType::kListRequest:
      return "ENRP_LIST_REQUEST";
    case EnrpType::kListResponse:
      return "ENRP_LIST_RESPONSE";
    case EnrpType::kInitTakeover:
      return "ENRP_INIT_TAKEOVER";
    case EnrpType::kInitTakeoverAck:
      return "ENRP_INIT_TAKEOVER_ACK";
    case EnrpType::kTakeoverServer:
      return "ENRP_TAKEOVER_SERVER";
    case EnrpType::kError:
      return "ENRP_ERROR";
  }
  return "ENRP_UNKNOWN";
}

const char* ParamTypeName(uint16_t pure_type) {
  switch (static_cast<ParamType>(pure_type)) {
    case ParamType::kIpv4Address:
      return "IPv4 Address";
    case ParamType::kIpv6Address:
      return "IPv6 Address";
    case ParamType::kDccpTransport:
      return "DCCP Transport";
    case ParamType::kSctpTransport:
      return "SCTP Transport";
    case ParamType::kTcpTransport:
      return "TCP Transport";
    case ParamType::kUdpTransport:
      return "UDP Transport";
    case ParamType::kUdpLiteTransport:
      return "UDP-Lite Transport";
    case ParamType::kPolicy:
      return "Pool Member Selection Policy";
    case ParamType::kPoolHandle:
      return "Pool Handle";
    case ParamType::kPoolElement:
      return "Pool Element";
    case ParamType::kServerInformation:
      return "Server Information";
    case ParamType::kOperationError:
      return "Operation Error";
    case ParamType::kCookie:
      return "Cookie";
    case ParamType::kPeIdentifier:
      return "PE Identifier";
    case ParamType::kPeChecksum:
      return "PE Checksum";
    case ParamType::kOpaqueTransport:
      return "Opaque Transport";
    case ParamType::kHandleResolutionOption:
      return "Handle Resolution";
  }
  return "Unknown";
}

const char* CauseName(Cause cause) {
  switch (cause) {
    case Cause::kUnspecified:
      return "Unspecified Error";
    case Cause::kUnrecognizedParameter:
      return "Unrecognized Parameter";
    case Cause::kUnrecognizedMessage:
      return "Unrecognized Message";
    case Cause::kInvalidValues:
      return "Invalid Values";
    case Cause::kNonUniquePeIdentifier:
      return "Non-unique PE Identifier";
    case Cause::kInconsistentPoolingPolicy:
      return "Inconsistent Pooling Policy";
    case Cause::kLackOfResources:
      return "Lack of Resources";
    case Cause::kInconsistentTransportType:
      return "Inconsistent Transport Type";
    case Cause::kInconsistentDataControlConfiguration:
      return "Inconsistent Data/Control Configuration";
    case Cause::kUnknownPoolHandle:
      return "Unknown Pool Handle";
    case Cause::kRejectedDueToSecurity:
      return "Rejected due to security considerations";
  }
  return "Unknown Cause";
}

}  // namespace rspd::protocol
