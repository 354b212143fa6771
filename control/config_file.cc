#include "control/config_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "toml++/toml.h"

namespace rspd::control {
namespace {

// What a flag's type takes from the file.
enum class Kind { kInteger, kBool, kString, kDuration, kList, kNumber, kOther };

Kind KindOf(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<int64_t>() || flag.IsOfType<int32_t>() || flag.IsOfType<uint64_t>() ||
      flag.IsOfType<uint32_t>() || flag.IsOfType<int16_t>() || flag.IsOfType<uint16_t>() ||
      flag.IsOfType<long long>() || flag.IsOfType<unsigned long long>()) {
    return Kind::kInteger;
  }
  if (flag.IsOfType<bool>()) return Kind::kBool;
  if (flag.IsOfType<std::string>()) return Kind::kString;
  if (flag.IsOfType<absl::Duration>()) return Kind::kDuration;
  if (flag.IsOfType<std::vector<std::string>>()) return Kind::kList;
  if (flag.IsOfType<double>() || flag.IsOfType<float>()) return Kind::kNumber;
  return Kind::kOther;
}

const char* Allowed(Kind kind) {
  switch (kind) {
    case Kind::kInteger:
      return "an integer";
    case Kind::kBool:
      return "true or false";
    case Kind::kDuration:
      return "a duration string such as \"5s\" or \"500ms\"";
    case Kind::kList:
      return "an array of strings";
    case Kind::kNumber:
      return "a number";
    case Kind::kString:
    case Kind::kOther:
      break;
  }
  return "a string";
}

const char* TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// The value of `node` in absl's syntax for a flag of `kind`, or false if the
// file's type is not the flag's (then `*problem` may say more).
bool FlagText(const toml::node& node, Kind kind, std::string* out, std::string* problem) {
  switch (kind) {
    case Kind::kInteger:
      if (!node.is_integer()) return false;
      *out = absl::StrCat(*node.value<int64_t>());
      return true;
    case Kind::kBool:
      if (!node.is_boolean()) return false;
      *out = *node.value<bool>() ? "true" : "false";
      return true;
    case Kind::kNumber:
      if (!node.is_number()) return false;
      *out = absl::StrFormat("%.17g", *node.value<double>());
      return true;
    case Kind::kList:
      if (node.is_string()) {  // absl's own syntax, "a,b"
        *out = *node.value<std::string>();
        return true;
      }
      if (const toml::array* array = node.as_array()) {
        std::vector<std::string> items;
        for (const toml::node& item : *array) {
          if (!item.is_string()) {
            *problem = absl::StrCat("an array with ", TypeName(item));
            return false;
          }
          items.push_back(*item.value<std::string>());
          if (items.back().find(',') != std::string::npos) {
            *problem = absl::StrCat("'", items.back(), "' (an element with a comma)");
            return false;
          }
        }
        *out = absl::StrJoin(items, ",");
        return true;
      }
      return false;
    case Kind::kString:
    case Kind::kDuration:
    case Kind::kOther:
      if (!node.is_string()) return false;
      *out = *node.value<std::string>();
      return true;
  }
  return false;
}

bool StartsWithAny(const std::vector<std::string>& names, absl::string_view prefix) {
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& name) { return absl::StartsWith(name, prefix); });
}

// Optimal string alignment distance (Levenshtein with transpositions): a
// typo's usual shapes, a letter missing, added, changed or swapped.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Whether `message` holds `name` as a whole word.
size_t FindWord(absl::string_view message, absl::string_view name) {
  for (size_t at = message.find(name); at != absl::string_view::npos;
       at = message.find(name, at + 1)) {
    const size_t end = at + name.size();
    if ((at == 0 || !IsNameChar(message[at - 1])) &&
        (end == message.size() || !IsNameChar(message[end]))) {
      return at;
    }
  }
  return absl::string_view::npos;
}

// Walks one table of the file; `flag_prefix` and `key_prefix` are the
// enclosing tables' ("tls_" and "tls.").
class Walker {
 public:
  Walker(const std::string& path, const std::vector<std::string>& allowed,
         std::vector<ConfigSetting>* settings)
      : path_(path),
        allowed_(allowed),
        allowed_set_(allowed.begin(), allowed.end()),
        settings_(settings) {}

