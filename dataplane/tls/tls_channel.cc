#include "dataplane/tls/tls_channel.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace rspd::dataplane::tls {
namespace {

constexpr size_t kHeaderSize = 4;  // type, flags, 16-bit length (RFC 5354 §4)

// The length field, and what the message occupies: padded to 4 bytes.
size_t LengthField(const uint8_t* header) {
  return static_cast<size_t>(header[2]) << 8 | header[3];
}
size_t Padded(size_t length) { return (length + 3) & ~size_t{3}; }

// The certificate's subject common name, or its first DNS name.
std::string CertificateName(X509* certificate) {
  X509_NAME* subject = X509_get_subject_name(certificate);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length >= 0) {
      std::string name(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
      OPENSSL_free(utf8);
      return name;
    }
  }
  std::string name;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* entry = sk_GENERAL_NAME_value(names, i);
    if (entry->type != GEN_DNS) continue;
    const ASN1_IA5STRING* dns = entry->d.dNSName;
    name.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                static_cast<size_t>(ASN1_STRING_length(dns)));
    break;
  }
  GENERAL_NAMES_free(names);
  return name;
}

// Whether the handshake was keyed by a pre-shared key. OpenSSL asks for a
// PSK (and learns its identity) before it knows whether it will use it: a
// client that offers a PSK it does not hold and a ciphersuite the PSK cannot
// serve gets a certificate handshake instead, its binder never checked. TLS
// 1.3 marks a PSK that was used as a resumed session; TLS 1.2 PSK suites have
// a PSK key exchange.
bool PskUsed(SSL* ssl) {
  if (SSL_version(ssl) == TLS1_3_VERSION) return SSL_session_reused(ssl) == 1;
  const int kx = SSL_CIPHER_get_kx_nid(SSL_get_current_cipher(ssl));
  return kx == NID_kx_psk || kx == NID_kx_ecdhe_psk || kx == NID_kx_dhe_psk || kx == NID_kx_rsa_psk;
}

}  // namespace

TlsChannel::TlsChannel(const TlsContext* context) : context_(context) {
  ERR_clear_error();
  ssl_ = SSL_new(context->ssl_ctx());
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || in_ == nullptr || out_ == nullptr) {
    BIO_free(in_);
    BIO_free(out_);
    in_ = out_ = nullptr;
    (void)Fail("out of memory for a TLS connection");
    return;
  }
  BIO_set_mem_eof_return(in_, -1);  // empty means "wait for more", not the end
  SSL_set_bio(ssl_, in_, out_);     // the SSL owns both BIOs now
  if (context->role() == TlsRole::kServer) {
    SSL_set_app_data(ssl_, &psk_identity_);
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  const std::string& name = context->options().expected_peer_name;
  if (!name.empty() && SSL_set1_host(ssl_, name.c_str()) != 1) {
    (void)Fail("bad expected peer name " + name);
    return;
  }
  (void)Advance(nullptr);  // the ClientHello
}

TlsChannel::~TlsChannel() { SSL_free(ssl_); }

absl::Status TlsChannel::Fail(std::string why) {
  if (state_ != State::kFailed) {
    state_ = State::kFailed;
    error_ = std::move(why);
  }
  return absl::PermissionDeniedError(error_);
}

absl::Status TlsChannel::Receive(absl::Span<const uint8_t> bytes, const MessageFn& on_message) {
  if (state_ == State::kFailed) return absl::PermissionDeniedError(error_);
  ERR_clear_error();
  while (!bytes.empty()) {
    int chunk = static_cast<int>(std::min<size_t>(bytes.size(), 1 << 20));
    if (BIO_write(in_, bytes.data(), chunk) != chunk) return Fail("out of memory for TLS input");
    bytes.remove_prefix(static_cast<size_t>(chunk));
  }
  return Advance(on_message);
}

absl::Status TlsChannel::Advance(const MessageFn& on_message) {
  if (state_ == State::kHandshaking) {
    int result = SSL_do_handshake(ssl_);
    if (result != 1) {
      int error = SSL_get_error(ssl_, result);
      if (error == SSL_ERROR_WANT_READ) return absl::OkStatus();
      std::string why = "TLS handshake failed";
      long verify = SSL_get_verify_result(ssl_);
      if (verify != X509_V_OK) {
        absl::StrAppend(&why, ": certificate: ", X509_verify_cert_error_string(verify));
      }
      std::string detail = OpenSslErrors();
      if (!detail.empty()) absl::StrAppend(&why, ": ", detail);
      return Fail(why);
    }
    NotePeer();
    if (context_->role() == TlsRole::kServer && context_->options().require_peer_authentication &&
        !peer_.authenticated()) {
      return Fail("the peer did not authenticate (no certificate, no PSK)");
    }
    state_ = State::kOpen;
    std::vector<uint8_t> pending = std::move(pending_);
    pending_.clear();
    // Queued padded, one message after another.
    absl::Status status = WriteAll(pending);
    if (!status.ok()) return status;
  }
  if (on_message == nullptr) return absl::OkStatus();
  uint8_t buffer[16384];
  while (state_ == State::kOpen) {
    int result = SSL_read(ssl_, buffer, sizeof buffer);
    if (result <= 0) {
      int error = SSL_get_error(ssl_, result);
      if (error == SSL_ERROR_WANT_READ) break;
      if (error == SSL_ERROR_ZERO_RETURN) return Fail("the peer closed TLS");
      return Fail("TLS record refused: " + OpenSslErrors());
    }
    plaintext_.insert(plaintext_.end(), buffer, buffer + result);
    absl::Status status = Frame(on_message);
    if (!status.ok()) return status;
  }
  return state_ == State::kFailed ? absl::PermissionDeniedError(error_) : absl::OkStatus();
}

