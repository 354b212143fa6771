#include "client/asap_session.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "protocol/address.h"
#include "protocol/pool_element_codec.h"

namespace rspd::client {
namespace {

using protocol::AsapType;
using protocol::Message;

// Messages kept for the request in flight at most.
constexpr size_t kMaxInbox = 64;
// How often a server hunt round looks at its cancel flag.
constexpr absl::Duration kCancelCheckInterval = absl::Milliseconds(100);

// `pool` must outlive the message (Message holds views).
Message Asap(AsapType type, absl::string_view pool) {
  Message m;
  m.protocol = protocol::Protocol::kAsap;
  m.type = static_cast<uint8_t>(type);
  m.has_pool_handle = true;
  m.pool_handle = pool;
  return m;
}

// The request as it goes on the wire; InvalidArgument, and nothing to send,
// if it does not fit an ASAP message (RFC 5354 §4: a 16-bit Message Length).
absl::StatusOr<std::vector<uint8_t>> Encode(const Message& m) {
  std::vector<uint8_t> bytes = protocol::EncodeMessageToVector(m);
  if (bytes.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(protocol::MessageTypeName(protocol::Protocol::kAsap, m.type),
                     " does not fit an ASAP message: the limit is ", protocol::kMaxMessageSize,
                     " bytes (the 16-bit Message Length, RFC 5354 §4)"));
  }
  return bytes;
}

absl::Status CauseStatus(const Message& m, const char* what) {
  protocol::Cause cause = m.error_causes.front().code;
  std::string text = absl::StrCat(what, " rejected: ", protocol::CauseName(cause), " (cause ",
                                  static_cast<int>(cause), ")");
  // Lack of Resources is the registrar being busy (RFC 5354 §3.12, cause
  // 0x6): worth a retry, unlike a rejection of what was asked.
  if (cause == protocol::Cause::kLackOfResources) {
    return absl::ResourceExhaustedError(std::move(text));
  }
  return absl::FailedPreconditionError(std::move(text));
}

}  // namespace

absl::Status CheckPoolHandle(absl::string_view pool) {
  // RFC 5354 §3.9 bounds a handle only by the message; the registrar takes
  // 1 to protocol::kMaxPoolHandleSize bytes and calls anything else Invalid
  // Values, which would not say why.
  if (pool.empty() || pool.size() > protocol::kMaxPoolHandleSize) {
    return absl::InvalidArgumentError(absl::StrCat("the pool handle is ", pool.size(),
                                                   " bytes; it must be 1 to ",
                                                   protocol::kMaxPoolHandleSize, " bytes"));
  }
  return absl::OkStatus();
}

std::string FormatRegistrarAddress(const RegistrarAddress& registrar) {
  std::string text = protocol::JoinHostPort(registrar.host, registrar.udp_port);
  if (registrar.sctp_port != RegistrarAddress().sctp_port) {
    absl::StrAppend(&text, "/", registrar.sctp_port);
  }
  return text;
}

absl::StatusOr<RegistrarAddress> ParseRegistrarAddress(const std::string& text) {
  RegistrarAddress address;
  // "/ASAP_PORT" last: registrars that share an address differ in their
  // ASAP port (SCTP tells associations apart by address and SCTP port only).
  absl::string_view rest = text;
  if (const size_t slash = rest.rfind('/'); slash != absl::string_view::npos) {
    uint32_t value;
    if (!absl::SimpleAtoi(rest.substr(slash + 1), &value) || value == 0 || value > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad ASAP port '", rest.substr(slash + 1), "'"));
    }
    address.sctp_port = static_cast<uint16_t>(value);
    rest = rest.substr(0, slash);
  }
  absl::StatusOr<protocol::HostPort> split = protocol::SplitHostPort(rest);
  if (!split.ok()) return split.status();
  if (!protocol::IpAddress::Parse(split->host)) {
    return absl::InvalidArgumentError(absl::StrCat("not an IP address: '", split->host, "'"));
  }
  address.host = split->host;
  if (!split->port.empty()) {
    uint32_t value;
    // Port 0: native SCTP, no encapsulation (sctp_association.h).
    if (!absl::SimpleAtoi(split->port, &value) || value > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("bad port '", split->port, "'"));
    }
    address.udp_port = static_cast<uint16_t>(value);
  }
  return address;
}

