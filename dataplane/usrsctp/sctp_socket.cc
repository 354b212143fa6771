#include "dataplane/usrsctp/sctp_socket.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <usrsctp.h>

#include <cerrno>

namespace rspd::dataplane {
namespace {

bool SendFlags(struct socket* s, uint32_t assoc, uint16_t flags) {
  sctp_sndinfo info{};
  info.snd_flags = flags;
  info.snd_assoc_id = static_cast<sctp_assoc_t>(assoc);
  // usrsctp refuses a null buffer, even for an empty ABORT or EOF.
  static const uint8_t kNothing = 0;
  return usrsctp_sendv(s, &kNothing, 0, nullptr, 0, &info, sizeof(info), SCTP_SENDV_SNDINFO, 0) >=
         0;
}

}  // namespace

void SetMessageOptions(struct socket* s) {
  const int on = 1;
  usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on));
  usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on));
  sctp_event event{};
  event.se_assoc_id = SCTP_ALL_ASSOC;
  event.se_on = 1;
  event.se_type = SCTP_ASSOC_CHANGE;
  usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_EVENT, &event, sizeof(event));
}

void SetAbortOnClose(struct socket* s) {
  const linger abort_on_close{1, 0};
  usrsctp_setsockopt(s, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
}

bool SendMessage(struct socket* s, uint32_t assoc, uint32_t ppid, uint16_t stream,
                 absl::Span<const uint8_t> message) {
  sctp_sndinfo info{};
  info.snd_sid = stream;
  info.snd_ppid = htonl(ppid);
  info.snd_assoc_id = static_cast<sctp_assoc_t>(assoc);
  return usrsctp_sendv(s, message.data(), message.size(), nullptr, 0, &info, sizeof(info),
                       SCTP_SENDV_SNDINFO, 0) >= 0;
}

bool Connect(struct socket* s, const sockaddr* to, socklen_t to_length) {
  return usrsctp_connect(s, const_cast<sockaddr*>(to), to_length) == 0 || errno == EINPROGRESS ||
         errno == EALREADY;
}

std::optional<uint16_t> RemotePort(struct socket* s, uint32_t assoc) {
  sockaddr* addresses = nullptr;
  const int n = usrsctp_getpaddrs(s, static_cast<sctp_assoc_t>(assoc), &addresses);
  std::optional<uint16_t> port;
  if (n > 0 && addresses->sa_family == AF_CONN) {
    port = ntohs(reinterpret_cast<const sockaddr_conn*>(addresses)->sconn_port);
  } else if (n > 0 && addresses->sa_family == AF_INET) {
    port = ntohs(reinterpret_cast<const sockaddr_in*>(addresses)->sin_port);
  } else if (n > 0 && addresses->sa_family == AF_INET6) {
    port = ntohs(reinterpret_cast<const sockaddr_in6*>(addresses)->sin6_port);
  }
  if (n > 0) usrsctp_freepaddrs(addresses);
  return port;
}

bool SendAbort(struct socket* s, uint32_t assoc) { return SendFlags(s, assoc, SCTP_ABORT); }

bool SendShutdown(struct socket* s, uint32_t assoc) { return SendFlags(s, assoc, SCTP_EOF); }

std::optional<AssocChange> ParseAssocChange(const void* notification, size_t length) {
  const auto* n = static_cast<const sctp_notification*>(notification);
  if (length < sizeof(sctp_assoc_change) || n->sn_header.sn_type != SCTP_ASSOC_CHANGE) {
    return std::nullopt;
  }
  const sctp_assoc_change& change = n->sn_assoc_change;
  AssocChange out;
  out.assoc = static_cast<uint32_t>(change.sac_assoc_id);
  switch (change.sac_state) {
    case SCTP_COMM_UP:
    case SCTP_RESTART:
      out.up = true;
      return out;
    case SCTP_COMM_LOST:
    case SCTP_SHUTDOWN_COMP:
    case SCTP_CANT_STR_ASSOC:
      out.up = false;
      return out;
    default:
      return std::nullopt;
  }
}

}  // namespace rspd::dataplane
