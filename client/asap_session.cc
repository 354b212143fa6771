#include "client/asap_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <usrsctp.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rspd::client {
namespace {

using protocol::AsapType;
using protocol::Message;

std::once_flag g_init;
absl::Status g_init_status;

// usrsctp (threaded) with UDP encapsulation on a free local port: two
// processes cannot share one (PLATFORM.md).
void InitOnce() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  socklen_t length = sizeof(any);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&any), &length) != 0) {
    g_init_status = absl::InternalError(absl::StrCat("no free UDP port: ", strerror(errno)));
    if (fd >= 0) close(fd);
    return;
  }
  uint16_t port = ntohs(any.sin_port);
  close(fd);
  usrsctp_init(port, nullptr, nullptr);
  // Fail fast: give up an association after 4 retransmissions with RTO at
  // most 1 s, rather than the RFC's minutes; a PE then hunts for another
  // registrar (RFC 5352 §3.7).
  usrsctp_sysctl_set_sctp_rto_max_default(1000);
  usrsctp_sysctl_set_sctp_init_rto_max_default(1000);
  usrsctp_sysctl_set_sctp_assoc_rtx_max_default(4);
  usrsctp_sysctl_set_sctp_heartbeat_interval_default(1000);
}

int ReceiveCallback(struct socket*, union sctp_sockstore, void* data, size_t length,
                    struct sctp_rcvinfo, int flags, void* ulp_info) {
  auto* session = static_cast<AsapSession*>(ulp_info);
  if (data == nullptr) {
    session->OnReceive(nullptr, 0, 0);
    return 1;
  }
  session->OnReceive(data, length, flags);
  free(data);
  return 1;
}

std::vector<uint8_t> Encode(const Message& m) {
  std::vector<uint8_t> out(65536);
  out.resize(protocol::EncodeMessage(m, absl::MakeSpan(out)));
  return out;
}

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
  std::call_once(g_init, InitOnce);
  if (!g_init_status.ok()) return g_init_status;
  sockaddr_storage remote{};
  socklen_t remote_length;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&remote);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&remote);
  if (inet_pton(AF_INET, registrar.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(registrar.sctp_port);
    remote_length = sizeof(*v4);
  } else if (inet_pton(AF_INET6, registrar.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(registrar.sctp_port);
    remote_length = sizeof(*v6);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("not an IP address: ", registrar.host));
  }
  std::unique_ptr<AsapSession> session(new AsapSession());
  session->socket_ = usrsctp_socket(remote.ss_family, SOCK_STREAM, IPPROTO_SCTP, ReceiveCallback,
                                    nullptr, 0, session.get());
  if (session->socket_ == nullptr) {
    return absl::InternalError(absl::StrCat("usrsctp_socket: ", strerror(errno)));
  }
  const int on = 1;
  usrsctp_setsockopt(session->socket_, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on));
  sctp_event event{};
  event.se_assoc_id = SCTP_ALL_ASSOC;
  event.se_on = 1;
  event.se_type = SCTP_ASSOC_CHANGE;
  usrsctp_setsockopt(session->socket_, IPPROTO_SCTP, SCTP_EVENT, &event, sizeof(event));
  // RFC 6951 §5: the registrar's UDP port for encapsulation.
  sctp_udpencaps encaps{};
  encaps.sue_address.ss_family = remote.ss_family;
  encaps.sue_port = htons(registrar.udp_port);
  usrsctp_setsockopt(session->socket_, IPPROTO_SCTP, SCTP_REMOTE_UDP_ENCAPS_PORT, &encaps,
                     sizeof(encaps));
  sctp_initmsg init{};
  init.sinit_max_attempts = 3;
  init.sinit_max_init_timeo = 1000;
  usrsctp_setsockopt(session->socket_, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof(init));
  usrsctp_set_non_blocking(session->socket_, 1);
  if (usrsctp_connect(session->socket_, reinterpret_cast<sockaddr*>(&remote), remote_length) != 0 &&
      errno != EINPROGRESS) {
    return absl::UnavailableError(absl::StrCat("connect: ", strerror(errno)));
  }
  std::unique_lock<std::mutex> lock(session->mu_);
  bool up = session->cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                                  [&] { return session->connected_ || session->closed_; });
  if (!up || !session->connected_) {
    return absl::UnavailableError(absl::StrCat("no SCTP association to registrar ", registrar.host,
                                               " (UDP ", registrar.udp_port, ")"));
  }
  return session;
}

