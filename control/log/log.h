// File: control/log/log.h
//
// Structured, levelled logging for rspd (docs/operations.md, "Logs"). Each
// line is one event: a timestamp, a level, the subsystem that logged it, a
// fixed message and key=value fields, written either as logfmt
//
//   ts=2026-12-07T01:02:03.456Z level=info subsystem=enrp msg="peer up" peer=0x00001234
//
// or as one JSON object per line
//
//   {"ts":"2026-12-07T01:02:03.456Z","level":"info","subsystem":"enrp","msg":"peer up",...}
//
// to stderr (the systemd journal takes it from there) or a descriptor given.
//
// Levels are error < warning < info < debug, one per subsystem, set from a
// spec such as "info,enrp=debug,asap=warning" at start and again at run time
// (SIGHUP) from any thread. Whether a level is on is one relaxed atomic load
// and a compare; a line that is off formats nothing and evaluates none of its
// fields (RSPD_LOG is an if/else). A line that is on is formatted into its
// own buffer without a lock and written with one write(2) under the logger's
// mutex, so lines of different threads never interleave. Logging is for the
// control plane and for rare events: the I/O loop logs nothing per packet
// (docs/style.md, "Loops, bursts and rings"); an event that a remote can
// repeat at packet rate goes through a RateLimit, a token bucket per call
// site whose next admitted line carries `suppressed=K`.
//
// No RFC governs this; the format choices are in docs/operations.md, "Logs".
//
// Example:
//   // Once, at namespace scope or as a member: the subsystem's level slot.
//   const rspd::log::Subsystem kLog = rspd::log::Get("enrp");
//
//   RSPD_LOG(kLog, kInfo, "peer up").Kv("peer", rspd::log::Hex32(id)).Kv("address", text);
//
//   static rspd::log::RateLimit bad_packets(10, absl::Seconds(1));  // 10 lines/s
//   RSPD_LOG_LIMITED(kLog, kWarning, bad_packets, "bad packet").Kv("from", text);
//
//   // At start, and on SIGHUP:
//   absl::Status status = rspd::log::Default().SetLevels("info,enrp=debug");

#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rspd::log {

// Ordered: a subsystem at level L logs every line at L or below.
enum class Level : int { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };
enum class Format : int { kLogfmt = 0, kJson = 1 };

// "error", "warning", "info", "debug".
absl::string_view LevelName(Level level);
// One of the names above; an error names `text` and the allowed levels.
absl::StatusOr<Level> ParseLevel(absl::string_view text);
// "logfmt" or "json" (the --log_format flag); an error names the allowed ones.
absl::StatusOr<Format> ParseFormat(absl::string_view text);

// The subsystems rspd logs under; a spec may name these and any a logger has
// been asked for with Logger::Subsystem.
inline constexpr std::array<absl::string_view, 7> kSubsystems = {
    "asap", "enrp", "sctp", "tls", "config", "management", "security"};

// A parsed level spec: comma-separated items, each either a level (the
// default for every subsystem not named; at most one; info when absent) or
// SUBSYSTEM=LEVEL (each subsystem at most once). Blanks around items, names
// and levels are ignored. A spec is the whole state: applying it resets every
// subsystem it does not name to its default.
struct LevelSpec {
  Level default_level = Level::kInfo;
  std::vector<std::pair<std::string, Level>> subsystems;
};
// Syntax only (subsystem names are [a-z0-9_-]+); errors name the bad item and
// the allowed levels.
absl::StatusOr<LevelSpec> ParseLevelSpec(absl::string_view spec);
// The canonical text of a spec: "info,enrp=debug" (subsystems in spec order).
std::string LevelSpecText(const LevelSpec& spec);

// "0x%08x": how ENRP server IDs and PE identifiers are printed everywhere
// (protocol/describe.cc).
std::string Hex32(uint32_t value);
// Lower-case hex of arbitrary bytes (pool handles are binary).
std::string HexBytes(absl::string_view bytes);

