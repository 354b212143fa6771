#include "client/sctp_association.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <usrsctp.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "dataplane/net/endpoint.h"
#include "dataplane/usrsctp/sctp_socket.h"
#include "protocol/address.h"

namespace rspd::client {
namespace {

std::mutex g_stack_mu;
uint16_t g_stack_port = 0;
// PrepareNativeSctp was called: no answers to out-of-the-blue packets.
bool g_native_sctp = false;

uint16_t FreeUdpPort() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  socklen_t length = sizeof(any);
  uint16_t port = 0;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof(any)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&any), &length) == 0) {
    port = ntohs(any.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

// usrsctp may still run a socket's receive callback, on its own thread,
// after usrsctp_close has returned. So callbacks reach their object only
// through this set of live objects, under a lock held for the whole
// callback, and an object leaves the set before its socket is closed: a
// late callback then finds nothing and drops the data. Recursive: a
// callback may send, and a send may deliver a notification on the spot.
std::recursive_mutex g_callback_mu;
absl::flat_hash_set<const void*>& LiveCallbackTargets() {
  static auto* live = new absl::flat_hash_set<const void*>();
  return *live;
}
void AddCallbackTarget(const void* target) {
  std::lock_guard<std::recursive_mutex> lock(g_callback_mu);
  LiveCallbackTargets().insert(target);
}
// Returns once no callback runs on `target` any more, nor will.
void RemoveCallbackTarget(const void* target) {
  std::lock_guard<std::recursive_mutex> lock(g_callback_mu);
  LiveCallbackTargets().erase(target);
}

int AssociationCallback(struct socket*, union sctp_sockstore, void* data, size_t length,
                        struct sctp_rcvinfo info, int flags, void* ulp_info) {
  {
    std::lock_guard<std::recursive_mutex> lock(g_callback_mu);
    // A null `data` is the association's end: passed on.
    if (LiveCallbackTargets().contains(ulp_info)) {
      static_cast<SctpAssociation*>(ulp_info)->OnReceive(data, length,
                                                         static_cast<uint32_t>(info.rcv_assoc_id),
                                                         info.rcv_sid, ntohl(info.rcv_ppid), flags);
    }
  }
  free(data);
  return 1;
}

int ServerCallback(struct socket*, union sctp_sockstore, void* data, size_t length,
                   struct sctp_rcvinfo info, int flags, void* ulp_info) {
  {
    std::lock_guard<std::recursive_mutex> lock(g_callback_mu);
    if (data != nullptr && LiveCallbackTargets().contains(ulp_info)) {
      static_cast<SctpServer*>(ulp_info)->OnReceive(data, length,
                                                    static_cast<uint32_t>(info.rcv_assoc_id),
                                                    info.rcv_sid, ntohl(info.rcv_ppid), flags);
    }
  }
  free(data);
  return 1;
}

// Joins a received piece into its message: true once `*message` is whole.
// A peer whose message grows past kMaxMessageSize is aborted (the pieces of
// that association are dropped).
bool Assemble(dataplane::MessageAssembler& assembler, struct socket* s, const void* data,
              size_t length, uint32_t assoc, uint16_t stream, int flags,
              absl::Span<const uint8_t>* message) {
  switch (assembler.Add(s, assoc, stream,
                        absl::MakeConstSpan(static_cast<const uint8_t*>(data), length),
                        (flags & MSG_EOR) != 0, message)) {
    case dataplane::MessageAssembler::Result::kWhole:
      return true;
    case dataplane::MessageAssembler::Result::kTooLarge:
      dataplane::SendAbort(s, assoc);
      return false;
    case dataplane::MessageAssembler::Result::kPending:
      return false;
  }
  return false;
}

// How long closing waits for peers to confirm a graceful SHUTDOWN (a round
// trip, far less on a working path) before it aborts what is left.
constexpr absl::Duration kCloseGrace = absl::Milliseconds(500);

// Closes a socket, aborting any association still on it (SO_LINGER 0: an
// ABORT goes out at once; RFC 9260 §9.1).
void CloseAborting(struct socket* s) {
  dataplane::SetAbortOnClose(s);
  usrsctp_close(s);
}

// The INIT retry limits of every association we start: 3 INITs, at most 1 s
// apart (fail fast, see StartSctp).
void LimitInit(struct socket* s) {
  sctp_initmsg init{};
  init.sinit_max_attempts = 3;
  init.sinit_max_init_timeo = 1000;
  usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof(init));
}

}  // namespace

