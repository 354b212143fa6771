#include "control/announcer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "protocol/codec.h"

namespace rspd::control {
namespace {

// T7-ENRPoutdate (RFC 5352 §7.1): how long a heard registrar counts.
constexpr ServerAnnouncer::Tick kOutdateMillis = 5000;

}  // namespace

absl::StatusOr<std::unique_ptr<ServerAnnouncer>> ServerAnnouncer::Create(
    const RegistrarConfig& config, std::string* why_off) {
  if (config.announce_group.empty()) {
    *why_off = "off (--announce_group is empty)";
    return nullptr;
  }
  in_addr group{}, local{};
  if (inet_pton(AF_INET, config.announce_group.c_str(), &group) != 1 ||
      !IN_MULTICAST(ntohl(group.s_addr))) {
    return absl::InvalidArgumentError(
        absl::StrCat("announce_group: not an IPv4 multicast group: ", config.announce_group));
  }
  if (inet_pton(AF_INET, config.bind_address.c_str(), &local) != 1) {
    *why_off = "off (announces need an IPv4 bind address)";
    return nullptr;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
  const unsigned char ttl = static_cast<unsigned char>(config.announce_ttl);
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
  const unsigned char loop = 1;  // registrars and PEs on this host hear it too
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop));
  if (local.s_addr != htonl(INADDR_ANY)) {
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &local, sizeof(local));
  }
  // On by default only where a route to the group exists (connect() on a
  // UDP socket only looks the route up).
  int probe = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (local.s_addr != htonl(INADDR_ANY)) {
    setsockopt(probe, IPPROTO_IP, IP_MULTICAST_IF, &local, sizeof(local));
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr = group;
  to.sin_port = htons(config.announce_port);
  const bool routed = connect(probe, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0;
  close(probe);
  if (!routed) {
    close(fd);
    *why_off = absl::StrCat("off (no route to ", config.announce_group, ")");
    return nullptr;
  }
  // Hear the other registrars: bound to the group's port, member of the group.
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(config.announce_port);
  ip_mreq membership{};
  membership.imr_multiaddr = group;
  membership.imr_interface = local;
  if (bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0 ||
      setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof(membership)) != 0) {
    int error = errno;
    close(fd);
    *why_off = absl::StrCat("off (cannot join ", config.announce_group, ": ", strerror(error), ")");
    return nullptr;
  }
  std::unique_ptr<ServerAnnouncer> announcer(new ServerAnnouncer(config, fd));
  // RFC 5352 §2.2.10: server ID and the ASAP transport. With a wildcard bind
  // address the transport is left out: receivers then take the packet's
  // source address and the IANA port.
  protocol::Message m;
  m.type = static_cast<uint8_t>(protocol::AsapType::kServerAnnounce);
  m.server_id = config.server_id;
  protocol::IpAddress address = protocol::IpAddress::V4(ntohl(local.s_addr));
  protocol::Transport transport;
  transport.type = protocol::ParamType::kSctpTransport;
  transport.port = config.asap_port;
  transport.addresses = protocol::ParamList<protocol::IpAddress>(absl::MakeConstSpan(&address, 1));
  if (local.s_addr != htonl(INADDR_ANY)) {
    m.transports = protocol::ParamList<protocol::Transport>(absl::MakeConstSpan(&transport, 1));
  }
  announcer->message_ = protocol::EncodeMessageToVector(m);
  return announcer;
}

ServerAnnouncer::ServerAnnouncer(const RegistrarConfig& config, int fd)
    : config_(config), fd_(fd) {}

ServerAnnouncer::~ServerAnnouncer() { close(fd_); }

void ServerAnnouncer::OnReadable(Tick now) {
  uint8_t buffer[2048];
  // Bounded per call: a flood of announces cannot hold the loop.
  for (int i = 0; i < 64; ++i) {
    ssize_t n = recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n <= 0) return;
    protocol::Message m;
    protocol::DecodeError error;
    if (!protocol::DecodeMessage(protocol::Protocol::kAsap,
                                 absl::MakeConstSpan(buffer, static_cast<size_t>(n)), &m, &error) ||
        m.type != static_cast<uint8_t>(protocol::AsapType::kServerAnnounce) ||
        m.server_id == config_.server_id) {
      continue;
    }
    ++heard_;
    if (others_.size() < 1024 || others_.contains(m.server_id)) others_[m.server_id] = now;
  }
}

void ServerAnnouncer::OnTimer(Tick now) {
  if (now < next_) return;
  for (auto it = others_.begin(); it != others_.end();) {
    if (now - it->second > kOutdateMillis) {
      others_.erase(it++);
    } else {
      ++it;
    }
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  inet_pton(AF_INET, config_.announce_group.c_str(), &to.sin_addr);
  to.sin_port = htons(config_.announce_port);
  if (sendto(fd_, message_.data(), message_.size(), 0, reinterpret_cast<sockaddr*>(&to),
             sizeof(to)) > 0) {
    ++sent_;
  }
  // RFC 5352 §3.6: every (N+1)*T6.
  next_ = now + static_cast<Tick>(absl::ToInt64Milliseconds(config_.server_announce_cycle)) *
                    (others_.size() + 1);
}

}  // namespace rspd::control
