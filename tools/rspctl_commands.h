// File: tools/rspctl_commands.h
//
// The table of `rspctl` subcommands. Each command lives in its own
// rspctl_<name>.cc and is listed once in rspctl_commands.cc.

#pragma once

#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "client/asap_session.h"

// Flags several commands share (defined in rspctl_commands.cc).
ABSL_DECLARE_FLAG(std::string, registrar);
ABSL_DECLARE_FLAG(std::string, pool);
ABSL_DECLARE_FLAG(bool, json);

namespace rspd::tools {

struct Command {
  const char* name;
  const char* help;
  // Arguments after the command name, flags already removed. Returns the exit status.
  int (*run)(const std::vector<std::string>& args);
};

const std::vector<Command>& Commands();

// ASAP and ENRP over TLS: RFC 5352 §8.2's asap-sctp-tls and RFC 5353
// §5.3's enrp-sctp-tls ports.
inline constexpr uint16_t kAsapTlsPort = 3864;
inline constexpr uint16_t kEnrpTlsPort = 9902;
// With the --tls_* flags, makes `registrars` ASAP over TLS (the ASAP port
// 3863 becomes 3864); without them, leaves them plaintext. InvalidArgument
// naming the file or flag that is wrong.
absl::Status SecureRegistrars(std::vector<client::RegistrarAddress>& registrars);
// --registrar (one registrar) with the --tls_* flags applied; errors name
// the flag.
absl::StatusOr<client::RegistrarAddress> RegistrarFromFlags();

// The commands, each defined in its own rspctl_<name>.cc.
extern const Command kDecodeCommand;
extern const Command kDumpCommand;
extern const Command kEchoClientCommand;
extern const Command kEchoServerCommand;
extern const Command kPeersCommand;
extern const Command kRegisterCommand;
extern const Command kResolveCommand;
extern const Command kUnreachableCommand;

}  // namespace rspd::tools
