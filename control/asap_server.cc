#include "control/asap_server.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "handlespace/pool_table.h"
#include "protocol/pool_element_codec.h"

namespace rspd::control {
namespace {

using handlespace::kNever;
using handlespace::kNoError;
using handlespace::ShardOp;
using protocol::AsapType;
using protocol::Cause;
using protocol::ErrorCause;
using protocol::Message;

constexpr uint8_t Type(AsapType t) { return static_cast<uint8_t>(t); }

// Largest ASAP message rspd sends: a resolution answer with 128 PEs of up to
// 8+8 IPv6 addresses stays below 64 KiB, the limit of the length field.
constexpr size_t kMaxMessage = 65536;

Message Asap(AsapType type, uint8_t flags = 0) {
  Message m;
  m.protocol = protocol::Protocol::kAsap;
  m.type = Type(type);
  m.flags = flags;
  return m;
}

int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

// Keep-alive timers: 16 ms buckets, 4096 of them (a 65 s revolution, longer
// than any sensible keep-alive interval, so a timer fires on its first visit).
constexpr size_t kTimerBuckets = 4096;
constexpr unsigned kTimerTickShift = 4;
// How often lifetimes are checked (milliseconds).
constexpr uint64_t kExpiryPeriod = 100;
// How long the holder of a contested PE ID has to answer its probe: a live
// PE answers within a round trip; a registration from a restarted PE waits
// this long at most (well inside a client's request timeout).
constexpr uint64_t kContestMillis = 1000;
// Contested registrations waiting at once; more are refused at once (0x4).
constexpr size_t kMaxContests = 1024;

}  // namespace

std::string AsapServerStats::Describe() const {
  std::string out;
#define RSPD_STAT_LINE(name) \
  absl::StrAppend(&out, #name, " ", name.load(std::memory_order_relaxed), "\n");
  RSPD_ASAP_SERVER_STATS(RSPD_STAT_LINE)
#undef RSPD_STAT_LINE
  return out;
}

AsapServer::AsapServer(const RegistrarConfig& config, ShardExecutor* shards, SendFn send,
                       const OverloadMonitor* overload)
    : config_(config),
      shards_(shards),
      send_(std::move(send)),
      overload_(overload),
      expiry_in_flight_(shards->shard_count(), false),
      keep_alive_timers_(kTimerBuckets, kTimerTickShift),
      buffer_(kMaxMessage) {}

uint32_t AsapServer::FindSession(absl::string_view handle, uint32_t pe_id) const {
  auto it = session_index_.find(SessionKeyView{handle, pe_id});
  return it == session_index_.end() ? kNoSession : it->second;
}

uint32_t AsapServer::AddSession(absl::string_view handle, uint32_t pe_id) {
  uint32_t slot;
  if (!free_sessions_.empty()) {
    slot = free_sessions_.back();
    free_sessions_.pop_back();
  } else {
    slot = static_cast<uint32_t>(sessions_.size());
    sessions_.emplace_back();
    if (sessions_.size() > keep_alive_timers_.capacity()) {
      keep_alive_timers_.Resize(std::max<size_t>(64, 2 * sessions_.size()));
    }
  }
  Session& session = sessions_[slot];
  session = Session();
  session.in_use = true;
  session.key.handle.assign(handle.data(), handle.size());
  session.key.pe_id = pe_id;
  session_index_.emplace(session.key, slot);
  return slot;
}

void AsapServer::EraseSession(uint32_t slot) {
  Session& session = sessions_[slot];
  UnlinkFromAssoc(slot);
  session_index_.erase(session.key);
  keep_alive_timers_.Cancel(slot);
  session.in_use = false;
  session.reports.clear();
  free_sessions_.push_back(slot);
}

void AsapServer::LinkToAssoc(uint32_t slot, const AssocRef& assoc) {
  Session& session = sessions_[slot];
  if (session.linked && session.assoc == assoc) return;
  UnlinkFromAssoc(slot);
  session.assoc = assoc;
  auto it = assocs_.find(assoc);
  if (it == assocs_.end()) return;  // the association is already gone
  AssocState& state = it->second;
  session.next_in_assoc = state.first_session;
  session.prev_in_assoc = kNoSession;
  if (state.first_session != kNoSession) sessions_[state.first_session].prev_in_assoc = slot;
  state.first_session = slot;
  ++state.pes;
  ++pes_by_peer_[assoc.peer];
  session.linked = true;
}

void AsapServer::UnlinkFromAssoc(uint32_t slot) {
  Session& session = sessions_[slot];
  if (!session.linked) return;
  session.linked = false;
  auto it = assocs_.find(session.assoc);
  if (it != assocs_.end()) {
    AssocState& state = it->second;
    if (session.prev_in_assoc != kNoSession) {
      sessions_[session.prev_in_assoc].next_in_assoc = session.next_in_assoc;
    } else {
      state.first_session = session.next_in_assoc;
    }
    if (session.next_in_assoc != kNoSession) {
      sessions_[session.next_in_assoc].prev_in_assoc = session.prev_in_assoc;
    }
    --state.pes;
  }
  session.prev_in_assoc = session.next_in_assoc = kNoSession;
  auto peer = pes_by_peer_.find(session.assoc.peer);
  if (peer != pes_by_peer_.end() && --peer->second == 0) pes_by_peer_.erase(peer);
}

AsapServer::Tick AsapServer::KeepAliveDelay() {
  // RFC 5352 §3.4 / RFC 5355 §2.14: spread keep-alives with ±50 % jitter.
  const int64_t interval = std::max<int64_t>(1, Millis(config_.keep_alive_interval));
  return static_cast<Tick>(
      absl::Uniform<int64_t>(jitter_, interval / 2, interval + interval / 2 + 1));
}

AsapServer::Job* AsapServer::NewJob(JobKind kind, ShardOp op, absl::string_view handle) {
  Job* job;
  if (!free_jobs_.empty()) {
    job = free_jobs_.back();
    free_jobs_.pop_back();
  } else {
    jobs_.push_back(std::make_unique<Job>());
    job = jobs_.back().get();
    job->request.cookie = reinterpret_cast<uintptr_t>(job);
  }
  job->kind = kind;
  job->from = AssocRef();
  job->reason = nullptr;
  job->shard = 0;
  job->new_here = false;
  job->request.op = op;
  job->request.handle.assign(handle.data(), handle.size());
  return job;
}

void AsapServer::Release(Job* job) { free_jobs_.push_back(job); }

bool AsapServer::Submit(Job* job, bool must_run) {
  return SubmitToShard(shards_->ShardFor(job->request.handle), job, must_run);
}

bool AsapServer::SubmitToShard(uint32_t shard, Job* job, bool must_run) {
  if (shards_->Submit(shard, &job->request, must_run)) return true;
  // A full ring is back-pressure, counted and answered (docs/limits.md).
  AsapServerStats::Bump(stats_.shards_busy);
  Release(job);
  return false;
}

void AsapServer::CollectAnswers(Tick now) {
  const ShardExecutor::Done done = [this, now](handlespace::ShardRequest* request) {
    Job* job = reinterpret_cast<Job*>(static_cast<uintptr_t>(request->cookie));
    OnAnswer(*job, now);
    Release(job);
  };
  // Inline, an answer may submit a follow-up (a deregistration after its
  // lookup), answered at once: collect until nothing is left.
  while (shards_->Collect(done) != 0 && !shards_->threaded()) {
  }
}

void AsapServer::OnAnswer(Job& job, Tick now) {
  switch (job.kind) {
    case JobKind::kRegistration:
      FinishRegistration(job, now);
      return;
    case JobKind::kDeregistration:
      FinishRemoval(job);
      AsapServerStats::Bump(stats_.deregistrations);
      ReplyWithCause(job.from, AsapType::kDeregistrationResponse, job.request.handle,
                     &job.request.pe_id, kNoError);
      return;
    case JobKind::kDeregistrationLookup:
      FinishDeregistrationLookup(job);
      return;
    case JobKind::kResolution:
      FinishResolution(job);
      return;
    case JobKind::kRemoval:
      FinishRemoval(job);
      return;
    case JobKind::kExpiry:
      FinishExpiry(job);
      return;
  }
}

void AsapServer::Reply(const AssocRef& to, const Message& m) {
  size_t n = protocol::EncodeMessage(m, absl::MakeSpan(buffer_));
  if (n == 0 || !send_(to, absl::MakeConstSpan(buffer_.data(), n))) {
    AsapServerStats::Bump(stats_.send_failures);
  }
}

void AsapServer::ReplyWithCause(const AssocRef& to, AsapType type, absl::string_view handle,
                                const uint32_t* pe_id, Cause cause) {
  Message reply = Asap(type);
  reply.has_pool_handle = true;
  reply.pool_handle = handle;
  if (pe_id != nullptr) {
    reply.has_pe_id = true;
    reply.pe_id = *pe_id;
  }
  ErrorCause error{cause, {}};
  if (cause != kNoError) {
    reply.has_error = true;
    reply.error_causes = protocol::ParamList<ErrorCause>(absl::MakeConstSpan(&error, 1));
  }
  Reply(to, reply);
}

void AsapServer::RejectRegistration(const AssocRef& to, absl::string_view handle, uint32_t pe_id,
                                    const ErrorCause& error) {
  Message reply = Asap(AsapType::kRegistrationResponse, protocol::kFlagRegistrationReject);
  reply.has_pool_handle = true;
  reply.pool_handle = handle;
  reply.has_pe_id = true;
  reply.pe_id = pe_id;
  reply.has_error = true;
  reply.error_causes = protocol::ParamList<ErrorCause>(absl::MakeConstSpan(&error, 1));
  AsapServerStats::Bump(stats_.registrations_rejected);
  Reply(to, reply);
}

void AsapServer::SendErrorReport(const AssocRef& to, const protocol::DecodeError& error) {
  size_t n =
      protocol::EncodeErrorReport(protocol::Protocol::kAsap, error, 0, 0, absl::MakeSpan(buffer_));
  if (n != 0 && send_(to, absl::MakeConstSpan(buffer_.data(), n))) {
    AsapServerStats::Bump(stats_.errors_sent);
  }
}

void AsapServer::OnMessage(const AssocRef& from, const protocol::IpAddress& remote_ip,
                           uint16_t remote_port, absl::Span<const uint8_t> bytes, Tick now) {
  AsapServerStats::Bump(stats_.messages_received);
  AssocState& assoc = StateOf(from);
  Message m;
  protocol::DecodeError error;
  if (!protocol::DecodeMessage(protocol::Protocol::kAsap, bytes, &m, &error)) {
    AsapServerStats::Bump(stats_.malformed_messages);
    // RFC 5354 §3, §4: report when the action bits (or the fault) ask for it.
    if (error.report) SendErrorReport(from, error);
    return;
  }
  if (m.unrecognized.count != 0) {
    // RFC 5354 §3 action bits 11: processed, and each skipped parameter is
    // reported in an Unrecognized Parameter cause.
    std::vector<ErrorCause> causes;
    for (size_t i = 0; i < std::min(m.unrecognized.count, protocol::Unrecognized::kMaxKept); ++i) {
      causes.push_back({Cause::kUnrecognizedParameter, m.unrecognized.params[i]});
    }
    Message report = Asap(AsapType::kError);
    report.has_error = true;
    report.error_causes = protocol::ParamList<ErrorCause>(absl::MakeConstSpan(causes));
    Reply(from, report);
    AsapServerStats::Bump(stats_.errors_sent);
  }
  switch (static_cast<AsapType>(m.type)) {
    case AsapType::kRegistration:
      // docs/limits.md: registrations per association and second.
      if (!assoc.registrations.Take(now, config_.max_registrations_per_second,
                                    config_.max_registrations_per_second)) {
        AsapServerStats::Bump(stats_.registrations_rate_limited);
        RejectRegistration(from, m.pool_handle, m.pool_element.pe_id,
                           {Cause::kLackOfResources, {}});
        return;
      }
      HandleRegistration(from, remote_ip, remote_port, m, now);
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
      HandleResolution(from, m);
      return;
    case AsapType::kEndpointKeepAliveAck:
      HandleKeepAliveAck(from, m, now);
      return;
    case AsapType::kEndpointUnreachable:
      HandleUnreachable(remote_ip, m, now);
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
      unsupported.offending = bytes;
      SendErrorReport(from, unsupported);
      return;
    }
  }
}

void AsapServer::HandleRegistration(const AssocRef& from, const protocol::IpAddress& remote_ip,
                                    uint16_t remote_port, const Message& m, Tick now) {
  protocol::PoolElement pe;
  Cause cause = protocol::PoolElementFromView(m.pool_element, &pe);
  if (cause == kNoError) {
    // RFC 5352 §2.2.1: the PE's addresses must be the association's. Over
    // UDP encapsulation the registrar sees one of them, the packets' source;
    // a multi-homed PE (RSPLIB binds all its addresses) lists more, so the
    // source must be among the PE's addresses (docs/decisions.md).
    bool source_listed = false;
    for (size_t i = 0; i < pe.user.addresses.size; ++i) {
      source_listed |= pe.user.addresses.items[i] == remote_ip;
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
  const uint32_t known = FindSession(m.pool_handle, pe.id);
  const bool new_here = known == kNoSession || !(sessions_[known].assoc == from);
  // RFC 5352 §3.1 rule 3, RFC 5355 §2.3: the PE ID is held by another
  // association that is still up. A PE that restarted re-registers so (its
  // old association lingers until SCTP notices), and so would an attacker
  // taking the PE over: the holder decides, by answering a keep-alive or not
  // (docs/decisions.md).
  const bool contested = new_here && known != kNoSession && !sessions_[known].removing &&
                         assocs_.contains(sessions_[known].assoc);
  if (contested && (sessions_[known].contender != nullptr || contested_.size() >= kMaxContests)) {
    AsapServerStats::Bump(stats_.registrations_refused_pe_id_in_use);
    RejectRegistration(from, m.pool_handle, pe.id, {Cause::kNonUniquePeIdentifier, {}});
    return;
  }
  AssocState& assoc = StateOf(from);
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
  pe.asap.port = remote_port;
  pe.asap.addresses.push_back(remote_ip);
  Job* job = NewJob(JobKind::kRegistration, ShardOp::kRegister, m.pool_handle);
  job->from = from;
  job->request.pe = pe;
  job->request.tick =
      pe.registration_life < 0 ? kNever : now + static_cast<Tick>(pe.registration_life) * 1000;
  job->new_here = new_here;
  if (new_here) ++assoc.pending_new;
  if (contested) {
    Contest(known, job, now);
    return;
  }
  if (!Submit(job, /*must_run=*/false)) {
    if (new_here) --assoc.pending_new;
    RejectRegistration(from, m.pool_handle, pe.id, {Cause::kLackOfResources, {}});
  }
}

void AsapServer::Contest(uint32_t slot, Job* contender, Tick now) {
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
  Job* job = holder.contender;
  if (job == nullptr) return;
  holder.contender = nullptr;
  contested_.erase(std::find(contested_.begin(), contested_.end(), slot));
  if (!holder_alive) {
    // The holder is gone or silent: the newer registration runs, behind
    // whatever removal of the holder is queued (FinishRegistration).
    Submit(job, /*must_run=*/true);
    return;
  }
  auto assoc = assocs_.find(job->from);
  if (job->new_here && assoc != assocs_.end()) --assoc->second.pending_new;
  AsapServerStats::Bump(stats_.registrations_refused_pe_id_in_use);
  RejectRegistration(job->from, job->request.handle, job->request.pe.id,
                     {Cause::kNonUniquePeIdentifier, {}});
  Release(job);
}

void AsapServer::FinishRegistration(Job& job, Tick now) {
  const handlespace::ShardRequest& r = job.request;
  auto assoc = assocs_.find(job.from);
  if (job.new_here && assoc != assocs_.end()) --assoc->second.pending_new;
  if (r.cause != kNoError) {
    // Cause information (RFC 5354 §3.12): the pool's policy for 0x5, a
    // transport of the pool's type for 0x7, the offending Pool Element for 0x3.
    uint8_t info[1024];
    protocol::Writer w(absl::MakeSpan(info));
    if (r.cause == Cause::kInconsistentPoolingPolicy && r.pool_known) {
      protocol::PolicyInfo pool_policy;
      pool_policy.type = r.pool.policy;
      protocol::EncodePolicy(w, protocol::PolicyToWire(pool_policy));
    } else if (r.cause == Cause::kInconsistentTransportType && r.pool_known) {
      // Only the type is what the cause tells; the values are the PE's.
      protocol::EncodeUserTransport(w, r.pe.user, r.pool.transport);
    } else if (r.cause == Cause::kInvalidValues) {
      protocol::EncodePoolElement(w, r.pe);
    }
    ErrorCause error{r.cause, {}};
    if (!w.overflow()) error.info = absl::MakeConstSpan(info, w.content_end());
    RejectRegistration(job.from, r.handle, r.pe.id, error);
    return;
  }
  uint32_t slot = FindSession(r.handle, r.pe.id);
  if (slot != kNoSession && sessions_[slot].removing && !sessions_[slot].removal_by_pe) {
    // The registrar decided to remove the PE (keep-alive timeout, reports,
    // loss of the association it had used) from what it knew before this
    // registration was answered; the shard applies the removal after it.
    // The PE's newer word wins: register it again behind the removal, and
    // answer then.
    Job* again = NewJob(JobKind::kRegistration, ShardOp::kRegister, r.handle);
    again->from = job.from;
    again->request.pe = r.pe;
    again->request.tick = r.tick;
    again->new_here = job.new_here;
    if (job.new_here && assoc != assocs_.end()) ++assoc->second.pending_new;
    Submit(again, /*must_run=*/true);
    return;
  }
  AsapServerStats::Bump(r.reg.added ? stats_.registrations : stats_.reregistrations);
  if (slot == kNoSession) slot = AddSession(r.handle, r.pe.id);
  Session& session = sessions_[slot];
  // A PE that deregistered right after this registration is gone once the
  // deregistration is answered.
  if (!session.removing) {
    if (assoc == assocs_.end()) {
      // The association went down while the shard registered the PE: it can
      // never be reached, as if it had been registered just before.
      UnlinkFromAssoc(slot);
      session.assoc = job.from;
      Remove(slot, stats_.removed_by_association_loss, /*notify=*/false);
      return;
    }
    LinkToAssoc(slot, job.from);
    session.ack_deadline = kNever;
    keep_alive_timers_.Arm(slot, now + KeepAliveDelay());
  }
  ReplyWithCause(job.from, AsapType::kRegistrationResponse, r.handle, &r.pe.id, kNoError);
}

void AsapServer::HandleDeregistration(const AssocRef& from, const Message& m) {
  const uint32_t slot = FindSession(m.pool_handle, m.pe_id);
  if (slot == kNoSession) {
    // Ours only if the shard has it with a session yet to come; someone
    // else's (RFC 5355 §2.1-2.4: no deregistration by proxy) if it has it
    // without; unknown otherwise.
    Job* job = NewJob(JobKind::kDeregistrationLookup, ShardOp::kLookup, m.pool_handle);
    job->from = from;
    job->request.pe_id = m.pe_id;
    if (!Submit(job, /*must_run=*/false)) {
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
  if (!(session.assoc == from)) {
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
  Job* job = NewJob(JobKind::kDeregistration, ShardOp::kDeregister, handle);
  job->from = from;
  job->reason = &stats_.removed_by_deregistration;
  StartRemoval(slot, job);
}

void AsapServer::FinishDeregistrationLookup(Job& job) {
  const handlespace::ShardRequest& r = job.request;
  const uint32_t slot = FindSession(r.handle, r.pe_id);
  if (slot != kNoSession) {
    // Its registration was answered first: a session after all.
    DeregisterSession(slot, job.from, r.handle, r.pe_id);
    return;
  }
  if (r.found) {
    AsapServerStats::Bump(stats_.deregistrations_refused);
    ReplyWithCause(job.from, AsapType::kDeregistrationResponse, r.handle, &r.pe_id,
                   Cause::kRejectedDueToSecurity);
    return;
  }
  // RFC 5352 §3.2: an unknown PE is answered with success.
  AsapServerStats::Bump(stats_.deregistrations);
  ReplyWithCause(job.from, AsapType::kDeregistrationResponse, r.handle, &r.pe_id, kNoError);
}

void AsapServer::HandleResolution(const AssocRef& from, const Message& m) {
  AsapServerStats::Bump(stats_.resolutions);
  // RFC 5356 "at most the requested number": RSPLIB's option asks for a
  // count; the configured maximum applies otherwise (docs/decisions.md).
  handlespace::ResolveOptions options;
  options.max_items = static_cast<uint32_t>(config_.max_handle_resolution_items);
  if (m.has_handle_resolution_items && m.handle_resolution_items > 0) {
    options.max_items = std::min<uint32_t>(m.handle_resolution_items,
                                           static_cast<uint32_t>(handlespace::kMaxResolutionItems));
  }
  Job* job = NewJob(JobKind::kResolution, ShardOp::kResolve, m.pool_handle);
  job->from = from;
  job->request.resolve = options;
  if (!Submit(job, /*must_run=*/false)) {
    ReplyWithCause(from, AsapType::kHandleResolutionResponse, m.pool_handle, nullptr,
                   Cause::kLackOfResources);
  }
}

void AsapServer::FinishResolution(const Job& job) {
  const handlespace::ShardRequest& r = job.request;
  if (r.cause != kNoError || r.entries.empty()) {
    // RFC 5352 §3.3: a missing pool MUST be answered with Unknown Pool Handle.
    AsapServerStats::Bump(stats_.resolutions_unknown_pool);
    ReplyWithCause(job.from, AsapType::kHandleResolutionResponse, r.handle, nullptr,
                   Cause::kUnknownPoolHandle);
    return;
  }
  protocol::Writer w(absl::MakeSpan(buffer_));
  protocol::BeginMessage(w, Type(AsapType::kHandleResolutionResponse), 0);
  protocol::EncodePoolHandle(w, r.handle);
  // RFC 5352 §2.2.6 makes the overall policy optional (absent means Round
  // Robin), but RSPLIB 3.4.4 rejects a response with PEs and no policy
  // ("invalid TLV"; tests/rsplib_vm_interop_test): always included.
  if (r.pool_known) {
    protocol::PolicyInfo pool_policy;
    pool_policy.type = r.pool.policy;
    protocol::EncodePolicy(w, protocol::PolicyToWire(pool_policy));
  }
  for (const handlespace::ElementEntry& entry : r.entries) {
    protocol::EncodePoolElement(w, entry.pe);
  }
  size_t n = protocol::FinishMessage(w);
  if (n == 0 || !send_(job.from, absl::MakeConstSpan(buffer_.data(), n))) {
    AsapServerStats::Bump(stats_.send_failures);
  }
}

void AsapServer::HandleKeepAliveAck(const AssocRef& from, const Message& m, Tick now) {
  const uint32_t slot = FindSession(m.pool_handle, m.pe_id);
  if (slot == kNoSession) {
    // A PE answering for a registration we no longer hold (removed while it
    // could not answer, or before a restart of ours): tell it, so that it
    // registers again (RFC 5352 §2.2.4). Paced like registrations, so that
    // forged ACKs cannot make us send more than registrations would.
    AsapServerStats::Bump(stats_.keep_alive_acks_unknown);
    if (StateOf(from).registrations.Take(now, config_.max_registrations_per_second,
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
  if (!(sessions_[slot].assoc == from)) {
    // RFC 5352 §3.4 KA2: the ACK comes on the association of the
    // keep-alive. One from elsewhere cannot vouch for the PE.
    AsapServerStats::Bump(stats_.keep_alive_acks_foreign);
    return;
  }
  AsapServerStats::Bump(stats_.keep_alive_acks);
  SettleContest(slot, /*holder_alive=*/true);
  sessions_[slot].ack_deadline = kNever;
  keep_alive_timers_.Arm(slot, now + KeepAliveDelay());
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
  const uint32_t slot = FindSession(m.pool_handle, m.pe_id);
  if (slot == kNoSession || sessions_[slot].removing) {
    AsapServerStats::Bump(stats_.unreachable_reports_not_ours);  // or already going
    return;
  }
  Session& session = sessions_[slot];
  // MAX-BAD-PE-REPORT counts distinct reporters within the window; older
  // reports have decayed (docs/decisions.md).
  const Tick window = static_cast<Tick>(Millis(config_.unreachable_report_window));
  session.reports.erase(std::remove_if(session.reports.begin(), session.reports.end(),
                                       [&](const Report& r) { return now - r.at >= window; }),
                        session.reports.end());
  auto same = std::find_if(session.reports.begin(), session.reports.end(),
                           [&](const Report& r) { return r.reporter == reporter; });
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
  Message ka = Asap(AsapType::kEndpointKeepAlive);
  ka.server_id = config_.server_id;
  ka.has_pool_handle = true;
  ka.pool_handle = session.key.handle;
  ka.has_pe_id = true;
  ka.pe_id = session.key.pe_id;
  size_t n = protocol::EncodeMessage(ka, absl::MakeSpan(buffer_));
  if (n == 0 || !send_(session.assoc, absl::MakeConstSpan(buffer_.data(), n))) {
    // RFC 5352 §3.4: a keep-alive that cannot be sent removes the PE.
    Remove(slot, stats_.removed_by_keep_alive, /*notify=*/false);
    return;
  }
  AsapServerStats::Bump(stats_.keep_alives_sent);
  if (session.ack_deadline == kNever) {
    session.keep_alive_sent = now;
    session.ack_deadline = now + static_cast<Tick>(Millis(config_.keep_alive_timeout));
    keep_alive_timers_.Arm(slot, session.ack_deadline);
  }
}

void AsapServer::Remove(uint32_t slot, std::atomic<uint64_t>& reason, bool notify) {
  const Session& session = sessions_[slot];
  if (notify) {
    // The PE's association is up: tell it (RFC 5352 §2.2.4), so that a PE
    // that is alive after all registers again.
    AsapServerStats::Bump(stats_.removal_notices_sent);
    ReplyWithCause(session.assoc, AsapType::kDeregistrationResponse, session.key.handle,
                   &session.key.pe_id, kNoError);
  }
  Job* job = NewJob(JobKind::kRemoval, ShardOp::kDeregister, session.key.handle);
  job->reason = &reason;
  StartRemoval(slot, job);
}

void AsapServer::StartRemoval(uint32_t slot, Job* job) {
  Session& session = sessions_[slot];
  job->request.pe_id = session.key.pe_id;
  session.removing = true;
  session.removal_by_pe = job->kind == JobKind::kDeregistration;
  keep_alive_timers_.Cancel(slot);
  Submit(job, /*must_run=*/true);
  // The holder is going: a contender's registration follows the removal.
  SettleContest(slot, /*holder_alive=*/false);
}

void AsapServer::FinishRemoval(const Job& job) {
  const handlespace::ShardRequest& r = job.request;
  const uint32_t slot = FindSession(r.handle, r.pe_id);
  if (slot != kNoSession && sessions_[slot].removing) EraseSession(slot);
  AsapServerStats::Bump(*job.reason);
}

void AsapServer::OnAssociationDown(const AssocRef& assoc, Tick /*now*/) {
  auto it = assocs_.find(assoc);
  if (it == assocs_.end()) return;
  // Contenders from this association give up (their answer cannot be sent).
  for (size_t i = contested_.size(); i-- > 0;) {
    const uint32_t slot = contested_[i];
    if (sessions_[slot].contender->from == assoc) SettleContest(slot, /*holder_alive=*/true);
  }
  // The association is the only path to these PEs: a keep-alive can no
  // longer be sent, which RFC 5352 §3.4 treats as a failed PE.
  for (uint32_t slot = it->second.first_session; slot != kNoSession;) {
    const uint32_t next = sessions_[slot].next_in_assoc;
    UnlinkFromAssoc(slot);
    if (!sessions_[slot].removing) {
      Remove(slot, stats_.removed_by_association_loss, /*notify=*/false);
    }
    slot = next;
  }
  assocs_.erase(assoc);
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
        Job* job = NewJob(JobKind::kExpiry, ShardOp::kExpire, {});
        job->request.tick = now;
        job->shard = shard;
        expiry_in_flight_[shard] = true;
        SubmitToShard(shard, job, /*must_run=*/true);
      }
    }
  }
  if (now >= next_reporter_sweep_) {
    next_reporter_sweep_ = now + 1000;
    SweepReporters(now);
  }
  // Holders that did not answer their contest's probe in time.
  for (size_t i = contested_.size(); i-- > 0;) {
    const uint32_t slot = contested_[i];
    if (now >= sessions_[slot].contest_deadline) SettleContest(slot, /*holder_alive=*/false);
  }
  // Keep-alive rounds and ack deadlines due now (RFC 5352 §3.4), paced.
  const int rate = config_.max_keep_alives_per_second;
  if (rate > 0) {
    const double burst = std::max(1.0, rate / 10.0);
    keep_alive_tokens_ = std::min(
        burst, keep_alive_tokens_ + static_cast<double>(now - keep_alive_refill_) * rate / 1000.0);
    keep_alive_refill_ = now;
  }
  fired_.clear();
  keep_alive_timers_.Expire(now, &fired_);
  for (uint32_t slot : fired_) {
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
      const int64_t interval = std::max<int64_t>(1, Millis(config_.keep_alive_interval));
      keep_alive_timers_.Arm(slot, now + 1 + absl::Uniform<uint64_t>(jitter_, 0, interval));
      continue;
    }
    if (rate > 0 && keep_alive_tokens_ < 1) {
      AsapServerStats::Bump(stats_.keep_alives_deferred);
      keep_alive_timers_.Arm(slot, now + 1);  // the next tick
    } else {
      keep_alive_tokens_ -= 1;
      SendKeepAlive(slot, now);
    }
  }
}

void AsapServer::FinishExpiry(Job& job) {
  expiry_in_flight_[job.shard] = false;
  for (const handlespace::ElementEntry& e : job.request.entries) {
    const uint32_t slot = FindSession(e.handle, e.pe.id);
    // A session being removed goes (and is counted) when its removal is
    // answered.
    if (slot != kNoSession && sessions_[slot].removing) continue;
    AsapServerStats::Bump(stats_.removed_by_lifetime);
    if (slot == kNoSession) continue;
    ReplyWithCause(sessions_[slot].assoc, AsapType::kDeregistrationResponse, e.handle, &e.pe.id,
                   kNoError);
    SettleContest(slot, /*holder_alive=*/false);
    EraseSession(slot);
  }
}

}  // namespace rspd::control
