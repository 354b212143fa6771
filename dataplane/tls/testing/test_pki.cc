#include "dataplane/tls/testing/test_pki.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace rspd::dataplane::tls::testing {
namespace {

constexpr long kDay = 24 * 3600;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "test PKI: %s failed\n", what);
    std::abort();
  }
}

EVP_PKEY* NewKey() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  Check(key != nullptr, "EVP_EC_gen");
  return key;
}

void AddExtension(X509* certificate, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(extension != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
}

X509* NewCertificate(const std::string& common_name, long serial, long not_before, long not_after,
                     EVP_PKEY* key) {
  X509* certificate = X509_new();
  X509_set_version(certificate, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate), serial);
  X509_gmtime_adj(X509_getm_notBefore(certificate), not_before);
  X509_gmtime_adj(X509_getm_notAfter(certificate), not_after);
  X509_set_pubkey(certificate, key);
  X509_NAME* name = X509_get_subject_name(certificate);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  return certificate;
}

void WriteCertificate(const std::string& path, X509* certificate) {
  FILE* file = std::fopen(path.c_str(), "w");
  Check(file != nullptr && PEM_write_X509(file, certificate) == 1, "writing a certificate");
  std::fclose(file);
}

void WriteKey(const std::string& path, EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  Check(file != nullptr &&
            PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "writing a key");
  std::fclose(file);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestAuthority>> TestAuthority::Create(const std::string& dir,
                                                                     const std::string& name) {
  std::unique_ptr<TestAuthority> ca(new TestAuthority());
  ca->dir_ = dir;
  ca->stem_ = absl::StrReplaceAll(name, {{" ", "-"}});
  ca->key_ = NewKey();
  ca->certificate_ = NewCertificate(name, 1, -kDay, 3650 * kDay, ca->key_);
  X509_set_issuer_name(ca->certificate_, X509_get_subject_name(ca->certificate_));
  AddExtension(ca->certificate_, ca->certificate_, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(ca->certificate_, ca->certificate_, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(ca->certificate_, ca->certificate_, NID_subject_key_identifier, "hash");
  if (X509_sign(ca->certificate_, ca->key_, EVP_sha256()) == 0) {
    return absl::InternalError("signing the test CA");
  }
  ca->certificate_file_ = absl::StrCat(dir, "/", ca->stem_, ".pem");
  WriteCertificate(ca->certificate_file_, ca->certificate_);
  return ca;
}

TestAuthority::~TestAuthority() {
  X509_free(certificate_);
  EVP_PKEY_free(key_);
}

TestAuthority::Issued TestAuthority::Issue(const std::string& common_name, Validity validity) {
  long not_before = -kDay;
  long not_after = 365 * kDay;
  if (validity == Validity::kExpired) {
    not_before = -3 * kDay;
    not_after = -kDay;
  } else if (validity == Validity::kNotYetValid) {
    not_before = kDay;
    not_after = 3 * kDay;
  }
  EVP_PKEY* key = NewKey();
  Issued issued;
  issued.serial = next_serial_++;
  X509* certificate = NewCertificate(common_name, issued.serial, not_before, not_after, key);
  X509_set_issuer_name(certificate, X509_get_subject_name(certificate_));
  AddExtension(certificate, certificate_, NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(certificate, certificate_, NID_key_usage, "critical,digitalSignature");
  AddExtension(certificate, certificate_, NID_ext_key_usage, "serverAuth,clientAuth");
  AddExtension(certificate, certificate_, NID_subject_alt_name,
               absl::StrCat("DNS:", common_name).c_str());
  AddExtension(certificate, certificate_, NID_authority_key_identifier, "keyid");
  Check(X509_sign(certificate, key_, EVP_sha256()) != 0, "signing a certificate");
  issued.certificate_file = absl::StrCat(dir_, "/", common_name, ".pem");
  issued.key_file = absl::StrCat(dir_, "/", common_name, ".key");
  WriteCertificate(issued.certificate_file, certificate);
  WriteKey(issued.key_file, key);
  X509_free(certificate);
  EVP_PKEY_free(key);
  return issued;
}

std::string TestAuthority::WriteCrl() {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(certificate_));
  ASN1_TIME* now = X509_gmtime_adj(nullptr, -3600);
  ASN1_TIME* next = X509_gmtime_adj(nullptr, 30 * kDay);
  X509_CRL_set1_lastUpdate(crl, now);
  X509_CRL_set1_nextUpdate(crl, next);
  for (long serial : revoked_) {
    X509_REVOKED* entry = X509_REVOKED_new();
    ASN1_INTEGER* number = ASN1_INTEGER_new();
    ASN1_INTEGER_set(number, serial);
    X509_REVOKED_set_serialNumber(entry, number);
    X509_REVOKED_set_revocationDate(entry, now);
    X509_CRL_add0_revoked(crl, entry);
    ASN1_INTEGER_free(number);
  }
  X509_CRL_sort(crl);
  Check(X509_CRL_sign(crl, key_, EVP_sha256()) != 0, "signing the CRL");
  std::string path = absl::StrCat(dir_, "/", stem_, ".crl");
  FILE* file = std::fopen(path.c_str(), "w");
  Check(file != nullptr && PEM_write_X509_CRL(file, crl) == 1, "writing the CRL");
  std::fclose(file);
  ASN1_TIME_free(now);
  ASN1_TIME_free(next);
  X509_CRL_free(crl);
  return path;
}

void WritePskFile(const std::string& path, const std::vector<std::string>& identities) {
  std::ofstream out(path);
  out << "# identity key (hex)\n";
  for (const std::string& identity : identities) {
    unsigned char key[32];
    Check(RAND_bytes(key, sizeof key) == 1, "RAND_bytes");
    out << identity << " "
        << absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(key), sizeof key))
        << "\n";
  }
}

}  // namespace rspd::dataplane::tls::testing
