#include "control/log/log.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace rspd::log {
namespace {

constexpr absl::string_view kLevelNames[] = {"error", "warning", "info", "debug"};
constexpr absl::string_view kAllowedLevels = "error, warning, info, debug";
constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool IsNameByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool IsKeyByte(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// The length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629
// §4: no overlong forms, no surrogates, nothing above U+10FFFF), or 0.
size_t Utf8Length(absl::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) {
    return 1;
  }
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < n || b(1) < lo || b(1) > hi) {
    return 0;
  }
  for (size_t i = 2; i < n; ++i) {
    if (b(i) < 0x80 || b(i) > 0xBF) {
      return 0;
    }
  }
  return n;
}

// Appends `value` escaped for the inside of a JSON string (RFC 8259 §7) or a
// quoted logfmt value (the same escapes): quote and backslash, the short
// forms of \b \f \n \r \t, \u00XX for other control bytes and DEL, and U+FFFD
// for each byte that does not start well-formed UTF-8.
void AppendEscaped(std::string* out, absl::string_view value) {
  size_t i = 0;
  while (i < value.size()) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80) {
      const size_t n = Utf8Length(value.substr(i));
      if (n == 0) {
        out->append(kReplacement.data(), kReplacement.size());
        ++i;
      } else {
        out->append(value.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
}

// A logfmt value needs quotes when it is empty or holds a blank, '=', a
// quote, a backslash, a control byte or anything outside ASCII (so that
// invalid UTF-8 is replaced, inside quotes).
bool NeedsQuotes(absl::string_view value) {
  if (value.empty()) {
    return true;
  }
  for (char ch : value) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F || c == '=' || c == '"' || c == '\\') {
      return true;
    }
  }
  return false;
}

void AppendLogfmtValue(std::string* out, absl::string_view value) {
  if (!NeedsQuotes(value)) {
    out->append(value.data(), value.size());
    return;
  }
  out->push_back('"');
  AppendEscaped(out, value);
  out->push_back('"');
}

void AppendJsonString(std::string* out, absl::string_view value) {
  out->push_back('"');
  AppendEscaped(out, value);
  out->push_back('"');
}

}  // namespace

absl::string_view LevelName(Level level) {
  const int i = static_cast<int>(level);
  return i >= 0 && i < 4 ? kLevelNames[i] : "unknown";
}

absl::StatusOr<Level> ParseLevel(absl::string_view text) {
  for (int i = 0; i < 4; ++i) {
    if (text == kLevelNames[i]) {
      return static_cast<Level>(i);
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level \"", text, "\" (allowed: ", kAllowedLevels, ")"));
}

absl::StatusOr<Format> ParseFormat(absl::string_view text) {
  if (text == "logfmt") {
    return Format::kLogfmt;
  }
  if (text == "json") {
    return Format::kJson;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--log_format: unknown format \"", text, "\" (allowed: logfmt, json)"));
}

absl::StatusOr<LevelSpec> ParseLevelSpec(absl::string_view spec) {
  const auto error = [&](absl::string_view item, absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("--log_level \"", spec, "\": item \"", item,
                                                   "\": ", what,
                                                   " (allowed levels: ", kAllowedLevels, ")"));
  };
  if (absl::StripAsciiWhitespace(spec).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log_level is empty (give LEVEL[,SUBSYSTEM=LEVEL...]; allowed levels: ", kAllowedLevels,
        ")"));
  }
  LevelSpec out;
  bool have_default = false;
  for (absl::string_view raw : absl::StrSplit(spec, ',')) {
    const absl::string_view item = absl::StripAsciiWhitespace(raw);
    if (item.empty()) {
      return error(raw, "empty item");
    }
    const size_t eq = item.find('=');
    if (eq == absl::string_view::npos) {
      if (have_default) {
        return error(item, "a second default level");
      }
      absl::StatusOr<Level> level = ParseLevel(item);
      if (!level.ok()) {
        return error(item, "unknown level");
      }
      out.default_level = *level;
      have_default = true;
      continue;
    }
    const absl::string_view name = absl::StripAsciiWhitespace(item.substr(0, eq));
    const absl::string_view level_text = absl::StripAsciiWhitespace(item.substr(eq + 1));
    if (name.empty()) {
      return error(item, "no subsystem before '='");
    }
    for (char c : name) {
      if (!IsNameByte(c)) {
        return error(item, "a subsystem name is lower-case letters, digits, '_' and '-'");
      }
    }
    absl::StatusOr<Level> level = ParseLevel(level_text);
    if (!level.ok()) {
      return error(item, absl::StrCat("unknown level \"", level_text, "\""));
    }
    for (const auto& [seen, unused] : out.subsystems) {
      if (seen == name) {
        return error(item, absl::StrCat("subsystem \"", name, "\" given twice"));
      }
    }
    out.subsystems.emplace_back(std::string(name), *level);
  }
  return out;
}

