// File: dataplane/tls/testing/test_pki.h
//
// Certificate authorities, certificates and revocation lists made on the
// spot for tests (ECDSA P-256, SHA-256), written as PEM files: what an
// operator would make with `openssl`, without the command line.
//
// Example:
//   auto ca = TestAuthority::Create(dir, "rspd test CA");
//   TestAuthority::Issued pr = ca->Issue("pr1.example");
//   TestAuthority::Issued old = ca->Issue("old", TestAuthority::Validity::kExpired);
//   ca->Revoke(pr);  std::string crl = ca->WriteCrl();

#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rspd::dataplane::tls::testing {

class TestAuthority {
 public:
  enum class Validity { kValid, kExpired, kNotYetValid };
  struct Issued {
    std::string certificate_file;  // PEM
    std::string key_file;          // PEM, unencrypted
    long serial = 0;
  };

  // A self-signed CA; its certificate goes to DIR/NAME-with-dashes.pem.
  static absl::StatusOr<std::unique_ptr<TestAuthority>> Create(const std::string& dir,
                                                               const std::string& name);
  ~TestAuthority();
  TestAuthority(const TestAuthority&) = delete;
  TestAuthority& operator=(const TestAuthority&) = delete;

  // A leaf certificate with `common_name` as subject CN and DNS name, in
  // DIR/COMMON_NAME.pem and .key.
  Issued Issue(const std::string& common_name, Validity validity = Validity::kValid);
  void Revoke(const Issued& issued) { revoked_.push_back(issued.serial); }
  // The CRL (revoking what Revoke was given), in DIR/<ca>.crl; its path.
  std::string WriteCrl();
  const std::string& certificate_file() const { return certificate_file_; }

 private:
  TestAuthority() = default;

  std::string dir_;
  std::string stem_;
  std::string certificate_file_;
  EVP_PKEY* key_ = nullptr;
  X509* certificate_ = nullptr;
  long next_serial_ = 2;
  std::vector<long> revoked_;
};

// A PSK file (dataplane/tls/tls_context.h) with one random key per identity,
// in `path`.
void WritePskFile(const std::string& path, const std::vector<std::string>& identities);

}  // namespace rspd::dataplane::tls::testing
