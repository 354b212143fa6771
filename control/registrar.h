// File: control/registrar.h
//
// The running registrar: the composition of the dataplane's I/O loop (packet
// I/O -> SCTP bridge -> whole messages), the handlespace shards (inline, or
// on lcores of their own behind rings: dataplane::ShardExecutor), the ASAP
// server (control/asap/), the ENRP server (control/enrp/) and the server
// announcer. It is the loop's application: it decodes each message by port
// and PPID (RFC 5352 §5: ASAP is PPID 11 on the ASAP port; RFC 5353 §5:
// ENRP is PPID 12 on the ENRP port) and hands it to the protocol logic,
// which answers through the loop's MessageSender; the shards' answers go
// back to whichever issued the command (handlespace/shard.h). ASAP is served
// once ENRP's initial download is complete (RFC 5353 §3.2.2). Run() returns when RequestStop()
// is called (from a signal handler thread or another thread), after the
// shard lcores have stopped.
//
// Depends on dataplane/, handlespace/, protocol/ and control/.
//
// Example:
//   auto registrar = Registrar::Create(config);
//   std::thread stopper([&] { WaitForSignal(); (*registrar)->RequestStop(); });
//   (*registrar)->Run();

#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "control/announcer.h"
#include "control/asap/asap_server.h"
#include "control/config.h"
#include "control/enrp/enrp_thread.h"
#include "control/log/log.h"
#include "control/management/server.h"
#include "control/management/snapshot.h"
#include "control/multicast_channel.h"
#include "control/security_policy.h"
#include "dataplane/dpdk_port_io.h"
#include "dataplane/io_loop.h"
#include "dataplane/shard_executor.h"
#include "dataplane/tls/tls_context.h"
#include "dataplane/udp_socket_io.h"

