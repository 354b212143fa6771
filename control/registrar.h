// File: control/registrar.h
//
// The running registrar on the socket I/O backend: one UDP socket (SCTP over
// UDP, RFC 6951) -> SCTP bridge (usrsctp AF_CONN) -> ASAP server ->
// handlespace shards, in one loop on the I/O thread; the shards run inline
// (--shard_lcores=0, the default, best on small machines) or on lcores of
// their own behind rings (ShardExecutor). Run() returns when RequestStop()
// is called (from a signal handler thread or another thread), after the
// shard lcores have stopped.
//
// Each turn of the loop reads what arrived into a two-class ingress queue
// (datagrams from remotes holding registered PEs first), processes it, and
// runs the timers; when it falls behind it raises overload signals, which
// defer keep-alive removals and expiries (docs/limits.md, "Overload").
//
// Example:
//   auto registrar = Registrar::Create(config);
//   std::thread stopper([&] { WaitForSignal(); (*registrar)->RequestStop(); });
//   (*registrar)->Run();

#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "control/announcer.h"
#include "control/asap_server.h"
#include "control/config.h"
#include "control/overload.h"
#include "control/shard_executor.h"
#include "dataplane/ingress_queue.h"
#include "dataplane/sctp_bridge.h"
#include "dataplane/socket_io.h"

namespace rspd::control {

class Registrar {
 public:
  static absl::StatusOr<std::unique_ptr<Registrar>> Create(const RegistrarConfig& config);
  ~Registrar();

  // The UDP port actually bound (differs from the configured one when that is 0).
  uint16_t udp_port() const { return io_->port(); }
  const RegistrarConfig& config() const { return config_; }
  // "to GROUP:PORT every ..." or why announces are off.
  const std::string& announce_status() const { return announce_status_; }

  void Run();
  void RequestStop() { stop_.store(true, std::memory_order_relaxed); }
  // Makes the loop print every counter ("statistics:" and "name value"
  // lines) to stdout at its next turn; safe from any thread.
  void RequestStats() { stats_requested_.store(true, std::memory_order_relaxed); }

  size_t shard_count() const { return shards_->shard_count(); }
  bool shards_threaded() const { return shards_->threaded(); }
  // Counters of every layer, "name value" per line; on the loop's thread or
  // after Run() returns.
  std::string DescribeStats() const;
  // The UDP receive buffer the kernel granted (bytes).
  int udp_receive_buffer() const { return io_->receive_buffer(); }

 private:
  explicit Registrar(const RegistrarConfig& config);
  static uint64_t NowMillis();
  static uint64_t NowMicros();
  // Reads what the socket holds, up to a budget, into the ingress queue.
  void Receive();
  // One datagram: queued in its class, or processed at once if too large.
  void Admit(const dataplane::Endpoint& from, absl::Span<const uint8_t> datagram);
  // Serves the ingress queue: every priority datagram, normal ones up to a
  // budget; then the replies go out.
  void Process();

  RegistrarConfig config_;
  std::unique_ptr<dataplane::UdpSocketIo> io_;
  std::unique_ptr<dataplane::SctpBridge> bridge_;
  // The handlespace shards, inline or on their lcores.
  std::unique_ptr<ShardExecutor> shards_;
  std::unique_ptr<AsapServer> asap_;
  std::unique_ptr<ServerAnnouncer> announcer_;
  std::string announce_status_;
  OverloadMonitor overload_;
  dataplane::IngressQueue ingress_;
  uint64_t shed_[2] = {0, 0};  // datagrams the ingress queue had no room for, per class
  bool shed_this_turn_ = false;
  uint64_t kernel_drops_seen_ = 0;
  uint64_t shards_busy_seen_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> stats_requested_{false};
  uint64_t now_ = 0;
};

}  // namespace rspd::control
