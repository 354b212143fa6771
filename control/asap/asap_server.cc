// File: control/asap/asap_server.cc

#include "control/asap/asap_server.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "handlespace/pool_table.h"
#include "protocol/pool_element_codec.h"

namespace rspd::control {
namespace {

using handlespace::kNever;
using handlespace::kNoError;
using handlespace::ShardCommand;
using protocol::AsapType;
using protocol::Cause;
using protocol::ErrorCause;
using protocol::Message;

int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

// How often lifetimes are checked (milliseconds).
constexpr uint64_t kExpiryPeriod = 100;
// How long the holder of a contested PE ID has to answer its probe: a live
// PE answers within a round trip; a registration from a restarted PE waits
// this long at most (well inside a client's request timeout).
constexpr uint64_t kContestMillis = 1000;
// Contested registrations waiting at once; more are refused at once (0x4).
constexpr size_t kMaxContests = 1024;

}  // namespace

AsapServer::AsapServer(const RegistrarConfig& config, dataplane::ShardExecutor* shards,
                       dataplane::MessageSender* sender, const dataplane::OverloadMonitor* overload,
                       dataplane::AddressedSender* addressed)
    : config_(config),
      shards_(shards),
      addressed_(addressed),
      overload_(overload),
      replies_(sender, config.asap_port, &message_counts_),
      keep_alives_(Millis(config.keep_alive_interval), config.max_keep_alives_per_second),
      expiry_in_flight_(shards->shard_count(), false) {}

template <typename J>
bool AsapServer::Submit(J* job, JobPool<J>& pool, bool must_run) {
  return SubmitToShard(shards_->ShardFor(job->handle), job, pool, must_run);
}

template <typename J>
bool AsapServer::SubmitToShard(uint32_t shard, J* job, JobPool<J>& pool, bool must_run) {
  if (shards_->Submit(shard, job, must_run)) return true;
  // A full ring is back-pressure, counted and answered (docs/limits.md).
  AsapServerStats::Bump(stats_.shards_busy);
  pool.Release(job);
  return false;
}

void AsapServer::UpdateLimits(const RegistrarConfig& next) { TakeRuntimeSettings(next, &config_); }

RegistrationJob* AsapServer::NewRegistration(const AssocRef& from, absl::string_view handle,
                                             const protocol::PoolElement& pe, Tick expiry,
                                             bool new_here) {
  RegistrationJob* job = registrations_.Take(Purpose::kRegistration);
  job->from = from;
  job->new_here = new_here;
  job->handle.assign(handle.data(), handle.size());
  job->pe = pe;
  job->expiry = expiry;
  return job;
}

void AsapServer::CollectAnswers(Tick now) {
  // Inline, an answer may submit a follow-up (a deregistration after its
  // lookup), answered at once: collect until nothing is left.
  while (shards_->Collect([this, now](ShardCommand* c) { OnShardAnswer(c, now); }) != 0 &&
         !shards_->threaded()) {
  }
}

void AsapServer::OnShardAnswer(ShardCommand* command, Tick now) {
  switch (command->kind) {
    case ShardCommand::Kind::kRegister: {
      auto* job =
          static_cast<RegistrationJob*>(static_cast<handlespace::RegisterCommand*>(command));
      FinishRegistration(*job, now);
      registration_latency_.Observe(now - job->received);
      registrations_.Release(job);
      return;
    }
    case ShardCommand::Kind::kRemove:
    case ShardCommand::Kind::kLookup:
    case ShardCommand::Kind::kRenew: {
      auto* job = static_cast<ElementJob*>(static_cast<handlespace::ElementCommand*>(command));
      if (job->purpose == Purpose::kRenewal) {
        // Nothing to answer: the PE's lifetime runs anew.
      } else if (job->purpose == Purpose::kDeregistrationLookup) {
        FinishDeregistrationLookup(*job);
      } else {
        FinishRemoval(*job);
        if (job->purpose == Purpose::kDeregistration) {
          AsapServerStats::Bump(stats_.deregistrations);
          ReplyWithCause(job->from, AsapType::kDeregistrationResponse, job->handle, &job->pe_id,
                         kNoError);
        }
      }
      element_jobs_.Release(job);
      return;
    }
    case ShardCommand::Kind::kResolve: {
      auto* job = static_cast<ResolutionJob*>(static_cast<handlespace::ResolveCommand*>(command));
      FinishResolution(*job);
      resolution_latency_.Observe(now - job->received);
      resolutions_.Release(job);
      return;
    }
    case ShardCommand::Kind::kExpire: {
      auto* job = static_cast<ExpiryJob*>(static_cast<handlespace::ExpireCommand*>(command));
      FinishExpiry(*job);
      expiries_.Release(job);
      return;
    }
    default:
      return;  // ENRP's families are not ours (the registrar routes by family)
  }
}

void AsapServer::ReplyWithCause(const AssocRef& to, AsapType type, absl::string_view handle,
                                const uint32_t* pe_id, Cause cause) {
  if (!replies_.WithCause(to, type, handle, pe_id, cause)) {
    AsapServerStats::Bump(stats_.send_failures);
  }
}

void AsapServer::RejectRegistration(const AssocRef& to, absl::string_view handle, uint32_t pe_id,
                                    const ErrorCause& error) {
  AsapServerStats::Bump(stats_.registrations_rejected);
  if (!replies_.Response(to, AsapType::kRegistrationResponse, protocol::kFlagRegistrationReject,
                         handle, &pe_id, absl::MakeConstSpan(&error, 1))) {
    AsapServerStats::Bump(stats_.send_failures);
  }
}

void AsapServer::OnUndecodable(const InboundMessage& in, const protocol::DecodeError& error) {
  AsapServerStats::Bump(stats_.messages_received);
  AsapServerStats::Bump(stats_.malformed_messages);
  // RFC 5354 §3, §4: report when the action bits (or the fault) ask for it.
  if (error.report && replies_.ErrorReport(in.from, error)) {
    AsapServerStats::Bump(stats_.errors_sent);
  }
}

void AsapServer::OnMessage(const InboundMessage& in, const Message& m, Tick now) {
  AsapServerStats::Bump(stats_.messages_received);
  message_counts_.Received(m.type);
  const AssocRef& from = in.from;
  AssocState& assoc = sessions_.StateOf(from);
  if (m.unrecognized.count != 0) {
    // RFC 5354 §3 action bits 11: processed, and each skipped parameter is
    // reported in an Unrecognized Parameter cause.
    ErrorCause causes[protocol::Unrecognized::kMaxKept];
    const size_t n = std::min(m.unrecognized.count, protocol::Unrecognized::kMaxKept);
    for (size_t i = 0; i < n; ++i) {
      causes[i] = {Cause::kUnrecognizedParameter, m.unrecognized.params[i]};
    }
    if (replies_.Error(from, absl::MakeConstSpan(causes, n))) {
      AsapServerStats::Bump(stats_.errors_sent);
    }
  }
  switch (static_cast<AsapType>(m.type)) {
    case AsapType::kRegistration:
      // RFC 5352 §9.3, RFC 5355 §2.1-§2.4: a secure registrar takes
      // registrations over TLS only, from identities its policy allows in
      // the pool; nothing is looked at before that.
      if (policy_ != nullptr &&
          !(in.secure && policy_->MayRegister(in.peer_identity, m.pool_handle))) {
        AsapServerStats::Bump(in.secure ? stats_.registrations_refused_unauthorized
                                        : stats_.registrations_refused_insecure);
        RejectRegistration(from, m.pool_handle, m.pool_element.pe_id,
                           {Cause::kRejectedDueToSecurity, {}});
        return;
      }
      // docs/limits.md: registrations per association and second.
      if (!assoc.registrations.Take(now, config_.max_registrations_per_second,
                                    config_.max_registrations_per_second)) {
        AsapServerStats::Bump(stats_.registrations_rate_limited);
        RejectRegistration(from, m.pool_handle, m.pool_element.pe_id,
                           {Cause::kLackOfResources, {}});
        return;
      }
      HandleRegistration(in, m, now);
      return;
    case AsapType::kDeregistration:
      HandleDeregistration(from, m);
      return;
    case AsapType::kHandleResolution:
      // docs/limits.md: resolutions per association and second.
      if (!assoc.resolutions.Take(now, config_.max_resolutions_per_second,
                                  config_.max_resolutions_per_second)) {
        AsapServerStats::Bump(stats_.resolutions_rate_limited);
        ReplyWithCause(from, AsapType::kHandleResolutionResponse, m.pool_handle, nullptr,
                       Cause::kLackOfResources);
        return;
      }
      HandleResolution(from, m, now);
      return;
    case AsapType::kEndpointKeepAliveAck:
      HandleKeepAliveAck(in, m, now);
      return;
    case AsapType::kEndpointUnreachable:
      // RFC 5355 §2.13: false reports could remove healthy PEs; a secure
      // registrar counts only those of identities its policy allows.
      if (policy_ != nullptr && !(in.secure && policy_->MayReport(in.peer_identity))) {
        AsapServerStats::Bump(stats_.unreachable_reports_unauthorized);
        return;
      }
      HandleUnreachable(in.remote_ip, m, now);
      return;
    case AsapType::kError:
      AsapServerStats::Bump(stats_.errors_received);
      return;  // a peer's report about something we sent; nothing to answer
    default: {
      // Messages a registrar does not take (responses, announces, cookies,
      // business cards): RFC 5352 §2.2.14 answers them with ASAP_ERROR.
      AsapServerStats::Bump(stats_.unsupported_messages);
      protocol::DecodeError unsupported;
      unsupported.cause = Cause::kUnrecognizedMessage;
      unsupported.offending = in.data;
      if (replies_.ErrorReport(from, unsupported)) AsapServerStats::Bump(stats_.errors_sent);
      return;
    }
  }
}

void AsapServer::HandleRegistration(const InboundMessage& in, const Message& m, Tick now) {
  const AssocRef& from = in.from;
  protocol::PoolElement pe;
  Cause cause = protocol::PoolElementFromView(m.pool_element, &pe);
  if (cause == kNoError) {
    // RFC 5352 §2.2.1: the PE's addresses must be the association's. Over
    // UDP encapsulation the registrar sees one of them, the packets' source;
    // a multi-homed PE (RSPLIB binds all its addresses) lists more, so the
    // source must be among the PE's addresses (docs/decisions.md).
    bool source_listed = false;
    for (size_t i = 0; i < pe.user.addresses.size; ++i) {
      source_listed |= pe.user.addresses.items[i] == in.remote_ip;
    }
    if (!source_listed) cause = Cause::kInvalidValues;
  }
  if (cause != kNoError) {
    // Cause information (RFC 5354 §3.12): the offending Pool Element for 0x3.
    uint8_t info[1024];
    protocol::Writer w(absl::MakeSpan(info));
    if (cause == Cause::kInvalidValues) protocol::EncodePoolElement(w, m.pool_element);
    ErrorCause error{cause, {}};
    if (!w.overflow()) error.info = absl::MakeConstSpan(info, w.content_end());
    RejectRegistration(from, m.pool_handle, m.pool_element.pe_id, error);
    return;
  }
  // docs/limits.md: PEs per association. Re-registrations of PEs the
  // association holds are never refused by it.
  const uint32_t known = sessions_.Find(m.pool_handle, pe.id);
  const bool new_here = known == kNoSession || sessions_[known].assoc != from;
  // RFC 5352 §3.1 rule 3, RFC 5355 §2.3: the PE ID is held by another
  // association that is still up. A PE that restarted re-registers so (its
  // old association lingers until SCTP notices), and so would an attacker
  // taking the PE over: the holder decides, by answering a keep-alive or not
  // (docs/decisions.md).
  const bool contested = new_here && known != kNoSession && !sessions_[known].removing &&
                         sessions_.Known(sessions_[known].assoc);
  if (contested && (sessions_[known].contender != nullptr || contested_.size() >= kMaxContests)) {
    AsapServerStats::Bump(stats_.registrations_refused_pe_id_in_use);
    RejectRegistration(from, m.pool_handle, pe.id, {Cause::kNonUniquePeIdentifier, {}});
    return;
  }
  AssocState& assoc = sessions_.StateOf(from);
  if (new_here &&
      assoc.pes + assoc.pending_new >= static_cast<uint32_t>(config_.max_pes_per_association)) {
    AsapServerStats::Bump(stats_.registrations_refused_association_cap);
    RejectRegistration(from, m.pool_handle, pe.id, {Cause::kLackOfResources, {}});
    return;
  }
  // RFC 5352 §3.1 rule 4: we become the home registrar and record the
  // source transport address as the PE's ASAP transport.
  pe.home = config_.server_id;
  pe.asap = protocol::AsapTransport();
  pe.asap.port = in.remote_port;
  pe.asap.udp_port = in.remote_udp_port;
  pe.asap.addresses.push_back(in.remote_ip);
  RegistrationJob* job = NewRegistration(
      from, m.pool_handle, pe,
      pe.registration_life < 0 ? kNever : now + static_cast<Tick>(pe.registration_life) * 1000,
      new_here);
  job->received = now;
  if (new_here) ++assoc.pending_new;
  if (contested) {
    Contest(known, job, now);
    return;
  }
  if (!Submit(job, registrations_, /*must_run=*/false)) {
    if (new_here) --assoc.pending_new;
    RejectRegistration(from, m.pool_handle, pe.id, {Cause::kLackOfResources, {}});
  }
}

void AsapServer::Contest(uint32_t slot, RegistrationJob* contender, Tick now) {
  Session& holder = sessions_[slot];
  AsapServerStats::Bump(stats_.registrations_contested);
  holder.contender = contender;
  holder.contest_deadline = now + kContestMillis;
  contested_.push_back(slot);
  // A keep-alive the holder must answer (one already out serves as well).
  if (holder.ack_deadline == kNever) SendKeepAlive(slot, now);
}

void AsapServer::SettleContest(uint32_t slot, bool holder_alive) {
  Session& holder = sessions_[slot];
  RegistrationJob* job = holder.contender;
  if (job == nullptr) return;
  holder.contender = nullptr;
  contested_.erase(std::find(contested_.begin(), contested_.end(), slot));
  if (!holder_alive) {
    // The holder is gone or silent: the newer registration runs, behind
    // whatever removal of the holder is queued (FinishRegistration).
    Submit(job, registrations_, /*must_run=*/true);
    return;
  }
  AssocState* assoc = sessions_.FindState(job->from);
  if (job->new_here && assoc != nullptr) --assoc->pending_new;
  AsapServerStats::Bump(stats_.registrations_refused_pe_id_in_use);
  RejectRegistration(job->from, job->handle, job->pe.id, {Cause::kNonUniquePeIdentifier, {}});
  registrations_.Release(job);
}

void AsapServer::FinishRegistration(RegistrationJob& r, Tick now) {
  AssocState* assoc = sessions_.FindState(r.from);
  if (r.new_here && assoc != nullptr) --assoc->pending_new;
  const Cause cause = r.result.cause;
  if (cause != kNoError) {
    // Cause information (RFC 5354 §3.12): the pool's policy for 0x5, a
    // transport of the pool's type for 0x7, the offending Pool Element for 0x3.
    uint8_t info[1024];
    protocol::Writer w(absl::MakeSpan(info));
    if (cause == Cause::kInconsistentPoolingPolicy && r.pool_known) {
      protocol::PolicyInfo pool_policy;
      pool_policy.type = r.pool.policy;
      protocol::EncodePolicy(w, protocol::PolicyToWire(pool_policy));
    } else if (cause == Cause::kInconsistentTransportType && r.pool_known) {
      // Only the type is what the cause tells; the values are the PE's.
      protocol::EncodeUserTransport(w, r.pe.user, r.pool.transport);
    } else if (cause == Cause::kInvalidValues) {
      protocol::EncodePoolElement(w, r.pe);
    }
    ErrorCause error{cause, {}};
    if (!w.overflow()) error.info = absl::MakeConstSpan(info, w.content_end());
    RejectRegistration(r.from, r.handle, r.pe.id, error);
    return;
  }
  uint32_t slot = sessions_.Find(r.handle, r.pe.id);
  if (slot != kNoSession && sessions_[slot].removing && !sessions_[slot].removal_by_pe) {
    // The registrar decided to remove the PE (keep-alive timeout, reports,
    // loss of the association it had used) from what it knew before this
    // registration was answered; the shard applies the removal after it.
    // The PE's newer word wins: register it again behind the removal, and
    // answer then.
    RegistrationJob* again = NewRegistration(r.from, r.handle, r.pe, r.expiry, r.new_here);
    again->received = r.received;
    if (r.new_here && assoc != nullptr) ++assoc->pending_new;
    Submit(again, registrations_, /*must_run=*/true);
    return;
  }
  AsapServerStats::Bump(r.result.added ? stats_.registrations : stats_.reregistrations);
  if (slot == kNoSession) {
    slot = sessions_.Add(r.handle, r.pe.id);
    keep_alives_.Reserve(sessions_.slot_count());
  }
  Session& session = sessions_[slot];
  // A PE that deregistered right after this registration is gone once the
  // deregistration is answered.
  if (!session.removing) {
    if (assoc == nullptr) {
      // The association went down while the shard registered the PE: it can
      // never be reached, as if it had been registered just before.
      sessions_.Unlink(slot);
      session.assoc = r.from;
      Remove(slot, stats_.removed_by_association_loss, /*notify=*/false);
      return;
    }
    sessions_.Link(slot, r.from);
    session.ack_deadline = kNever;
    keep_alives_.ScheduleRound(slot, now);
  }
  adopted_.erase(AdoptionKey(r.handle, r.pe.id));
  ReplyWithCause(r.from, AsapType::kRegistrationResponse, r.handle, &r.pe.id, kNoError);
  if (observer_ != nullptr) observer_->OnOwnedPeRegistered(r.handle, r.pe);
}

void AsapServer::HandleDeregistration(const AssocRef& from, const Message& m) {
  const uint32_t slot = sessions_.Find(m.pool_handle, m.pe_id);
  if (slot == kNoSession) {
    // Ours only if the shard has it with a session yet to come; someone
    // else's (RFC 5355 §2.1-2.4: no deregistration by proxy) if it has it
    // without; unknown otherwise.
    ElementJob* job = element_jobs_.Take(Purpose::kDeregistrationLookup);
    job->kind = ShardCommand::Kind::kLookup;
    job->from = from;
    job->handle.assign(m.pool_handle.data(), m.pool_handle.size());
    job->pe_id = m.pe_id;
    if (!Submit(job, element_jobs_, /*must_run=*/false)) {
      AsapServerStats::Bump(stats_.deregistrations_refused);
      ReplyWithCause(from, AsapType::kDeregistrationResponse, m.pool_handle, &m.pe_id,
                     Cause::kLackOfResources);
    }
    return;
  }
  DeregisterSession(slot, from, m.pool_handle, m.pe_id);
}

void AsapServer::DeregisterSession(uint32_t slot, const AssocRef& from, absl::string_view handle,
                                   uint32_t pe_id) {
  const Session& session = sessions_[slot];
  if (session.assoc != from) {
    // RFC 5355 §2.1-2.4: only over the association it registered on.
    AsapServerStats::Bump(stats_.deregistrations_refused);
    ReplyWithCause(from, AsapType::kDeregistrationResponse, handle, &pe_id,
                   Cause::kRejectedDueToSecurity);
    return;
  }
  if (session.removing) {
    // Already on its way out (keep-alive timeout, report, lifetime).
    AsapServerStats::Bump(stats_.deregistrations);
    ReplyWithCause(from, AsapType::kDeregistrationResponse, handle, &pe_id, kNoError);
    return;
  }
  ElementJob* job = element_jobs_.Take(Purpose::kDeregistration);
  job->from = from;
  job->reason = &stats_.removed_by_deregistration;
  StartRemoval(slot, job);
}

void AsapServer::FinishDeregistrationLookup(ElementJob& r) {
  const uint32_t slot = sessions_.Find(r.handle, r.pe_id);
  if (slot != kNoSession) {
    // Its registration was answered first: a session after all.
    DeregisterSession(slot, r.from, r.handle, r.pe_id);
    return;
  }
  if (r.found) {
    AsapServerStats::Bump(stats_.deregistrations_refused);
    ReplyWithCause(r.from, AsapType::kDeregistrationResponse, r.handle, &r.pe_id,
                   Cause::kRejectedDueToSecurity);
    return;
  }
  // RFC 5352 §3.2: an unknown PE is answered with success.
  AsapServerStats::Bump(stats_.deregistrations);
  ReplyWithCause(r.from, AsapType::kDeregistrationResponse, r.handle, &r.pe_id, kNoError);
}

void AsapServer::HandleResolution(const AssocRef& from, const Message& m, Tick now) {
  AsapServerStats::Bump(stats_.resolutions);
  // RFC 5356 "at most the requested number": RSPLIB's option asks for a
  // count; the configured maximum applies otherwise (docs/decisions.md).
  handlespace::ResolveOptions options;
  options.max_items = static_cast<uint32_t>(config_.max_handle_resolution_items);
  if (m.has_handle_resolution_items && m.handle_resolution_items > 0) {
    options.max_items = std::min<uint32_t>(m.handle_resolution_items,
                                           static_cast<uint32_t>(handlespace::kMaxResolutionItems));
  }
  ResolutionJob* job = resolutions_.Take(Purpose::kResolution);
  job->from = from;
  job->handle.assign(m.pool_handle.data(), m.pool_handle.size());
  job->options = options;
  job->received = now;
  if (!Submit(job, resolutions_, /*must_run=*/false)) {
    ReplyWithCause(from, AsapType::kHandleResolutionResponse, m.pool_handle, nullptr,
                   Cause::kLackOfResources);
  }
}

void AsapServer::FinishResolution(const ResolutionJob& r) {
  if (r.cause != kNoError || r.selected.empty()) {
    // RFC 5352 §3.3: a missing pool MUST be answered with Unknown Pool Handle.
    AsapServerStats::Bump(stats_.resolutions_unknown_pool);
    ReplyWithCause(r.from, AsapType::kHandleResolutionResponse, r.handle, nullptr,
                   Cause::kUnknownPoolHandle);
    return;
  }
  protocol::Writer w = replies_.Begin();
  protocol::BeginMessage(w, static_cast<uint8_t>(AsapType::kHandleResolutionResponse), 0);
  protocol::EncodePoolHandle(w, r.handle);
  // RFC 5352 §2.2.6 makes the overall policy optional (absent means Round
  // Robin), but RSPLIB 3.4.4 rejects a response with PEs and no policy
  // ("invalid TLV"; tests/rsplib_vm_interop_test): always included.
  if (r.pool_known) {
    protocol::PolicyInfo pool_policy;
    pool_policy.type = r.pool.policy;
    protocol::EncodePolicy(w, protocol::PolicyToWire(pool_policy));
  }
  for (const protocol::PoolElement& pe : r.selected) {
    protocol::EncodePoolElement(w, pe);
  }
  if (!replies_.SendWritten(r.from, protocol::FinishMessage(w))) {
    AsapServerStats::Bump(stats_.send_failures);
  }
}

void AsapServer::HandleKeepAliveAck(const InboundMessage& in, const Message& m, Tick now) {
  const AssocRef& from = in.from;
  const uint32_t slot = sessions_.Find(m.pool_handle, m.pe_id);
  if (slot == kNoSession) {
    if (auto it = adopted_.find(AdoptionKey(m.pool_handle, m.pe_id)); it != adopted_.end()) {
      // A PE taken over answers our H-bit keep-alive (RFC 5352 §3.4 KA2.4),
      // on the association to where the keep-alive went (its SCTP port over
      // the UDP port we sent to): anyone may learn a pool handle and PE ID,
      // and an ACK from elsewhere would give them the PE's session (RFC
      // 5355 §2.3). At a secure registrar, over TLS only, from an identity
      // the policy lets register in the pool.
      const Adopted& a = it->second;
      if (in.remote_ip != a.ip || in.remote_udp_port != a.udp_port ||
          in.remote_port != a.sctp_port ||
          (policy_ != nullptr &&
           !(in.secure && policy_->MayRegister(in.peer_identity, m.pool_handle)))) {
        AsapServerStats::Bump(stats_.adoption_acks_foreign);
        return;
      }
      const int32_t life = a.registration_life;
      adopted_.erase(it);
      FinishAdoption(from, m.pool_handle, m.pe_id, life, now);
      return;
    }
  }
  if (slot == kNoSession) {
    // A PE answering for a registration we no longer hold (removed while it
    // could not answer, or before a restart of ours): tell it, so that it
    // registers again (RFC 5352 §2.2.4). Paced like registrations, so that
    // forged ACKs cannot make us send more than registrations would.
    AsapServerStats::Bump(stats_.keep_alive_acks_unknown);
    if (sessions_.StateOf(from).registrations.Take(now, config_.max_registrations_per_second,
                                                   config_.max_registrations_per_second)) {
      AsapServerStats::Bump(stats_.removal_notices_sent);
      ReplyWithCause(from, AsapType::kDeregistrationResponse, m.pool_handle, &m.pe_id, kNoError);
    }
    return;
  }
  if (sessions_[slot].removing) {
    AsapServerStats::Bump(stats_.keep_alive_acks_ignored);  // its removal is under way
    return;
  }
  if (sessions_[slot].assoc != from) {
    // RFC 5352 §3.4 KA2: the ACK comes on the association of the
    // keep-alive. One from elsewhere cannot vouch for the PE.
    AsapServerStats::Bump(stats_.keep_alive_acks_foreign);
    return;
  }
  AsapServerStats::Bump(stats_.keep_alive_acks);
  SettleContest(slot, /*holder_alive=*/true);
  sessions_[slot].ack_deadline = kNever;
  keep_alives_.ScheduleRound(slot, now);
}

void AsapServer::SweepReporters(Tick now) {
  const double rate = config_.max_unreachable_reports_per_second;
  for (auto it = reporters_.begin(); it != reporters_.end();) {
    auto next = std::next(it);
    if (it->second.reports.Full(now, rate, rate)) reporters_.erase(it);
    it = next;
  }
}

void AsapServer::HandleUnreachable(const protocol::IpAddress& reporter, const Message& m,
                                   Tick now) {
  AsapServerStats::Bump(stats_.unreachable_reports);
  // RFC 5355 §2.13: reports are rate-limited per reporter, a reporter being
  // its source address, whatever the number of its associations (the
  // address table is bounded by the associations that can exist).
  const double rate = config_.max_unreachable_reports_per_second;
  Reporter& source = reporters_[reporter];
  source.last = now;
  if (!source.reports.Take(now, rate, rate)) {
    AsapServerStats::Bump(stats_.unreachable_reports_rate_limited);
    return;
  }
  const uint32_t slot = sessions_.Find(m.pool_handle, m.pe_id);
  if (slot == kNoSession || sessions_[slot].removing) {
    AsapServerStats::Bump(stats_.unreachable_reports_not_ours);  // or already going
    return;
  }
  Session& session = sessions_[slot];
  // MAX-BAD-PE-REPORT counts distinct reporters within the window; older
  // reports have decayed (docs/decisions.md).
  const Tick window = static_cast<Tick>(Millis(config_.unreachable_report_window));
  session.reports.erase(
      std::remove_if(session.reports.begin(), session.reports.end(),
                     [&](const UnreachableReport& r) { return now - r.at >= window; }),
      session.reports.end());
  auto same = std::find_if(session.reports.begin(), session.reports.end(),
                           [&](const UnreachableReport& r) { return r.reporter == reporter; });
  if (same != session.reports.end()) {
    same->at = now;
    AsapServerStats::Bump(stats_.unreachable_reports_repeated);
  } else {
    session.reports.push_back({reporter, now});
  }
  // RFC 5352 §3.5: MAX-BAD-PE-REPORT reports remove the PE (RSPLIB: >=).
  // The PE is not told: it may answer us and still be unreachable to its
  // users, and telling it would bring it straight back (docs/decisions.md).
  if (session.reports.size() >= static_cast<size_t>(config_.max_bad_pe_reports)) {
    Remove(slot, stats_.removed_by_unreachable, /*notify=*/false);
    return;
  }
  // RFC 5352 §3.5: probe at once; a keep-alive that cannot be sent removes
  // the PE, one that goes unanswered removes it at the keep-alive timeout.
  // A probe already out is not repeated (RFC 5355 §2.14: a PE's keep-alives
  // are bounded, however many reports arrive).
  if (session.ack_deadline == kNever) SendKeepAlive(slot, now);
}

void AsapServer::SendKeepAlive(uint32_t slot, Tick now) {
  Session& session = sessions_[slot];
  Message ka;
  ka.protocol = protocol::Protocol::kAsap;
  ka.type = static_cast<uint8_t>(AsapType::kEndpointKeepAlive);
  ka.server_id = config_.server_id;
  ka.has_pool_handle = true;
  ka.pool_handle = session.handle;
  ka.has_pe_id = true;
  ka.pe_id = session.pe_id;
  if (!replies_.Send(session.assoc, ka)) {
    // RFC 5352 §3.4: a keep-alive that cannot be sent removes the PE.
    Remove(slot, stats_.removed_by_keep_alive, /*notify=*/false);
    return;
  }
  AsapServerStats::Bump(stats_.keep_alives_sent);
  if (session.ack_deadline == kNever) {
    session.keep_alive_sent = now;
    session.ack_deadline = now + static_cast<Tick>(Millis(config_.keep_alive_timeout));
    keep_alives_.ScheduleAt(slot, session.ack_deadline);
  }
}

void AsapServer::Remove(uint32_t slot, std::atomic<uint64_t>& reason, bool notify) {
  const Session& session = sessions_[slot];
  if (notify) {
    // The PE's association is up: tell it (RFC 5352 §2.2.4), so that a PE
    // that is alive after all registers again.
    AsapServerStats::Bump(stats_.removal_notices_sent);
    ReplyWithCause(session.assoc, AsapType::kDeregistrationResponse, session.handle, &session.pe_id,
                   kNoError);
  }
  ElementJob* job = element_jobs_.Take(Purpose::kRemoval);
  job->reason = &reason;
  StartRemoval(slot, job);
}

void AsapServer::StartRemoval(uint32_t slot, ElementJob* job) {
  Session& session = sessions_[slot];
  job->kind = ShardCommand::Kind::kRemove;
  job->handle = session.handle;
  job->pe_id = session.pe_id;
  job->only_home = config_.server_id;
  session.removing = true;
  session.removal_by_pe = job->purpose == Purpose::kDeregistration;
  keep_alives_.Cancel(slot);
  Submit(job, element_jobs_, /*must_run=*/true);
  // The holder is going: a contender's registration follows the removal.
  SettleContest(slot, /*holder_alive=*/false);
}

void AsapServer::FinishRemoval(const ElementJob& r) {
  const uint32_t slot = sessions_.Find(r.handle, r.pe_id);
  if (slot != kNoSession && sessions_[slot].removing) {
    keep_alives_.Cancel(slot);
    sessions_.Erase(slot);
  }
  AsapServerStats::Bump(*r.reason);
  if (r.found && observer_ != nullptr) observer_->OnOwnedPeRemoved(r.handle, r.removed.pe);
}

void AsapServer::ForgetMovedPe(absl::string_view handle, uint32_t pe_id) {
  adopted_.erase(AdoptionKey(handle, pe_id));
  const uint32_t slot = sessions_.Find(handle, pe_id);
  // One being removed goes when its removal is answered (the shard removes
  // it only while it is ours: only_home).
  if (slot == kNoSession || sessions_[slot].removing) return;
  AsapServerStats::Bump(stats_.moved_away);
  SettleContest(slot, /*holder_alive=*/false);
  keep_alives_.Cancel(slot);
  sessions_.Unlink(slot);
  sessions_.Erase(slot);
}

void AsapServer::FinishAdoption(const AssocRef& from, absl::string_view handle, uint32_t pe_id,
                                int32_t registration_life, Tick now) {
  AsapServerStats::Bump(stats_.adoption_acks);
  const uint32_t slot = sessions_.Add(handle, pe_id);
  keep_alives_.Reserve(sessions_.slot_count());
  sessions_.Link(slot, from);
  sessions_[slot].ack_deadline = kNever;
  keep_alives_.ScheduleRound(slot, now);
  ElementJob* job = element_jobs_.Take(Purpose::kRenewal);
  job->kind = ShardCommand::Kind::kRenew;
  job->handle.assign(handle.data(), handle.size());
  job->pe_id = pe_id;
  job->expiry = registration_life < 0 ? kNever : now + static_cast<Tick>(registration_life) * 1000;
  Submit(job, element_jobs_, /*must_run=*/true);
}

uint64_t AsapServer::AdoptionKey(absl::string_view handle, uint32_t pe_id) {
  return absl::HashOf(handle, pe_id);
}

void AsapServer::Adopt(absl::string_view handle, const protocol::PoolElement& pe, Tick now) {
  if (addressed_ == nullptr || pe.asap.addresses.empty() ||
      sessions_.Find(handle, pe.id) != kNoSession) {
    return;
  }
  adoptions_.push_back({std::string(handle), pe.id, pe.registration_life,
                        pe.asap.addresses.items[0],
                        // RFC 6951 §5.1: the well-known port where none is known.
                        pe.asap.udp_port != 0 ? pe.asap.udp_port : uint16_t{9899}, pe.asap.port});
  SendAdoptionKeepAlives(now);
}

void AsapServer::SendAdoptionKeepAlives(Tick now) {
  // Paced with the keep-alives (RFC 5355 §2.9: a takeover of many PEs must
  // not flood them, nor starve the keep-alives of PEs already ours).
  uint8_t buffer[512];  // a keep-alive with the largest pool handle
  while (!adoptions_.empty() && keep_alives_.TakeToken()) {
    const Adoption& a = adoptions_.front();
    Message ka;
    ka.protocol = protocol::Protocol::kAsap;
    ka.type = static_cast<uint8_t>(AsapType::kEndpointKeepAlive);
    ka.flags = protocol::kFlagHome;  // RFC 5352 §2.2.7: we are its home now
    ka.server_id = config_.server_id;
    ka.has_pool_handle = true;
    ka.pool_handle = a.handle;
    ka.has_pe_id = true;
    ka.pe_id = a.pe_id;
    const size_t n = protocol::EncodeMessage(ka, absl::MakeSpan(buffer));
    if (n != 0 && addressed_->SendTo(a.ip, a.udp_port, config_.asap_port, a.sctp_port,
                                     protocol::kAsapPpid, absl::MakeConstSpan(buffer, n))) {
      AsapServerStats::Bump(stats_.adoption_keep_alives_sent);
      adopted_[AdoptionKey(a.handle, a.pe_id)] = {
          now + static_cast<Tick>(Millis(config_.adopted_pe_timeout)), a.registration_life, a.ip,
          a.udp_port, a.sctp_port};
    } else {
      AsapServerStats::Bump(stats_.adoption_keep_alives_failed);
    }
    adoptions_.pop_front();
  }
}

void AsapServer::OnAssociationDown(const AssocRef& assoc, Tick /*now*/) {
  AssocState* state = sessions_.FindState(assoc);
  if (state == nullptr) return;
  // Contenders from this association give up (their answer cannot be sent).
  for (size_t i = contested_.size(); i-- > 0;) {
    const uint32_t slot = contested_[i];
    if (sessions_[slot].contender->from == assoc) SettleContest(slot, /*holder_alive=*/true);
  }
  // The association is the only path to these PEs: a keep-alive can no
  // longer be sent, which RFC 5352 §3.4 treats as a failed PE.
  for (uint32_t slot = state->first_session; slot != kNoSession;) {
    const uint32_t next = sessions_[slot].next_in_assoc;
    sessions_.Unlink(slot);
    if (!sessions_[slot].removing) {
      Remove(slot, stats_.removed_by_association_loss, /*notify=*/false);
    }
    slot = next;
  }
  sessions_.EraseState(assoc);
}

void AsapServer::OnTimer(Tick now) {
  const Tick keep_alive_timeout = static_cast<Tick>(Millis(config_.keep_alive_timeout));
  // Registration lifetimes (RFC 5352 §3.2: the PE is told with a
  // DEREGISTRATION_RESPONSE), one expiry command per shard at a time, every
  // kExpiryPeriod (lifetimes are whole seconds; a parked shard lcore is not
  // woken on every tick). Not while the registrar is overloaded, nor for a
  // keep-alive timeout after: a re-registration may be among what it has
  // not heard yet.
  if (now >= next_expiry_) {
    next_expiry_ = now + kExpiryPeriod;
    if (overload_ != nullptr && !overload_->CalmFor(now, keep_alive_timeout)) {
      AsapServerStats::Bump(stats_.expiries_deferred);
    } else {
      for (uint32_t shard = 0; shard < shards_->shard_count(); ++shard) {
        if (expiry_in_flight_[shard]) continue;
        ExpiryJob* job = expiries_.Take(Purpose::kExpiry);
        job->now = now;
        job->shard = shard;
        expiry_in_flight_[shard] = true;
        SubmitToShard(shard, job, expiries_, /*must_run=*/true);
      }
    }
  }
  if (now >= next_reporter_sweep_) {
    next_reporter_sweep_ = now + 1000;
    SweepReporters(now);
  }
  if (now >= next_adopted_sweep_) {
    next_adopted_sweep_ = now + 1000;
    absl::erase_if(adopted_, [now](const auto& entry) { return entry.second.deadline <= now; });
  }
  SendAdoptionKeepAlives(now);
  // Holders that did not answer their contest's probe in time.
  for (size_t i = contested_.size(); i-- > 0;) {
    const uint32_t slot = contested_[i];
    if (now >= sessions_[slot].contest_deadline) SettleContest(slot, /*holder_alive=*/false);
  }
  // Keep-alive rounds and ack deadlines due now (RFC 5352 §3.4), paced.
  keep_alives_.Due(now, &due_);
  for (uint32_t slot : due_) {
    Session& session = sessions_[slot];
    if (session.ack_deadline != kNever) {
      if (overload_ == nullptr || !overload_->RaisedSince(session.keep_alive_sent)) {
        // No ACK within the timeout, and nothing the registrar missed since
        // the keep-alive went out: the PE is gone. It is told, in case it
        // is merely slow.
        Remove(slot, stats_.removed_by_keep_alive, /*notify=*/true);
        continue;
      }
      // The registrar was overloaded while it waited: the ACK may be among
      // what it dropped or has not read. Probe again, with a fresh timeout,
      // at a random point of the next keep-alive interval: after a long
      // overload every PE is in this state, and re-probing them all at once
      // would flood the PE processes as the overload ends.
      AsapServerStats::Bump(stats_.keep_alive_removals_deferred);
      session.ack_deadline = kNever;
      keep_alives_.ScheduleSpread(slot, now);
      continue;
    }
    if (!keep_alives_.TakeToken()) {
      AsapServerStats::Bump(stats_.keep_alives_deferred);
      keep_alives_.ScheduleAt(slot, now + 1);  // the next tick
    } else {
      SendKeepAlive(slot, now);
    }
  }
}

void AsapServer::FinishExpiry(ExpiryJob& job) {
  expiry_in_flight_[job.shard] = false;
  for (const handlespace::ElementEntry& e : job.expired) {
    const uint32_t slot = sessions_.Find(e.handle, e.pe.id);
    // A session being removed goes (and is counted) when its removal is
    // answered.
    if (slot != kNoSession && sessions_[slot].removing) continue;
    AsapServerStats::Bump(stats_.removed_by_lifetime);
    // Ours (a PE taken over that never answered has no session yet).
    if (observer_ != nullptr && e.pe.home == config_.server_id) {
      observer_->OnOwnedPeRemoved(e.handle, e.pe);
    }
    if (slot == kNoSession) continue;
    ReplyWithCause(sessions_[slot].assoc, AsapType::kDeregistrationResponse, e.handle, &e.pe.id,
                   kNoError);
    SettleContest(slot, /*holder_alive=*/false);
    keep_alives_.Cancel(slot);
    sessions_.Erase(slot);
  }
}

}  // namespace rspd::control
