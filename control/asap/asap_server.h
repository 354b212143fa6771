// File: control/asap/asap_server.h
//
// The registrar's side of ASAP (RFC 5352): registration, re-registration and
// deregistration of PEs (§3.1, §3.2), handle resolution (§3.3), endpoint
// keep-alives to owned PEs (§3.4), unreachable reports (§3.5), lifetime
// expiry, and ASAP_ERROR for what cannot be taken (§2.2.14). It is protocol
// logic only: it gets decoded messages with an association reference and
// sends through a dataplane::MessageSender (no socket, no usrsctp); what
// touches the handlespace becomes a command for the pool's shard
// (dataplane::ShardExecutor: inline, or on shard lcores through rings), and
// the answer goes out when the shard has processed it (CollectAnswers). It
// never reads a shard's table.
//
// Its parts: the sessions of its PEs and the associations' state
// (session_table.h), the keep-alive timers and pacing
// (keep_alive_scheduler.h), the pooled shard jobs (asap_jobs.h) and the
// encoding of every reply (replies.h). A session is created and removed only
// when the shard's answer arrives, so it mirrors the shard as of the last
// answer (a shard answers in submission order); a session whose removal is
// in flight is `removing` and ignored until the shard confirms. Time is an
// argument in milliseconds.
//
// Abuse and overload (docs/limits.md): every association has a cap on the
// PEs it may register and rate limits on resolutions and registrations, all
// answered with Lack of Resources (0x6) and counted. An unreachable report
// (§3.5) counts once per reporting address within a window, and reporters
// are rate-limited: one host, over any number of associations, cannot remove
// a PE that answers its keep-alives. The registrar's own overload (the I/O
// loop's OverloadMonitor) defers keep-alive removals and lifetime expiries,
// so that what the registrar failed to hear is not taken for a dead PE. A PE
// the registrar removes while its association is up is told with a
// DEREGISTRATION_RESPONSE (§2.2.4), and so is a PE that answers a keep-alive
// for a registration the registrar no longer has, so that it registers again.
//
// Depends on protocol/, handlespace/ and the dataplane's transport, shard
// executor and overload interfaces.
//
// Example:
//   dataplane::ShardExecutor shards({});
//   AsapServer server(config, &shards, &sender, &overload);
//   server.OnMessage(inbound, decoded, now_ms);
//   server.CollectAnswers(now_ms);   // the replies go out here
//   server.OnTimer(now_ms);

#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "control/asap/asap_jobs.h"
#include "control/asap/keep_alive_scheduler.h"
#include "control/asap/replies.h"
#include "control/asap/session_table.h"
#include "control/config.h"
#include "control/latency_histogram.h"
#include "control/message_counts.h"
#include "control/security_policy.h"
#include "dataplane/overload.h"
#include "dataplane/shard_executor.h"
#include "dataplane/token_bucket.h"
#include "dataplane/transport.h"
#include "protocol/codec.h"

namespace rspd::control {

// Told of every change to a PE this registrar is home of, once its shard has
// applied it: the ENRP server announces it to the peers (RFC 5353 §3.3).
class OwnedPeObserver {
 public:
  virtual void OnOwnedPeRegistered(absl::string_view handle, const protocol::PoolElement& pe) = 0;
  virtual void OnOwnedPeRemoved(absl::string_view handle, const protocol::PoolElement& pe) = 0;

