// File: dataplane/tls/tls_channel.h
//
// One association's TLS connection, in the manner of RFC 3436 (TLS over
// SCTP): TLS runs over the association's stream 0, in order and reliably,
// and its records travel as SCTP user messages. As RFC 3436 §3.2 allows, TLS
// does not keep message boundaries: the channel frames what it decrypts by
// the length field of the ASAP/ENRP common header (RFC 5354 §4: type, flags,
// 16-bit length including the header but not the padding, the message padded
// to a multiple of 4 bytes), so its user sees whole messages again, padded
// as sent. docs/security.md has the rationale.
//
// The channel does no I/O: Receive takes the bytes of each SCTP message that
// arrived, Send takes a whole ASAP/ENRP message, and TakeOutput gives the
// bytes to send as SCTP messages (handshake, records, alerts), cut into
// pieces of at most kMaxOutputPiece bytes. Messages sent before the
// handshake ends wait, up to kMaxPendingBytes. A channel that failed (bad
// record, failed authentication, a message it cannot frame) stays failed:
// its association is to be aborted. Not thread-safe.
//
// Example:
//   TlsChannel channel(context);                        // server side
//   absl::Status s = channel.Receive(bytes, [&](absl::Span<const uint8_t> m) {
//     Handle(m);
//   });
//   for (auto& piece : channel.TakeOutput()) SendSctp(piece);
//   if (!s.ok()) Abort();

#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "dataplane/tls/tls_context.h"

namespace rspd::dataplane::tls {

class TlsChannel {
 public:
  // The largest piece of output: below the 64 KiB an SCTP peer of ours
  // reassembles, and one TLS record (16 KiB) plus its overhead.
  static constexpr size_t kMaxOutputPiece = 16384 + 512;
  // Plaintext queued before the handshake ends.
  static constexpr size_t kMaxPendingBytes = 256 * 1024;
  // The largest message framed: the common header's length is 16 bits, and
  // the message is padded to a multiple of 4 (RFC 5354 §4).
  static constexpr size_t kMaxMessage = 0x10000;

  using MessageFn = std::function<void(absl::Span<const uint8_t> message)>;
  enum class State { kHandshaking, kOpen, kFailed };

  // `context` must outlive the channel. A client channel has its
  // ClientHello in TakeOutput at once.
  explicit TlsChannel(const TlsContext* context);
  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  // The bytes of one received SCTP message. Calls `on_message` for every
  // whole message they complete. An error fails the channel (an alert may be
  // in TakeOutput).
  absl::Status Receive(absl::Span<const uint8_t> bytes, const MessageFn& on_message);
  // Encrypts one whole ASAP/ENRP message, padded or not (it is sent padded),
  // or queues it until the handshake ends. An error if it is not one
  // message, the channel failed or the queue is full.
  absl::Status Send(absl::Span<const uint8_t> message);
  // The ciphertext produced since the last call, in pieces.
  std::vector<std::vector<uint8_t>> TakeOutput();
  bool HasOutput() const;

  State state() const { return state_; }
  const PeerIdentity& peer() const { return peer_; }
  // Why the channel failed (empty if it did not).
  const std::string& error() const { return error_; }
  // The negotiated protocol, "TLSv1.3" or "TLSv1.2" (empty before).
  std::string version() const;
  // The negotiated ciphersuite's OpenSSL name (empty before).
  std::string cipher() const;

 private:
  absl::Status Fail(std::string why);
  absl::Status Advance(const MessageFn& on_message);
  absl::Status Frame(const MessageFn& on_message);
  absl::Status WriteAll(absl::Span<const uint8_t> message);
  void NotePeer();

  const TlsContext* context_;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // ciphertext received, for OpenSSL to read
  BIO* out_ = nullptr;  // ciphertext OpenSSL wrote, for TakeOutput
  State state_ = State::kHandshaking;
  PeerIdentity peer_;
  std::string psk_identity_;  // a server's accepted PSK identity (TlsContext)
  std::string error_;
  std::vector<uint8_t> plaintext_;  // decrypted bytes not yet a whole message
  std::vector<uint8_t> pending_;    // messages sent before the handshake ended
};

}  // namespace rspd::dataplane::tls
