// File: tools/snmp/rspd_snmp_main.cc
//
// rspd-snmp: an AgentX subagent (RFC 2741) that serves RSERPOOL-MIB
// (RFC 5525) to the host's snmpd from rspd's management interface
// (docs/management.md). Two threads: a fetcher reads /api/status,
// /api/pools, /api/pool for each pool and /api/peers every --refresh and
// converts them (mib_rows.h); the net-snmp thread swaps the new snapshot in
// between requests (agent.h), so a walk reads one consistent copy. When rspd
// does not answer, the last good copy is served for three refresh periods,
// then the tables are emptied; both are said on stderr, at most once a
// minute. SIGTERM or SIGINT stops it.
//
// Example:
//   rspd-snmp --management_address=127.0.0.1:9911 --agentx_socket=/var/agentx/master
//   snmpwalk -v2c -c public -m +RSERPOOL-MIB localhost RSERPOOL-MIB::rserpoolMIB

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/management/http_client.h"
#include "tools/snmp/agent.h"
#include "tools/snmp/mib_rows.h"

// net-snmp's headers must come in this order.
// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
// clang-format on

ABSL_FLAG(std::string, management_address, "127.0.0.1:9911",
          "HOST:PORT of rspd's management interface (rspd --management_address)");
ABSL_FLAG(std::string, agentx_socket, "/var/agentx/master",
          "the AgentX master's socket: a Unix socket path, or tcp:HOST:PORT (snmpd.conf "
          "agentXSocket)");
ABSL_FLAG(absl::Duration, refresh, absl::Seconds(5),
          "how often to re-read rspd (100ms to 1h); a copy is served between refreshes");
ABSL_FLAG(int64_t, max_pool_elements, 100000,
          "most rows in rserpoolENRPPoolElementTable (1 to 10000000); more are left out, and "
          "stderr says so");

namespace rspd::tools::snmp {
namespace {

using control::management::HttpGet;
using control::management::HttpResponse;

// /api/pools and /api/pool answer at most this many entries
// (docs/management.md, "limit").
constexpr size_t kApiLimit = 100000;
// How long a failure or a truncation is not repeated on stderr.
constexpr absl::Duration kLogInterval = absl::Minutes(1);
// The last good copy is served for this many refresh periods.
constexpr int kStaleRefreshes = 3;

std::atomic<bool> stop_requested{false};
int wake_pipe[2] = {-1, -1};

void OnStopSignal(int) {
  stop_requested.store(true);
  char byte = 's';
  // Wakes the net-snmp loop's select(); nothing else is safe here.
  ssize_t ignored = write(wake_pipe[1], &byte, 1);
  (void)ignored;
}

struct Options {
  std::string management_address;
  std::string agentx_socket;
  absl::Duration refresh;
  size_t max_pool_elements;
};

absl::StatusOr<Options> ReadFlags() {
  Options o;
  o.management_address = absl::GetFlag(FLAGS_management_address);
  if (o.management_address.empty() || o.management_address.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--management_address must be HOST:PORT (rspd's --management_address); got \"",
                     o.management_address, "\""));
  }
  o.agentx_socket = absl::GetFlag(FLAGS_agentx_socket);
  if (o.agentx_socket.empty()) {
    return absl::InvalidArgumentError(
        "--agentx_socket must be a Unix socket path or tcp:HOST:PORT; got \"\"");
  }
  o.refresh = absl::GetFlag(FLAGS_refresh);
  if (o.refresh < absl::Milliseconds(100) || o.refresh > absl::Hours(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--refresh must be 100ms to 1h; got ", absl::FormatDuration(o.refresh)));
  }
  int64_t max = absl::GetFlag(FLAGS_max_pool_elements);
  if (max < 1 || max > 10000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_pool_elements must be 1 to 10000000; got ", max));
  }
  o.max_pool_elements = static_cast<size_t>(max);
  return o;
}

class Fetcher {
 public:
  explicit Fetcher(const Options& options) : options_(options) {}