namespace rspd::control {

// Counters of the registrar's own (docs/style.md, "Counters").
// clang-format off
#define RSPD_REGISTRAR_STATS(X) \
  X(messages_not_asap, "whole messages on neither ASAP's nor ENRP's port and PPID (RFC 5352 §5, RFC 5353 §5): dropped") \
  X(asap_before_ready, "ASAP messages before ENRP's initial download was complete: dropped") \
  X(enrp_refused_unauthorized, "ENRP messages from identities the policy does not let peer (or take over): dropped") \
  X(enrp_refused_server_id, "ENRP messages whose server ID belongs to another identity, or to none yet while the identity's own is in use: dropped") \
  X(policy_reloads, "authorization policy reloads that took effect") \
  X(policy_reload_failures, "authorization policy reloads refused (the old policy stays)") \
  X(reconfigurations, "configurations taken at run time (SIGHUP)")
// clang-format on

struct RegistrarStats {
#define RSPD_REGISTRAR_STAT_FIELD(name, help) std::atomic<uint64_t> name{0};
  RSPD_REGISTRAR_STATS(RSPD_REGISTRAR_STAT_FIELD)
#undef RSPD_REGISTRAR_STAT_FIELD
  static void Bump(std::atomic<uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  template <typename Fn>
  void ForEach(Fn fn) const {
#define RSPD_REGISTRAR_STAT_EXPORT(name, help) \
  fn(#name, help, name.load(std::memory_order_relaxed));
    RSPD_REGISTRAR_STATS(RSPD_REGISTRAR_STAT_EXPORT)
#undef RSPD_REGISTRAR_STAT_EXPORT
  }
};

class Registrar final : private dataplane::IoLoop::Application,
                        private dataplane::IoLoop::Watcher,
                        private management::Source {
 public:
  static absl::StatusOr<std::unique_ptr<Registrar>> Create(const RegistrarConfig& config);
  ~Registrar();

  // The UDP port actually bound (differs from the configured one when that is 0).
  uint16_t udp_port() const { return udp_port_; }
  const RegistrarConfig& config() const { return config_; }
  // "to GROUP:PORT every ..." or why announces are off.
  const std::string& announce_status() const { return announce_status_; }
  // "GROUP:PORT" or why ENRP's multicast PRESENCE is off.
  const std::string& enrp_multicast_status() const { return enrp_multicast_status_; }

  void Run();
  void RequestStop() { loop_->RequestStop(); }
  // Makes the loop print every counter ("statistics:" and "name value"
  // lines) to stdout at its next tick; safe from any thread.
  void RequestStats() { stats_requested_.store(true, std::memory_order_relaxed); }
  // Applies what of `next` can change while running (SIGHUP): the limits
  // of ASAP and the handlespace, the rate limits, the authorization policy,
  // added static ENRP peers.
  // Associations and PEs stay; settings that need a restart are not read
  // (config.h, RuntimeChanges). Safe from any thread; takes effect at the
  // loop's next tick.
  void RequestReconfigure(const RegistrarConfig& next);
  // What the management interface's server reads (docs/management.md);
  // the server must stop before the registrar is destroyed.
  management::Source* management_source() { return this; }
  // What the secure ports accept, one line each; empty when TLS is off.
  std::string DescribeSecurity() const;

  size_t shard_count() const { return shards_->shard_count(); }
  bool shards_threaded() const { return shards_->threaded(); }
  // Counters of every layer, "name value" per line; on the loop's thread or
  // after Run() returns.
  std::string DescribeStats() const;
  // The UDP receive buffer the kernel granted (bytes).
  int udp_receive_buffer() const { return udp_receive_buffer_; }
  // Where SCTP packets come in: the UDP socket, or the DPDK ports with their
  // addresses; one line each.
  const std::string& io_description() const { return io_description_; }

 private:
  using Tick = dataplane::IoLoop::Tick;
  explicit Registrar(const RegistrarConfig& config);
  // The packet I/O backend config_.io names.
  absl::StatusOr<std::unique_ptr<dataplane::PacketIo>> OpenPacketIo();
  // A secure registrar's TLS contexts and policy (config_.secure()).
  absl::Status OpenSecurity();
  // Whether the ENRP message `in`, which arrived at `now`, may be taken
  // (docs/security.md).
  bool AuthorizeEnrp(const dataplane::InboundMessage& in, Tick now);
  // Whether `identity` may speak as server `id` (docs/security.md, "Server
  // IDs"): an ID belongs to the identity that uses it, and an identity has
  // one ID; either may change once the old binding has been silent for
  // max_time_last_heard (a restart with a new ID, or on another machine).
  bool BindServerId(absl::string_view identity, uint32_t id, Tick now);
  void ReloadPolicy();
  void Reconfigure(const RegistrarConfig& next);
  // Calls fn(name, help, value, gauge) for the counters of every layer
  // (and the gauges that need no shard: sessions, peers, associations).
  using CounterFn = absl::FunctionRef<void(const char* name, const char* help, uint64_t value)>;
  void ForEachCounter(CounterFn fn) const;

  // management::Source (registrar_management.cc): the HTTP threads' requests
  // wait here for the I/O thread, which serves them at its next tick.
  struct ManagementQuery;
  bool Status(management::StatusSnapshot* out, absl::Duration timeout) override;
  bool Pools(management::PoolsSnapshot* out, absl::Duration timeout) override;
  bool Pool(const std::string& handle, size_t max, management::PoolSnapshot* out,
            absl::Duration timeout) override;
  bool Peers(management::PeersSnapshot* out, absl::Duration timeout) override;
  bool Ask(const std::shared_ptr<ManagementQuery>& query, absl::Duration timeout);
  // On the I/O thread: starts every queued query.
  void ServeManagement(Tick now);
  void Start(ManagementQuery& query, Tick now);
  // A shard or the ENRP thread answered part of `query`; the last part
  // completes it.
  void PartDone(ManagementQuery* query, Tick now);
  void FillStatus(ManagementQuery& query, Tick now);
  // Once a second: the rates /api/status reports.
  void SampleRates(Tick now);

  // dataplane::IoLoop::Application.
  void OnMessage(const dataplane::InboundMessage& message, Tick now) override;
  void OnAssociationDown(const dataplane::AssocRef& assoc, uint16_t local_port, Tick now) override;
  void OnInputDone(Tick now) override;
  void OnTick(Tick now) override;
  bool Busy() const override { return shards_->in_flight() != 0; }
  bool IsPriority(const void* peer) const override { return asap_->HoldsPes(peer); }
  // dataplane::IoLoop::Watcher: the announcer's and ENRP's multicast
  // sockets (and the ENRP thread's eventfd, which only wakes the loop for
  // OnInputDone).
  void OnReadable(Tick now) override;

  RegistrarConfig config_;
  log::Subsystem security_log_ = log::Get("security");
  log::Subsystem config_log_ = log::Get("config");
  // Security: before the loop, which holds channels made from the contexts.
  std::unique_ptr<dataplane::tls::TlsContext> asap_tls_;         // ASAP server side
  std::unique_ptr<dataplane::tls::TlsContext> enrp_tls_server_;  // peers calling us
  std::unique_ptr<dataplane::tls::TlsContext> enrp_tls_client_;  // us calling peers
  std::unique_ptr<SecurityPolicy> policy_;
  struct BoundId {
    uint32_t id;
    Tick last_used;
  };
  absl::flat_hash_map<std::string, BoundId> server_id_of_;  // identity -> its ID
  absl::flat_hash_map<uint32_t, std::string> identity_of_;  // ID -> its identity
  uint16_t udp_port_ = 0;
  int udp_receive_buffer_ = 0;
  std::string io_description_;
  std::unique_ptr<dataplane::IoLoop> loop_;
  // The handlespace shards, inline or on their lcores.
  std::unique_ptr<dataplane::ShardExecutor> shards_;
  // Takes every answered shard command to its issuer.
  void CollectAnswers(Tick now);

  std::unique_ptr<AsapServer> asap_;
  // ENRP on its control thread.
  std::unique_ptr<EnrpThread> enrp_;
  bool enrp_started_ = false;
  std::unique_ptr<ServerAnnouncer> announcer_;
  std::string announce_status_;
  std::unique_ptr<MulticastChannel> enrp_multicast_;
  std::string enrp_multicast_status_;
  uint64_t shards_busy_seen_ = 0;
  RegistrarStats stats_;
  std::atomic<bool> stats_requested_{false};

  // SIGHUP's new configuration, for the loop's next tick.
  absl::Mutex reconfigure_mu_;
  std::unique_ptr<RegistrarConfig> reconfigure_ ABSL_GUARDED_BY(reconfigure_mu_);
  std::atomic<bool> reconfigure_requested_{false};

  // The management interface (docs/management.md). Queries wait in
  // management_queue_ until the loop's tick, then in management_running_
  // until every part is answered.
  absl::Time started_ = absl::Now();
  absl::Mutex management_mu_;
  std::vector<std::shared_ptr<ManagementQuery>> management_queue_ ABSL_GUARDED_BY(management_mu_);
  std::atomic<bool> management_pending_{false};
  std::vector<std::shared_ptr<ManagementQuery>> management_running_;  // I/O thread
  struct RateSample {
    Tick at = 0;
    uint64_t asap_messages = 0, registrations = 0, resolutions = 0, enrp_messages = 0;
  };
  RateSample last_sample_;
  management::Rates rates_;
};

}  // namespace rspd::control