absl::StatusOr<std::unique_ptr<AsapSession>> AsapSession::Connect(const RegistrarAddress& registrar,
                                                                  absl::Duration timeout) {
  return Connect(absl::MakeConstSpan(&registrar, 1), timeout);
}

absl::StatusOr<std::unique_ptr<AsapSession>> AsapSession::Connect(
    absl::Span<const RegistrarAddress> registrars, absl::Duration timeout,
    std::vector<Attempt>* attempts, const std::atomic<bool>* cancel) {
  if (std::any_of(registrars.begin(), registrars.end(),
                  [](const RegistrarAddress& r) { return r.udp_port == 0; })) {
    PrepareNativeSctp();
  }
  std::unique_ptr<AsapSession> session(new AsapSession());
  AsapSession* self = session.get();
  {
    std::lock_guard<std::mutex> lock(session->mu_);
    session->hunting_ = true;
  }
  // RFC 5352 §3.6 SH2: one T5 for the round.
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<Attempt> outcome(registrars.size(), Attempt::kNotTried);
  std::vector<uint32_t> ids(registrars.size(), 0);
  // Each attempt starts from its own endpoint: SCTP tells peers apart by
  // address and SCTP port only, which registrars on one host that differ in
  // their UDP port share. The home's endpoint stays; it listens, because
  // registrars reach the PE at its ASAP transport address, the source of its
  // association (RFC 5352 §3.1 rule 4, RFC 5353 §3.5.2). Declared after
  // `session`: closed before it goes.
  std::vector<std::unique_ptr<SctpServer>> endpoints(registrars.size());
  std::vector<size_t> pending;
  size_t next = 0;
  size_t home = registrars.size();
  std::string failures;
  auto failed = [&](size_t i, absl::string_view why) {
    outcome[i] = Attempt::kFailed;
    absl::StrAppend(&failures, failures.empty() ? "" : "; ", "registrar ", registrars[i].host,
                    " (UDP ", registrars[i].udp_port, "): ", why);
  };
  while (true) {
    // SH1: at most three at once; SH4: a failed one is replaced by the next.
    while (pending.size() < kMaxHuntAssociations && next < registrars.size()) {
      const size_t i = next++;
      auto endpoint = SctpServer::Listen(
          0,
          [self, i](uint32_t assoc, uint32_t ppid, absl::Span<const uint8_t> data) {
            self->OnMessage(i, assoc, ppid, data);
          },
          [self, i](uint32_t assoc, bool up) { self->OnEvent(i, assoc, up); },
          {registrars[i].tls, protocol::kAsapPpid});
      if (!endpoint.ok()) {
        failed(i, endpoint.status().message());
        continue;
      }
      endpoints[i] = std::move(*endpoint);
      const RegistrarAddress& r = registrars[i];
      absl::StatusOr<uint32_t> id = endpoints[i]->Connect(r.host, r.sctp_port, r.udp_port);
      if (!id.ok()) {
        failed(i, id.status().message());
        continue;
      }
      ids[i] = *id;
      pending.push_back(i);
    }
    if (pending.empty()) break;
    std::unique_lock<std::mutex> lock(session->mu_);
    auto up = [&](size_t i) { return session->up_.count(Key(i, ids[i])) > 0; };
    auto down = [&](size_t i) { return session->down_.count(Key(i, ids[i])) > 0; };
    auto settled = [&] {
      return std::any_of(pending.begin(), pending.end(), up) ||
             std::any_of(pending.begin(), pending.end(), down);
    };
    // Waits in slices so that a cancellation is seen within one.
    while (!settled() && absl::Now() < deadline &&
           !(cancel != nullptr && cancel->load(std::memory_order_relaxed))) {
      session->cv_.wait_for(
          lock, absl::ToChronoMilliseconds(std::min(deadline - absl::Now(), kCancelCheckInterval)));
    }
    if (!settled()) break;  // SH5: T5 expired (or the round was cancelled)
    for (auto it = pending.begin(); it != pending.end() && home == registrars.size();) {
      if (up(*it)) {
        home = *it;  // SH3, SH6: the first association up makes its registrar home
        it = pending.erase(it);
      } else if (down(*it)) {
        const std::string tls_error = endpoints[*it]->tls_error();
        failed(*it, tls_error.empty() ? "no SCTP association" : "TLS: " + tls_error);
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
    if (home != registrars.size()) break;
  }
  // SH1 (at most three associations) and SH5.2: the attempts still being set
  // up stop, with their endpoints.
  for (size_t i : pending) {
    outcome[i] = Attempt::kAborted;
    if (home == registrars.size()) {
      absl::StrAppend(&failures, failures.empty() ? "" : "; ", "registrar ", registrars[i].host,
                      " (UDP ", registrars[i].udp_port, "): no SCTP association within ",
                      absl::FormatDuration(timeout));
    }
  }
  if (home != registrars.size()) outcome[home] = Attempt::kHome;
  if (attempts != nullptr) *attempts = outcome;
  if (home == registrars.size()) {
    return absl::UnavailableError(failures.empty() ? "no registrar to try" : failures);
  }
  session->endpoint_ = std::move(endpoints[home]);
  endpoints.clear();
  std::lock_guard<std::mutex> lock(session->mu_);
  session->hunting_ = false;
  session->down_.clear();
  session->home_slot_ = home;
  session->home_assoc_ = ids[home];
  return session;
}

AsapSession::~AsapSession() = default;

bool AsapSession::connected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return up_.count(Key(home_slot_, home_assoc_)) > 0;
}

uint32_t AsapSession::home_registrar() const {
  std::lock_guard<std::mutex> lock(mu_);
  return home_;
}

void AsapSession::OnEvent(size_t slot, uint32_t assoc, bool up) {
  std::lock_guard<std::mutex> lock(mu_);
  if (up) {
    up_.insert(Key(slot, assoc));
  } else {
    up_.erase(Key(slot, assoc));
    if (hunting_) down_.insert(Key(slot, assoc));
  }
  cv_.notify_all();
}

void AsapSession::OnMessage(size_t slot, uint32_t assoc, uint32_t ppid,
                            absl::Span<const uint8_t> data) {
  if (ppid != protocol::kAsapPpid) return;  // registrars send ASAP only (RFC 5352 §5)
  if (!data.empty() && data[0] == static_cast<uint8_t>(AsapType::kEndpointKeepAlive)) {
    HandleKeepAlive(slot, assoc, data);
    return;
  }
  if (!data.empty() && data[0] == static_cast<uint8_t>(AsapType::kDeregistrationResponse) &&
      HandleDeregistrationResponse(slot, assoc, data)) {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (hunting_ || slot != home_slot_) return;  // nothing was asked yet
  // Answers wait here for the one request in flight; unsolicited ones do
  // not pile up (each request drops what came before it anyway).
  if (inbox_.size() >= kMaxInbox) inbox_.pop_front();
  inbox_.push_back({assoc, std::vector<uint8_t>(data.begin(), data.end())});
  cv_.notify_all();
}

void AsapSession::HandleKeepAlive(size_t slot, uint32_t assoc, absl::Span<const uint8_t> data) {
  Message m;
  protocol::DecodeError error;
  if (!protocol::DecodeMessage(protocol::Protocol::kAsap, data, &m, &error)) {
    return;  // nothing sensible to answer a malformed keep-alive with
  }
  std::vector<uint32_t> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (hunting_ || slot != home_slot_) return;  // not registered over this endpoint
    // RFC 5352 §3.4 KA1: only a keep-alive for a pool we are in is answered;
    // one naming a PE (docs/decisions.md) for that PE, one without for each
    // PE of the pool.
    auto pool = registered_.find(m.pool_handle);
    if (pool == registered_.end()) return;
    if (m.has_pe_id) {
      if (!pool->second.contains(m.pe_id)) return;
      ids.push_back(m.pe_id);
    } else {
      ids.assign(pool->second.begin(), pool->second.end());
    }
    // KA2.4: H=1 from a registrar other than our home (or with no home known)
    // makes it home; our requests follow on its association. Adopted before
    // the ACK goes out, so a registrar that saw the ACK sees the new home.
    if ((m.flags & protocol::kFlagHome) && (home_ == 0 || m.server_id != home_)) {
      home_ = m.server_id;
      home_assoc_ = assoc;
    }
  }
  for (uint32_t id : ids) {
    // KA2.1-KA2.3: the ACK names pool and PE and goes back on the keep-alive's
    // association.
    Message ack = Asap(AsapType::kEndpointKeepAliveAck, m.pool_handle);
    ack.has_pe_id = true;
    ack.pe_id = id;
    (void)endpoint_->Send(assoc, protocol::kAsapPpid, protocol::EncodeMessageToVector(ack));
  }
}

bool AsapSession::HandleDeregistrationResponse(size_t slot, uint32_t assoc,
                                               absl::Span<const uint8_t> data) {
  Message m;
  protocol::DecodeError error;
  if (!protocol::DecodeMessage(protocol::Protocol::kAsap, data, &m, &error) || !m.has_pe_id) {
    return true;  // names no registration
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (hunting_ || slot != home_slot_) return true;  // nothing registered over this endpoint
  // The answer to the Deregister in flight on this association goes to it.
  if (in_flight_.active && in_flight_.reply == AsapType::kDeregistrationResponse &&
      in_flight_.assoc == assoc && in_flight_.pool == m.pool_handle &&
      in_flight_.pe_id == m.pe_id) {
    return false;
  }
  // RFC 5352 §2.2.4, §3.2: sent unasked, it tells that the registrar removed
  // the PE (its lifetime ran out; rspd also sends it for a PE it dropped
  // after failed keep-alives or unreachable reports). One carrying an
  // Operational Error is a refused deregistration, not a removal: a late
  // answer to one that timed out.
  if (m.has_error) return true;
  auto pool = registered_.find(m.pool_handle);
  if (pool == registered_.end() || pool->second.erase(m.pe_id) == 0) {
    return true;  // not ours, or already known to be gone
  }
  if (pool->second.empty()) registered_.erase(pool);
  removed_.push_back({std::string(m.pool_handle), m.pe_id});
  return true;
}

std::vector<RemovedRegistration> AsapSession::TakeRemovedRegistrations() {
  std::vector<RemovedRegistration> out;
  std::lock_guard<std::mutex> lock(mu_);
  out.swap(removed_);
  return out;
}

absl::StatusOr<std::vector<uint8_t>> AsapSession::Transact(const Message& request, AsapType reply,
                                                           const std::string& pool,
                                                           std::optional<uint32_t> pe_id,
                                                           absl::Duration timeout) {
  absl::StatusOr<std::vector<uint8_t>> bytes = Encode(request);
  if (!bytes.ok()) return bytes.status();
  std::lock_guard<std::mutex> one_at_a_time(request_mu_);
  uint32_t assoc;
  {
    std::lock_guard<std::mutex> lock(mu_);
    assoc = home_assoc_;
    inbox_.clear();
    in_flight_ = {true, assoc, reply, pool, pe_id};
  }
  absl::Status sent = endpoint_->Send(assoc, protocol::kAsapPpid, *bytes);
  absl::StatusOr<std::vector<uint8_t>> answer =
      sent.ok() ? AwaitReply(assoc, reply, pool, pe_id, timeout) : sent;
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_.active = false;
  return answer;
}

absl::StatusOr<std::vector<uint8_t>> AsapSession::AwaitReply(uint32_t assoc, AsapType reply,
                                                             const std::string& pool,
                                                             std::optional<uint32_t> pe_id,
                                                             absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait_for(lock,
                 absl::ToChronoMilliseconds(std::max(deadline - absl::Now(), absl::ZeroDuration())),
                 [&] { return !inbox_.empty() || up_.count(Key(home_slot_, assoc)) == 0; });
    if (inbox_.empty()) {
      if (up_.count(Key(home_slot_, assoc)) == 0)
        return absl::UnavailableError("the association is gone");
      return absl::DeadlineExceededError(absl::StrCat(
          "no ", protocol::MessageTypeName(protocol::Protocol::kAsap, static_cast<uint8_t>(reply)),
          " within ", absl::FormatDuration(timeout)));
    }
    Inbound in = std::move(inbox_.front());
    inbox_.pop_front();
    if (in.assoc != assoc) continue;  // the answer comes where the request went
    Message m;
    protocol::DecodeError error;
    if (!protocol::DecodeMessage(protocol::Protocol::kAsap, in.data, &m, &error)) continue;
    if (m.type == static_cast<uint8_t>(AsapType::kError)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "registrar answered ASAP_ERROR: ", protocol::CauseName(m.error_causes.front().code)));
    }
    if (m.type == static_cast<uint8_t>(reply) && (!m.has_pool_handle || m.pool_handle == pool) &&
        (!pe_id.has_value() || !m.has_pe_id || m.pe_id == *pe_id)) {
      return std::move(in.data);
    }
  }
}