 protected:
  ~OwnedPeObserver() = default;
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
  X(messages_received, "ASAP messages received") \
  X(registrations, "new PEs registered (RFC 5352 §3.1)") \
  X(reregistrations, "registrations of PEs already registered") \
  X(registrations_rejected, "registrations answered with an error cause") \
  X(registrations_refused_association_cap, "registrations refused (0x6): max_pes_per_association") \
  X(registrations_rate_limited, "registrations refused (0x6): max_registrations_per_second") \
  X(registrations_refused_insecure, "registrations refused (0xa): not over TLS at a secure registrar") \
  X(registrations_refused_unauthorized, "registrations refused (0xa): the policy does not allow the identity in the pool") \
  X(registrations_refused_pe_id_in_use, "registrations refused (0x4): the PE ID is held by a live association") \
  X(registrations_contested, "registrations of a PE ID held by another association (holder probed)") \
  X(deregistrations, "deregistrations answered with success (RFC 5352 §3.2)") \
  X(deregistrations_refused, "deregistrations refused: not the registering association, or busy") \
  X(resolutions, "handle resolutions taken (RFC 5352 §3.3)") \
  X(resolutions_unknown_pool, "handle resolutions answered with Unknown Pool Handle (0x9)") \
  X(resolutions_rate_limited, "handle resolutions refused (0x6): max_resolutions_per_second") \
  X(keep_alives_sent, "ENDPOINT_KEEP_ALIVEs sent (RFC 5352 §3.4)") \
  X(keep_alives_deferred, "keep-alives put off a tick: max_keep_alives_per_second") \
  X(keep_alive_acks, "ENDPOINT_KEEP_ALIVE_ACKs for our PEs") \
  X(keep_alive_acks_unknown, "keep-alive ACKs for PEs we do not hold (the PE is told)") \
  X(keep_alive_acks_ignored, "keep-alive ACKs for PEs being removed") \
  X(keep_alive_acks_foreign, "keep-alive ACKs on another association than the PE's") \
  X(keep_alive_removals_deferred, "keep-alive timeouts not acted on: the registrar was overloaded") \
  X(expiries_deferred, "lifetime checks put off: the registrar was overloaded") \
  X(removal_notices_sent, "DEREGISTRATION_RESPONSEs telling a PE it was removed") \
  X(adoption_keep_alives_sent, "ENDPOINT_KEEP_ALIVEs with the H bit to PEs taken over (RFC 5353 §3.5.2)") \
  X(adoption_keep_alives_failed, "H-bit keep-alives the transport could not send") \
  X(adoption_acks, "keep-alive ACKs from PEs taken over: they are ours, with a session") \
  X(adoption_acks_foreign, "keep-alive ACKs for PEs taken over, not from where their H-bit keep-alive went: ignored") \
  X(moved_away, "PEs that re-registered at another registrar (RFC 5353 §3.3): session dropped") \
  X(unreachable_reports, "ENDPOINT_UNREACHABLE reports (RFC 5352 §3.5)") \
  X(unreachable_reports_not_ours, "unreachable reports for PEs we are not home of, or already going") \
  X(unreachable_reports_repeated, "unreachable reports from a reporter already counted for the PE") \
  X(unreachable_reports_unauthorized, "unreachable reports ignored: not over TLS, or the policy does not allow the reporter") \
  X(unreachable_reports_rate_limited, "unreachable reports dropped: max_unreachable_reports_per_second") \
  X(removed_by_deregistration, "PEs removed: deregistration") \
  X(removed_by_lifetime, "PEs removed: registration lifetime ended") \
  X(removed_by_keep_alive, "PEs removed: keep-alive unanswered or unsendable") \
  X(removed_by_unreachable, "PEs removed: MAX-BAD-PE-REPORT distinct reporters") \
  X(removed_by_association_loss, "PEs removed: their association went down") \
  X(malformed_messages, "messages that did not decode") \
  X(unsupported_messages, "messages a registrar does not take (answered with ASAP_ERROR)") \
  X(errors_sent, "ASAP_ERRORs sent") \
  X(errors_received, "ASAP_ERRORs received") \
  X(shards_busy, "commands refused by a full shard ring (answered 0x6)") \
  X(send_failures, "replies the transport could not send")
// clang-format on

struct AsapServerStats {
#define RSPD_STAT_FIELD(name, help) std::atomic<uint64_t> name{0};
  RSPD_ASAP_SERVER_STATS(RSPD_STAT_FIELD)
#undef RSPD_STAT_FIELD
  // Owner-only increment: relaxed load and store, no read-modify-write.
  static void Bump(std::atomic<uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  // Calls fn(name, help, value) for every counter.
  template <typename Fn>
  void ForEach(Fn fn) const {
#define RSPD_STAT_EXPORT(name, help) fn(#name, help, name.load(std::memory_order_relaxed));
    RSPD_ASAP_SERVER_STATS(RSPD_STAT_EXPORT)
#undef RSPD_STAT_EXPORT
  }
};

class AsapServer {
 public:
  using InboundMessage = dataplane::InboundMessage;

