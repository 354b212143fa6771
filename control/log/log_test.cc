// Tests of control/log/log.h: both line formats and their escaping, the level
// spec and its errors, levels per subsystem and their change at run time,
// rate limits on an injected clock, and whole lines from many threads.

#include "control/log/log.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace rspd::log {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A file in memory the logger writes to; Text() reads all of it.
class MemFile {
 public:
  MemFile() : fd_(memfd_create("log_test", 0)) { EXPECT_GE(fd_, 0); }
  ~MemFile() { close(fd_); }
  int fd() const { return fd_; }
  std::string Text() const {
    std::string out;
    char buffer[4096];
    off_t offset = 0;
    while (true) {
      const ssize_t n = pread(fd_, buffer, sizeof(buffer), offset);
      if (n <= 0) {
        break;
      }
      out.append(buffer, static_cast<size_t>(n));
      offset += n;
    }
    return out;
  }
  std::vector<std::string> Lines() const {
    std::vector<std::string> lines = absl::StrSplit(Text(), '\n');
    EXPECT_EQ(lines.back(), "") << "the output does not end in a newline";
    lines.pop_back();
    return lines;
  }

 private:
  int fd_;
};

// A clock the test moves by hand.
struct FakeClock {
  absl::Time now = absl::FromUnixMillis(1796605323456);  // 2026-12-07T01:02:03.456Z
  Logger::Clock Fn() {
    return [this] { return now; };
  }
};

Logger::Options Opts(Format format, int fd, FakeClock* clock, std::string levels = "info") {
  Logger::Options options;
  options.format = format;
  options.fd = fd;
  options.clock = clock->Fn();
  options.levels = std::move(levels);
  return options;
}

// --- logfmt ---

TEST(LogfmtTest, WritesTimestampLevelSubsystemMessageAndFieldsInOrder) {
  MemFile out;
  FakeClock clock;
  Logger logger(Opts(Format::kLogfmt, out.fd(), &clock));
  const Subsystem enrp = logger.Get("enrp");
  RSPD_LOG(enrp, kInfo, "peer up").Kv("peer", Hex32(0x1234)).Kv("address", "10.0.0.2:9899");
  EXPECT_EQ(out.Text(),
            "ts=2026-12-07T01:02:03.456Z level=info subsystem=enrp msg=\"peer up\" "
            "peer=0x00001234 address=10.0.0.2:9899\n");
}

TEST(LogfmtTest, QuotesAndEscapesValuesThatNeedIt) {
  MemFile out;
  FakeClock clock;
  Logger logger(Opts(Format::kLogfmt, out.fd(), &clock));
  RSPD_LOG(logger.Get("asap"), kWarning, "x")
      .Kv("plain", "abc")
      .Kv("space", "a b")
      .Kv("equals", "a=b")
      .Kv("quote", "say \"hi\"")
      .Kv("backslash", "a\\b")
      .Kv("newline", "l1\nl2\r\t")
      .Kv("control", absl::string_view("\x01\x7f", 2))
      .Kv("empty", "")
      .Kv("utf8", "caf\xc3\xa9")
      .Kv("invalid", "a\xff");
  EXPECT_EQ(out.Text(),
            "ts=2026-12-07T01:02:03.456Z level=warning subsystem=asap msg=x plain=abc "
            "space=\"a b\" equals=\"a=b\" quote=\"say \\\"hi\\\"\" backslash=\"a\\\\b\" "
            "newline=\"l1\\nl2\\r\\t\" control=\"\\u0001\\u007f\" empty=\"\" "
            "utf8=\"caf\xc3\xa9\" invalid=\"a\xef\xbf\xbd\"\n");
}

TEST(LogfmtTest, WritesNumbersBoolsAndSanitizedKeys) {
  MemFile out;
  FakeClock clock;
  Logger logger(Opts(Format::kLogfmt, out.fd(), &clock));
  RSPD_LOG(logger.Get("sctp"), kError, "n")
      .Kv("i", -42)
      .Kv("u", std::numeric_limits<uint64_t>::max())
      .Kv("b", true)
      .Kv("d", 0.5)
      .Kv("nan", std::nan(""))
      .Kv("bad key=\"", 1);
  EXPECT_EQ(out.Text(),
            "ts=2026-12-07T01:02:03.456Z level=error subsystem=sctp msg=n i=-42 "
            "u=18446744073709551615 b=true d=0.5 nan=NaN bad_key__=1\n");
}