std::string LevelSpecText(const LevelSpec& spec) {
  std::string out(LevelName(spec.default_level));
  for (const auto& [name, level] : spec.subsystems) {
    absl::StrAppend(&out, ",", name, "=", LevelName(level));
  }
  return out;
}

std::string Hex32(uint32_t value) { return absl::StrFormat("0x%08x", value); }

std::string HexBytes(absl::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    absl::StrAppendFormat(&out, "%02x", static_cast<unsigned char>(c));
  }
  return out;
}

// --- RateLimit ---

RateLimit::RateLimit(int lines, absl::Duration interval)
    : capacity_(lines > 0 ? lines : 1),
      tokens_per_ns_(capacity_ /
                     static_cast<double>(absl::ToInt64Nanoseconds(
                         interval > absl::Nanoseconds(1) ? interval : absl::Nanoseconds(1)))),
      tokens_(capacity_),
      last_(absl::InfinitePast()) {}

bool RateLimit::Admit(absl::Time now, uint64_t* suppressed) {
  std::lock_guard<std::mutex> lock(mu_);
  if (last_ != absl::InfinitePast() && now > last_) {
    // A clock that steps back refills nothing (and takes nothing away).
    const double elapsed_ns = static_cast<double>(absl::ToInt64Nanoseconds(now - last_));
    tokens_ = std::min(capacity_, tokens_ + elapsed_ns * tokens_per_ns_);
  }
  if (last_ == absl::InfinitePast() || now > last_) {
    last_ = now;
  }
  if (tokens_ < 1.0) {
    ++suppressed_;
    return false;
  }
  tokens_ -= 1.0;
  *suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

// --- Line ---

Line::Line(const Subsystem& subsystem, Level level, absl::string_view message)
    : logger_(subsystem.On(level) ? &subsystem.logger() : nullptr),
      format_(logger_ != nullptr ? logger_->format() : Format::kLogfmt) {
  if (logger_ == nullptr) {
    return;
  }
  buffer_.reserve(256);
  const std::string ts =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", logger_->Now(), absl::UTCTimeZone());
  if (format_ == Format::kJson) {
    buffer_.append("{\"ts\":\"");
    buffer_.append(ts);
    buffer_.append("\",\"level\":\"");
    buffer_.append(LevelName(level).data(), LevelName(level).size());
    buffer_.append("\",\"subsystem\":");
    AppendJsonString(&buffer_, subsystem.name());
    buffer_.append(",\"msg\":");
    AppendJsonString(&buffer_, message);
  } else {
    buffer_.append("ts=");
    buffer_.append(ts);
    buffer_.append(" level=");
    buffer_.append(LevelName(level).data(), LevelName(level).size());
    buffer_.append(" subsystem=");
    AppendLogfmtValue(&buffer_, subsystem.name());
    buffer_.append(" msg=");
    AppendLogfmtValue(&buffer_, message);
  }
}

Line::~Line() {
  if (logger_ == nullptr) {
    return;
  }
  buffer_.append(format_ == Format::kJson ? "}\n" : "\n");
  logger_->Write(buffer_, suppressed_);
}

void Line::Key(absl::string_view key) {
  if (key.empty()) {
    key = "_";
  }
  if (format_ == Format::kJson) {
    buffer_.append(",\"");
  } else {
    buffer_.push_back(' ');
  }
  const size_t name_start = buffer_.size();
  buffer_.append(key.data(), key.size());
  for (size_t i = name_start; i < buffer_.size(); ++i) {
    if (!IsKeyByte(buffer_[i])) {
      buffer_[i] = '_';
    }
  }
  buffer_.append(format_ == Format::kJson ? "\":" : "=");
}

void Line::Raw(absl::string_view text) { buffer_.append(text.data(), text.size()); }

Line& Line::Kv(absl::string_view key, absl::string_view value) {
  if (logger_ == nullptr) {
    return *this;
  }
  std::string cut;
  if (value.size() > kMaxValueBytes) {
    cut = absl::StrCat(value.substr(0, kMaxValueBytes), "...");
    value = cut;
  }
  Key(key);
  if (format_ == Format::kJson) {
    AppendJsonString(&buffer_, value);
  } else {
    AppendLogfmtValue(&buffer_, value);
  }
  return *this;
}

Line& Line::Kv(absl::string_view key, bool value) {
  if (logger_ == nullptr) {
    return *this;
  }
  Key(key);
  Raw(value ? "true" : "false");
  return *this;
}

Line& Line::Kv(absl::string_view key, double value) {
  if (logger_ == nullptr) {
    return *this;
  }
  Key(key);
  if (std::isfinite(value)) {
    // Up to 17 significant digits: enough to read the double back exactly.
    Raw(absl::StrFormat("%.17g", value));
  } else if (format_ == Format::kJson) {
    // JSON has no NaN or infinity (RFC 8259 §6): they go as strings.
    AppendJsonString(&buffer_, std::isnan(value) ? "NaN" : (value > 0 ? "+Inf" : "-Inf"));
  } else {
    Raw(std::isnan(value) ? "NaN" : (value > 0 ? "+Inf" : "-Inf"));
  }
  return *this;
}

Line& Line::KvSigned(absl::string_view key, int64_t value) {
  if (logger_ == nullptr) {
    return *this;
  }
  Key(key);
  absl::StrAppend(&buffer_, value);
  return *this;
}

Line& Line::KvUnsigned(absl::string_view key, uint64_t value) {
  if (logger_ == nullptr) {
    return *this;
  }
  Key(key);
  absl::StrAppend(&buffer_, value);
  return *this;
}

Line& Line::Suppressed(uint64_t count) {
  if (logger_ == nullptr || count == 0) {
    return *this;
  }
  suppressed_ = count;
  return KvUnsigned("suppressed", count);
}

// --- Logger ---

Logger::Logger(Options options)
    : clock_(options.clock ? std::move(options.clock) : Clock([] { return absl::Now(); })),
      format_(static_cast<int>(options.format)),
      fd_(options.fd) {
  for (auto& level : levels_) {
    level.store(static_cast<int>(Level::kInfo), std::memory_order_relaxed);
  }
  for (absl::string_view name : kSubsystems) {
    names_[count_++] = std::string(name);
  }
  if (absl::Status status = SetLevels(options.levels); !status.ok()) {
    std::fprintf(stderr, "log: %s\n", std::string(status.message()).c_str());
    std::abort();
  }
}

Subsystem Logger::Get(absl::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < count_; ++i) {
    if (names_[i] == name) {
      return Subsystem(this, &levels_[i], names_[i]);
    }
  }
  if (count_ == kMaxSubsystems) {
    std::fprintf(stderr, "log: more than %d subsystems (asked for \"%s\")\n", kMaxSubsystems,
                 std::string(name).c_str());
    std::abort();
  }
  const int i = count_;
  names_[i] = std::string(name);
  Level level = spec_.default_level;
  for (const auto& [named, named_level] : spec_.subsystems) {
    if (named == name) {
      level = named_level;
    }
  }
  levels_[i].store(static_cast<int>(level), std::memory_order_relaxed);
  ++count_;
  return Subsystem(this, &levels_[i], names_[i]);
}

