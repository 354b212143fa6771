// rspctl: the operator and test CLI for rspd. `rspctl COMMAND [flags] [args]`.

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/rspctl_commands.h"
#include "tools/version.h"

int main(int argc, char** argv) {
  std::string usage = "the rspd operator CLI.\nUsage: rspctl COMMAND [flags] [args]\nCommands:\n";
  for (const rspd::tools::Command& command : rspd::tools::Commands()) {
    absl::StrAppend(&usage, absl::StrFormat("  %-12s %s\n", command.name, command.help));
  }
  absl::FlagsUsageConfig usage_config;
  usage_config.version_string = [] { return std::string("rspctl ") + rspd::kVersion + "\n"; };
  // Commands define their flags in tools/rspctl_*.cc; --help lists them all.
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "tools/rspctl");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(usage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) {
    fprintf(stderr, "rspctl: no command given\n%s", usage.c_str());
    return 2;
  }
  for (const rspd::tools::Command& command : rspd::tools::Commands()) {
    if (strcmp(args[1], command.name) == 0) {
      return command.run(std::vector<std::string>(args.begin() + 2, args.end()));
    }
  }
  fprintf(stderr, "rspctl: unknown command '%s'\n%s", args[1], usage.c_str());
  return 2;
}