TEST(LogfmtTest, CutsLongValues) {
  MemFile out;
  FakeClock clock;
  Logger logger(Opts(Format::kLogfmt, out.fd(), &clock));
  RSPD_LOG(logger.Get("tls"), kInfo, "long").Kv("v", std::string(5000, 'x'));
  EXPECT_THAT(out.Text(), HasSubstr(" v=" + std::string(Line::kMaxValueBytes, 'x') + "...\n"));
}

// --- JSON ---

TEST(JsonTest, WritesOneObjectPerLine) {
  MemFile out;
  FakeClock clock;
  Logger logger(Opts(Format::kJson, out.fd(), &clock));
  RSPD_LOG(logger.Get("enrp"), kInfo, "peer up")
      .Kv("peer", Hex32(0x1234))
      .Kv("address", "10.0.0.2:9899")
      .Kv("count", 3)
      .Kv("up", false)
      .Kv("ratio", 0.25);
  EXPECT_EQ(out.Text(),
            "{\"ts\":\"2026-12-07T01:02:03.456Z\",\"level\":\"info\",\"subsystem\":\"enrp\","
            "\"msg\":\"peer up\",\"peer\":\"0x00001234\",\"address\":\"10.0.0.2:9899\","
            "\"count\":3,\"up\":false,\"ratio\":0.25}\n");
}

// RFC 8259 §7: quote, backslash and control characters escaped; RFC 3629:
// what is not well-formed UTF-8 (a stray byte, an overlong form, a surrogate,
// a cut sequence) becomes U+FFFD, well-formed UTF-8 stays.
TEST(JsonTest, EscapesControlCharactersAndReplacesInvalidUtf8) {
  MemFile out;
  FakeClock clock;
  Logger logger(Opts(Format::kJson, out.fd(), &clock));
  const std::string nasty = std::string("q\"b\\n\n\b\f\r\t", 10) + std::string("\0\x1f\x7f", 3);
  RSPD_LOG(logger.Get("enrp"), kInfo, "m\"")
      .Kv("nasty", nasty)
      .Kv("utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e")  // é € 𝄞
      .Kv("stray", "a\x80z")
      .Kv("overlong", "\xc0\xaf")
      .Kv("surrogate", "\xed\xa0\x80")
      .Kv("cut", "\xe2\x82")
      .Kv("too_high", "\xf4\x90\x80\x80")
      .Kv("inf", std::numeric_limits<double>::infinity())
      .Kv("sane key", "x");
  const std::string text = out.Text();
  EXPECT_THAT(text, HasSubstr("\"msg\":\"m\\\"\""));
  EXPECT_THAT(text, HasSubstr("\"nasty\":\"q\\\"b\\\\n\\n\\b\\f\\r\\t\\u0000\\u001f\\u007f\""));
  EXPECT_THAT(text, HasSubstr("\"stray\":\"a\xef\xbf\xbdz\""));
  EXPECT_THAT(text, HasSubstr("\"overlong\":\"\xef\xbf\xbd\xef\xbf\xbd\""));
  EXPECT_THAT(text, HasSubstr("\"cut\":\"\xef\xbf\xbd\xef\xbf\xbd\""));
  EXPECT_THAT(text, HasSubstr("\"inf\":\"+Inf\""));
  ASSERT_EQ(text.back(), '\n');
  // A strict parser reads it back: valid JSON, valid UTF-8, the same values.
  const nlohmann::json j = nlohmann::json::parse(text);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["subsystem"], "enrp");
  EXPECT_EQ(j["msg"], "m\"");
  EXPECT_EQ(j["nasty"], nasty);
  EXPECT_EQ(j["utf8"], "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e");
  EXPECT_EQ(j["surrogate"], "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(j["too_high"], "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(j["sane_key"], "x");
}

// --- Level specs ---

