// `rspctl top`: rspd's state refreshed in the terminal, like top(1): the
// status and its rates, then the busiest pools (RFC 5351 §2) with their
// registrations and resolutions per second since the previous refresh,
// busiest first. Reads the management interface (docs/management.md):
// /api/status and /api/pools?sort=busiest&limit=K, K the pools that fit the
// terminal's height (20 without a terminal).
//
// q or Ctrl-C quits; --iterations=N stops after N refreshes (scripts,
// tests). With stdin a terminal, it is put in non-canonical mode without
// echo (q is read at once) and restored on every way out: SIGINT and
// SIGTERM are blocked and read from a signalfd, so they end the loop rather
// than the process.

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "tools/rspctl_commands.h"
#include "tools/rspctl_flags.h"
#include "tools/rspctl_views.h"
#include "tools/stop_signals.h"

ABSL_FLAG(absl::Duration, interval, absl::Seconds(1), "top: time between refreshes, more than 0");
ABSL_FLAG(int64_t, iterations, 0,
          "top: stop after this many refreshes, 0 to 1000000000 (0: until q or Ctrl-C)");

namespace rspd::tools {
namespace {

// Pools listed without a terminal to measure (the brief screen of a log).
constexpr int kDefaultPoolRows = 20;
// The width to cut lines at without a terminal: wide enough for any line.
constexpr int kDefaultColumns = 1000;
// ANSI: cursor home, then erase the whole screen.
constexpr char kClearScreen[] = "\033[H\033[2J";

// Non-canonical input without echo on a terminal, for as long as it lives.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (!isatty(fd_) || tcgetattr(fd_, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);  // ISIG stays: Ctrl-C is SIGINT
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    active_ = tcsetattr(fd_, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) tcsetattr(fd_, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  bool active() const { return active_; }

 private:
  const int fd_;
  termios saved_{};
  bool active_ = false;
};

struct ScreenSize {
  int rows;
  int columns;
};

// The terminal's size; without one, room for kDefaultPoolRows pools.
ScreenSize Measure() {
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row > 0) {
    return {size.ws_row, size.ws_col > 0 ? size.ws_col : kDefaultColumns};
  }
  return {TopView::kHeaderLines + kDefaultPoolRows + 1, kDefaultColumns};
}

// One refresh's screen (the last line without a newline, so that a full
// screen does not scroll).
absl::StatusOr<std::string> Refresh(TopView& view, const std::string& address) {
  const ScreenSize size = Measure();
  const int rows = size.rows - 1;  // the cursor's line after the last
  absl::StatusOr<nlohmann::json> status = FetchJson(address, "/api/status", kManagementTimeout);
  if (!status.ok()) return status.status();
  absl::StatusOr<nlohmann::json> pools =
      FetchJson(address, absl::StrCat("/api/pools?sort=busiest&limit=", TopView::PoolRows(rows)),
                kManagementTimeout);
  if (!pools.ok()) return pools.status();
  absl::StatusOr<std::string> screen =
      view.Render(*status, *pools, absl::Now(), rows, size.columns);
  if (screen.ok() && !screen->empty() && screen->back() == '\n') screen->pop_back();
  return screen;
}

enum class Wait { kTimeUp, kQuit };

// Until `deadline`, reading keys from a raw terminal (q quits) and the stop
// signals from `signals`.
Wait AwaitNext(absl::Time deadline, int signals, bool keys) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return Wait::kTimeUp;
    pollfd fds[2] = {{signals, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    const int timeout_ms =
        static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
    const int n = poll(fds, keys ? 2 : 1, timeout_ms);
    if (n < 0 && errno != EINTR) return Wait::kQuit;
    if (n <= 0) continue;
    if (fds[0].revents & POLLIN) return Wait::kQuit;  // SIGINT or SIGTERM
    if (keys && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buffer[64];
      const ssize_t got = read(STDIN_FILENO, buffer, sizeof(buffer));
      if (got <= 0 && (fds[1].revents & (POLLHUP | POLLERR))) keys = false;  // terminal gone
      for (ssize_t i = 0; i < got; ++i) {
        if (buffer[i] == 'q' || buffer[i] == 'Q') return Wait::kQuit;
      }
    }
  }
}

int RunTop(const std::vector<std::string>& args) {
  constexpr absl::string_view kCommand = "top";
  if (!args.empty()) {
    return UsageError(
        kCommand, absl::InvalidArgumentError(absl::StrCat("unexpected argument '", args[0], "'")));
  }
  if (absl::GetFlag(FLAGS_json)) {
    return UsageError(kCommand, absl::InvalidArgumentError(
                                    "--json is for status, pools and pool; top is for a terminal"));
  }
  const absl::Duration interval = absl::GetFlag(FLAGS_interval);
  if (absl::Status s = CheckPositive("--interval", interval); !s.ok()) {
    return UsageError(kCommand, s);
  }
  const int64_t iterations = absl::GetFlag(FLAGS_iterations);
  if (absl::Status s = CheckRange("--iterations", iterations, 0, 1000000000); !s.ok()) {
    return UsageError(kCommand, s);
  }
  const std::string address = ManagementAddress();

  sigset_t stop = BlockStopSignals();
  const int signals = signalfd(-1, &stop, SFD_CLOEXEC);
  if (signals < 0) {
    fprintf(stderr, "rspctl top: signalfd: %s\n", strerror(errno));
    return 1;
  }
  int exit_status = 0;
  {
    RawTerminal terminal(STDIN_FILENO);  // restored when this block ends
    TopView view;
    for (int64_t i = 0; iterations == 0 || i < iterations; ++i) {
      const absl::Time next = absl::Now() + interval;
      absl::StatusOr<std::string> screen = Refresh(view, address);
      if (!screen.ok() && i == 0) {
        // Nothing shown yet: the error alone, as the other views give it.
        fprintf(stderr, "rspctl top: %s\n", std::string(screen.status().message()).c_str());
        exit_status = absl::IsInvalidArgument(screen.status()) ? kUsageError : 1;
        break;
      }
      // Later, a failed refresh is shown and retried: rspd may be restarting.
      const std::string text =
          screen.ok() ? *screen
                      : absl::StrCat("rspctl top: ", screen.status().message(), "\nretrying every ",
                                     absl::FormatDuration(interval), "; q quits");
      printf("%s%s", kClearScreen, text.c_str());
      fflush(stdout);
      if (iterations != 0 && i + 1 == iterations) break;
      if (AwaitNext(next, signals, terminal.active()) == Wait::kQuit) break;
    }
  }
  close(signals);
  if (exit_status == 0) printf("\n");
  return exit_status;
}

}  // namespace

const Command kTopCommand = {
    "top",
    "rspd's status and busiest pools, refreshed like top(1); q quits ([--management=HOST:PORT] "
    "[--interval=1s] [--iterations=N])",
    RunTop};

}  // namespace rspd::tools