  void Walk(const toml::table& table, const std::string& flag_prefix,
            const std::string& key_prefix) {
    for (const auto& [toml_key, node] : table) {
      const std::string name = flag_prefix + std::string(toml_key.str());
      const std::string key = key_prefix + std::string(toml_key.str());
      int line = static_cast<int>(toml_key.source().begin.line);
      if (line == 0) line = static_cast<int>(node.source().begin.line);
      const std::string where = absl::StrCat(path_, ":", line);
      if (const toml::table* inner = node.as_table()) {
        // A table is a prefix of flag names ([tls] for tls_*).
        if (!StartsWithAny(allowed_, name + "_")) {
          AddError(line, absl::StrCat("unknown table '[", key, "]' at ", where,
                                      ": no flag starts with '", name, "_'"));
          continue;
        }
        Walk(*inner, name + "_", key + ".");
        continue;
      }
      if (!allowed_set_.contains(name)) {
        AddError(line, Unknown(name, key, flag_prefix, key_prefix, where));
        continue;
      }
      const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
      if (flag == nullptr) {
        AddError(line, absl::StrCat("'", key, "' at ", where, " is no flag of this program"));
        continue;
      }
      const Kind kind = KindOf(*flag);
      std::string value, problem;
      if (!FlagText(node, kind, &value, &problem)) {
        AddError(line, absl::StrCat(key, " at ", where, " must be ", Allowed(kind), ", got ",
                                    problem.empty() ? TypeName(node) : problem));
        continue;
      }
      if (const auto other = std::find_if(settings_->begin(), settings_->end(),
                                          [&](const ConfigSetting& s) { return s.flag == name; });
          other != settings_->end()) {
        // toml++ walks a table in key order; the later line is the repeat.
        const bool later = line > other->line;
        AddError(std::max(line, other->line),
                 absl::StrCat(later ? key : other->key, " at ", later ? where : other->where(),
                              " is set already, as ", later ? other->key : key, " at ",
                              later ? other->where() : where));
        continue;
      }
      settings_->push_back({name, key, value, path_, line});
    }
  }

  // The errors in the order of their lines.
  std::vector<std::string> errors() const {
    std::vector<std::pair<int, std::string>> sorted = errors_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (auto& [line, error] : sorted) out.push_back(std::move(error));
    return out;
  }

 private:
  void AddError(int line, std::string error) { errors_.emplace_back(line, std::move(error)); }

  std::string Unknown(const std::string& name, const std::string& key,
                      const std::string& flag_prefix, const std::string& key_prefix,
                      const std::string& where) const {
    if (absl::FindCommandLineFlag(name) != nullptr) {
      return absl::StrCat("key '", key, "' at ", where,
                          " cannot be set in a configuration file, only on the command line");
    }
    std::string message = absl::StrCat(
        "unknown key '", key.size() > 128 ? absl::StrCat(key.substr(0, 128), "...") : key, "' at ",
        where);
    const std::string bare = name.substr(flag_prefix.size());
    const std::string closest = ClosestName(name, allowed_);
    if (!flag_prefix.empty() && allowed_set_.contains(bare)) {
      // TOML puts every key after a [table] line into that table.
      absl::StrAppend(&message, ": '", bare, "' is a top-level key, and TOML puts the keys after [",
                      key_prefix.substr(0, key_prefix.size() - 1),
                      "] into that table: move it above the first [table] line");
    } else if (closest.empty()) {
      absl::StrAppend(&message, ": the keys are the program's flag names (--helpfull)");
    } else if (!flag_prefix.empty() && absl::StartsWith(closest, flag_prefix)) {
      absl::StrAppend(&message, "; did you mean '", key_prefix, closest.substr(flag_prefix.size()),
                      "'?");
    } else {
      absl::StrAppend(&message, "; did you mean '", closest, "'?");
    }
    return message;
  }

  const std::string& path_;
  const std::vector<std::string>& allowed_;
  const absl::flat_hash_set<std::string> allowed_set_;
  std::vector<ConfigSetting>* settings_;
  std::vector<std::pair<int, std::string>> errors_;
};

}  // namespace

std::string ConfigSetting::where() const { return absl::StrCat(file, ":", line); }