TEST(LevelSpecTest, ParsesDefaultAndSubsystems) {
  absl::StatusOr<LevelSpec> spec = ParseLevelSpec(" info , enrp = debug,asap=warning ");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->default_level, Level::kInfo);
  ASSERT_EQ(spec->subsystems.size(), 2u);
  EXPECT_EQ(spec->subsystems[0].first, "enrp");
  EXPECT_EQ(spec->subsystems[0].second, Level::kDebug);
  EXPECT_EQ(spec->subsystems[1].first, "asap");
  EXPECT_EQ(spec->subsystems[1].second, Level::kWarning);
  EXPECT_EQ(LevelSpecText(*spec), "info,enrp=debug,asap=warning");
}

TEST(LevelSpecTest, DefaultIsInfoWhenNotGiven) {
  absl::StatusOr<LevelSpec> spec = ParseLevelSpec("tls=error");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->default_level, Level::kInfo);
  EXPECT_EQ(LevelSpecText(*spec), "info,tls=error");
}

TEST(LevelSpecTest, ErrorsNameTheBadItemAndTheAllowedLevels) {
  struct Case {
    const char* spec;
    const char* names;
  };
  for (const Case& c : {
           Case{"loud", "item \"loud\": unknown level"},
           Case{"info,enrp=loud", "item \"enrp=loud\": unknown level \"loud\""},
           Case{"info,,enrp=debug", "empty item"},
           Case{"info,", "empty item"},
           Case{"=debug", "no subsystem"},
           Case{"info,debug", "a second default level"},
           Case{"enrp=debug,enrp=info", "subsystem \"enrp\" given twice"},
           Case{"ENRP=debug", "lower-case"},
           Case{"INFO", "unknown level"},
       }) {
    absl::StatusOr<LevelSpec> spec = ParseLevelSpec(c.spec);
    ASSERT_FALSE(spec.ok()) << c.spec;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(spec.status().message(), HasSubstr(c.names)) << c.spec;
    EXPECT_THAT(spec.status().message(), HasSubstr("allowed levels: error, warning, info, debug"))
        << c.spec;
  }
  absl::StatusOr<LevelSpec> empty = ParseLevelSpec("  ");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("--log_level is empty"));
}

TEST(LevelSpecTest, ParsesFormats) {
  EXPECT_EQ(*ParseFormat("logfmt"), Format::kLogfmt);
  EXPECT_EQ(*ParseFormat("json"), Format::kJson);
  absl::StatusOr<Format> bad = ParseFormat("xml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("allowed: logfmt, json"));
}

TEST(LoggerLevelsTest, RefusesUnknownSubsystemsAndKeepsTheOldLevels) {
  MemFile out;
  FakeClock clock;
  Logger logger(Opts(Format::kLogfmt, out.fd(), &clock, "warning,enrp=debug"));
  const absl::Status status = logger.SetLevels("debug,enpr=error");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("unknown subsystem \"enpr\""));
  EXPECT_THAT(status.message(), HasSubstr("asap, enrp, sctp, tls, config, management, security"));
  EXPECT_EQ(logger.levels(), "warning,enrp=debug");
  EXPECT_EQ(logger.Get("enrp").level(), Level::kDebug);
  EXPECT_EQ(logger.Get("asap").level(), Level::kWarning);
  EXPECT_FALSE(logger.SetLevels("bogus").ok());
  EXPECT_EQ(logger.levels(), "warning,enrp=debug");
}

TEST(LoggerLevelsTest, EachSubsystemLogsAtItsOwnLevel) {
  MemFile out;
  FakeClock clock;
  Logger logger(Opts(Format::kLogfmt, out.fd(), &clock, "warning,enrp=debug,tls=error"));
  const Subsystem enrp = logger.Get("enrp");
  const Subsystem asap = logger.Get("asap");
  const Subsystem tls = logger.Get("tls");
  RSPD_LOG(enrp, kDebug, "enrp-debug");
  RSPD_LOG(asap, kInfo, "asap-info");
  RSPD_LOG(asap, kWarning, "asap-warning");
  RSPD_LOG(tls, kWarning, "tls-warning");
  RSPD_LOG(tls, kError, "tls-error");
  const std::vector<std::string> lines = out.Lines();
  ASSERT_EQ(lines.size(), 3u) << out.Text();
  EXPECT_THAT(lines[0], HasSubstr("level=debug subsystem=enrp msg=enrp-debug"));
  EXPECT_THAT(lines[1], HasSubstr("level=warning subsystem=asap msg=asap-warning"));
  EXPECT_THAT(lines[2], HasSubstr("level=error subsystem=tls msg=tls-error"));
  EXPECT_EQ(logger.stats().log_lines.load(), 3u);
}