absl::Status AsapSession::Register(const std::string& pool, const protocol::PoolElement& pe,
                                   absl::Duration timeout) {
  if (absl::Status s = CheckPoolHandle(pool); !s.ok()) return s;
  Message m = Asap(AsapType::kRegistration, pool);
  m.has_pool_element = true;
  m.pool_element = protocol::ViewOf(pe);
  absl::StatusOr<std::vector<uint8_t>> bytes =
      Transact(m, AsapType::kRegistrationResponse, pool, pe.id, timeout);
  if (!bytes.ok()) return bytes.status();
  Message reply;
  protocol::DecodeError error;
  protocol::DecodeMessage(protocol::Protocol::kAsap, *bytes, &reply, &error);
  if ((reply.flags & protocol::kFlagRegistrationReject) && reply.has_error) {
    return CauseStatus(reply, "registration");
  }
  std::lock_guard<std::mutex> lock(mu_);
  registered_[pool].insert(pe.id);
  return absl::OkStatus();
}

absl::Status AsapSession::Deregister(const std::string& pool, uint32_t pe_id,
                                     absl::Duration timeout) {
  if (absl::Status s = CheckPoolHandle(pool); !s.ok()) return s;
  Message m = Asap(AsapType::kDeregistration, pool);
  m.has_pe_id = true;
  m.pe_id = pe_id;
  // No longer answered for from here on: a second DEREGISTRATION_RESPONSE
  // arriving after the answer is not mistaken for a removal notice.
  bool was_registered = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = registered_.find(pool); it != registered_.end()) {
      was_registered = it->second.erase(pe_id) > 0;
      if (it->second.empty()) registered_.erase(it);
    }
  }
  absl::StatusOr<std::vector<uint8_t>> bytes =
      Transact(m, AsapType::kDeregistrationResponse, pool, pe_id, timeout);
  if (!bytes.ok()) {
    // No answer: as far as we know the registrar still has the PE.
    std::lock_guard<std::mutex> lock(mu_);
    if (was_registered) registered_[pool].insert(pe_id);
    return bytes.status();
  }
  Message reply;
  protocol::DecodeError error;
  protocol::DecodeMessage(protocol::Protocol::kAsap, *bytes, &reply, &error);
  if (reply.has_error) return CauseStatus(reply, "deregistration");
  return absl::OkStatus();
}

