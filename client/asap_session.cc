#include "client/asap_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rspd::client {
namespace {

using protocol::AsapType;
using protocol::Message;

// `pool` must outlive the message (Message holds views).
Message Asap(AsapType type, absl::string_view pool) {
  Message m;
  m.protocol = protocol::Protocol::kAsap;
  m.type = static_cast<uint8_t>(type);
  m.has_pool_handle = true;
  m.pool_handle = pool;
  return m;
}

absl::Status CauseStatus(const Message& m, const char* what) {
  protocol::Cause cause = m.error_causes.front().code;
  return absl::FailedPreconditionError(absl::StrCat(what, " rejected: ", protocol::CauseName(cause),
                                                    " (cause ", static_cast<int>(cause), ")"));
}

}  // namespace

absl::StatusOr<RegistrarAddress> ParseRegistrarAddress(const std::string& text) {
  RegistrarAddress address;
  std::string host = text;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos) return absl::InvalidArgumentError("unclosed '[' in address");
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return absl::InvalidArgumentError("expected ':' after ']'");
      port = text.substr(close + 2);
    }
  } else if (size_t colon = text.rfind(':');
             colon != std::string::npos && text.find(':') == colon) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned char buffer[16];
  if (inet_pton(AF_INET, host.c_str(), buffer) != 1 &&
      inet_pton(AF_INET6, host.c_str(), buffer) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IP address: '", host, "'"));
  }
  address.host = host;
  if (!port.empty()) {
    uint32_t value;
    if (!absl::SimpleAtoi(port, &value) || value == 0 || value > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("bad port '", port, "'"));
    }
    address.udp_port = static_cast<uint16_t>(value);
  }
  return address;
}

absl::StatusOr<std::unique_ptr<AsapSession>> AsapSession::Connect(const RegistrarAddress& registrar,
                                                                  absl::Duration timeout) {
  std::unique_ptr<AsapSession> session(new AsapSession());
  AsapSession* self = session.get();
  auto association = SctpAssociation::Connect(
      registrar.host, registrar.sctp_port, registrar.udp_port, timeout,
      [self](uint32_t ppid, absl::Span<const uint8_t> data) {
        return ppid == protocol::kAsapPpid && self->HandleUnsolicited(data);
      });
  if (!association.ok()) {
    return absl::UnavailableError(absl::StrCat("registrar ", registrar.host, " (UDP ",
                                               registrar.udp_port,
                                               "): ", association.status().message()));
  }
  session->association_ = std::move(*association);
  return session;
}

AsapSession::~AsapSession() = default;

uint32_t AsapSession::home_registrar() const {
  std::lock_guard<std::mutex> lock(mu_);
  return home_;
}

uint64_t AsapSession::keep_alives_answered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keep_alives_answered_;
}

bool AsapSession::HandleUnsolicited(absl::Span<const uint8_t> data) {
  if (data.empty() || data[0] != static_cast<uint8_t>(AsapType::kEndpointKeepAlive)) {
    return false;
  }
  Message m;
  protocol::DecodeError error;
  if (!protocol::DecodeMessage(protocol::Protocol::kAsap, data, &m, &error)) {
    return true;  // nothing sensible to answer a malformed keep-alive with
  }
  // RFC 5352 §3.4 KA1-KA2: ACK every keep-alive for a pool we are in;
  // KA2.4: H=1 makes the sender our home registrar.
  std::vector<uint32_t> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [pool, id] : registered_) {
      if (pool == m.pool_handle && (!m.has_pe_id || m.pe_id == id)) ids.push_back(id);
    }
    if (!ids.empty() && (m.flags & protocol::kFlagHome)) home_ = m.server_id;
  }
  for (uint32_t id : ids) {
    Message ack = Asap(AsapType::kEndpointKeepAliveAck, m.pool_handle);
    ack.has_pe_id = true;
    ack.pe_id = id;
    if (association_->Send(protocol::kAsapPpid, protocol::EncodeMessageToVector(ack)).ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      ++keep_alives_answered_;
    }
  }
  return true;
}