TEST(LoggerLevelsTest, OffLinesEvaluateNoField) {
  MemFile out;
  FakeClock clock;
  Logger logger(Opts(Format::kLogfmt, out.fd(), &clock, "error"));
  int evaluated = 0;
  const auto expensive = [&] {
    ++evaluated;
    return std::string("value");
  };
  RSPD_LOG(logger.Get("enrp"), kInfo, "off").Kv("v", expensive());
  EXPECT_EQ(evaluated, 0);
  EXPECT_EQ(out.Text(), "");
  RSPD_LOG(logger.Get("enrp"), kError, "on").Kv("v", expensive());
  EXPECT_EQ(evaluated, 1);
  EXPECT_THAT(out.Text(), HasSubstr("msg=on v=value\n"));
}

TEST(LoggerLevelsTest, SubsystemsMadeLaterTakeTheCurrentSpec) {
  MemFile out;
  FakeClock clock;
  Logger logger(Opts(Format::kLogfmt, out.fd(), &clock, "debug"));
  EXPECT_EQ(logger.Get("later").level(), Level::kDebug);
  ASSERT_TRUE(logger.SetLevels("error,later=warning").ok());
  EXPECT_EQ(logger.Get("later").level(), Level::kWarning);
  EXPECT_EQ(logger.Get("config").level(), Level::kError);
}

// SIGHUP reload: another thread applies a new spec while this one logs; the
// change shows through the same Subsystem handle, without a lock.
TEST(LoggerLevelsTest, LevelsChangeAtRunTimeFromAnotherThread) {
  MemFile out;
  FakeClock clock;
  Logger logger(Opts(Format::kLogfmt, out.fd(), &clock, "info"));
  const Subsystem enrp = logger.Get("enrp");
  RSPD_LOG(enrp, kDebug, "before");
  std::thread reloader([&] { ASSERT_TRUE(logger.SetLevels("info,enrp=debug").ok()); });
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!enrp.On(Level::kDebug) && absl::Now() < deadline) {
  }
  reloader.join();
  RSPD_LOG(enrp, kDebug, "after");
  std::thread back([&] { ASSERT_TRUE(logger.SetLevels("warning").ok()); });
  back.join();
  RSPD_LOG(enrp, kInfo, "gone");
  const std::vector<std::string> lines = out.Lines();
  ASSERT_EQ(lines.size(), 1u) << out.Text();
  EXPECT_THAT(lines[0], HasSubstr("msg=after"));
  EXPECT_EQ(logger.levels(), "warning");
}

// --- Rate limits ---

TEST(RateLimitTest, LetsABurstThroughThenOneLinePerTokenWithTheSuppressedCount) {
  MemFile out;
  FakeClock clock;
  Logger logger(Opts(Format::kLogfmt, out.fd(), &clock));
  const Subsystem sctp = logger.Get("sctp");
  RateLimit limit(10, absl::Seconds(1));
  const auto log_one = [&](int i) {
    RSPD_LOG_LIMITED(sctp, kWarning, limit, "bad packet").Kv("i", i);
  };
  for (int i = 0; i < 15; ++i) {
    log_one(i);  // the burst of 10 passes, 5 are suppressed
  }
  EXPECT_EQ(out.Lines().size(), 10u);
  clock.now += absl::Milliseconds(50);  // half a token
  log_one(15);
  EXPECT_EQ(out.Lines().size(), 10u);
  clock.now += absl::Milliseconds(50);  // one token
  log_one(16);
  log_one(17);
  std::vector<std::string> lines = out.Lines();
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_THAT(lines[10], HasSubstr("msg=\"bad packet\" suppressed=6 i=16"));
  EXPECT_THAT(lines[9], HasSubstr("msg=\"bad packet\" i=9"));
  EXPECT_EQ(logger.stats().log_suppressed.load(), 6u);
  // A quiet second refills the bucket to 10, not beyond; the first line
  // reports the one refusal before it.
  clock.now += absl::Seconds(5);
  for (int i = 0; i < 12; ++i) {
    log_one(100 + i);
  }
  lines = out.Lines();
  ASSERT_EQ(lines.size(), 21u);
  EXPECT_THAT(lines[11], HasSubstr("suppressed=1 i=100"));
  EXPECT_THAT(lines[12], Not(HasSubstr("suppressed")));
}

