// File: dataplane/tls/tls_context.h
//
// What a secure ASAP or ENRP endpoint knows before any association: its
// certificate and key, the certificate authorities and revocation lists it
// trusts, and the pre-shared keys it holds (RFC 5352 §9.1, RFC 5353 §6.1:
// "mutual authentication of PE and PR, and of PR and PR, using TLS-PSK";
// PUs authenticate registrars by certificate). One TlsContext serves every
// association of one role; TlsChannel (tls_channel.h) is one association's
// TLS connection over it. Built on OpenSSL 3; TLS 1.3 by default, TLS 1.2
// only with AEAD ciphersuites (docs/security.md).
//
// A PSK file has one key per line, "IDENTITY HEXKEY" (at least 16 bytes of
// key), '#' starting a comment. A server accepts every identity in it; a
// client presents `psk_identity` with its key from the file.
//
// Example:
//   TlsOptions options;
//   options.certificate_file = "pr1.pem"; options.private_key_file = "pr1.key";
//   options.ca_file = "ca.pem";
//   auto context = TlsContext::Create(options, TlsRole::kServer);

#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace rspd::dataplane::tls {

enum class TlsRole { kClient, kServer };

struct TlsOptions {
  // PEM: this endpoint's certificate (chain) and private key. A server needs
  // them unless it accepts PSK only; a client needs them to authenticate by
  // certificate.
  std::string certificate_file;
  std::string private_key_file;
  // PEM: the certificate authorities whose certificates a peer may present.
  // Without it, peers can authenticate by PSK only.
  std::string ca_file;
  // PEM: certificate revocation lists of those authorities; every
  // certificate in a peer's chain is checked against them.
  std::string crl_file;
  // Pre-shared keys (format above) and, for a client, the identity it uses.
  std::string psk_file;
  std::string psk_identity;
  // Server: the peer must authenticate (by certificate or PSK). Off where
  // clients that only check the server, PUs, may connect (ASAP); every
  // registrar and PE still needs an identity to be authorized.
  bool require_peer_authentication = true;
  // Client: the name the server's certificate must carry (DNS name or
  // common name); empty accepts any name the authorities signed.
  std::string expected_peer_name;
  // "1.3" (default) or "1.2" (then with AEAD ciphersuites only).
  std::string min_version = "1.3";
};

// How the peer of a TlsChannel proved who it is.
struct PeerIdentity {
  enum class Kind { kNone, kCertificate, kPsk };
  Kind kind = Kind::kNone;
  // The PSK identity, or the certificate's subject common name (its first
  // DNS name when it has no common name). Empty for a server a client
  // reached with a PSK: it proved it holds the client's key, which every
  // server of the scope may, and no name of its own.
  std::string name;
  bool authenticated() const { return kind != Kind::kNone; }
};

// A server SSL made from a TlsContext carries, as its app data, the
// std::string where the PSK identity the handshake accepted is written.
class TlsContext {
 public:
  // Reads and checks every file of `options`: errors name the file and what
  // is wrong with it.
  static absl::StatusOr<std::unique_ptr<TlsContext>> Create(const TlsOptions& options,
                                                            TlsRole role);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  TlsRole role() const { return role_; }
  SSL_CTX* ssl_ctx() const { return ctx_; }
  const TlsOptions& options() const { return options_; }
  // The key of a PSK identity, or null.
  const std::vector<uint8_t>* FindPsk(const std::string& identity) const;

 private:
  TlsContext(const TlsOptions& options, TlsRole role);
  absl::Status Load();

  TlsOptions options_;
  TlsRole role_;
  SSL_CTX* ctx_ = nullptr;
  absl::flat_hash_map<std::string, std::vector<uint8_t>> psks_;
};

// This thread's OpenSSL error queue as text ("; " between entries, empty
// if none), emptied.
std::string OpenSslErrors();

// Parses the text of a PSK file (format above); `origin` names it in errors.
absl::StatusOr<absl::flat_hash_map<std::string, std::vector<uint8_t>>> ParsePskFile(
    const std::string& text, const std::string& origin);

}  // namespace rspd::dataplane::tls