absl::StatusOr<ConfigFile> ConfigFile::Read(const std::string& path,
                                            const std::vector<std::string>& allowed_flags) {
  // A regular file of bounded size only: a FIFO or a device (a symlink to
  // /dev/zero) would block or grow the reader for ever, and SIGHUP reads
  // on the thread that also takes SIGTERM. O_NONBLOCK: opening a FIFO does
  // not wait for a writer; fstat on the open file: no swap in between.
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("configuration file ", path, ": cannot read it: ", strerror(errno)));
  }
  struct stat info;
  std::string text;
  absl::Status status;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    status = absl::InvalidArgumentError(
        absl::StrCat("configuration file ", path, ": not a regular file"));
  } else if (info.st_size > static_cast<off_t>(kMaxFileBytes)) {
    status = absl::InvalidArgumentError(
        absl::StrCat("configuration file ", path, ": larger than ", kMaxFileBytes, " bytes"));
  } else {
    text.resize(static_cast<size_t>(info.st_size));
    size_t got = 0;
    while (got < text.size()) {
      const ssize_t n = read(fd, text.data() + got, text.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got != text.size()) {
      status = absl::NotFoundError(
          absl::StrCat("configuration file ", path, ": cannot read it: ", strerror(errno)));
    }
  }
  close(fd);
  if (!status.ok()) return status;
  return Parse(text, path, allowed_flags);
}

absl::StatusOr<ConfigFile> ConfigFile::Parse(absl::string_view text, const std::string& path,
                                             const std::vector<std::string>& allowed_flags) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(text.data(), text.size()), std::string_view(path));
  } catch (const toml::parse_error& error) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", error.source().begin.line, ":", error.source().begin.column,
                     ": TOML syntax error: ", std::string(error.description())));
  }
  ConfigFile file;
  file.path_ = path;
  Walker walker(path, allowed_flags, &file.settings_);
  walker.Walk(root, "", "");
  if (const std::vector<std::string> errors = walker.errors(); !errors.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  }
  // In the file's order, as a reader expects them applied.
  std::stable_sort(file.settings_.begin(), file.settings_.end(),
                   [](const ConfigSetting& a, const ConfigSetting& b) { return a.line < b.line; });
  return file;
}

absl::Status ConfigFile::Apply() const {
  std::vector<std::string> errors;
  for (const ConfigSetting& setting : settings_) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(setting.flag);
    std::string error;
    if (flag == nullptr) {
      error = "no such flag";
    } else if (flag->ParseFrom(setting.value, &error)) {
      continue;
    }
    errors.push_back(absl::StrCat(setting.key, " at ", setting.where(), ": ", error));
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return absl::OkStatus();
}

void ConfigFile::Forget(absl::string_view flag) {
  settings_.erase(std::remove_if(settings_.begin(), settings_.end(),
                                 [&](const ConfigSetting& s) { return s.flag == flag; }),
                  settings_.end());
}

const ConfigSetting* ConfigFile::Find(absl::string_view flag) const {
  for (const ConfigSetting& setting : settings_) {
    if (setting.flag == flag) return &setting;
  }
  return nullptr;
}

std::string ConfigFile::Annotate(absl::string_view message) const {
  // The settings the message names, in the order it names them.
  std::vector<std::pair<size_t, const ConfigSetting*>> named;
  for (const ConfigSetting& setting : settings_) {
    if (const size_t at = FindWord(message, setting.flag); at != absl::string_view::npos) {
      named.emplace_back(at, &setting);
    }
  }
  if (named.empty()) return std::string(message);
  if (named.size() == 1) return absl::StrCat(message, " (set at ", named[0].second->where(), ")");
  std::sort(named.begin(), named.end());
  std::vector<std::string> parts;
  for (const auto& [at, setting] : named) {
    parts.push_back(absl::StrCat(setting->flag, " set at ", setting->where()));
  }
  return absl::StrCat(message, " (", absl::StrJoin(parts, ", "), ")");
}

absl::Status ConfigFile::Annotate(const absl::Status& status) const {
  if (status.ok()) return status;
  return absl::Status(status.code(), Annotate(status.message()));
}

ConfigLoader::ConfigLoader(std::string path, std::vector<std::string> args,
                           std::vector<std::string> allowed_flags)
    : path_(std::move(path)), args_(std::move(args)), allowed_(std::move(allowed_flags)) {}

absl::Status ConfigLoader::LoadFile() {
  if (path_.empty()) return absl::OkStatus();
  absl::StatusOr<ConfigFile> file = ConfigFile::Read(path_, allowed_);
  if (!file.ok()) return file.status();
  file_ = *std::move(file);
  return file_.Apply();
}