absl::Status Logger::CheckNames(const LevelSpec& spec) const {
  for (const auto& [name, level] : spec.subsystems) {
    bool known = false;
    for (int i = 0; i < count_; ++i) {
      known = known || names_[i] == name;
    }
    if (!known) {
      std::vector<absl::string_view> names(names_.begin(), names_.begin() + count_);
      return absl::InvalidArgumentError(absl::StrCat("--log_level: unknown subsystem \"", name,
                                                     "\" (known: ", absl::StrJoin(names, ", "),
                                                     ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status Logger::CheckLevels(absl::string_view text) {
  absl::StatusOr<LevelSpec> spec = ParseLevelSpec(text);
  if (!spec.ok()) return spec.status();
  std::lock_guard<std::mutex> lock(mu_);
  return CheckNames(*spec);
}

absl::Status Logger::SetLevels(absl::string_view text) {
  absl::StatusOr<LevelSpec> spec = ParseLevelSpec(text);
  if (!spec.ok()) {
    return spec.status();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (absl::Status status = CheckNames(*spec); !status.ok()) {
      return status;
    }
  }
  SetLevels(*spec);
  return absl::OkStatus();
}

void Logger::SetLevels(const LevelSpec& spec) {
  std::lock_guard<std::mutex> lock(mu_);
  spec_ = spec;
  for (int i = 0; i < count_; ++i) {
    Level level = spec.default_level;
    for (const auto& [name, named_level] : spec.subsystems) {
      if (name == names_[i]) {
        level = named_level;
      }
    }
    levels_[i].store(static_cast<int>(level), std::memory_order_relaxed);
  }
}

std::string Logger::levels() const {
  std::lock_guard<std::mutex> lock(mu_);
  return LevelSpecText(spec_);
}

void Logger::Write(absl::string_view line, uint64_t suppressed) {
  std::lock_guard<std::mutex> lock(mu_);
  const int fd = fd_.load(std::memory_order_relaxed);
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      LogStats::Add(stats_.log_write_errors, 1);
      return;
    }
    done += static_cast<size_t>(n);
  }
  LogStats::Add(stats_.log_lines, 1);
  if (suppressed > 0) {
    LogStats::Add(stats_.log_suppressed, suppressed);
  }
}

Logger& Default() {
  static Logger* const logger = new Logger(Logger::Options{});
  return *logger;
}

Subsystem Get(absl::string_view name) { return Default().Get(name); }

}  // namespace rspd::log