// Counters of a logger (docs/style.md, "Counters"); updated under its write
// mutex, read with relaxed loads.
// clang-format off
#define RSPD_LOG_STATS(X) \
  X(log_lines, "log lines written") \
  X(log_write_errors, "log lines lost to a failed or short write(2) (full pipe, closed descriptor)") \
  X(log_suppressed, "log lines rate limits suppressed, counted when the next line passes with suppressed=K")
// clang-format on

struct LogStats {
#define RSPD_LOG_STAT_FIELD(name, help) std::atomic<uint64_t> name{0};
  RSPD_LOG_STATS(RSPD_LOG_STAT_FIELD)
#undef RSPD_LOG_STAT_FIELD
  static void Add(std::atomic<uint64_t>& counter, uint64_t n) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  template <typename Fn>
  void ForEach(Fn fn) const {
#define RSPD_LOG_STAT_EXPORT(name, help) fn(#name, help, name.load(std::memory_order_relaxed));
    RSPD_LOG_STATS(RSPD_LOG_STAT_EXPORT)
#undef RSPD_LOG_STAT_EXPORT
  }
};

class Logger;

// A subsystem's level slot in one logger: cheap to copy, valid as long as the
// logger (the default logger lives for the whole process).
class Subsystem {
 public:
  // The fast path: one relaxed load and a compare.
  bool On(Level level) const {
    return static_cast<int>(level) <= level_->load(std::memory_order_relaxed);
  }
  Level level() const { return static_cast<Level>(level_->load(std::memory_order_relaxed)); }
  absl::string_view name() const { return name_; }
  Logger& logger() const { return *logger_; }

 private:
  friend class Logger;
  Subsystem(Logger* logger, const std::atomic<int>* level, absl::string_view name)
      : logger_(logger), level_(level), name_(name) {}

  Logger* logger_;
  const std::atomic<int>* level_;
  absl::string_view name_;
};

// A token bucket per call site: at most `lines` lines per `interval` on
// average, bursts of up to `lines`, starting full. Thread-safe (a mutex, only
// taken once the level check passed). Time comes from the logger's clock.
class RateLimit {
 public:
  RateLimit(int lines, absl::Duration interval);
  RateLimit(const RateLimit&) = delete;
  RateLimit& operator=(const RateLimit&) = delete;

  // Whether a line may pass at `now`. When it may, `*suppressed` is the
  // number of lines refused since the last one that passed (then reset).
  bool Admit(absl::Time now, uint64_t* suppressed);

 private:
  std::mutex mu_;
  const double capacity_;
  const double tokens_per_ns_;
  double tokens_;            // guarded by mu_
  absl::Time last_;          // guarded by mu_; InfinitePast until the first call
  uint64_t suppressed_ = 0;  // guarded by mu_
};

// One line being built. Made by RSPD_LOG (only when its level is on) or by
// Logger::Line; written when it is destroyed. A line made for a level that is
// off ignores its fields. Field values: strings, integers, doubles, bools.
// Keys are code's own names; bytes outside [A-Za-z0-9_.-] become '_'.
// A string value longer than kMaxValueBytes is cut there and ends in "...".
class Line {
 public:
  static constexpr size_t kMaxValueBytes = 1024;

  Line(const Subsystem& subsystem, Level level, absl::string_view message);
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  ~Line();

  Line& Kv(absl::string_view key, absl::string_view value);
  Line& Kv(absl::string_view key, const char* value) {
    return Kv(key, absl::string_view(value == nullptr ? "" : value));
  }
  Line& Kv(absl::string_view key, const std::string& value) {
    return Kv(key, absl::string_view(value));
  }
  Line& Kv(absl::string_view key, bool value);
  Line& Kv(absl::string_view key, double value);
  template <typename Int,
            typename = std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>>>
  Line& Kv(absl::string_view key, Int value) {
    if constexpr (std::is_signed_v<Int>) {
      return KvSigned(key, static_cast<int64_t>(value));
    } else {
      return KvUnsigned(key, static_cast<uint64_t>(value));
    }
  }