absl::Status StartSctp(uint16_t udp_port) {
  std::lock_guard<std::mutex> lock(g_stack_mu);
  if (g_stack_port != 0) {
    if (udp_port != 0 && udp_port != g_stack_port) {
      return absl::FailedPreconditionError(
          absl::StrCat("SCTP already runs over UDP port ", g_stack_port, ", not ", udp_port));
    }
    return absl::OkStatus();
  }
  uint16_t port = udp_port != 0 ? udp_port : FreeUdpPort();
  if (port == 0) return absl::InternalError(absl::StrCat("no free UDP port: ", strerror(errno)));
  usrsctp_init(port, nullptr, nullptr);
  // At once (usrsctp_init resets it): the raw sockets hear other processes'
  // native SCTP from now on.
  if (g_native_sctp) usrsctp_sysctl_set_sctp_blackhole(2);
  // Fail fast: give up an association after 4 retransmissions with RTO at
  // most 1 s, rather than the RFC's minutes; a PE then hunts for another
  // registrar and a PU fails over (RFC 5352 §3.7).
  usrsctp_sysctl_set_sctp_rto_max_default(1000);
  usrsctp_sysctl_set_sctp_init_rto_max_default(1000);
  usrsctp_sysctl_set_sctp_assoc_rtx_max_default(4);
  usrsctp_sysctl_set_sctp_heartbeat_interval_default(1000);
  g_stack_port = port;
  return absl::OkStatus();
}

void PrepareNativeSctp() {
  std::lock_guard<std::mutex> lock(g_stack_mu);
  g_native_sctp = true;
  if (g_stack_port != 0) usrsctp_sysctl_set_sctp_blackhole(2);
}

uint16_t SctpUdpPort() {
  std::lock_guard<std::mutex> lock(g_stack_mu);
  return g_stack_port;
}

absl::StatusOr<std::unique_ptr<SctpAssociation>> SctpAssociation::Connect(const std::string& host,
                                                                          uint16_t sctp_port,
                                                                          uint16_t udp_port,
                                                                          absl::Duration timeout,
                                                                          Handler handler) {
  if (absl::Status s = StartSctp(); !s.ok()) return s;
  const std::optional<dataplane::Endpoint> remote = dataplane::Endpoint::Parse(host, sctp_port);
  if (!remote) return absl::InvalidArgumentError(absl::StrCat("not an IP address: ", host));
  std::unique_ptr<SctpAssociation> a(new SctpAssociation());
  a->handler_ = std::move(handler);
  AddCallbackTarget(a.get());
  a->socket_ = usrsctp_socket(remote->family(), SOCK_STREAM, IPPROTO_SCTP, AssociationCallback,
                              nullptr, 0, a.get());
  if (a->socket_ == nullptr) {
    return absl::InternalError(absl::StrCat("usrsctp_socket: ", strerror(errno)));
  }
  dataplane::SetMessageOptions(a->socket_);
  if (udp_port == 0) PrepareNativeSctp();
  // RFC 6951 §5: the peer's UDP encapsulation port (0: none, native SCTP).
  sctp_udpencaps encaps{};
  encaps.sue_address.ss_family = static_cast<sa_family_t>(remote->family());
  encaps.sue_port = htons(udp_port);
  usrsctp_setsockopt(a->socket_, IPPROTO_SCTP, SCTP_REMOTE_UDP_ENCAPS_PORT, &encaps,
                     sizeof(encaps));
  LimitInit(a->socket_);
  usrsctp_set_non_blocking(a->socket_, 1);
  if (usrsctp_connect(a->socket_, const_cast<sockaddr*>(remote->as_sockaddr()), remote->length) !=
          0 &&
      errno != EINPROGRESS) {
    return absl::UnavailableError(absl::StrCat("connect: ", strerror(errno)));
  }
  std::unique_lock<std::mutex> lock(a->mu_);
  bool settled = a->cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                                 [&] { return a->connected_ || a->closed_; });
  if (!settled || !a->connected_) {
    return absl::UnavailableError(absl::StrCat("no SCTP association to ",
                                               protocol::JoinHostPort(host, sctp_port), " (UDP ",
                                               udp_port, ")"));
  }
  return a;
}

SctpAssociation::~SctpAssociation() {
  if (socket_ != nullptr && connected()) {
    // RFC 9260 §9.2: a graceful SHUTDOWN, confirmed within a moment.
    usrsctp_shutdown(socket_, SHUT_WR);
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoMilliseconds(kCloseGrace), [this] { return closed_; });
  }
  RemoveCallbackTarget(this);
  if (socket_ != nullptr) CloseAborting(socket_);
}

bool SctpAssociation::connected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connected_;
}

