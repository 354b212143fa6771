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
// Abuse and overload (docs/limits.md): every association has a cap on the
// PEs it may register and rate limits on resolutions and registrations, all
// answered with Lack of Resources (0x6) and counted. An unreachable report
// (§3.5) counts once per reporting address within a window, and reporters
// are rate-limited: one host, over any number of associations, cannot remove
// a PE that answers its keep-alives. The registrar's own overload (an
// OverloadMonitor the I/O loop feeds) defers keep-alive removals and
// lifetime expiries, so that what the registrar failed to hear is not taken
// for a dead PE. A PE the registrar removes while its association is up is
// told with a DEREGISTRATION_RESPONSE (§2.2.4), and so is a PE that answers a
// keep-alive for a registration the registrar no longer has, so that it
// registers again.
//
// Example:
//   ShardExecutor shards({});
//   OverloadMonitor overload;
//   AsapServer server(config, &shards, send, &overload);
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
#include "absl/hash/hash.h"
#include "absl/random/random.h"
#include "absl/types/span.h"
#include "control/config.h"
#include "control/overload.h"
#include "control/shard_executor.h"
#include "dataplane/token_bucket.h"
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

// Counters, declared once. Every reject and drop has its own, so that every
// message received is in exactly one of: registrations, reregistrations,
// registrations_rejected, deregistrations, deregistrations_refused,
// resolutions, resolutions_rate_limited, keep_alive_acks,
// keep_alive_acks_unknown, keep_alive_acks_ignored, keep_alive_acks_foreign,
// unreachable_reports,
// malformed_messages, unsupported_messages, errors_received.
// clang-format off
#define RSPD_ASAP_SERVER_STATS(X) \
  X(messages_received) \
  X(registrations) \
  X(reregistrations) \
  X(registrations_rejected) \
  X(registrations_refused_association_cap) \
  X(registrations_rate_limited) \
  X(registrations_refused_pe_id_in_use) \
  X(registrations_contested) \
  X(deregistrations) \
  X(deregistrations_refused) \
  X(resolutions) \
  X(resolutions_unknown_pool) \
  X(resolutions_rate_limited) \
  X(keep_alives_sent) \
  X(keep_alives_deferred) \
  X(keep_alive_acks) \
  X(keep_alive_acks_unknown) \
  X(keep_alive_acks_ignored) \
  X(keep_alive_acks_foreign) \
  X(keep_alive_removals_deferred) \
  X(expiries_deferred) \
  X(removal_notices_sent) \
  X(unreachable_reports) \
  X(unreachable_reports_not_ours) \
  X(unreachable_reports_repeated) \
  X(unreachable_reports_rate_limited) \
  X(removed_by_deregistration) \
  X(removed_by_lifetime) \
  X(removed_by_keep_alive) \
  X(removed_by_unreachable) \
  X(removed_by_association_loss) \
  X(malformed_messages) \
  X(unsupported_messages) \
  X(errors_sent) \
  X(errors_received) \
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

  // `shards` and `overload` (optional: null means never overloaded) must
  // outlive the server.
  AsapServer(const RegistrarConfig& config, ShardExecutor* shards, SendFn send,
             const OverloadMonitor* overload = nullptr);

  // One ASAP message from `from`, whose remote transport address is
  // `remote_ip` / `remote_port` (RFC 5352 §3.1 rule 4 records it as the PE's
  // ASAP transport and checks the PE's addresses against it).
  void OnMessage(const AssocRef& from, const protocol::IpAddress& remote_ip, uint16_t remote_port,
                 absl::Span<const uint8_t> message, Tick now);
  // The association is gone: its PEs can no longer be reached by keep-alive.
  void OnAssociationDown(const AssocRef& assoc, Tick now);
  // Lifetimes, keep-alive rounds and keep-alive timeouts due at `now`.
  void OnTimer(Tick now);
  // Takes the shards' answers and sends the replies they complete. Inline,
  // everything submitted so far is answered when this returns.
  void CollectAnswers(Tick now);
  // Shard commands not yet collected.
  size_t in_flight() const { return shards_->in_flight(); }
  // Whether PEs are registered over an association of transport peer `peer`
  // (the I/O loop serves such peers first when it falls behind).
  bool HoldsPes(const void* peer) const { return pes_by_peer_.contains(peer); }
  // Registered PEs this registrar is home of.
  size_t session_count() const { return session_index_.size(); }

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
    bool new_here = false;                    // kRegistration: a PE `from` does not hold yet
  };
  // A PE: its pool handle and identifier (RFC 5354 §3.9: unique in its pool).
  struct SessionKey {
    std::string handle;
    uint32_t pe_id = 0;
  };
  struct SessionKeyView {
    absl::string_view handle;
    uint32_t pe_id = 0;
  };
  struct SessionKeyHash {
    using is_transparent = void;
    size_t operator()(const SessionKeyView& k) const { return absl::HashOf(k.handle, k.pe_id); }
    size_t operator()(const SessionKey& k) const {
      return (*this)(SessionKeyView{k.handle, k.pe_id});
    }
  };
  struct SessionKeyEq {
    using is_transparent = void;
    static SessionKeyView View(const SessionKey& k) { return {k.handle, k.pe_id}; }
    static SessionKeyView View(const SessionKeyView& k) { return k; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return View(a).pe_id == View(b).pe_id && View(a).handle == View(b).handle;
    }
  };
  static constexpr uint32_t kNoSession = 0xffffffffu;
  // One unreachable report (RFC 5352 §3.5) against a PE.
  struct Report {
    protocol::IpAddress reporter;
    Tick at = 0;
  };
  // What the registrar knows about an owned PE beyond the handlespace.
  struct Session {
    SessionKey key;
    bool in_use = false;
    AssocRef assoc;                           // up: a lost association's sessions are `removing`
    bool removing = false;                    // a removal is in flight
    bool removal_by_pe = false;               // ... asked for by the PE (deregistration)
    Tick ack_deadline = handlespace::kNever;  // set while a keep-alive is unanswered
    Tick keep_alive_sent = 0;                 // when that keep-alive went out
    // The association's list of sessions (AssocState::first_session).
    uint32_t prev_in_assoc = kNoSession;
    uint32_t next_in_assoc = kNoSession;
    bool linked = false;
    // Distinct reporters within the report window, at most MAX-BAD-PE-REPORT.
    std::vector<Report> reports;
    // A registration of this PE from another association, waiting for the
    // holder to show it is alive (then Non-unique PE Identifier) or not.
    Job* contender = nullptr;
    Tick contest_deadline = 0;
  };
  // Per association: its PEs and its rate limits. Created by its first
  // message, dropped when it goes down.
  struct AssocState {
    uint32_t first_session = kNoSession;
    uint32_t pes = 0;
    uint32_t pending_new = 0;  // registrations of new PEs in flight
    dataplane::TokenBucket resolutions;
    dataplane::TokenBucket registrations;
  };
  // Per reporting address (RFC 5355 §2.13): its report rate.
  struct Reporter {
    dataplane::TokenBucket reports;
    Tick last = 0;
  };

  void HandleRegistration(const AssocRef& from, const protocol::IpAddress& remote_ip,
                          uint16_t remote_port, const protocol::Message& m, Tick now);
  // The association's state, made on its first message.
  AssocState& StateOf(const AssocRef& assoc) { return assocs_[assoc]; }
  void HandleDeregistration(const AssocRef& from, const protocol::Message& m);
  // A deregistration of a PE with a session (RFC 5352 §3.2, RFC 5355 §2.1).
  void DeregisterSession(uint32_t slot, const AssocRef& from, absl::string_view handle,
                         uint32_t pe_id);
  void HandleResolution(const AssocRef& from, const protocol::Message& m);
  void HandleKeepAliveAck(const AssocRef& from, const protocol::Message& m, Tick now);
  void HandleUnreachable(const protocol::IpAddress& reporter, const protocol::Message& m, Tick now);

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
  uint32_t AddSession(absl::string_view handle, uint32_t pe_id);
  void EraseSession(uint32_t slot);
  // Puts the session on its association's list (and takes it off another's).
  void LinkToAssoc(uint32_t slot, const AssocRef& assoc);
  void UnlinkFromAssoc(uint32_t slot);
  // Removes the PE from the handlespace; its session goes when the shard
  // confirms. `notify`: the PE is told (DEREGISTRATION_RESPONSE).
  void Remove(uint32_t slot, std::atomic<uint64_t>& reason, bool notify);
  void StartRemoval(uint32_t slot, Job* job);
  // A PE ID held by a live association, asked for by another (RFC 5352 §3.1
  // rule 3, RFC 5355 §2.3): the holder is probed; Settle decides.
  void Contest(uint32_t slot, Job* contender, Tick now);
  // The holder answered (`holder_alive`): Non-unique PE Identifier for the
  // contender; or it did not, or is going: the contender's registration runs.
  void SettleContest(uint32_t slot, bool holder_alive);
  void SendKeepAlive(uint32_t slot, Tick now);
  Tick KeepAliveDelay();
  // Forgets reporters idle long enough that a new bucket would be as full.
  void SweepReporters(Tick now);

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
  const OverloadMonitor* overload_;
  absl::BitGen jitter_;  // keep-alive jitter (not selection: shards own their Prng)
  std::vector<std::unique_ptr<Job>> jobs_;
  std::vector<Job*> free_jobs_;
  std::vector<bool> expiry_in_flight_;  // per shard
  std::vector<Session> sessions_;
  std::vector<uint32_t> free_sessions_;
  absl::flat_hash_map<SessionKey, uint32_t, SessionKeyHash, SessionKeyEq> session_index_;
  absl::flat_hash_map<AssocRef, AssocState> assocs_;
  absl::flat_hash_map<const void*, uint32_t> pes_by_peer_;  // sessions per transport peer
  absl::flat_hash_map<protocol::IpAddress, Reporter> reporters_;
  std::vector<uint32_t> contested_;  // sessions with a contender
  Tick next_reporter_sweep_ = 0;
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
