#include "client/announce_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "protocol/codec.h"
#include "protocol/describe.h"

namespace rspd::client {

absl::StatusOr<std::unique_ptr<AnnounceListener>> AnnounceListener::Start(
    const std::string& group, uint16_t port, const std::string& interface, uint16_t udp_port,
    Callback callback) {
  in_addr group_address{}, local{};
  if (inet_pton(AF_INET, group.c_str(), &group_address) != 1 ||
      !IN_MULTICAST(ntohl(group_address.s_addr))) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 multicast group: ", group));
  }
  if (inet_pton(AF_INET, interface.c_str(), &local) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: ", interface));
  }
  std::unique_ptr<AnnounceListener> listener(new AnnounceListener());
  listener->fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (listener->fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  const int on = 1;
  setsockopt(listener->fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  setsockopt(listener->fd_, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(port);
  ip_mreq membership{};
  membership.imr_multiaddr = group_address;
  membership.imr_interface = local;
  if (bind(listener->fd_, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0 ||
      setsockopt(listener->fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof(membership)) !=
          0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen to ", group, ":", port, ": ", strerror(errno)));
  }
  listener->udp_port_ = udp_port;
  listener->callback_ = std::move(callback);
  listener->thread_ = std::thread([l = listener.get()] { l->Loop(); });
  return listener;
}

AnnounceListener::~AnnounceListener() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) close(fd_);
}

void AnnounceListener::Loop() {
  uint8_t buffer[2048];
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    sockaddr_in from{};
    socklen_t length = sizeof(from);
    ssize_t n = recvfrom(fd_, buffer, sizeof(buffer), MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&from), &length);
    if (n <= 0) continue;
    protocol::Message m;
    protocol::DecodeError error;
    if (!protocol::DecodeMessage(protocol::Protocol::kAsap,
                                 absl::MakeConstSpan(buffer, static_cast<size_t>(n)), &m, &error) ||
        m.type != static_cast<uint8_t>(protocol::AsapType::kServerAnnounce)) {
      continue;
    }
    RegistrarAddress r;
    r.udp_port = udp_port_;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &from.sin_addr, text, sizeof(text));
    r.host = text;  // RFC 5352 §2.2.10: no transport -> the source and the IANA port
    r.sctp_port = protocol::kAsapPort;
    for (const protocol::Transport& t : m.transports) {
      if (t.type == protocol::ParamType::kSctpTransport && !t.addresses.empty()) {
        r.host = protocol::AddressToString(t.addresses.front());
        r.sctp_port = t.port;
        break;
      }
    }
    callback_(r);
  }
}

}  // namespace rspd::client