TEST(RateLimitTest, AClockSteppingBackRefillsNothing) {
  RateLimit limit(1, absl::Seconds(1));
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  uint64_t suppressed = 99;
  EXPECT_TRUE(limit.Admit(t0, &suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_FALSE(limit.Admit(t0 - absl::Hours(1), &suppressed));
  EXPECT_FALSE(limit.Admit(t0 + absl::Milliseconds(999), &suppressed));
  EXPECT_TRUE(limit.Admit(t0 + absl::Seconds(1), &suppressed));
  EXPECT_EQ(suppressed, 2u);
}

TEST(RateLimitTest, OffLevelsUseNoToken) {
  MemFile out;
  FakeClock clock;
  Logger logger(Opts(Format::kLogfmt, out.fd(), &clock, "warning"));
  const Subsystem sctp = logger.Get("sctp");
  RateLimit limit(1, absl::Seconds(1));
  for (int i = 0; i < 5; ++i) {
    RSPD_LOG_LIMITED(sctp, kDebug, limit, "off");
  }
  RSPD_LOG_LIMITED(sctp, kWarning, limit, "on");
  EXPECT_THAT(out.Text(), HasSubstr("msg=on\n"));
  EXPECT_THAT(out.Text(), Not(HasSubstr("suppressed")));
}

// --- Threads ---

// Lines longer than a pipe's atomic write (PIPE_BUF, 4096 bytes) from four
// threads into a pipe: every line the reader gets is whole and each thread's
// lines arrive in order.
TEST(LoggerThreadsTest, ConcurrentLinesNeverInterleave) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string received;
  std::thread reader([&] {
    char buffer[1024];  // small reads: the writers block on a full pipe mid-line
    ssize_t n;
    while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) {
      received.append(buffer, static_cast<size_t>(n));
    }
  });
  constexpr int kThreads = 4;
  constexpr int kLines = 200;
  {
    Logger::Options options;
    options.format = Format::kJson;
    options.fd = fds[1];
    Logger logger(std::move(options));
    const Subsystem enrp = logger.Get("enrp");
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        const std::string filler(1000, static_cast<char>('a' + t));
        for (int i = 0; i < kLines; ++i) {
          RSPD_LOG(enrp, kInfo, "line")
              .Kv("thread", t)
              .Kv("seq", i)
              .Kv("f1", filler)
              .Kv("f2", filler)
              .Kv("f3", filler)
              .Kv("f4", filler)
              .Kv("f5", filler);
        }
      });
    }
    for (std::thread& w : writers) {
      w.join();
    }
    EXPECT_EQ(logger.stats().log_lines.load(), static_cast<uint64_t>(kThreads * kLines));
  }
  close(fds[1]);
  reader.join();
  close(fds[0]);
  std::vector<std::string> lines = absl::StrSplit(received, '\n');
  ASSERT_EQ(lines.back(), "");
  lines.pop_back();
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLines));
  std::vector<int> next(kThreads, 0);
  for (const std::string& line : lines) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << "not a whole line: " << line.substr(0, 200);
    const int t = j["thread"];
    ASSERT_GE(t, 0);
    ASSERT_LT(t, kThreads);
    EXPECT_EQ(j["seq"], next[t]);
    ++next[t];
    EXPECT_EQ(j["f5"], std::string(1000, static_cast<char>('a' + t)));
  }
}

// A closed descriptor loses the line and counts it; nothing else happens.
TEST(LoggerThreadsTest, CountsFailedWrites) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[1]);
  FakeClock clock;
  Logger logger(Opts(Format::kLogfmt, fds[1], &clock));
  RSPD_LOG(logger.Get("config"), kError, "lost");
  EXPECT_EQ(logger.stats().log_write_errors.load(), 1u);
  EXPECT_EQ(logger.stats().log_lines.load(), 0u);
  close(fds[0]);
}

TEST(DefaultLoggerTest, IsInfoLogfmtOnStderr) {
  EXPECT_EQ(Default().format(), Format::kLogfmt);
  EXPECT_EQ(Get("enrp").level(), Level::kInfo);
  EXPECT_EQ(&Get("enrp").logger(), &Default());
}

}  // namespace
}  // namespace rspd::log
