#include "tools/rspctl_commands.h"

#include <cstdio>

#include "tools/version.h"

namespace rspd::tools {
namespace {

int RunVersion(const std::vector<std::string>& /*args*/) {
  printf("rspctl %s\n", kVersion);
  return 0;
}

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      kDecodeCommand,
      {"version", "print the version", RunVersion},
  };
  return commands;
}

}  // namespace rspd::tools