  // Reads rspd once and converts the answers.
  absl::StatusOr<MibSnapshot> FetchOnce() const {
    SnapshotBuilder builder(options_.max_pool_elements);
    absl::StatusOr<std::string> status = Get("/api/status");
    if (!status.ok()) return status.status();
    if (absl::Status s = builder.SetStatus(*status); !s.ok()) return s;

    absl::StatusOr<std::string> list =
        Get(absl::StrCat("/api/pools?sort=handle&limit=", kApiLimit));
    if (!list.ok()) return list.status();
    bool truncated = false;
    size_t skipped = 0;
    absl::StatusOr<std::vector<PoolRef>> pools = ParsePoolList(*list, &truncated, &skipped);
    if (!pools.ok()) return pools.status();
    if (truncated) builder.NoteTruncated();
    builder.NoteSkipped(skipped);
    for (const PoolRef& pool : *pools) {
      size_t limit = std::min(builder.remaining(), kApiLimit);
      if (limit == 0) {
        builder.NoteTruncated();
        break;
      }
      absl::StatusOr<HttpResponse> r = HttpGet(
          options_.management_address,
          absl::StrCat("/api/pool?handle_hex=", pool.handle_hex, "&limit=", limit), Timeout());
      if (!r.ok()) return r.status();
      if (r->status == 404) continue;  // the pool went away since /api/pools
      if (r->status != 200) return HttpError("/api/pool", *r);
      if (absl::Status s = builder.AddPool(r->body); !s.ok()) return s;
    }

    absl::StatusOr<std::string> peers = Get("/api/peers");
    if (!peers.ok()) return peers.status();
    if (absl::Status s = builder.SetPeers(*peers); !s.ok()) return s;
    return std::move(builder).Finish();
  }

 private:
  // A request's deadline: the refresh period, within 1-5 s (rspd answers
  // 503 itself after 2 s when its registrar is stuck; docs/management.md).
  absl::Duration Timeout() const {
    return std::clamp(options_.refresh, absl::Seconds(1), absl::Seconds(5));
  }

  static absl::Status HttpError(absl::string_view path, const HttpResponse& r) {
    return absl::UnavailableError(
        absl::StrCat("GET ", path, ": HTTP ", r.status, " ", r.body.substr(0, 200)));
  }

  absl::StatusOr<std::string> Get(const std::string& path) const {
    absl::StatusOr<HttpResponse> r = HttpGet(options_.management_address, path, Timeout());
    if (!r.ok()) return r.status();
    if (r->status != 200) return HttpError(path, *r);
    return std::move(r->body);
  }

  const Options& options_;
};

// Hands snapshots from the fetcher thread to the net-snmp thread.
class Mailbox {
 public:
  void Put(MibSnapshot snapshot) {
    {
      absl::MutexLock lock(&mutex_);
      pending_ = std::move(snapshot);
    }
    char byte = 'r';
    ssize_t ignored = write(wake_pipe[1], &byte, 1);
    (void)ignored;
  }
  std::optional<MibSnapshot> Take() {
    absl::MutexLock lock(&mutex_);
    std::optional<MibSnapshot> out = std::move(pending_);
    pending_.reset();
    return out;
  }

 private:
  absl::Mutex mutex_;
  std::optional<MibSnapshot> pending_ ABSL_GUARDED_BY(mutex_);
};

// The fetcher thread: every --refresh, read rspd and post the result.
void FetchLoop(const Options& options, Mailbox* mailbox, absl::Notification* stop) {
  Fetcher fetcher(options);
  std::optional<absl::Time> last_good;
  bool failing = false, emptied = false;
  absl::Time last_failure_log = absl::InfinitePast();
  absl::Time last_truncation_log = absl::InfinitePast();
  size_t last_skipped = 0;
  while (!stop->HasBeenNotified()) {
    absl::Time started = absl::Now();
    absl::StatusOr<MibSnapshot> snapshot = fetcher.FetchOnce();
    absl::Time now = absl::Now();
    if (snapshot.ok()) {
      if (failing) {
        fprintf(stderr, "rspd-snmp: rspd at %s answers again; serving its data\n",
                options.management_address.c_str());
      }
      failing = emptied = false;
      last_good = now;
      if (snapshot->truncated && now - last_truncation_log >= kLogInterval) {
        fprintf(stderr,
                "rspd-snmp: rserpoolENRPPoolElementTable truncated to %zu rows "
                "(--max_pool_elements=%zu, or rspd's own answer limits)\n",
                snapshot->pool_elements, options.max_pool_elements);
        last_truncation_log = now;
      }
      if (snapshot->skipped != last_skipped) {
        fprintf(stderr, "rspd-snmp: %zu rows or addresses without valid values left out\n",
                snapshot->skipped);
        last_skipped = snapshot->skipped;
      }
      mailbox->Put(*std::move(snapshot));
    } else {
      bool stale = !last_good.has_value() || now - *last_good >= kStaleRefreshes * options.refresh;
      if (!failing || now - last_failure_log >= kLogInterval) {
        fprintf(stderr, "rspd-snmp: cannot read rspd at %s: %s; %s\n",
                options.management_address.c_str(),
                std::string(snapshot.status().message()).c_str(),
                stale ? "serving empty tables"
                      : "serving the last good copy for up to 3 refresh periods");
        last_failure_log = now;
      }
      failing = true;
      if (stale && !emptied) {
        if (last_good.has_value()) {
          fprintf(stderr, "rspd-snmp: no answer from rspd for %s; tables emptied\n",
                  absl::FormatDuration(now - *last_good).c_str());
        }
        mailbox->Put(MibSnapshot());
        emptied = true;
      }
    }
    fflush(stderr);
    // Waits until the next refresh is due or the main thread stops.
    stop->WaitForNotificationWithTimeout(started + options.refresh - absl::Now());
  }
}

struct Context {
  MibAgent* agent;
  Mailbox* mailbox;
};

// net-snmp calls this when the wake pipe is readable: a new snapshot or a
// stop.
void OnWake(int fd, void* data) {
  char buffer[64];
  while (read(fd, buffer, sizeof(buffer)) > 0) {
  }
  auto* context = static_cast<Context*>(data);
  if (std::optional<MibSnapshot> snapshot = context->mailbox->Take()) {
    context->agent->Replace(*std::move(snapshot));
  }
}

// absl's parser exits 1 on an unknown flag or a bad value; a bad command
// line is exit 2 here, as for the range checks. So each "--name[=value]"
// (or "--name value") is looked up and its value parsed first.
bool CheckFlags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    size_t equals = arg.find('=');
    absl::string_view name = arg.substr(0, equals);
    // absl's own --help*, --version, --flagfile...: left to absl.
    if (absl::StartsWith(name, "help") || name == "version" || name == "only_check_args" ||
        name == "flagfile" || name == "fromenv" || name == "tryfromenv" || name == "undefok") {
      continue;
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && absl::StartsWith(name, "no")) {
      flag = absl::FindCommandLineFlag(name.substr(2));
      if (flag != nullptr && flag->IsOfType<bool>()) continue;
      flag = nullptr;
    }
    if (flag == nullptr) {
      fprintf(stderr, "rspd-snmp: unknown flag --%s (--help lists them)\n",
              std::string(name).c_str());
      return false;
    }
    if (flag->IsOfType<bool>() && equals == absl::string_view::npos) continue;
    absl::string_view value;
    if (equals != absl::string_view::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      fprintf(stderr, "rspd-snmp: --%s needs a value\n", std::string(name).c_str());
      return false;
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      fprintf(stderr, "rspd-snmp: --%s=%s: %s\n", std::string(name).c_str(),
              std::string(value).c_str(), error.c_str());
      return false;
    }
  }
  return true;
}