absl::StatusOr<std::vector<uint8_t>> AsapSession::Transact(absl::Span<const uint8_t> request,
                                                           AsapType reply, const std::string& pool,
                                                           absl::Duration timeout) {
  std::lock_guard<std::mutex> one_at_a_time(request_mu_);
  if (absl::Status s = association_->Send(protocol::kAsapPpid, request); !s.ok()) return s;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<SctpAssociation::Received> received =
        association_->Receive(std::max(deadline - absl::Now(), absl::ZeroDuration()));
    if (absl::IsDeadlineExceeded(received.status())) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no ", protocol::MessageTypeName(protocol::Protocol::kAsap, static_cast<uint8_t>(reply)),
          " within ", absl::FormatDuration(timeout)));
    }
    if (!received.ok()) return received.status();
    if (received->ppid != protocol::kAsapPpid) continue;
    Message m;
    protocol::DecodeError error;
    if (!protocol::DecodeMessage(protocol::Protocol::kAsap, received->data, &m, &error)) continue;
    if (m.type == static_cast<uint8_t>(AsapType::kError)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "registrar answered ASAP_ERROR: ", protocol::CauseName(m.error_causes.front().code)));
    }
    if (m.type == static_cast<uint8_t>(reply) && (!m.has_pool_handle || m.pool_handle == pool)) {
      return std::move(received->data);
    }
  }
}

absl::Status AsapSession::Register(const std::string& pool, const PoolElementSpec& pe,
                                   absl::Duration timeout) {
  Message m = Asap(AsapType::kRegistration, pool);
  m.has_pool_element = true;
  m.pool_element.pe_id = pe.pe_id;
  m.pool_element.registration_life = pe.registration_life;
  m.pool_element.user_transport.type = pe.transport;
  m.pool_element.user_transport.port = pe.port;
  m.pool_element.user_transport.transport_use =
      pe.control_channel ? static_cast<uint16_t>(protocol::TransportUse::kDataPlusControl) : 0;
  m.pool_element.user_transport.addresses =
      protocol::ParamList<protocol::IpAddress>(absl::MakeConstSpan(pe.addresses));
  m.pool_element.policy = pe.policy;
  absl::StatusOr<std::vector<uint8_t>> bytes =
      Transact(protocol::EncodeMessageToVector(m), AsapType::kRegistrationResponse, pool, timeout);
  if (!bytes.ok()) return bytes.status();
  Message reply;
  protocol::DecodeError error;
  protocol::DecodeMessage(protocol::Protocol::kAsap, *bytes, &reply, &error);
  if ((reply.flags & protocol::kFlagRegistrationReject) && reply.has_error) {
    return CauseStatus(reply, "registration");
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [p, id] : registered_) {
    if (p == pool && id == pe.pe_id) return absl::OkStatus();
  }
  registered_.emplace_back(pool, pe.pe_id);
  return absl::OkStatus();
}

absl::Status AsapSession::Deregister(const std::string& pool, uint32_t pe_id,
                                     absl::Duration timeout) {
  Message m = Asap(AsapType::kDeregistration, pool);
  m.has_pe_id = true;
  m.pe_id = pe_id;
  absl::StatusOr<std::vector<uint8_t>> bytes = Transact(
      protocol::EncodeMessageToVector(m), AsapType::kDeregistrationResponse, pool, timeout);
  if (!bytes.ok()) return bytes.status();
  Message reply;
  protocol::DecodeError error;
  protocol::DecodeMessage(protocol::Protocol::kAsap, *bytes, &reply, &error);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = registered_.begin(); it != registered_.end(); ++it) {
      if (it->first == pool && it->second == pe_id) {
        registered_.erase(it);
        break;
      }
    }
  }
  if (reply.has_error) return CauseStatus(reply, "deregistration");
  return absl::OkStatus();
}

absl::StatusOr<Resolution> AsapSession::Resolve(const std::string& pool, uint32_t items,
                                                absl::Duration timeout) {
  Message m = Asap(AsapType::kHandleResolution, pool);
  if (items > 0) {
    m.has_handle_resolution_items = true;
    m.handle_resolution_items = items;
  }
  absl::StatusOr<std::vector<uint8_t>> bytes = Transact(
      protocol::EncodeMessageToVector(m), AsapType::kHandleResolutionResponse, pool, timeout);
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
  for (const protocol::PoolElement& e : reply.pool_elements) {
    ResolvedElement r;
    r.pe_id = e.pe_id;
    r.home_registrar = e.home_registrar;
    r.registration_life = e.registration_life;
    r.transport = e.user_transport.type;
    r.port = e.user_transport.port;
    r.transport_use = e.user_transport.transport_use;
    r.addresses.assign(e.user_transport.addresses.begin(), e.user_transport.addresses.end());
    r.policy = e.policy;
    out.elements.push_back(std::move(r));
  }
  return out;
}

absl::Status AsapSession::ReportUnreachable(const std::string& pool, uint32_t pe_id) {
  Message m = Asap(AsapType::kEndpointUnreachable, pool);
  m.has_pe_id = true;
  m.pe_id = pe_id;
  return association_->Send(protocol::kAsapPpid, protocol::EncodeMessageToVector(m));
}

}  // namespace rspd::client
