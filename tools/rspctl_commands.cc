#include "tools/rspctl_commands.h"

#include <cstdio>

#include "absl/flags/flag.h"
#include "tools/version.h"

ABSL_FLAG(std::string, registrar, "127.0.0.1",
          "register, resolve: the registrar, HOST[:UDP_PORT][/ASAP_PORT] (SCTP over UDP, default "
          "ports 9899 and 3863)");
ABSL_FLAG(std::string, pool, "", "register, resolve: the pool handle");
ABSL_FLAG(bool, json, false, "decode, resolve, dump, peers: print one JSON object per line");

namespace rspd::tools {
namespace {

int RunVersion(const std::vector<std::string>& /*args*/) {
  printf("rspctl %s\n", kVersion);
  return 0;
}

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      kDecodeCommand,     kDumpCommand,        kEchoClientCommand,
      kEchoServerCommand, kPeersCommand,       kRegisterCommand,
      kResolveCommand,    kUnreachableCommand, {"version", "print the version", RunVersion},
  };
  return commands;
}

}  // namespace rspd::tools
