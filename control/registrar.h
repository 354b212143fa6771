// File: control/registrar.h
//
// The running registrar on the socket I/O backend: one UDP socket (SCTP over
// UDP, RFC 6951) -> SCTP bridge (usrsctp AF_CONN) -> ASAP server ->
// handlespace shards, in one loop on the I/O thread; the shards run inline
// (--shard_lcores=0, DESIGN.md "Small machines") or on lcores of their own
// behind rings (ShardExecutor). Run() returns when RequestStop() is called
// (from a signal handler thread or another thread), after the shard lcores
// have stopped.
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
#include "control/shard_executor.h"
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

  size_t shard_count() const { return shards_->shard_count(); }
  bool shards_threaded() const { return shards_->threaded(); }
  // Counters of every layer, "name value" per line; after Run() returns.
  std::string DescribeStats() const;

 private:
  explicit Registrar(const RegistrarConfig& config);
  static uint64_t NowMillis();

  RegistrarConfig config_;
  std::unique_ptr<dataplane::UdpSocketIo> io_;
  std::unique_ptr<dataplane::SctpBridge> bridge_;
  // The handlespace shards, inline or on their lcores.
  std::unique_ptr<ShardExecutor> shards_;
  std::unique_ptr<AsapServer> asap_;
  std::unique_ptr<ServerAnnouncer> announcer_;
  std::string announce_status_;
  std::atomic<bool> stop_{false};
  uint64_t now_ = 0;
};

}  // namespace rspd::control
