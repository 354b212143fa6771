#include "dataplane/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rspd::dataplane::tls {
namespace {

// TLS 1.2 is allowed with AEAD ciphersuites only: forward-secret
// certificate suites and the PSK suites (RFC 5487, RFC 7905).
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-PSK-CHACHA20-POLY1305:DHE-PSK-AES128-GCM-SHA256:DHE-PSK-AES256-GCM-SHA384";
constexpr char kPskSuites[] = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";
constexpr size_t kMinPskBytes = 16;
constexpr size_t kMaxPskIdentity = 128;

// For error messages of loading: never empty.
std::string LoadErrors() {
  std::string text = OpenSslErrors();
  return text.empty() ? "no detail" : text;
}

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(what, " ", path, ": cannot be read"));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

const TlsContext* ContextOf(SSL* ssl) {
  return static_cast<const TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

// RFC 4279 §5 callbacks; OpenSSL uses them for TLS 1.3 external PSKs too
// (with TLS_AES_128_GCM_SHA256).
unsigned int ServerPsk(SSL* ssl, const char* identity, unsigned char* psk, unsigned int max_len) {
  const std::vector<uint8_t>* key = ContextOf(ssl)->FindPsk(identity == nullptr ? "" : identity);
  if (key == nullptr || key->size() > max_len) return 0;
  std::memcpy(psk, key->data(), key->size());
  // OpenSSL keeps no TLS 1.3 PSK identity for SSL_get_psk_identity.
  if (auto* accepted = static_cast<std::string*>(SSL_get_app_data(ssl))) *accepted = identity;
  return static_cast<unsigned int>(key->size());
}

unsigned int ClientPsk(SSL* ssl, const char* /*hint*/, char* identity, unsigned int max_identity,
                       unsigned char* psk, unsigned int max_len) {
  const TlsContext* context = ContextOf(ssl);
  const std::string& name = context->options().psk_identity;
  const std::vector<uint8_t>* key = context->FindPsk(name);
  if (key == nullptr || key->size() > max_len || name.size() + 1 > max_identity) return 0;
  std::memcpy(identity, name.c_str(), name.size() + 1);
  std::memcpy(psk, key->data(), key->size());
  return static_cast<unsigned int>(key->size());
}

}  // namespace

std::string OpenSslErrors() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(e, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text;
}

absl::StatusOr<absl::flat_hash_map<std::string, std::vector<uint8_t>>> ParsePskFile(
    const std::string& text, const std::string& origin) {
  absl::flat_hash_map<std::string, std::vector<uint8_t>> keys;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = line.substr(0, line.find('#'));
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.empty()) continue;
    auto where = absl::StrCat(origin, ":", line_number, ": ");
    if (fields.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(where, "expected \"IDENTITY HEXKEY\""));
    }
    if (fields[0].size() > kMaxPskIdentity) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "identity longer than ", kMaxPskIdentity, " characters"));
    }
    absl::string_view hex = fields[1];
    std::vector<uint8_t> key;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      int high = HexValue(hex[i]);
      int low = HexValue(hex[i + 1]);
      if (high < 0 || low < 0) break;
      key.push_back(static_cast<uint8_t>(high << 4 | low));
    }
    if (hex.size() % 2 != 0 || key.size() * 2 != hex.size()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "the key is not hexadecimal"));
    }
    if (key.size() < kMinPskBytes || key.size() > PSK_MAX_PSK_LEN) {
      return absl::InvalidArgumentError(absl::StrCat(where, "the key has ", key.size(),
                                                     " bytes; allowed: ", kMinPskBytes, " to ",
                                                     PSK_MAX_PSK_LEN));
    }
    if (!keys.emplace(std::string(fields[0]), std::move(key)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "identity ", fields[0], " appears twice"));
    }
  }
  return keys;
}

TlsContext::TlsContext(const TlsOptions& options, TlsRole role) : options_(options), role_(role) {}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

absl::StatusOr<std::unique_ptr<TlsContext>> TlsContext::Create(const TlsOptions& options,
                                                               TlsRole role) {
  std::unique_ptr<TlsContext> context(new TlsContext(options, role));
  absl::Status status = context->Load();
  if (!status.ok()) return status;
  return context;
}

const std::vector<uint8_t>* TlsContext::FindPsk(const std::string& identity) const {
  auto it = psks_.find(identity);
  return it == psks_.end() ? nullptr : &it->second;
}

