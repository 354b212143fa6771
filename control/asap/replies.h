// File: control/asap/replies.h
//
// Every message the registrar's ASAP side sends, encoded once and handed to
// the transport (dataplane/transport.h) on the ASAP port with PPID 11
// (RFC 5352 §5): responses with or without error causes (RFC 5354 §3.12),
// ASAP_ERROR reports (RFC 5352 §2.2.14), and messages written piecewise
// straight from handlespace records (handle resolution answers). One buffer,
// reused; nothing is allocated per message.
//
// Example:
//   AsapReplies replies(&sender, 3863);
//   replies.Response(to, AsapType::kRegistrationResponse, 0, handle, &pe_id, {});
//   replies.Reject(to, AsapType::kRegistrationResponse, handle, &pe_id, cause);

#pragma once

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "control/message_counts.h"
#include "dataplane/transport.h"
#include "protocol/codec.h"

namespace rspd::control {

class AsapReplies {
 public:
  // `sender` and `counts` (every message sent, by type) must outlive this.
  AsapReplies(dataplane::MessageSender* sender, uint16_t asap_port, MessageCounts* counts);

  // A response naming the pool handle (and PE) with error causes, none for
  // success. `flags` as the message type defines them (R for a rejected
  // registration, RFC 5352 §2.2.3). False if it could not be sent.
  bool Response(const dataplane::AssocRef& to, protocol::AsapType type, uint8_t flags,
                absl::string_view handle, const uint32_t* pe_id,
                absl::Span<const protocol::ErrorCause> causes);
  // Response with a single cause without information (kNoError: none).
  bool WithCause(const dataplane::AssocRef& to, protocol::AsapType type, absl::string_view handle,
                 const uint32_t* pe_id, protocol::Cause cause);
  // ASAP_ERROR with the given causes (RFC 5352 §2.2.14).
  bool Error(const dataplane::AssocRef& to, absl::Span<const protocol::ErrorCause> causes);
  // ASAP_ERROR for what could not be decoded (RFC 5354 §3, §4).
  bool ErrorReport(const dataplane::AssocRef& to, const protocol::DecodeError& error);
  // Any message.
  bool Send(const dataplane::AssocRef& to, const protocol::Message& message);

  // Piecewise: a Writer over the buffer, then SendWritten.
  protocol::Writer Begin() { return protocol::Writer(absl::MakeSpan(buffer_)); }
  bool SendWritten(const dataplane::AssocRef& to, size_t length);

 private:
  dataplane::MessageSender* sender_;
  MessageCounts* counts_;
  uint16_t asap_port_;
  std::vector<uint8_t> buffer_;
};

}  // namespace rspd::control