void ConfigLoader::CommandLineParsed() {
  for (const std::string& name : CommandLineFlagNames(args_)) file_.Forget(name);
}

absl::Status ConfigLoader::Reload(const std::function<absl::Status()>& build) {
  const std::vector<std::pair<std::string, std::string>> saved = SaveFlags(allowed_);
  ConfigFile previous = std::move(file_);
  file_ = ConfigFile();
  absl::Status status = ResetFlagsToDefaults(allowed_);
  if (status.ok()) status = LoadFile();
  if (status.ok()) status = ApplyCommandLine(args_, allowed_);
  if (status.ok()) {
    CommandLineParsed();
    status = build();
  }
  if (!status.ok()) {
    RestoreFlags(saved);
    file_ = std::move(previous);
  }
  return status;
}

namespace {

// One flag of a command line: its name and value text.
struct ArgFlag {
  std::string name;
  std::string value;
};

std::vector<ArgFlag> CommandLineFlags(const std::vector<std::string>& args) {
  std::vector<ArgFlag> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;  // positional
    arg.remove_prefix(absl::StartsWith(arg, "--") ? 2 : 1);
    ArgFlag flag;
    if (const size_t equals = arg.find('='); equals != absl::string_view::npos) {
      flags.push_back({std::string(arg.substr(0, equals)), std::string(arg.substr(equals + 1))});
      continue;
    }
    flag.name = std::string(arg);
    const absl::CommandLineFlag* found = absl::FindCommandLineFlag(flag.name);
    if (found != nullptr && found->IsOfType<bool>()) {
      flag.value = "true";
    } else if (found == nullptr && absl::StartsWith(flag.name, "no")) {
      const absl::CommandLineFlag* negated = absl::FindCommandLineFlag(flag.name.substr(2));
      if (negated == nullptr || !negated->IsOfType<bool>()) continue;
      flag.name = flag.name.substr(2);
      flag.value = "false";
    } else if (found != nullptr && i + 1 < args.size()) {
      flag.value = args[++i];
    } else {
      continue;
    }
    flags.push_back(std::move(flag));
  }
  return flags;
}

}  // namespace

std::vector<std::string> CommandLineFlagNames(const std::vector<std::string>& args) {
  std::vector<std::string> names;
  for (ArgFlag& flag : CommandLineFlags(args)) names.push_back(std::move(flag.name));
  return names;
}

absl::Status ApplyCommandLine(const std::vector<std::string>& args,
                              const std::vector<std::string>& allowed_flags) {
  const absl::flat_hash_set<std::string> allowed(allowed_flags.begin(), allowed_flags.end());
  std::vector<std::string> errors;
  for (const ArgFlag& arg : CommandLineFlags(args)) {
    if (!allowed.contains(arg.name)) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(arg.name);
    std::string error;
    if (flag != nullptr && !flag->ParseFrom(arg.value, &error)) {
      errors.push_back(absl::StrCat("--", arg.name, ": ", error));
    }
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return absl::OkStatus();
}

absl::Status ResetFlagsToDefaults(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) return absl::NotFoundError(absl::StrCat("no flag --", name));
    std::string error;
    if (!flag->ParseFrom(flag->DefaultValue(), &error)) {
      return absl::InternalError(absl::StrCat("--", name, ": its default: ", error));
    }
  }
  return absl::OkStatus();
}

std::vector<std::pair<std::string, std::string>> SaveFlags(const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, std::string>> saved;
  for (const std::string& name : names) {
    if (const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name)) {
      saved.emplace_back(name, flag->CurrentValue());
    }
  }
  return saved;
}

void RestoreFlags(const std::vector<std::pair<std::string, std::string>>& saved) {
  for (const auto& [name, value] : saved) {
    std::string error;
    // A value the flag held parses again.
    if (absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name)) {
      flag->ParseFrom(value, &error);
    }
  }
}

std::string ClosestName(absl::string_view name, const std::vector<std::string>& candidates) {
  // No flag name is this long: no typo of one (and the quadratic distance
  // stays small).
  if (name.size() > 128) return "";
  // A likely typo: at most 2 edits, or one in five characters for long names.
  const size_t limit = std::max<size_t>(2, name.size() / 5);
  std::string best;
  size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    const size_t distance = EditDistance(name, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

}  // namespace rspd::control
