// File: control/asap/replies.cc

#include "control/asap/replies.h"

namespace rspd::control {
namespace {

using protocol::AsapType;
using protocol::ErrorCause;
using protocol::Message;

// Largest ASAP message rspd sends: a resolution answer with 128 PEs of up to
// 8+8 IPv6 addresses stays below 64 KiB, the limit of the length field.
constexpr size_t kMaxMessage = 65536;

Message Asap(AsapType type, uint8_t flags = 0) {
  Message m;
  m.protocol = protocol::Protocol::kAsap;
  m.type = static_cast<uint8_t>(type);
  m.flags = flags;
  return m;
}

}  // namespace

AsapReplies::AsapReplies(dataplane::MessageSender* sender, uint16_t asap_port,
                         MessageCounts* counts)
    : sender_(sender), counts_(counts), asap_port_(asap_port), buffer_(kMaxMessage) {}

bool AsapReplies::SendWritten(const dataplane::AssocRef& to, size_t length) {
  if (length == 0 || !sender_->Send(to, asap_port_, protocol::kAsapPpid,
                                    absl::MakeConstSpan(buffer_.data(), length))) {
    return false;
  }
  counts_->Sent(buffer_[0]);  // RFC 5352 §2: the type is the message's first byte
  return true;
}

bool AsapReplies::Send(const dataplane::AssocRef& to, const Message& message) {
  return SendWritten(to, protocol::EncodeMessage(message, absl::MakeSpan(buffer_)));
}

bool AsapReplies::Response(const dataplane::AssocRef& to, AsapType type, uint8_t flags,
                           absl::string_view handle, const uint32_t* pe_id,
                           absl::Span<const ErrorCause> causes) {
  Message reply = Asap(type, flags);
  reply.has_pool_handle = true;
  reply.pool_handle = handle;
  if (pe_id != nullptr) {
    reply.has_pe_id = true;
    reply.pe_id = *pe_id;
  }
  if (!causes.empty()) {
    reply.has_error = true;
    reply.error_causes = protocol::ParamList<ErrorCause>(causes);
  }
  return Send(to, reply);
}

bool AsapReplies::WithCause(const dataplane::AssocRef& to, AsapType type, absl::string_view handle,
                            const uint32_t* pe_id, protocol::Cause cause) {
  const ErrorCause error{cause, {}};
  return Response(to, type, 0, handle, pe_id,
                  cause == protocol::kNoError ? absl::Span<const ErrorCause>()
                                              : absl::MakeConstSpan(&error, 1));
}

bool AsapReplies::Error(const dataplane::AssocRef& to, absl::Span<const ErrorCause> causes) {
  Message report = Asap(AsapType::kError);
  report.has_error = true;
  report.error_causes = protocol::ParamList<ErrorCause>(causes);
  return Send(to, report);
}

bool AsapReplies::ErrorReport(const dataplane::AssocRef& to, const protocol::DecodeError& error) {
  return SendWritten(to, protocol::EncodeErrorReport(protocol::Protocol::kAsap, error, 0, 0,
                                                     absl::MakeSpan(buffer_)));
}

}  // namespace rspd::control
