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
#include "dataplane/tls/tls_context.h"

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

// The client TLS context the --tls_* flags describe; null without them
// (plaintext). InvalidArgument naming the file or flag that is wrong.
absl::StatusOr<std::shared_ptr<const dataplane::tls::TlsContext>> TlsFromFlags();
// Makes `registrars` ASAP over TLS with `tls` (the ASAP port 3863 becomes
// 3864, asap-sctp-tls); null `tls` leaves them plaintext.
void UseTls(const std::shared_ptr<const dataplane::tls::TlsContext>& tls,
            std::vector<client::RegistrarAddress>& registrars);
// --registrar (one registrar) with the --tls_* flags applied; errors name
// the flag.
absl::StatusOr<client::RegistrarAddress> RegistrarFromFlags();

// The commands, each defined in its own rspctl_<name>.cc.
extern const Command kDecodeCommand;
extern const Command kDumpCommand;
extern const Command kEchoClientCommand;
extern const Command kEchoServerCommand;
extern const Command kPeersCommand;  // over ENRP; listed as kManagementPeersCommand
extern const Command kRegisterCommand;
extern const Command kResolveCommand;
extern const Command kUnreachableCommand;
// The live views of the management interface (rspctl_views.cc,
// rspctl_top.cc); `peers` runs kPeersCommand unless --management is given.
extern const Command kManagementPeersCommand;
extern const Command kPoolCommand;
extern const Command kPoolsCommand;
extern const Command kStatusCommand;
extern const Command kTopCommand;

}  // namespace rspd::tools