void SctpAssociation::OnReceive(const void* data, size_t length, uint32_t assoc, uint16_t stream,
                                uint32_t ppid, int flags) {
  if (data == nullptr || (flags & MSG_NOTIFICATION)) {
    std::optional<dataplane::AssocChange> change;
    if (data == nullptr) {
      change = dataplane::AssocChange{assoc, false};
    } else {
      change = dataplane::ParseAssocChange(data, length);
    }
    if (!change) return;
    if (!change->up) assembler_.Drop(socket_);  // its one association
    std::lock_guard<std::mutex> lock(mu_);
    connected_ = change->up;
    closed_ = !change->up;
    cv_.notify_all();
    return;
  }
  absl::Span<const uint8_t> bytes;
  if (!Assemble(assembler_, socket_, data, length, assoc, stream, flags, &bytes)) return;
  if (handler_ && handler_(ppid, bytes)) return;
  std::lock_guard<std::mutex> lock(mu_);
  inbox_.push_back({ppid, std::vector<uint8_t>(bytes.begin(), bytes.end())});
  cv_.notify_all();
}

absl::Status SctpAssociation::Send(uint32_t ppid, absl::Span<const uint8_t> message) {
  if (!dataplane::SendMessage(socket_, 0, ppid, 0, message)) {
    return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<SctpAssociation::Received> SctpAssociation::Receive(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
               [&] { return !inbox_.empty() || closed_; });
  if (!inbox_.empty()) {
    Received r = std::move(inbox_.front());
    inbox_.pop_front();
    return r;
  }
  if (closed_) return absl::UnavailableError("the association is gone");
  return absl::DeadlineExceededError(
      absl::StrCat("no message within ", absl::FormatDuration(timeout)));
}

absl::StatusOr<std::unique_ptr<SctpServer>> SctpServer::Listen(uint16_t sctp_port,
                                                               MessageFn on_message,
                                                               EventFn on_event, SctpTls secure) {
  if (absl::Status s = StartSctp(); !s.ok()) return s;
  std::unique_ptr<SctpServer> server(new SctpServer());
  server->on_message_ = std::move(on_message);
  server->on_event_ = std::move(on_event);
  server->secure_ = std::move(secure);
  AddCallbackTarget(server.get());
  server->socket_ = usrsctp_socket(AF_INET6, SOCK_SEQPACKET, IPPROTO_SCTP, ServerCallback, nullptr,
                                   0, server.get());
  if (server->socket_ == nullptr) {
    return absl::InternalError(absl::StrCat("usrsctp_socket: ", strerror(errno)));
  }
  dataplane::SetMessageOptions(server->socket_);
  LimitInit(server->socket_);
  sockaddr_in6 local{};
  local.sin6_family = AF_INET6;
  local.sin6_port = htons(sctp_port);
  local.sin6_addr = in6addr_any;
  if (usrsctp_bind(server->socket_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
      usrsctp_listen(server->socket_, 1) != 0) {
    return absl::UnavailableError(
        absl::StrCat("listen on SCTP port ", sctp_port, ": ", strerror(errno)));
  }
  server->port_ = sctp_port;
  if (sctp_port == 0) {
    // The port bind() chose, from the endpoint's local addresses.
    sockaddr* addresses = nullptr;
    if (usrsctp_getladdrs(server->socket_, SCTP_FUTURE_ASSOC, &addresses) > 0) {
      server->port_ = ntohs(reinterpret_cast<sockaddr_in*>(addresses)->sin_port);
    }
    usrsctp_freeladdrs(addresses);
    if (server->port_ == 0) return absl::InternalError("no local SCTP port after bind");
  }
  return server;
}

absl::StatusOr<uint32_t> SctpServer::Connect(const std::string& host, uint16_t sctp_port,
                                             uint16_t udp_port) {
  std::optional<dataplane::Endpoint> remote = dataplane::Endpoint::Parse(host, sctp_port);
  if (!remote) return absl::InvalidArgumentError(absl::StrCat("not an IP address: ", host));
  std::lock_guard<std::mutex> lock(connect_mu_);
  if (udp_port == 0) PrepareNativeSctp();
  // RFC 6951 §5: the peer's UDP encapsulation port (0: none, native SCTP). A new association takes
  // the socket's value when it is created; incoming ones learn theirs from
  // the packets.
  sctp_udpencaps encaps{};
  encaps.sue_assoc_id = SCTP_FUTURE_ASSOC;
  encaps.sue_port = htons(udp_port);
  usrsctp_setsockopt(socket_, IPPROTO_SCTP, SCTP_REMOTE_UDP_ENCAPS_PORT, &encaps, sizeof(encaps));
  sctp_assoc_t id = 0;
  if (usrsctp_connectx(socket_, remote->as_sockaddr(), 1, &id) != 0 && errno != EINPROGRESS) {
    return absl::UnavailableError(absl::StrCat(
        "connect to ", protocol::JoinHostPort(host, sctp_port), ": ", strerror(errno)));
  }
  return static_cast<uint32_t>(id);
}

SctpServer::~SctpServer() {
  if (socket_ != nullptr) {
    std::unique_lock<std::mutex> lock(live_mu_);
    // RFC 9260 §9.2: a graceful SHUTDOWN of each association (SCTP_EOF),
    // confirmed within a moment.
    for (uint32_t assoc : live_) dataplane::SendShutdown(socket_, assoc);
    live_cv_.wait_for(lock, absl::ToChronoMilliseconds(kCloseGrace),
                      [this] { return live_.empty(); });
  }
  RemoveCallbackTarget(this);
  if (socket_ != nullptr) CloseAborting(socket_);
  std::lock_guard<std::recursive_mutex> lock(g_callback_mu);
  channels_.clear();
}

void SctpServer::OnReceive(const void* data, size_t length, uint32_t assoc, uint16_t stream,
                           uint32_t ppid, int flags) {
  if (flags & MSG_NOTIFICATION) {
    const std::optional<dataplane::AssocChange> change = dataplane::ParseAssocChange(data, length);
    if (!change) return;
    {
      std::lock_guard<std::mutex> lock(live_mu_);
      if (change->up) {
        live_.insert(change->assoc);
      } else {
        live_.erase(change->assoc);
        assembler_.Drop(socket_, change->assoc);
      }
      live_cv_.notify_all();
    }
    if (secure_.context != nullptr) {
      if (change->up) {
        OnTlsUp(change->assoc);
        return;  // "up" once the handshake is done
      }
      channels_.erase(change->assoc);
    }
    if (on_event_) on_event_(change->assoc, change->up);
    return;
  }
  absl::Span<const uint8_t> message;
  if (Assemble(assembler_, socket_, data, length, assoc, stream, flags, &message)) {
    if (secure_.context != nullptr) {
      OnTlsData(assoc, message);
    } else {
      on_message_(assoc, ppid, message);
    }
  }
}

void SctpServer::OnTlsUp(uint32_t assoc) {
  auto channel = std::make_unique<dataplane::tls::TlsChannel>(secure_.context.get());
  dataplane::tls::TlsChannel& c = *channel;
  channels_[assoc] = std::move(channel);
  FlushTls(assoc, c);  // the ClientHello
}

void SctpServer::OnTlsData(uint32_t assoc, absl::Span<const uint8_t> bytes) {
  auto it = channels_.find(assoc);
  if (it == channels_.end()) return;
  dataplane::tls::TlsChannel& channel = *it->second;
  const bool was_open = channel.state() == dataplane::tls::TlsChannel::State::kOpen;
  // Delivered after the channel is done with the bytes: a handler may send.
  std::vector<std::vector<uint8_t>> messages;
  (void)channel.Receive(
      bytes, [&](absl::Span<const uint8_t> m) { messages.emplace_back(m.begin(), m.end()); });
  const bool opened = !was_open && channel.state() == dataplane::tls::TlsChannel::State::kOpen;
  if (!FlushTls(assoc, channel)) return;  // aborted: the channel may be gone
  if (opened && on_event_) on_event_(assoc, true);
  for (const auto& m : messages) on_message_(assoc, secure_.ppid, m);
}

bool SctpServer::FlushTls(uint32_t assoc, dataplane::tls::TlsChannel& channel) {
  // Everything read from the channel first: sending may abort the
  // association, and its notification (on this thread) frees the channel.
  const bool failed = channel.state() == dataplane::tls::TlsChannel::State::kFailed;
  if (failed) {
    std::lock_guard<std::mutex> lock(tls_error_mu_);
    tls_error_ = channel.error();
  }
  // Records carry PPID 0: they are not ASAP messages themselves. A piece
  // that cannot go would leave the peer a stream with a hole: the
  // association is aborted instead.
  bool sent = true;
  for (const auto& piece : channel.TakeOutput()) {
    if (!(sent = dataplane::SendMessage(socket_, assoc, 0, 0, piece))) break;
  }
  if (failed || !sent) {
    dataplane::SendAbort(socket_, assoc);
    return false;
  }
  return true;
}

std::optional<uint16_t> SctpServer::RemotePort(uint32_t assoc) const {
  return dataplane::RemotePort(socket_, assoc);
}

std::string SctpServer::tls_error() const {
  std::lock_guard<std::mutex> lock(tls_error_mu_);
  return tls_error_;
}

absl::Status SctpServer::Send(uint32_t assoc, uint32_t ppid, absl::Span<const uint8_t> message) {
  if (secure_.context != nullptr) {
    // The callbacks' lock orders records (TLS sequence numbers) across the
    // sending threads and the receive thread's handshake answers.
    std::lock_guard<std::recursive_mutex> lock(g_callback_mu);
    auto it = channels_.find(assoc);
    if (it == channels_.end()) return absl::UnavailableError("no TLS association");
    if (absl::Status status = it->second->Send(message); !status.ok()) return status;
    if (!FlushTls(assoc, *it->second)) return absl::UnavailableError("the TLS association failed");
    return absl::OkStatus();
  }
  if (!dataplane::SendMessage(socket_, assoc, ppid, 0, message)) {
    return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace rspd::client