  // `shards`, `sender` and `overload` (optional: null means never
  // overloaded) must outlive the server. `addressed` (optional) reaches PEs
  // taken over (Adopt).
  AsapServer(const RegistrarConfig& config, dataplane::ShardExecutor* shards,
             dataplane::MessageSender* sender, const dataplane::OverloadMonitor* overload = nullptr,
             dataplane::AddressedSender* addressed = nullptr);

  // Told of every change to a PE we own (optional; must outlive the server).
  void set_observer(OwnedPeObserver* observer) { observer_ = observer; }
  // A secure registrar's authorization (docs/security.md): with a policy,
  // registrations must come over TLS from an identity it allows (else cause
  // 0xa, RFC 5352 §9.3), and so must unreachable reports (else ignored).
  // Null: no security. `policy` must outlive its use; set on the I/O thread.
  void set_policy(const SecurityPolicy* policy) { policy_ = policy; }
  // Takes the limits of `next` that apply at run time (SIGHUP): PEs per
  // association, the rate limits, resolution items, MAX-BAD-PE-REPORT and
  // its window. Each is read per request, so the next one sees them.
  void UpdateLimits(const RegistrarConfig& next);
  // A shard's answer to one of our commands (the registrar routes the
  // shards' answers by family, handlespace/shard.h).
  void OnShardAnswer(handlespace::ShardCommand* command, Tick now);
  // A PE we were home of re-registered at another registrar (RFC 5352 §3.1
  // rule 4, told by its ADD_PE, RFC 5353 §3.3): its session goes, silently.
  void ForgetMovedPe(absl::string_view handle, uint32_t pe_id);
  // A PE that became ours without registering here (a takeover, RFC 5353
  // §3.5.2, or ours before a restart): it is sent an ENDPOINT_KEEP_ALIVE
  // with the H bit at its ASAP transport (paced with the keep-alives), so
  // that it takes us as home and registers again. Ignored for a PE that has
  // a session.
  void Adopt(absl::string_view handle, const protocol::PoolElement& pe, Tick now);
  // PEs waiting for their H-bit keep-alive.
  size_t adoption_backlog() const { return adoptions_.size(); }

  // One decoded ASAP message. `in` names the association, the sender's
  // transport address (RFC 5352 §3.1 rule 4 records it as the PE's ASAP
  // transport and checks the PE's addresses against it) and the bytes.
  void OnMessage(const InboundMessage& in, const protocol::Message& message, Tick now);
  // A message that did not decode (RFC 5354 §3, §4: reported when the
  // action bits or the fault ask for it).
  void OnUndecodable(const InboundMessage& in, const protocol::DecodeError& error);
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
  bool HoldsPes(const void* peer) const { return sessions_.HoldsPes(peer); }
  // Registered PEs this registrar is home of.
  size_t session_count() const { return sessions_.size(); }

  const AsapServerStats& stats() const { return stats_; }
  // ASAP messages by type, received and sent (the announcer's apart).
  const MessageCounts& message_counts() const { return message_counts_; }
  // From the loop turn of a REGISTRATION or HANDLE_RESOLUTION to the turn of
  // its answer.
  const LatencyHistogram& registration_latency() const { return registration_latency_; }
  const LatencyHistogram& resolution_latency() const { return resolution_latency_; }

 private:
  void HandleRegistration(const InboundMessage& in, const protocol::Message& m, Tick now);
  void HandleDeregistration(const AssocRef& from, const protocol::Message& m);
  // A deregistration of a PE with a session (RFC 5352 §3.2, RFC 5355 §2.1).
  void DeregisterSession(uint32_t slot, const AssocRef& from, absl::string_view handle,
                         uint32_t pe_id);
  void HandleResolution(const AssocRef& from, const protocol::Message& m, Tick now);
  void HandleKeepAliveAck(const dataplane::InboundMessage& in, const protocol::Message& m,
                          Tick now);
  void HandleUnreachable(const protocol::IpAddress& reporter, const protocol::Message& m, Tick now);

  void FinishRegistration(RegistrationJob& job, Tick now);
  void FinishDeregistrationLookup(ElementJob& job);
  void FinishResolution(const ResolutionJob& job);
  void FinishRemoval(const ElementJob& job);
  void FinishExpiry(ExpiryJob& job);