absl::Status TlsChannel::Frame(const MessageFn& on_message) {
  size_t at = 0;
  while (plaintext_.size() - at >= kHeaderSize) {
    const size_t length = LengthField(&plaintext_[at]);
    if (length < kHeaderSize) {
      return Fail(absl::StrCat("a message's length field says ", length, ", less than its header"));
    }
    const size_t padded = Padded(length);
    if (plaintext_.size() - at < padded) break;
    on_message(absl::MakeConstSpan(plaintext_).subspan(at, padded));
    at += padded;
  }
  plaintext_.erase(plaintext_.begin(), plaintext_.begin() + static_cast<std::ptrdiff_t>(at));
  return absl::OkStatus();
}

absl::Status TlsChannel::Send(absl::Span<const uint8_t> message) {
  if (state_ == State::kFailed) return absl::PermissionDeniedError(error_);
  const size_t length = message.size() < kHeaderSize ? 0 : LengthField(message.data());
  if (length < kHeaderSize || (message.size() != length && message.size() != Padded(length))) {
    return absl::InvalidArgumentError("not one whole ASAP/ENRP message");
  }
  static constexpr uint8_t kZeros[3] = {0, 0, 0};
  const auto padding = absl::MakeConstSpan(kZeros, Padded(length) - message.size());
  if (state_ == State::kHandshaking) {
    if (pending_.size() + Padded(length) > kMaxPendingBytes) {
      return absl::ResourceExhaustedError("TLS handshake not done and its send queue is full");
    }
    pending_.insert(pending_.end(), message.begin(), message.end());
    pending_.insert(pending_.end(), padding.begin(), padding.end());
    return absl::OkStatus();
  }
  ERR_clear_error();
  absl::Status status = WriteAll(message);
  return status.ok() && !padding.empty() ? WriteAll(padding) : status;
}

absl::Status TlsChannel::WriteAll(absl::Span<const uint8_t> message) {
  int written = SSL_write(ssl_, message.data(), static_cast<int>(message.size()));
  if (written != static_cast<int>(message.size())) {
    return Fail("TLS write failed: " + OpenSslErrors());
  }
  return absl::OkStatus();
}

bool TlsChannel::HasOutput() const { return out_ != nullptr && BIO_ctrl_pending(out_) > 0; }

std::vector<std::vector<uint8_t>> TlsChannel::TakeOutput() {
  std::vector<std::vector<uint8_t>> pieces;
  while (HasOutput()) {
    std::vector<uint8_t> piece(std::min(BIO_ctrl_pending(out_), kMaxOutputPiece));
    int read = BIO_read(out_, piece.data(), static_cast<int>(piece.size()));
    if (read <= 0) break;
    piece.resize(static_cast<size_t>(read));
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

std::string TlsChannel::version() const {
  return state_ == State::kOpen ? SSL_get_version(ssl_) : "";
}

std::string TlsChannel::cipher() const {
  return state_ == State::kOpen ? SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_)) : "";
}

void TlsChannel::NotePeer() {
  if (X509* certificate = SSL_get0_peer_certificate(ssl_)) {
    // The handshake verified it (SSL_VERIFY_PEER fails it otherwise). One
    // without a name (no CN, no DNS name) is no identity the policy could
    // speak of: anonymous.
    std::string name = CertificateName(certificate);
    if (SSL_get_verify_result(ssl_) == X509_V_OK && !name.empty()) {
      peer_.kind = PeerIdentity::Kind::kCertificate;
      peer_.name = std::move(name);
    }
    return;
  }
  if (!PskUsed(ssl_)) return;  // no certificate, no PSK: anonymous
  if (context_->role() == TlsRole::kServer) {
    if (!psk_identity_.empty()) {
      peer_.kind = PeerIdentity::Kind::kPsk;
      peer_.name = psk_identity_;
    }
    return;
  }
  // A client: the server proved it holds our PSK, which every server of the
  // scope may; it proved no name of its own.
  if (!context_->options().psk_file.empty()) peer_.kind = PeerIdentity::Kind::kPsk;
}

}  // namespace rspd::dataplane::tls
