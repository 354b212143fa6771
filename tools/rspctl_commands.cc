#include "tools/rspctl_commands.h"

#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "dataplane/tls/tls_context.h"
#include "protocol/types.h"
#include "tools/version.h"

ABSL_FLAG(std::string, registrar, "127.0.0.1",
          "register, resolve: the registrar, HOST[:UDP_PORT][/ASAP_PORT] (SCTP over UDP, default "
          "ports 9899 and 3863)");
ABSL_FLAG(std::string, pool, "", "register, resolve: the pool handle");
ABSL_FLAG(bool, json, false,
          "decode, resolve, dump, peers: print one JSON object per line; status, pools, pool "
          "(and peers with --management): the management interface's JSON document, one line");
ABSL_FLAG(
    std::string, tls_ca_file, "",
    "register, resolve, unreachable, echo: ASAP over TLS (RFC 5352 §9, ASAP port 3864 unless "
    "--registrar names one); the registrar's certificate must chain to these PEM authorities");
ABSL_FLAG(std::string, tls_certificate, "", "TLS: this client's PEM certificate (a PE's identity)");
ABSL_FLAG(std::string, tls_private_key, "", "TLS: the PEM private key of --tls_certificate");
ABSL_FLAG(std::string, tls_crl_file, "", "TLS: PEM revocation lists of the authorities");
ABSL_FLAG(std::string, tls_psk_file, "",
          "TLS: pre-shared keys, 'IDENTITY HEXKEY' per line (with --tls_psk_identity)");
ABSL_FLAG(std::string, tls_psk_identity, "", "TLS: the PSK identity to present");
ABSL_FLAG(std::string, tls_server_name, "",
          "TLS: the name the registrar's certificate must carry (default: any the CA signed)");

namespace rspd::tools {

absl::StatusOr<std::shared_ptr<const dataplane::tls::TlsContext>> TlsFromFlags() {
  dataplane::tls::TlsOptions options;
  options.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  options.certificate_file = absl::GetFlag(FLAGS_tls_certificate);
  options.private_key_file = absl::GetFlag(FLAGS_tls_private_key);
  options.crl_file = absl::GetFlag(FLAGS_tls_crl_file);
  options.psk_file = absl::GetFlag(FLAGS_tls_psk_file);
  options.psk_identity = absl::GetFlag(FLAGS_tls_psk_identity);
  options.expected_peer_name = absl::GetFlag(FLAGS_tls_server_name);
  if (options.ca_file.empty() && options.psk_file.empty()) {
    if (!options.certificate_file.empty() || !options.psk_identity.empty() ||
        !options.expected_peer_name.empty() || !options.crl_file.empty()) {
      return absl::InvalidArgumentError(
          "TLS needs --tls_ca_file (to check the registrar) or --tls_psk_file");
    }
    return nullptr;  // plaintext
  }
  auto context = dataplane::tls::TlsContext::Create(options, dataplane::tls::TlsRole::kClient);
  if (!context.ok()) return context.status();
  return std::shared_ptr<const dataplane::tls::TlsContext>(std::move(*context));
}

void UseTls(const std::shared_ptr<const dataplane::tls::TlsContext>& tls,
            std::vector<client::RegistrarAddress>& registrars) {
  if (tls == nullptr) return;
  for (client::RegistrarAddress& r : registrars) {
    r.tls = tls;
    if (r.sctp_port == protocol::kAsapPort) r.sctp_port = protocol::kAsapTlsPort;
  }
}

absl::StatusOr<client::RegistrarAddress> RegistrarFromFlags() {
  absl::StatusOr<client::RegistrarAddress> registrar =
      client::ParseRegistrarAddress(absl::GetFlag(FLAGS_registrar));
  if (!registrar.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--registrar: ", registrar.status().message()));
  }
  absl::StatusOr<std::shared_ptr<const dataplane::tls::TlsContext>> tls = TlsFromFlags();
  if (!tls.ok()) return tls.status();
  std::vector<client::RegistrarAddress> one = {*registrar};
  UseTls(*tls, one);
  return one[0];
}

namespace {

int RunVersion(const std::vector<std::string>& /*args*/) {
  printf("rspctl %s\n", kVersion);
  return 0;
}

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      kDecodeCommand,
      kDumpCommand,
      kEchoClientCommand,
      kEchoServerCommand,
      kManagementPeersCommand,
      kPoolCommand,
      kPoolsCommand,
      kRegisterCommand,
      kResolveCommand,
      kStatusCommand,
      kTopCommand,
      kUnreachableCommand,
      {"version", "print the version", RunVersion},
  };
  return commands;
}

}  // namespace rspd::tools