absl::Status TlsContext::Load() {
  ERR_clear_error();
  const bool server = role_ == TlsRole::kServer;
  ctx_ = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx_ == nullptr) return absl::InternalError("SSL_CTX_new: " + LoadErrors());
  SSL_CTX_set_app_data(ctx_, this);

  if (options_.min_version == "1.3") {
    SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
  } else if (options_.min_version == "1.2") {
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    if (SSL_CTX_set_cipher_list(ctx_, kTls12Ciphers) != 1) {
      return absl::InternalError("TLS 1.2 ciphersuites: " + LoadErrors());
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS minimum version \"", options_.min_version, "\": allowed: 1.2, 1.3"));
  }
  // No resumption tickets (every association authenticates afresh), no
  // renegotiation, and buffers released while a connection is idle: a
  // registrar holds thousands of them.
  SSL_CTX_set_num_tickets(ctx_, 0);
  SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  SSL_CTX_set_mode(ctx_, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
  // A TLS 1.3 external PSK counts as a resumed session, which OpenSSL refuses
  // under peer verification without a session ID context.
  static constexpr unsigned char kSessionContext[] = "rspd";
  if (server) SSL_CTX_set_session_id_context(ctx_, kSessionContext, sizeof kSessionContext - 1);

  const bool has_certificate = !options_.certificate_file.empty();
  if (has_certificate != !options_.private_key_file.empty()) {
    return absl::InvalidArgumentError(
        "a TLS certificate needs its private key, and a key its "
        "certificate");
  }
  if (has_certificate) {
    if (SSL_CTX_use_certificate_chain_file(ctx_, options_.certificate_file.c_str()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLS certificate ", options_.certificate_file, ": ", LoadErrors()));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx_, options_.private_key_file.c_str(), SSL_FILETYPE_PEM) !=
        1) {
      if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
        ERR_clear_error();
        return absl::InvalidArgumentError(
            absl::StrCat("TLS private key ", options_.private_key_file,
                         " does not match certificate ", options_.certificate_file));
      }
      return absl::InvalidArgumentError(
          absl::StrCat("TLS private key ", options_.private_key_file, ": ", LoadErrors()));
    }
  }

  if (!options_.psk_file.empty()) {
    absl::StatusOr<std::string> text = ReadFile(options_.psk_file, "TLS PSK file");
    if (!text.ok()) return text.status();
    auto keys = ParsePskFile(*text, options_.psk_file);
    if (!keys.ok()) return keys.status();
    psks_ = std::move(*keys);
    // OpenSSL keys TLS 1.3 external PSKs with SHA-256: only the suites that
    // hash with it, or a peer that prefers another would fall back to a
    // certificate handshake and the PSK would never be used.
    if (SSL_CTX_set_ciphersuites(ctx_, kPskSuites) != 1) {
      return absl::InternalError("TLS 1.3 PSK ciphersuites: " + LoadErrors());
    }
    if (server) {
      SSL_CTX_set_psk_server_callback(ctx_, ServerPsk);
    } else {
      if (FindPsk(options_.psk_identity) == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("TLS PSK identity \"", options_.psk_identity,
                                                       "\" is not in ", options_.psk_file));
      }
      SSL_CTX_set_psk_client_callback(ctx_, ClientPsk);
    }
  } else if (!options_.psk_identity.empty()) {
    return absl::InvalidArgumentError("a TLS PSK identity needs a PSK file");
  }

  if (!options_.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx_, options_.ca_file.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLS CA file ", options_.ca_file, ": ", LoadErrors()));
    }
  }
  if (!options_.crl_file.empty()) {
    if (options_.ca_file.empty())
      return absl::InvalidArgumentError("a TLS CRL file needs a CA file");
    BIO* bio = BIO_new_file(options_.crl_file.c_str(), "r");
    if (bio == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("TLS CRL file ", options_.crl_file, ": cannot be read"));
    }
    X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
    int loaded = 0;
    while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr)) {
      X509_STORE_add_crl(store, crl);
      X509_CRL_free(crl);
      ++loaded;
    }
    BIO_free(bio);
    ERR_clear_error();  // the end of the file reads as an error
    if (loaded == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLS CRL file ", options_.crl_file, ": no PEM CRL in it"));
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  }

  if (server) {
    if (!has_certificate && psks_.empty()) {
      return absl::InvalidArgumentError("a TLS server needs a certificate and key, or a PSK file");
    }
    if (!options_.ca_file.empty()) {
      SSL_CTX_set_verify(ctx_,
                         SSL_VERIFY_PEER | (options_.require_peer_authentication && psks_.empty()
                                                ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                                : 0),
                         nullptr);
    }
  } else {
    if (options_.ca_file.empty() && psks_.empty()) {
      return absl::InvalidArgumentError(
          "a TLS client needs a CA file to check the server's certificate, or a PSK file");
    }
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  }
  return absl::OkStatus();
}

}  // namespace rspd::dataplane::tls
