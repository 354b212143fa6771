#include "control/asap_server.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "control/pe_convert.h"
#include "handlespace/pool_table.h"

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

}  // namespace

std::string AsapServerStats::Describe() const {
  std::string out;
#define RSPD_STAT_LINE(name) \
  absl::StrAppend(&out, #name, " ", name.load(std::memory_order_relaxed), "\n");
  RSPD_ASAP_SERVER_STATS(RSPD_STAT_LINE)
#undef RSPD_STAT_LINE
  return out;
}

AsapServer::AsapServer(const RegistrarConfig& config, ShardExecutor* shards, SendFn send)
    : config_(config),
      shards_(shards),
      send_(std::move(send)),
      expiry_in_flight_(shards->shard_count(), false),
      keep_alive_timers_(kTimerBuckets, kTimerTickShift),
      buffer_(kMaxMessage) {}

std::string AsapServer::SessionKey(absl::string_view handle, uint32_t pe_id) {
  std::string key(handle);
  key.append(reinterpret_cast<const char*>(&pe_id), sizeof(pe_id));
  return key;
}

uint32_t AsapServer::FindSession(absl::string_view handle, uint32_t pe_id) const {
  auto it = session_index_.find(SessionKey(handle, pe_id));
  return it == session_index_.end() ? kNoSession : it->second;
}

uint32_t AsapServer::AddSession(std::string key) {
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
  session.key = std::move(key);
  session_index_.emplace(session.key, slot);
  return slot;
}

void AsapServer::EraseSession(uint32_t slot) {
  Session& session = sessions_[slot];
  session_index_.erase(session.key);
  keep_alive_timers_.Cancel(slot);
  session.key.clear();
  free_sessions_.push_back(slot);
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
  // DESIGN.md: a full ring is back-pressure, counted and answered.
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

void AsapServer::OnMessage(const AssocRef& from, const handlespace::IpAddress& remote_ip,
                           uint16_t remote_port, absl::Span<const uint8_t> bytes, Tick now) {
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
      HandleRegistration(from, remote_ip, remote_port, m, now);
      return;
    case AsapType::kDeregistration:
      HandleDeregistration(from, m);
      return;
    case AsapType::kHandleResolution:
      HandleResolution(from, m);
      return;
    case AsapType::kEndpointKeepAliveAck:
      HandleKeepAliveAck(m, now);
      return;
    case AsapType::kEndpointUnreachable:
      HandleUnreachable(m, now);
      return;
    case AsapType::kError:
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

void AsapServer::HandleRegistration(const AssocRef& from, const handlespace::IpAddress& remote_ip,
                                    uint16_t remote_port, const Message& m, Tick now) {
  handlespace::PoolElementInfo pe;
  Cause cause = PoolElementFromWire(m.pool_element, &pe);
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
  // RFC 5352 §3.1 rule 4: we become the home registrar and record the
  // source transport address as the PE's ASAP transport.
  pe.home = config_.server_id;
  pe.asap = handlespace::AsapTransport();
  pe.asap.port = remote_port;
  pe.asap.addresses.push_back(remote_ip);
  Job* job = NewJob(JobKind::kRegistration, ShardOp::kRegister, m.pool_handle);
  job->from = from;
  job->request.pe = pe;
  job->request.tick =
      pe.registration_life < 0 ? kNever : now + static_cast<Tick>(pe.registration_life) * 1000;
  if (!Submit(job, /*must_run=*/false)) {
    RejectRegistration(from, m.pool_handle, pe.id, {Cause::kLackOfResources, {}});
  }
}

void AsapServer::FinishRegistration(Job& job, Tick now) {
  const handlespace::ShardRequest& r = job.request;
  if (r.cause != kNoError) {
    // Cause information (RFC 5354 §3.12): the pool's policy for 0x5, a
    // transport of the pool's type for 0x7, the offending Pool Element for 0x3.
    uint8_t info[1024];
    protocol::Writer w(absl::MakeSpan(info));
    if (r.cause == Cause::kInconsistentPoolingPolicy && r.pool_known) {
      handlespace::PolicyInfo pool_policy;
      pool_policy.type = r.pool.policy;
      protocol::EncodePolicy(w, PolicyToWire(pool_policy));
    } else if (r.cause == Cause::kInconsistentTransportType && r.pool_known) {
      // Only the type is what the cause tells; the values are the PE's.
      EncodeUserTransport(w, r.pe.user, r.pool.transport);
    } else if (r.cause == Cause::kInvalidValues) {
      EncodePoolElementInfo(w, r.pe);
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
    Submit(again, /*must_run=*/true);
    return;
  }
  AsapServerStats::Bump(r.reg.added ? stats_.registrations : stats_.reregistrations);
  if (slot == kNoSession) slot = AddSession(SessionKey(r.handle, r.pe.id));
  Session& session = sessions_[slot];
  // A PE that deregistered right after this registration is gone once the
  // deregistration is answered.
  if (!session.removing) {
    session.assoc = job.from;
    session.bad_reports = 0;
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
    handlespace::PolicyInfo pool_policy;
    pool_policy.type = r.pool.policy;
    protocol::EncodePolicy(w, PolicyToWire(pool_policy));
  }
  for (const handlespace::ElementEntry& entry : r.entries) {
    EncodePoolElementInfo(w, entry.pe);
  }
  size_t n = protocol::FinishMessage(w);
  if (n == 0 || !send_(job.from, absl::MakeConstSpan(buffer_.data(), n))) {
    AsapServerStats::Bump(stats_.send_failures);
  }
}

void AsapServer::HandleKeepAliveAck(const Message& m, Tick now) {
  const uint32_t slot = FindSession(m.pool_handle, m.pe_id);
  if (slot == kNoSession || sessions_[slot].removing) return;
  AsapServerStats::Bump(stats_.keep_alive_acks);
  sessions_[slot].ack_deadline = kNever;
  keep_alive_timers_.Arm(slot, now + KeepAliveDelay());
}

void AsapServer::HandleUnreachable(const Message& m, Tick now) {
  AsapServerStats::Bump(stats_.unreachable_reports);
  const uint32_t slot = FindSession(m.pool_handle, m.pe_id);
  if (slot == kNoSession || sessions_[slot].removing) return;  // not ours, or already going
  // RFC 5352 §3.5: probe at once; a failed send removes the PE, otherwise
  // count the report and remove at MAX-BAD-PE-REPORT (RSPLIB: >=).
  if (++sessions_[slot].bad_reports >= config_.max_bad_pe_reports) {
    Remove(slot, stats_.removed_by_unreachable);
    return;
  }
  SendKeepAlive(slot, now);
}

void AsapServer::SendKeepAlive(uint32_t slot, Tick now) {
  Session& session = sessions_[slot];
  const absl::string_view handle(session.key.data(), session.key.size() - sizeof(uint32_t));
  Message ka = Asap(AsapType::kEndpointKeepAlive);
  ka.server_id = config_.server_id;
  ka.has_pool_handle = true;
  ka.pool_handle = handle;
  ka.has_pe_id = true;
  memcpy(&ka.pe_id, session.key.data() + handle.size(), sizeof(uint32_t));
  size_t n = protocol::EncodeMessage(ka, absl::MakeSpan(buffer_));
  if (n == 0 || !send_(session.assoc, absl::MakeConstSpan(buffer_.data(), n))) {
    // RFC 5352 §3.4: a keep-alive that cannot be sent removes the PE.
    Remove(slot, stats_.removed_by_keep_alive);
    return;
  }
  AsapServerStats::Bump(stats_.keep_alives_sent);
  if (session.ack_deadline == kNever) {
    session.ack_deadline = now + static_cast<Tick>(Millis(config_.keep_alive_timeout));
    keep_alive_timers_.Arm(slot, session.ack_deadline);
  }
}

void AsapServer::Remove(uint32_t slot, std::atomic<uint64_t>& reason) {
  const Session& session = sessions_[slot];
  const absl::string_view handle(session.key.data(), session.key.size() - sizeof(uint32_t));
  Job* job = NewJob(JobKind::kRemoval, ShardOp::kDeregister, handle);
  job->reason = &reason;
  StartRemoval(slot, job);
}

void AsapServer::StartRemoval(uint32_t slot, Job* job) {
  Session& session = sessions_[slot];
  memcpy(&job->request.pe_id, session.key.data() + session.key.size() - sizeof(uint32_t),
         sizeof(uint32_t));
  session.removing = true;
  session.removal_by_pe = job->kind == JobKind::kDeregistration;
  keep_alive_timers_.Cancel(slot);
  Submit(job, /*must_run=*/true);
}

void AsapServer::FinishRemoval(const Job& job) {
  const handlespace::ShardRequest& r = job.request;
  const uint32_t slot = FindSession(r.handle, r.pe_id);
  if (slot != kNoSession && sessions_[slot].removing) EraseSession(slot);
  AsapServerStats::Bump(*job.reason);
}

void AsapServer::OnAssociationDown(const AssocRef& assoc, Tick /*now*/) {
  // The association is the only path to these PEs: a keep-alive can no
  // longer be sent, which RFC 5352 §3.4 treats as a failed PE.
  for (uint32_t slot = 0; slot < sessions_.size(); ++slot) {
    Session& session = sessions_[slot];
    if (session.key.empty() || !(session.assoc == assoc)) continue;
    if (!session.removing) Remove(slot, stats_.removed_by_association_loss);
  }
}

void AsapServer::OnTimer(Tick now) {
  // Registration lifetimes (RFC 5352 §3.2: the PE is told with a
  // DEREGISTRATION_RESPONSE), one expiry command per shard at a time, every
  // kExpiryPeriod (lifetimes are whole seconds; a parked shard lcore is not
  // woken on every tick).
  for (uint32_t shard = 0; now >= next_expiry_ && shard < shards_->shard_count(); ++shard) {
    if (expiry_in_flight_[shard]) continue;
    Job* job = NewJob(JobKind::kExpiry, ShardOp::kExpire, {});
    job->request.tick = now;
    job->shard = shard;
    expiry_in_flight_[shard] = true;
    SubmitToShard(shard, job, /*must_run=*/true);
  }
  if (now >= next_expiry_) next_expiry_ = now + kExpiryPeriod;
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
    if (sessions_[slot].ack_deadline != kNever) {
      Remove(slot, stats_.removed_by_keep_alive);  // no ACK within the timeout
    } else if (rate > 0 && keep_alive_tokens_ < 1) {
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
    EraseSession(slot);
  }
}

}  // namespace rspd::control
