// File: tools/rspctl_commands.h
//
// The table of `rspctl` subcommands. Each command lives in its own
// rspctl_<name>.cc and is listed once in rspctl_commands.cc.

#pragma once

#include <string>
#include <vector>

#include "absl/flags/declare.h"

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
