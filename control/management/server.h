// File: control/management/server.h
//
// The management interface's HTTP server (docs/management.md), on civetweb:
// GET /metrics (OpenMetrics), /api/status, /api/pools, /api/pool,
// /api/peers. It reads the registrar through a Source, on civetweb's own
// threads, which wait for the registrar's I/O thread to fill a snapshot and
// render it themselves; the I/O thread only copies numbers. Read-only:
// nothing a client sends changes the registrar.
//
// Example:
//   absl::StatusOr<std::unique_ptr<ManagementServer>> server =
//       ManagementServer::Start("127.0.0.1:0", &source);
//   printf("management http://%s\n", (*server)->address().c_str());

#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/management/render.h"
#include "control/management/snapshot.h"
#include "protocol/address.h"

struct mg_context;
struct mg_connection;

namespace rspd::control::management {

// "HOST:PORT" or "[V6]:PORT" of an IP address (no name) and a port of
// digits, 0 to 65535; InvalidArgument naming --management_address else.
absl::StatusOr<protocol::HostPort> ParseListenAddress(absl::string_view address);

// What the server asks of the registrar. Each call may come from any of the
// server's threads and returns false when the registrar did not answer
// within `timeout` (its I/O thread stopped, or overloaded).
class Source {
 public:
  virtual ~Source() = default;
  virtual bool Status(StatusSnapshot* out, absl::Duration timeout) = 0;
  virtual bool Pools(PoolsSnapshot* out, absl::Duration timeout) = 0;
  // Up to `max` PEs of the pool `handle` (bytes).
  virtual bool Pool(const std::string& handle, size_t max, PoolSnapshot* out,
                    absl::Duration timeout) = 0;
  virtual bool Peers(PeersSnapshot* out, absl::Duration timeout) = 0;
};

// Counters of the server itself, in /metrics too.
// clang-format off
#define RSPD_MANAGEMENT_STATS(X) \
  X(management_requests, "management HTTP requests answered") \
  X(management_bad_requests, "management requests refused: not GET, unknown path, bad query (4xx)") \
  X(management_timeouts, "management requests the registrar did not answer in time (503)")
// clang-format on

class ManagementServer {
 public:
  // How long a request waits for the registrar.
  static constexpr absl::Duration kTimeout = absl::Seconds(2);
  // Requests served at once (civetweb's worker threads); more wait in the
  // listening socket's backlog. A client gets kRequestTimeoutMillis to send
  // its request, so that a few slow ones hold the workers only that long.
  static constexpr int kThreads = 8;
  static constexpr int kRequestTimeoutMillis = 2000;
  // /api/pools and /api/pool: items per answer by default and at most.
  static constexpr size_t kDefaultLimit = 1000;
  static constexpr size_t kMaxLimit = 100000;

  // Listens on `address` ("HOST:PORT", "[V6]:PORT"; port 0: any free port).
  // `source` must outlive the server; `version` is rspd's, for /api/status.
  static absl::StatusOr<std::unique_ptr<ManagementServer>> Start(const std::string& address,
                                                                 Source* source,
                                                                 std::string version = "");
  ~ManagementServer();  // stops serving, waits for requests in progress
  ManagementServer(const ManagementServer&) = delete;
  ManagementServer& operator=(const ManagementServer&) = delete;

  // "HOST:PORT" actually bound.
  const std::string& address() const { return address_; }
  // Calls fn(name, help, value) for the server's counters.
  template <typename Fn>
  void ForEachCounter(Fn fn) const {
#define RSPD_MANAGEMENT_STAT_EXPORT(name, help) \
  fn(#name, help, name##_.load(std::memory_order_relaxed));
    RSPD_MANAGEMENT_STATS(RSPD_MANAGEMENT_STAT_EXPORT)
#undef RSPD_MANAGEMENT_STAT_EXPORT
  }

 private:
  explicit ManagementServer(Source* source) : source_(source) {}
  static int Handle(mg_connection* conn, void* self);
  // The answer to one request: status code, content type, body.
  void Serve(mg_connection* conn);

  Source* source_;
  std::string version_;
  mg_context* context_ = nullptr;
  std::string address_;
  // Written by several server threads: atomic increments (not a fast path).
#define RSPD_MANAGEMENT_STAT_FIELD(name, help) std::atomic<uint64_t> name##_{0};
  RSPD_MANAGEMENT_STATS(RSPD_MANAGEMENT_STAT_FIELD)
#undef RSPD_MANAGEMENT_STAT_FIELD
};

}  // namespace rspd::control::management