AsapSession::~AsapSession() {
  if (socket_ != nullptr) {
    usrsctp_close(socket_);  // graceful SHUTDOWN; callbacks stop with the socket
  }
}

bool AsapSession::connected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connected_;
}

uint32_t AsapSession::home_registrar() const {
  std::lock_guard<std::mutex> lock(mu_);
  return home_;
}

uint64_t AsapSession::keep_alives_answered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keep_alives_answered_;
}

void AsapSession::OnReceive(const void* data, size_t length, int flags) {
  if (data == nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    connected_ = false;
    closed_ = true;
    cv_.notify_all();
    return;
  }
  if (flags & MSG_NOTIFICATION) {
    const auto* n = static_cast<const sctp_notification*>(data);
    if (n->sn_header.sn_type == SCTP_ASSOC_CHANGE) {
      std::lock_guard<std::mutex> lock(mu_);
      uint16_t state = n->sn_assoc_change.sac_state;
      if (state == SCTP_COMM_UP || state == SCTP_RESTART) {
        connected_ = true;
      } else {
        connected_ = false;
        closed_ = true;
      }
      cv_.notify_all();
    }
    return;
  }
  std::vector<uint8_t> bytes(static_cast<const uint8_t*>(data),
                             static_cast<const uint8_t*>(data) + length);
  Message m;
  protocol::DecodeError error;
  if (!protocol::DecodeMessage(protocol::Protocol::kAsap, bytes, &m, &error)) {
    return;  // nothing sensible to answer a registrar's malformed message with
  }
  if (m.type == static_cast<uint8_t>(AsapType::kEndpointKeepAlive)) {
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
      if (SendMessage(Encode(ack)).ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        ++keep_alives_answered_;
      }
    }
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  inbox_.push_back(std::move(bytes));
  cv_.notify_all();
}

absl::Status AsapSession::SendMessage(absl::Span<const uint8_t> message) {
  sctp_sndinfo info{};
  info.snd_ppid = htonl(protocol::kAsapPpid);  // RFC 5352 §5
  if (usrsctp_sendv(socket_, message.data(), message.size(), nullptr, 0, &info, sizeof(info),
                    SCTP_SENDV_SNDINFO, 0) < 0) {
    return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> AsapSession::Transact(absl::Span<const uint8_t> request,
                                                           AsapType reply, const std::string& pool,
                                                           absl::Duration timeout) {
  std::lock_guard<std::mutex> one_at_a_time(request_mu_);
  if (absl::Status s = SendMessage(request); !s.ok()) return s;
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
  while (true) {
    while (!inbox_.empty()) {
      std::vector<uint8_t> bytes = std::move(inbox_.front());
      inbox_.pop_front();
      Message m;
      protocol::DecodeError error;
      if (!protocol::DecodeMessage(protocol::Protocol::kAsap, bytes, &m, &error)) continue;
      if (m.type == static_cast<uint8_t>(AsapType::kError)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "registrar answered ASAP_ERROR: ", protocol::CauseName(m.error_causes.front().code)));
      }
      if (m.type == static_cast<uint8_t>(reply) && (!m.has_pool_handle || m.pool_handle == pool)) {
        return bytes;
      }
    }
    if (closed_) return absl::UnavailableError("association to the registrar is gone");
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && inbox_.empty()) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no ", protocol::MessageTypeName(protocol::Protocol::kAsap, static_cast<uint8_t>(reply)),
          " within ", absl::FormatDuration(timeout)));
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
      Transact(Encode(m), AsapType::kRegistrationResponse, pool, timeout);
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
  absl::StatusOr<std::vector<uint8_t>> bytes =
      Transact(Encode(m), AsapType::kDeregistrationResponse, pool, timeout);
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
  absl::StatusOr<std::vector<uint8_t>> bytes =
      Transact(Encode(m), AsapType::kHandleResolutionResponse, pool, timeout);
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
  return SendMessage(Encode(m));
}

}  // namespace rspd::client
