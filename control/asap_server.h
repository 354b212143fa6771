// File: control/asap_server.h
//
// The registrar's side of ASAP (RFC 5352): registration, re-registration and
// deregistration of PEs (§3.1, §3.2), handle resolution (§3.3), endpoint
// keep-alives to owned PEs (§3.4), unreachable reports (§3.5), lifetime
// expiry, and ASAP_ERROR for what cannot be decoded (§2.2.14). It decodes
// each message, applies it to the handlespace and sends the answer through a
// callback. Every handlespace change and resolution is a command to the
// pool's shard (`ShardOf`), processed inline: the I/O loop calls this
// (shards on the I/O lcore, DESIGN.md "Small machines"). Reads of a shard's
// table happen on the same thread. Time is an argument in milliseconds.
//
// Example:
//   AsapServer server(config, {&shard}, send);
//   server.OnMessage(assoc, remote_ip, message, now_ms);
//   server.OnTimer(now_ms);

#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/types/span.h"
#include "control/config.h"
#include "handlespace/pool_table.h"
#include "handlespace/router.h"
#include "handlespace/shard.h"
#include "protocol/codec.h"

namespace rspd::control {

// One ASAP association as the transport layer names it.
struct AssocRef {
  void* peer = nullptr;  // the transport's peer handle
  uint32_t assoc = 0;
  friend bool operator==(const AssocRef& a, const AssocRef& b) {
    return a.peer == b.peer && a.assoc == b.assoc;
  }
  template <typename H>
  friend H AbslHashValue(H h, const AssocRef& a) {
    return H::combine(std::move(h), a.peer, a.assoc);
  }
};

// Counters, declared once (STYLE rule 14). Every reject and drop has its own.
// clang-format off
#define RSPD_ASAP_SERVER_STATS(X) \
  X(registrations) \
  X(reregistrations) \
  X(registrations_rejected) \
  X(deregistrations) \
  X(resolutions) \
  X(resolutions_unknown_pool) \
  X(keep_alives_sent) \
  X(keep_alive_acks) \
  X(unreachable_reports) \
  X(removed_by_deregistration) \
  X(removed_by_lifetime) \
  X(removed_by_keep_alive) \
  X(removed_by_unreachable) \
  X(removed_by_association_loss) \
  X(malformed_messages) \
  X(unsupported_messages) \
  X(errors_sent) \
  X(send_failures)
// clang-format on

struct AsapServerStats {
#define RSPD_STAT_FIELD(name) std::atomic<uint64_t> name{0};
  RSPD_ASAP_SERVER_STATS(RSPD_STAT_FIELD)
#undef RSPD_STAT_FIELD
  // Owner-only increment: relaxed load and store, no read-modify-write.
  static void Bump(std::atomic<uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  // "name value" lines for every counter.
  std::string Describe() const;
};

class AsapServer {
 public:
  // Sends one ASAP message (PPID 11) on an association; false if it failed.
  using SendFn = std::function<bool(const AssocRef& to, absl::Span<const uint8_t> message)>;
  using Tick = handlespace::Tick;  // milliseconds

  AsapServer(const RegistrarConfig& config, std::vector<handlespace::HandlespaceShard*> shards,
             SendFn send);

  // One ASAP message from `from`, whose remote transport address is
  // `remote_ip` / `remote_port` (RFC 5352 §3.1 rule 4 records it as the PE's
  // ASAP transport and checks the PE's addresses against it).
  void OnMessage(const AssocRef& from, const handlespace::IpAddress& remote_ip,
                 uint16_t remote_port, absl::Span<const uint8_t> message, Tick now);
  // The association is gone: its PEs can no longer be reached by keep-alive.
  void OnAssociationDown(const AssocRef& assoc, Tick now);
  // Lifetimes, keep-alive rounds and keep-alive timeouts due at `now`.
  void OnTimer(Tick now);

  const AsapServerStats& stats() const { return stats_; }

 private:
  // What the registrar knows about an owned PE beyond the handlespace.
  struct Session {
    AssocRef assoc;
    bool assoc_up = true;
    Tick next_keep_alive = 0;
    Tick ack_deadline = handlespace::kNever;  // set while a keep-alive is unanswered
    int bad_reports = 0;
  };
  static std::string SessionKey(absl::string_view handle, uint32_t pe_id);

  void HandleRegistration(const AssocRef& from, const handlespace::IpAddress& remote_ip,
                          uint16_t remote_port, const protocol::Message& m, Tick now);
  void HandleDeregistration(const AssocRef& from, const protocol::Message& m);
  void HandleResolution(const AssocRef& from, const protocol::Message& m);
  void HandleKeepAliveAck(const protocol::Message& m, Tick now);
  void HandleUnreachable(const protocol::Message& m, Tick now);
  void SendKeepAlive(absl::string_view handle, uint32_t pe_id, Session& session, Tick now);
  void Remove(absl::string_view handle, uint32_t pe_id, std::atomic<uint64_t>& reason);
  void Reply(const AssocRef& to, const protocol::Message& m);
  handlespace::HandlespaceShard& ShardFor(absl::string_view handle);
  // kDeregister on the pool's shard; true if the PE was there.
  bool RemoveFromHandlespace(absl::string_view handle, uint32_t pe_id);
  Tick KeepAliveDelay();

  RegistrarConfig config_;
  std::vector<handlespace::HandlespaceShard*> shards_;
  SendFn send_;
  handlespace::ShardRequest request_;  // reused: no allocation once warm
  absl::BitGen jitter_;                // keep-alive jitter (not selection: shards own their Prng)
  absl::flat_hash_map<std::string, Session> sessions_;
  std::vector<uint8_t> buffer_;
  Tick next_sweep_ = 0;
  AsapServerStats stats_;
};

}  // namespace rspd::control
