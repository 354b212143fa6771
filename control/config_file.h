// File: control/config_file.h
//
// rspd's configuration file: TOML whose keys are rspd's flag names
// (docs/decisions.md, "Configuration file"). A table is a prefix: `[tls]`
// with `certificate = "..."` sets --tls_certificate, `[dpdk]` with
// `rx_queues = 2` sets --dpdk_rx_queues; top-level keys are flag names. The
// values are TOML integers, booleans and strings, durations as strings in
// absl's syntax ("5s", "500ms"), and arrays of strings for list flags (joined
// with commas). The file is applied to the flags through absl's flag
// reflection, before the command line, so that a flag given on the command
// line wins; on SIGHUP the file is read again and the command line applied
// over it again (ApplyCommandLine). The RFC 5352 §7 and RFC 5353 §4
// settings the file can hold are control::RegistrarConfig's
// (control/config.h).
//
// Every error names the file, the line, the key and what is allowed:
//   unknown key 'max_pool' at rspd.toml:12; did you mean 'max_pools'?
//   max_pools at rspd.toml:3 must be an integer, got a string
// and ConfigFile::Annotate() adds "(set at FILE:LINE)" to a later error
// (RegistrarConfig::Validate's) that names a key the file set.
//
// Example (ConfigLoader, below, does this at startup and on SIGHUP):
//   absl::StatusOr<ConfigFile> file = ConfigFile::Read("rspd.toml", allowed_flag_names);
//   if (!file.ok()) return file.status();
//   if (absl::Status s = file->Apply(); !s.ok()) return s;
//   absl::ParseCommandLine(argc, argv);  // the command line wins

#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rspd::control {

// One key of the file, checked and turned into the text absl parses.
struct ConfigSetting {
  std::string flag;   // the flag's name, e.g. "tls_certificate"
  std::string key;    // as written in the file, e.g. "tls.certificate"
  std::string value;  // absl's syntax, e.g. "10.0.0.2:9899,10.0.0.3:9899"
  std::string file;
  int line = 0;
  std::string where() const;  // "FILE:LINE"
};

class ConfigFile {
 public:
  // A configuration is a few kilobytes; past this a file is refused.
  static constexpr size_t kMaxFileBytes = 1 << 20;

  ConfigFile() = default;

  // Reads and checks `path`: TOML syntax, that every key is one of
  // `allowed_flags` (others are unknown keys, even flags absl knows), and
  // that each value has its flag's type. Sets no flag. The errors, one per
  // line, name the file and line of each problem. Only a regular file of at
  // most kMaxFileBytes is read (never a FIFO or a device).
  static absl::StatusOr<ConfigFile> Read(const std::string& path,
                                         const std::vector<std::string>& allowed_flags);
  // As Read, from text in memory; `path` only names it in messages.
  static absl::StatusOr<ConfigFile> Parse(absl::string_view text, const std::string& path,
                                          const std::vector<std::string>& allowed_flags);

  // Sets each flag with absl::CommandLineFlag::ParseFrom. A value the flag
  // refuses is an error naming the key, its line and the flag's own reason;
  // every other setting is still applied.
  absl::Status Apply() const;

  // Forgets where `flag` came from (the command line set it after the file).
  void Forget(absl::string_view flag);

  // `message` with "(set at FILE:LINE)" appended when it names a setting of
  // this file ("--max_pools must be ..." or "max_pools must be ..."); with
  // "(max_pools set at FILE:LINE, ...)" when it names several.
  std::string Annotate(absl::string_view message) const;
  absl::Status Annotate(const absl::Status& status) const;

  const std::string& path() const { return path_; }
  const std::vector<ConfigSetting>& settings() const { return settings_; }
  // The setting of `flag`, or null if the file does not set it.
  const ConfigSetting* Find(absl::string_view flag) const;

 private:
  std::string path_;
  std::vector<ConfigSetting> settings_;
};

// The order of a program's configuration, at startup and on reload: the
// flags' defaults, then the file, then the command line (absl's at startup;
// ApplyCommandLine on reload, with the command line kept from startup).
//
// Example (a main):
//   ConfigLoader loader(config_path, args_after_argv0, allowed_flag_names);
//   if (absl::Status s = loader.LoadFile(); !s.ok()) return Exit(2, s);
//   absl::ParseCommandLine(argc, argv);
//   loader.CommandLineParsed();
//   ...  // on SIGHUP:
//   absl::Status s = loader.Reload([&] { return BuildConfigFromFlags(); });
class ConfigLoader {
 public:
  // `path` "": no file; `args` is argv without the program name.
  ConfigLoader(std::string path, std::vector<std::string> args,
               std::vector<std::string> allowed_flags);

  // At startup, before absl::ParseCommandLine: reads the file, applies it.
  absl::Status LoadFile();
  // After absl::ParseCommandLine: the keys it set are no longer the file's.
  void CommandLineParsed();
  // The flags back to their defaults, the file read and applied again, the
  // command line applied again, then `build` (which makes the program's
  // configuration from the flags, e.g. validates it). On an error of any of
  // them, the flags and file() are as they were before.
  absl::Status Reload(const std::function<absl::Status()>& build);

  // The file applied last (empty without one): where each key was set.
  const ConfigFile& file() const { return file_; }
  const std::vector<std::string>& allowed_flags() const { return allowed_; }

 private:
  std::string path_;
  std::vector<std::string> args_;
  std::vector<std::string> allowed_;
  ConfigFile file_;
};

// The names of the flags a command line sets: "--name=value", "--name
// value", "--name" (a bool), "--noname" (a bool, false), one or two dashes;
// stops at "--". `args` is argv without the program name.
std::vector<std::string> CommandLineFlagNames(const std::vector<std::string>& args);

// Applies `args` (argv without the program name) to the flags among
// `allowed_flags` with ParseFrom, in the forms CommandLineFlagNames reads;
// other flags (absl's own, --config) and positional arguments are skipped.
// This is absl::ParseCommandLine again, for a reload, where that cannot be
// called twice.
absl::Status ApplyCommandLine(const std::vector<std::string>& args,
                              const std::vector<std::string>& allowed_flags);

// Sets every flag of `names` back to its default value.
absl::Status ResetFlagsToDefaults(const std::vector<std::string>& names);

// The current values of `names` ("name", "value" pairs), and their restore,
// so that a reload that fails leaves the flags as they were.
std::vector<std::pair<std::string, std::string>> SaveFlags(const std::vector<std::string>& names);
void RestoreFlags(const std::vector<std::pair<std::string, std::string>>& saved);

// The name among `candidates` closest to `name` by edit distance, or "" if
// none is close enough to be a likely typo.
std::string ClosestName(absl::string_view name, const std::vector<std::string>& candidates);

}  // namespace rspd::control