  // Submits to the handle's shard (or `shard`); false (job released) when
  // the shard is busy and `must_run` is false.
  template <typename J>
  bool Submit(J* job, JobPool<J>& pool, bool must_run);
  template <typename J>
  bool SubmitToShard(uint32_t shard, J* job, JobPool<J>& pool, bool must_run);
  RegistrationJob* NewRegistration(const AssocRef& from, absl::string_view handle,
                                   const protocol::PoolElement& pe, Tick expiry, bool new_here);

  // Removes the PE from the handlespace; its session goes when the shard
  // confirms. `notify`: the PE is told (DEREGISTRATION_RESPONSE).
  void Remove(uint32_t slot, std::atomic<uint64_t>& reason, bool notify);
  void StartRemoval(uint32_t slot, ElementJob* job);
  // A PE ID held by a live association, asked for by another (RFC 5352 §3.1
  // rule 3, RFC 5355 §2.3): the holder is probed; Settle decides.
  void Contest(uint32_t slot, RegistrationJob* contender, Tick now);
  // The holder answered (`holder_alive`): Non-unique PE Identifier for the
  // contender; or it did not, or is going: the contender's registration runs.
  void SettleContest(uint32_t slot, bool holder_alive);
  void SendKeepAlive(uint32_t slot, Tick now);
  // Forgets reporters idle long enough that a new bucket would be as full.
  void SweepReporters(Tick now);

  // A registration rejected with `error` (counted).
  void RejectRegistration(const AssocRef& to, absl::string_view handle, uint32_t pe_id,
                          const protocol::ErrorCause& error);
  void ReplyWithCause(const AssocRef& to, protocol::AsapType type, absl::string_view handle,
                      const uint32_t* pe_id, protocol::Cause cause);

  void SendAdoptionKeepAlives(Tick now);
  static uint64_t AdoptionKey(absl::string_view handle, uint32_t pe_id);

  // A PE to send an H-bit keep-alive to.
  struct Adoption {
    std::string handle;
    uint32_t pe_id;
    int32_t registration_life;
    protocol::IpAddress ip;
    uint16_t udp_port;
    uint16_t sctp_port;
  };
  // A PE sent an H-bit keep-alive, until it answers or `deadline`; only an
  // answer from where the keep-alive went counts.
  struct Adopted {
    Tick deadline;
    int32_t registration_life;
    protocol::IpAddress ip;
    uint16_t udp_port;
    uint16_t sctp_port;
  };
  // A PE taken over answered: it gets a session on the association it
  // answered on, and its lifetime anew (as if it had registered now).
  void FinishAdoption(const AssocRef& from, absl::string_view handle, uint32_t pe_id,
                      int32_t registration_life, Tick now);

  // Per reporting address (RFC 5355 §2.13): its report rate.
  struct Reporter {
    dataplane::TokenBucket reports;
    Tick last = 0;
  };

  RegistrarConfig config_;
  dataplane::ShardExecutor* shards_;
  dataplane::AddressedSender* addressed_;
  OwnedPeObserver* observer_ = nullptr;
  const SecurityPolicy* policy_ = nullptr;
  std::deque<Adoption> adoptions_;
  // PEs sent an H-bit keep-alive, by AdoptionKey: their ACK is expected
  // (no removal notice), until the deadline.
  absl::flat_hash_map<uint64_t, Adopted> adopted_;
  Tick next_adopted_sweep_ = 0;
  const dataplane::OverloadMonitor* overload_;
  // Before replies_, which counts into it.
  MessageCounts message_counts_;
  LatencyHistogram registration_latency_;
  LatencyHistogram resolution_latency_;
  AsapReplies replies_;
  SessionTable sessions_;
  KeepAliveScheduler keep_alives_;
  JobPool<RegistrationJob> registrations_;
  JobPool<ElementJob> element_jobs_;
  JobPool<ResolutionJob> resolutions_;
  JobPool<ExpiryJob> expiries_;
  std::vector<bool> expiry_in_flight_;  // per shard
  absl::flat_hash_map<protocol::IpAddress, Reporter> reporters_;
  std::vector<uint32_t> contested_;  // sessions with a contender
  Tick next_reporter_sweep_ = 0;
  Tick next_expiry_ = 0;
  std::vector<uint32_t> due_;  // scratch of OnTimer
  AsapServerStats stats_;
};

}  // namespace rspd::control
