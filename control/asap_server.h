// File: control/asap_server.h
//
// The registrar's side of ASAP (RFC 5352): registration, re-registration and
// deregistration of PEs (§3.1, §3.2), handle resolution (§3.3), endpoint
// keep-alives to owned PEs (§3.4), unreachable reports (§3.5), lifetime
// expiry, and ASAP_ERROR for what cannot be decoded (§2.2.14). It decodes
// each message on the I/O thread, turns what touches the handlespace into a
// command for the pool's shard (ShardExecutor: inline, or on shard lcores
// through rings) and sends the answer when the shard has processed it
// (CollectAnswers). It never reads a shard's table.
//
// What the registrar knows about its own PEs beyond the handlespace (the
// association, keep-alive state) is a Session per PE, created and removed
// only when the shard's answer arrives, so it always mirrors the shard as
// of the last answer (a shard answers in submission order). A session whose
// removal is in flight is `removing` and ignored until the shard confirms.
// Keep-alive rounds and ack deadlines are timers on a timing wheel: each
// tick costs the sessions due, not all of them. Time is an argument in
// milliseconds.
//
// Example:
//   ShardExecutor shards({});
//   AsapServer server(config, &shards, send);
//   server.OnMessage(assoc, remote_ip, remote_port, message, now_ms);
//   server.CollectAnswers(now_ms);   // the replies go out here
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
#include "control/shard_executor.h"
#include "handlespace/shard.h"
#include "handlespace/timer_wheel.h"
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
  X(keep_alives_deferred) \
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
  X(shards_busy) \
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

  // `shards` must outlive the server.
  AsapServer(const RegistrarConfig& config, ShardExecutor* shards, SendFn send);

  // One ASAP message from `from`, whose remote transport address is
  // `remote_ip` / `remote_port` (RFC 5352 §3.1 rule 4 records it as the PE's
  // ASAP transport and checks the PE's addresses against it).
  void OnMessage(const AssocRef& from, const handlespace::IpAddress& remote_ip,
                 uint16_t remote_port, absl::Span<const uint8_t> message, Tick now);
  // The association is gone: its PEs can no longer be reached by keep-alive.
  void OnAssociationDown(const AssocRef& assoc, Tick now);
  // Lifetimes, keep-alive rounds and keep-alive timeouts due at `now`.
  void OnTimer(Tick now);
  // Takes the shards' answers and sends the replies they complete. Inline,
  // everything submitted so far is answered when this returns.
  void CollectAnswers(Tick now);
  // Shard commands not yet collected.
  size_t in_flight() const { return shards_->in_flight(); }

  const AsapServerStats& stats() const { return stats_; }

 private:
  // What a shard command is for, and what its answer completes.
  enum class JobKind : uint8_t {
    kRegistration,          // REGISTRATION_RESPONSE to `from`
    kDeregistration,        // DEREGISTRATION_RESPONSE to `from`
    kDeregistrationLookup,  // a deregistration of a PE without a session
    kResolution,            // HANDLE_RESOLUTION_RESPONSE to `from`
    kRemoval,               // a PE the registrar removes (counted in `reason`)
    kExpiry,                // lifetimes of one shard
  };
  struct Job {
    handlespace::ShardRequest request;
    JobKind kind = JobKind::kResolution;
    AssocRef from;
    std::atomic<uint64_t>* reason = nullptr;  // kRemoval, kDeregistration
    uint32_t shard = 0;                       // kExpiry
  };
  // What the registrar knows about an owned PE beyond the handlespace.
  struct Session {
    std::string key;                          // SessionKey(); empty while the slot is free
    AssocRef assoc;                           // up: a lost association's sessions are `removing`
    bool removing = false;                    // a removal is in flight
    bool removal_by_pe = false;               // ... asked for by the PE (deregistration)
    Tick ack_deadline = handlespace::kNever;  // set while a keep-alive is unanswered
    int bad_reports = 0;
  };
  static constexpr uint32_t kNoSession = 0xffffffffu;
  static std::string SessionKey(absl::string_view handle, uint32_t pe_id);

  void HandleRegistration(const AssocRef& from, const handlespace::IpAddress& remote_ip,
                          uint16_t remote_port, const protocol::Message& m, Tick now);
  void HandleDeregistration(const AssocRef& from, const protocol::Message& m);
  // A deregistration of a PE with a session (RFC 5352 §3.2, RFC 5355 §2.1).
  void DeregisterSession(uint32_t slot, const AssocRef& from, absl::string_view handle,
                         uint32_t pe_id);
  void HandleResolution(const AssocRef& from, const protocol::Message& m);
  void HandleKeepAliveAck(const protocol::Message& m, Tick now);
  void HandleUnreachable(const protocol::Message& m, Tick now);

  void OnAnswer(Job& job, Tick now);
  void FinishRegistration(Job& job, Tick now);
  void FinishDeregistrationLookup(Job& job);
  void FinishResolution(const Job& job);
  void FinishRemoval(const Job& job);
  void FinishExpiry(Job& job);

  Job* NewJob(JobKind kind, handlespace::ShardOp op, absl::string_view handle);
  // Submits to the handle's shard (or `shard`); false (job released) when
  // the shard is busy and `must_run` is false.
  bool Submit(Job* job, bool must_run);
  bool SubmitToShard(uint32_t shard, Job* job, bool must_run);
  void Release(Job* job);

  uint32_t FindSession(absl::string_view handle, uint32_t pe_id) const;
  uint32_t AddSession(std::string key);
  void EraseSession(uint32_t slot);
  // Removes the PE from the handlespace; its session goes when the shard confirms.
  void Remove(uint32_t slot, std::atomic<uint64_t>& reason);
  void StartRemoval(uint32_t slot, Job* job);
  void SendKeepAlive(uint32_t slot, Tick now);
  Tick KeepAliveDelay();

  void Reply(const AssocRef& to, const protocol::Message& m);
  // ASAP_ERROR for what could not be taken (RFC 5354 §3, §4), counted.
  void SendErrorReport(const AssocRef& to, const protocol::DecodeError& error);
  void RejectRegistration(const AssocRef& to, absl::string_view handle, uint32_t pe_id,
                          const protocol::ErrorCause& error);
  void ReplyWithCause(const AssocRef& to, protocol::AsapType type, absl::string_view handle,
                      const uint32_t* pe_id, protocol::Cause cause);

  RegistrarConfig config_;
  ShardExecutor* shards_;
  SendFn send_;
  absl::BitGen jitter_;  // keep-alive jitter (not selection: shards own their Prng)
  std::vector<std::unique_ptr<Job>> jobs_;
  std::vector<Job*> free_jobs_;
  std::vector<bool> expiry_in_flight_;  // per shard
  std::vector<Session> sessions_;
  std::vector<uint32_t> free_sessions_;
  absl::flat_hash_map<std::string, uint32_t> session_index_;
  // Per session: the next keep-alive, or the ack deadline while one is out.
  handlespace::TimerWheel keep_alive_timers_;
  std::vector<uint32_t> fired_;
  // Keep-alive pacing (--max_keep_alives_per_second): a token bucket that
  // holds at most a tenth of a second's worth.
  double keep_alive_tokens_ = 0;
  Tick next_expiry_ = 0;
  Tick keep_alive_refill_ = 0;
  std::vector<uint8_t> buffer_;
  AsapServerStats stats_;
};

}  // namespace rspd::control