  // Used by RSPD_LOG_LIMITED: adds suppressed=K when K > 0.
  Line& Suppressed(uint64_t count);

 private:
  Line& KvSigned(absl::string_view key, int64_t value);
  Line& KvUnsigned(absl::string_view key, uint64_t value);
  void Key(absl::string_view key);
  void Raw(absl::string_view text);  // a number or a literal as it is

  Logger* logger_;  // null when the level is off
  Format format_;
  uint64_t suppressed_ = 0;
  std::string buffer_;
};

class Logger {
 public:
  static constexpr int kMaxSubsystems = 32;
  using Clock = std::function<absl::Time()>;

  struct Options {
    Format format = Format::kLogfmt;
    int fd = 2;   // not owned
    Clock clock;  // absl::Now when empty; timestamps and rate limits
    std::string levels = "info";
  };

  // Aborts if options.levels does not parse (a programming error; flags go
  // through SetLevels, which returns the error).
  explicit Logger(Options options);
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // The level slot of `name`, made on first use (set from the current spec);
  // the kSubsystems exist from the start. Aborts beyond kMaxSubsystems
  // (subsystem names come from code, never from a remote).
  Subsystem Get(absl::string_view name);

  // Parses and applies a spec; any thread, any time. Names must be known
  // subsystems (kSubsystems or made by Get); on error nothing changes and
  // the message names the bad item and what is allowed.
  absl::Status SetLevels(absl::string_view spec);
  // What SetLevels would say of `spec`, changing nothing.
  absl::Status CheckLevels(absl::string_view spec);
  void SetLevels(const LevelSpec& spec);  // names already checked
  // The spec last applied, canonical ("info,enrp=debug").
  std::string levels() const;

  // Chosen at start; safe to call while other threads log.
  void SetFormat(Format format) { format_.store(static_cast<int>(format)); }
  Format format() const { return static_cast<Format>(format_.load(std::memory_order_relaxed)); }
  void SetFd(int fd) { fd_.store(fd); }

  absl::Time Now() const { return clock_(); }
  const LogStats& stats() const { return stats_; }

  // Writes one whole line (ending in '\n') with one write(2), under the mutex;
  // a short write is finished, EINTR retried, any other failure counted.
  void Write(absl::string_view line, uint64_t suppressed);

 private:
  absl::Status CheckNames(const LevelSpec& spec) const;

  const Clock clock_;
  std::atomic<int> format_;
  std::atomic<int> fd_;
  std::array<std::atomic<int>, kMaxSubsystems> levels_{};

  mutable std::mutex mu_;  // guards the names, count and spec; serializes writes
  std::array<std::string, kMaxSubsystems> names_;
  int count_ = 0;
  LevelSpec spec_;
  LogStats stats_;
};

// The process's logger: logfmt, stderr, level info, until told otherwise.
Logger& Default();
// Default().Get(name).
Subsystem Get(absl::string_view name);

}  // namespace rspd::log

// RSPD_LOG(subsystem, kLevel, "message").Kv("key", value)...;
// Off: one relaxed load, nothing else evaluated. On: one line, written at the
// end of the statement.
#define RSPD_LOG(subsystem, level, message)         \
  if (!(subsystem).On(::rspd::log::Level::level)) { \
  } else                                            \
    ::rspd::log::Line((subsystem), ::rspd::log::Level::level, (message))

// As RSPD_LOG, through `limit` (a RateLimit that outlives the call: a static
// or a member); the next line it admits after refusals carries suppressed=K.
#define RSPD_LOG_LIMITED(subsystem, level, limit, message)                 \
  if (uint64_t rspd_log_suppressed_ = 0;                                   \
      !(subsystem).On(::rspd::log::Level::level) ||                        \
      !(limit).Admit((subsystem).logger().Now(), &rspd_log_suppressed_)) { \
  } else                                                                   \
    ::rspd::log::Line((subsystem), ::rspd::log::Level::level, (message))   \
        .Suppressed(rspd_log_suppressed_)
