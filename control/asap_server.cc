#include "control/asap_server.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "control/pe_convert.h"

namespace rspd::control {
namespace {

using handlespace::kNever;
using handlespace::kNoError;
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

}  // namespace

std::string AsapServerStats::Describe() const {
  std::string out;
#define RSPD_STAT_LINE(name) \
  absl::StrAppend(&out, #name, " ", name.load(std::memory_order_relaxed), "\n");
  RSPD_ASAP_SERVER_STATS(RSPD_STAT_LINE)
#undef RSPD_STAT_LINE
  return out;
}

AsapServer::AsapServer(const RegistrarConfig& config,
                       std::vector<handlespace::HandlespaceShard*> shards, SendFn send)
    : config_(config), shards_(std::move(shards)), send_(std::move(send)), buffer_(kMaxMessage) {}

handlespace::HandlespaceShard& AsapServer::ShardFor(absl::string_view handle) {
  return *shards_[handlespace::ShardOf(handle, static_cast<uint32_t>(shards_.size()))];
}

bool AsapServer::RemoveFromHandlespace(absl::string_view handle, uint32_t pe_id) {
  request_.op = handlespace::ShardOp::kDeregister;
  request_.handle.assign(handle.data(), handle.size());
  request_.pe_id = pe_id;
  ShardFor(handle).Process(request_);
  return request_.found;
}

std::string AsapServer::SessionKey(absl::string_view handle, uint32_t pe_id) {
  std::string key(handle);
  key.append(reinterpret_cast<const char*>(&pe_id), sizeof(pe_id));
  return key;
}

AsapServer::Tick AsapServer::KeepAliveDelay() {
  // RFC 5352 §3.4 / RFC 5355 §2.14: spread keep-alives with ±50 % jitter.
  const int64_t interval = std::max<int64_t>(1, Millis(config_.keep_alive_interval));
  return static_cast<Tick>(
      absl::Uniform<int64_t>(jitter_, interval / 2, interval + interval / 2 + 1));
}

void AsapServer::Reply(const AssocRef& to, const Message& m) {
  size_t n = protocol::EncodeMessage(m, absl::MakeSpan(buffer_));
  if (n == 0 || !send_(to, absl::MakeConstSpan(buffer_.data(), n))) {
    AsapServerStats::Bump(stats_.send_failures);
  }
}

void AsapServer::OnMessage(const AssocRef& from, const handlespace::IpAddress& remote_ip,
                           uint16_t remote_port, absl::Span<const uint8_t> bytes, Tick now) {
  Message m;
  protocol::DecodeError error;
  if (!protocol::DecodeMessage(protocol::Protocol::kAsap, bytes, &m, &error)) {
    AsapServerStats::Bump(stats_.malformed_messages);
    // RFC 5354 §3, §4: report when the action bits (or the fault) ask for it.
    if (error.report) {
      size_t n = protocol::EncodeErrorReport(protocol::Protocol::kAsap, error, 0, 0,
                                             absl::MakeSpan(buffer_));
      if (n != 0 && send_(from, absl::MakeConstSpan(buffer_.data(), n))) {
        AsapServerStats::Bump(stats_.errors_sent);
      }
    }
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
      size_t n = protocol::EncodeErrorReport(protocol::Protocol::kAsap, unsupported, 0, 0,
                                             absl::MakeSpan(buffer_));
      if (n != 0 && send_(from, absl::MakeConstSpan(buffer_.data(), n))) {
        AsapServerStats::Bump(stats_.errors_sent);
      }
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
  handlespace::RegisterResult result;
  if (cause == kNoError) {
    // RFC 5352 §3.1 rule 4: we become the home registrar and record the
    // source transport address as the PE's ASAP transport.
    pe.home = config_.server_id;
    pe.asap = handlespace::AsapTransport();
    pe.asap.port = remote_port;
    pe.asap.addresses.push_back(remote_ip);
    const Tick expiry =
        pe.registration_life < 0 ? kNever : now + static_cast<Tick>(pe.registration_life) * 1000;
    request_.op = handlespace::ShardOp::kRegister;
    request_.handle.assign(m.pool_handle.data(), m.pool_handle.size());
    request_.pe = pe;
    request_.tick = expiry;
    ShardFor(m.pool_handle).Process(request_);
    result = request_.reg;
    cause = request_.cause;
  }

  Message reply = Asap(AsapType::kRegistrationResponse);
  reply.has_pool_handle = true;
  reply.pool_handle = m.pool_handle;
  reply.has_pe_id = true;
  reply.pe_id = m.pool_element.pe_id;
  // Cause information (RFC 5354 §3.12): the pool's policy for 0x5, a
  // transport for 0x7, the offending Pool Element for 0x3.
  uint8_t info[1024];
  protocol::Writer w(absl::MakeSpan(info));
  ErrorCause error{cause, {}};
  if (cause != kNoError) {
    handlespace::PoolAttributes pool;
    const bool pool_known = ShardFor(m.pool_handle).table().GetPoolAttributes(m.pool_handle, &pool);
    if (cause == Cause::kInconsistentPoolingPolicy && pool_known) {
      handlespace::PolicyInfo pool_policy;
      pool_policy.type = pool.policy;
      protocol::EncodePolicy(w, PolicyToWire(pool_policy));
    } else if (cause == Cause::kInconsistentTransportType && pool_known) {
      // A transport parameter of the pool's type (its values are the
      // rejected PE's: only the type is what the cause tells).
      protocol::Transport transport = m.pool_element.user_transport;
      transport.type = pool.transport;
      if (transport.type == protocol::ParamType::kOpaqueTransport) transport.opaque = {};
      protocol::EncodeTransport(w, transport);
    } else if (cause == Cause::kInvalidValues) {
      protocol::EncodePoolElement(w, m.pool_element);
    }
    if (!w.overflow()) error.info = absl::MakeConstSpan(info, w.content_end());
    reply.flags = protocol::kFlagRegistrationReject;
    reply.has_error = true;
    reply.error_causes = protocol::ParamList<ErrorCause>(absl::MakeConstSpan(&error, 1));
    AsapServerStats::Bump(stats_.registrations_rejected);
    Reply(from, reply);
    return;
  }
  AsapServerStats::Bump(result.added ? stats_.registrations : stats_.reregistrations);
  Session& session = sessions_[SessionKey(m.pool_handle, pe.id)];
  session.assoc = from;
  session.assoc_up = true;
  session.bad_reports = 0;
  session.ack_deadline = kNever;
  session.next_keep_alive = now + KeepAliveDelay();
  Reply(from, reply);
}

void AsapServer::HandleDeregistration(const AssocRef& from, const Message& m) {
  Message reply = Asap(AsapType::kDeregistrationResponse);
  reply.has_pool_handle = true;
  reply.pool_handle = m.pool_handle;
  reply.has_pe_id = true;
  reply.pe_id = m.pe_id;
  auto it = sessions_.find(SessionKey(m.pool_handle, m.pe_id));
  const bool registered_here = it != sessions_.end();
  if (!registered_here &&
      ShardFor(m.pool_handle).table().Find(m.pool_handle, m.pe_id) != handlespace::kNoSlot) {
    // RFC 5355 §2.1-2.4: no deregistration by proxy. A PE registered at
    // another registrar (or over another association) is not ours to remove.
    ErrorCause error{Cause::kRejectedDueToSecurity, {}};
    reply.has_error = true;
    reply.error_causes = protocol::ParamList<ErrorCause>(absl::MakeConstSpan(&error, 1));
    Reply(from, reply);
    return;
  }
  if (registered_here && !(it->second.assoc == from)) {
    ErrorCause error{Cause::kRejectedDueToSecurity, {}};
    reply.has_error = true;
    reply.error_causes = protocol::ParamList<ErrorCause>(absl::MakeConstSpan(&error, 1));
    Reply(from, reply);
    return;
  }
  // RFC 5352 §3.2: remove it (the pool goes when it empties); an unknown PE
  // is answered with success too.
  if (registered_here) {
    RemoveFromHandlespace(m.pool_handle, m.pe_id);
    sessions_.erase(it);
    AsapServerStats::Bump(stats_.removed_by_deregistration);
  }
  AsapServerStats::Bump(stats_.deregistrations);
  Reply(from, reply);
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
  request_.op = handlespace::ShardOp::kResolve;
  request_.handle.assign(m.pool_handle.data(), m.pool_handle.size());
  request_.resolve = options;
  handlespace::HandlespaceShard& shard = ShardFor(m.pool_handle);
  shard.Process(request_);
  if (request_.cause != kNoError || request_.entries.empty()) {
    // RFC 5352 §3.3: a missing pool MUST be answered with Unknown Pool Handle.
    AsapServerStats::Bump(stats_.resolutions_unknown_pool);
    Message reply = Asap(AsapType::kHandleResolutionResponse);
    reply.has_pool_handle = true;
    reply.pool_handle = m.pool_handle;
    ErrorCause error{Cause::kUnknownPoolHandle, {}};
    reply.has_error = true;
    reply.error_causes = protocol::ParamList<ErrorCause>(absl::MakeConstSpan(&error, 1));
    Reply(from, reply);
    return;
  }
  protocol::Writer w(absl::MakeSpan(buffer_));
  protocol::BeginMessage(w, Type(AsapType::kHandleResolutionResponse), 0);
  protocol::EncodePoolHandle(w, m.pool_handle);
  handlespace::PoolAttributes pool;
  // RFC 5352 §2.2.6: the overall policy is included unless it is Round Robin.
  if (shard.table().GetPoolAttributes(m.pool_handle, &pool) &&
      pool.policy != protocol::PolicyType::kRoundRobin) {
    handlespace::PolicyInfo pool_policy;
    pool_policy.type = pool.policy;
    protocol::EncodePolicy(w, PolicyToWire(pool_policy));
  }
  for (const handlespace::ElementEntry& entry : request_.entries) {
    WirePoolElement pe(entry.pe);
    protocol::EncodePoolElement(w, pe.element());
  }
  size_t n = protocol::FinishMessage(w);
  if (n == 0 || !send_(from, absl::MakeConstSpan(buffer_.data(), n))) {
    AsapServerStats::Bump(stats_.send_failures);
  }
}

void AsapServer::HandleKeepAliveAck(const Message& m, Tick now) {
  auto it = sessions_.find(SessionKey(m.pool_handle, m.pe_id));
  if (it == sessions_.end()) return;
  AsapServerStats::Bump(stats_.keep_alive_acks);
  it->second.ack_deadline = kNever;
  it->second.next_keep_alive = now + KeepAliveDelay();
}

void AsapServer::HandleUnreachable(const Message& m, Tick now) {
  AsapServerStats::Bump(stats_.unreachable_reports);
  auto it = sessions_.find(SessionKey(m.pool_handle, m.pe_id));
  if (it == sessions_.end()) return;  // not ours, or already gone
  Session& session = it->second;
  // RFC 5352 §3.5: probe at once; a failed send removes the PE, otherwise
  // count the report and remove at MAX-BAD-PE-REPORT (RSPLIB: >=).
  if (++session.bad_reports >= config_.max_bad_pe_reports) {
    Remove(m.pool_handle, m.pe_id, stats_.removed_by_unreachable);
    return;
  }
  SendKeepAlive(m.pool_handle, m.pe_id, session, now);
}

void AsapServer::SendKeepAlive(absl::string_view handle, uint32_t pe_id, Session& session,
                               Tick now) {
  Message ka = Asap(AsapType::kEndpointKeepAlive);
  ka.server_id = config_.server_id;
  ka.has_pool_handle = true;
  ka.pool_handle = handle;
  ka.has_pe_id = true;
  ka.pe_id = pe_id;
  size_t n = protocol::EncodeMessage(ka, absl::MakeSpan(buffer_));
  if (!session.assoc_up || n == 0 ||
      !send_(session.assoc, absl::MakeConstSpan(buffer_.data(), n))) {
    // RFC 5352 §3.4: a keep-alive that cannot be sent removes the PE.
    Remove(handle, pe_id, stats_.removed_by_keep_alive);
    return;
  }
  AsapServerStats::Bump(stats_.keep_alives_sent);
  if (session.ack_deadline == kNever) {
    session.ack_deadline = now + static_cast<Tick>(Millis(config_.keep_alive_timeout));
  }
}

void AsapServer::Remove(absl::string_view handle, uint32_t pe_id, std::atomic<uint64_t>& reason) {
  std::string key = SessionKey(handle, pe_id);  // `handle` may point into the session map
  RemoveFromHandlespace(absl::string_view(key.data(), key.size() - sizeof(pe_id)), pe_id);
  sessions_.erase(key);
  AsapServerStats::Bump(reason);
}

void AsapServer::OnAssociationDown(const AssocRef& assoc, Tick /*now*/) {
  // The association is the only path to these PEs: a keep-alive can no
  // longer be sent, which RFC 5352 §3.4 treats as a failed PE.
  std::vector<std::string> lost;
  for (auto& [key, session] : sessions_) {
    if (session.assoc == assoc) lost.push_back(key);
  }
  for (const std::string& key : lost) {
    uint32_t pe_id;
    memcpy(&pe_id, key.data() + key.size() - sizeof(pe_id), sizeof(pe_id));
    RemoveFromHandlespace(absl::string_view(key.data(), key.size() - sizeof(pe_id)), pe_id);
    sessions_.erase(key);
    AsapServerStats::Bump(stats_.removed_by_association_loss);
  }
}

void AsapServer::OnTimer(Tick now) {
  // Registration lifetimes (RFC 5352 §3.2: the PE is told with a
  // DEREGISTRATION_RESPONSE), shard by shard.
  for (handlespace::HandlespaceShard* shard : shards_) {
    request_.op = handlespace::ShardOp::kExpire;
    request_.tick = now;
    shard->Process(request_);
    for (const handlespace::ElementEntry& e : request_.entries) {
      auto it = sessions_.find(SessionKey(e.handle, e.pe.id));
      if (it != sessions_.end()) {
        Message reply = Asap(AsapType::kDeregistrationResponse);
        reply.has_pool_handle = true;
        reply.pool_handle = e.handle;
        reply.has_pe_id = true;
        reply.pe_id = e.pe.id;
        if (it->second.assoc_up) Reply(it->second.assoc, reply);
        sessions_.erase(it);
      }
      AsapServerStats::Bump(stats_.removed_by_lifetime);
    }
  }
  // Keep-alive rounds, checked every 100 ms: a tenth of the smallest
  // sensible interval, and cheap next to the rounds themselves.
  if (now < next_sweep_) return;
  next_sweep_ = now + 100;
  std::vector<std::pair<std::string, bool>> due;  // key, timed out
  for (auto& [key, session] : sessions_) {
    if (session.ack_deadline <= now) {
      due.emplace_back(key, true);
    } else if (session.ack_deadline == kNever && session.next_keep_alive <= now) {
      due.emplace_back(key, false);
    }
  }
  for (const auto& [key, timed_out] : due) {
    uint32_t pe_id;
    memcpy(&pe_id, key.data() + key.size() - sizeof(pe_id), sizeof(pe_id));
    absl::string_view handle(key.data(), key.size() - sizeof(pe_id));
    if (timed_out) {
      Remove(handle, pe_id, stats_.removed_by_keep_alive);
      continue;
    }
    auto it = sessions_.find(key);
    if (it != sessions_.end()) SendKeepAlive(handle, pe_id, it->second, now);
  }
}

}  // namespace rspd::control