absl::StatusOr<Resolution> AsapSession::Resolve(const std::string& pool, uint32_t items,
                                                absl::Duration timeout) {
  if (absl::Status s = CheckPoolHandle(pool); !s.ok()) return s;
  Message m = Asap(AsapType::kHandleResolution, pool);
  if (items > 0) {
    m.has_handle_resolution_items = true;
    m.handle_resolution_items = items;
  }
  absl::StatusOr<std::vector<uint8_t>> bytes =
      Transact(m, AsapType::kHandleResolutionResponse, pool, std::nullopt, timeout);
  if (!bytes.ok()) return bytes.status();
  Message reply;
  protocol::DecodeError error;
  protocol::DecodeMessage(protocol::Protocol::kAsap, *bytes, &reply, &error);
  if (reply.has_error && reply.pool_elements.empty()) {
    if (reply.error_causes.front().code == protocol::Cause::kUnknownPoolHandle) {
      return absl::NotFoundError(absl::StrCat("unknown pool handle '", pool, "'"));
    }
    return CauseStatus(reply, "handle resolution");
  }
  Resolution out;
  if (reply.has_policy) out.overall_policy = reply.policy.type;
  out.elements = protocol::OwnedElements(reply.pool_elements);
  return out;
}

absl::Status AsapSession::ReportUnreachable(const std::string& pool, uint32_t pe_id) {
  if (absl::Status s = CheckPoolHandle(pool); !s.ok()) return s;
  Message m = Asap(AsapType::kEndpointUnreachable, pool);
  m.has_pe_id = true;
  m.pe_id = pe_id;
  absl::StatusOr<std::vector<uint8_t>> bytes = Encode(m);
  if (!bytes.ok()) return bytes.status();
  uint32_t assoc;
  {
    std::lock_guard<std::mutex> lock(mu_);
    assoc = home_assoc_;
  }
  return endpoint_->Send(assoc, protocol::kAsapPpid, *bytes);
}

}  // namespace rspd::client