int Run(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "rspd-snmp [--management_address=HOST:PORT] [--agentx_socket=PATH|tcp:HOST:PORT] "
      "[--refresh=5s] [--max_pool_elements=N]\n"
      "Serves RSERPOOL-MIB (RFC 5525) over AgentX from rspd's management interface.");
  if (!CheckFlags(argc, argv)) return 2;
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() > 1) {
    fprintf(stderr, "rspd-snmp: unexpected argument \"%s\" (it takes flags only; --help)\n",
            args[1]);
    return 2;
  }
  absl::StatusOr<Options> options = ReadFlags();
  if (!options.ok()) {
    fprintf(stderr, "rspd-snmp: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }

  if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
    perror("rspd-snmp: pipe2");
    return 1;
  }
  // Without SA_RESTART: the signal interrupts net-snmp's select().
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // net-snmp's AgentX subagent setup: log to stderr, be a subagent of the
  // master at --agentx_socket, and retry it every 5 s when it is not there
  // (snmpd started later or restarted).
  snmp_enable_stderrlog();
  // The subagent resolves no names: load no MIB modules (and print none of
  // the parser's complaints about missing ones).
  setenv("MIBS", "", /*overwrite=*/1);
  netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
  netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET,
                        options->agentx_socket.c_str());
  netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, 5);
  SOCK_STARTUP;
  init_agent("rspd-snmp");
  MibAgent agent;
  if (!agent.Register()) return 1;
  init_snmp("rspd-snmp");

  Mailbox mailbox;
  Context context{&agent, &mailbox};
  register_readfd(wake_pipe[0], OnWake, &context);
  fprintf(stderr, "rspd-snmp: serving RSERPOOL-MIB from rspd at %s over AgentX at %s\n",
          options->management_address.c_str(), options->agentx_socket.c_str());
  fflush(stderr);

  // The fetcher must not take the stop signals: they are to interrupt
  // select() here.
  sigset_t stop_signals, previous;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);
  absl::Notification stop_fetcher;
  std::thread fetcher(FetchLoop, std::cref(*options), &mailbox, &stop_fetcher);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);

  while (!stop_requested.load()) {
    agent_check_and_process(1);
  }
  fprintf(stderr, "rspd-snmp: stopping\n");
  stop_fetcher.Notify();
  fetcher.join();
  unregister_readfd(wake_pipe[0]);
  snmp_shutdown("rspd-snmp");
  SOCK_CLEANUP;
  return 0;
}

}  // namespace
}  // namespace rspd::tools::snmp

int main(int argc, char** argv) { return rspd::tools::snmp::Run(argc, argv); }
