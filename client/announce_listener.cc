#include "client/announce_listener.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "protocol/address.h"
#include "protocol/codec.h"

namespace rspd::client {
namespace {

bool IsMulticastGroup(const std::string& text) {
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return IN_MULTICAST(ntohl(v4.s_addr));
  return inet_pton(AF_INET6, text.c_str(), &v6) == 1 && IN6_IS_ADDR_MULTICAST(&v6);
}

// The index of the interface holding `address` (IPv4 or IPv6; 0 for a
// wildcard), or -1 if no interface does. IPV6_JOIN_GROUP names the interface
// by index only.
int InterfaceIndexOf(const std::string& address) {
  in_addr v4{};
  in6_addr v6{};
  const bool is_v4 = inet_pton(AF_INET, address.c_str(), &v4) == 1;
  if (!is_v4 && inet_pton(AF_INET6, address.c_str(), &v6) != 1) return -1;
  if (is_v4 ? v4.s_addr == htonl(INADDR_ANY) : IN6_IS_ADDR_UNSPECIFIED(&v6)) return 0;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return -1;
  int index = -1;
  for (const ifaddrs* i = list; i != nullptr && index < 0; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    const bool match =
        is_v4 ? i->ifa_addr->sa_family == AF_INET &&
                    reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr == v4.s_addr
              : i->ifa_addr->sa_family == AF_INET6 &&
                    memcmp(&reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr, &v6,
                           sizeof(v6)) == 0;
    if (match) index = static_cast<int>(if_nametoindex(i->ifa_name));
  }
  freeifaddrs(list);
  return index;
}

}  // namespace

absl::StatusOr<AnnounceGroup> ParseAnnounceGroup(const std::string& text) {
  AnnounceGroup out;
  absl::StatusOr<protocol::HostPort> split = protocol::SplitHostPort(text);
  if (!split.ok()) return split.status();
  out.address = split->host;
  const std::string& port = split->port;
  if (!IsMulticastGroup(out.address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an IPv4 or IPv6 multicast group: '", out.address, "'"));
  }
  if (!port.empty()) {
    uint32_t value;
    if (!absl::SimpleAtoi(port, &value) || value == 0 || value > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("bad port '", port, "'"));
    }
    out.port = static_cast<uint16_t>(value);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<AnnounceListener>> AnnounceListener::Start(
    const std::string& group, uint16_t port, const std::string& interface, uint16_t udp_port,
    Callback callback) {
  in_addr group_v4{}, local{};
  in6_addr group_v6{};
  const bool v6 = inet_pton(AF_INET, group.c_str(), &group_v4) != 1;
  if (v6 ? inet_pton(AF_INET6, group.c_str(), &group_v6) != 1 || !IN6_IS_ADDR_MULTICAST(&group_v6)
         : !IN_MULTICAST(ntohl(group_v4.s_addr))) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 or IPv6 multicast group: ", group));
  }
  // IPv4 joins on the interface of an IPv4 address; IPv6 on an interface
  // index, found from an address of either family (127.0.0.1 and ::1: lo).
  const int index = v6 ? InterfaceIndexOf(interface) : 0;
  if (!v6 && inet_pton(AF_INET, interface.c_str(), &local) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: ", interface));
  }
  if (index < 0) {
    return absl::InvalidArgumentError(absl::StrCat("no interface holds ", interface));
  }
  std::unique_ptr<AnnounceListener> listener(new AnnounceListener());
  listener->fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (listener->fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  const int on = 1;
  setsockopt(listener->fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  setsockopt(listener->fd_, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
  int joined = -1;
  if (v6) {
    setsockopt(listener->fd_, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    sockaddr_in6 any{};
    any.sin6_family = AF_INET6;
    any.sin6_port = htons(port);
    ipv6_mreq membership{};
    membership.ipv6mr_multiaddr = group_v6;
    membership.ipv6mr_interface = static_cast<unsigned>(index);
    if (bind(listener->fd_, reinterpret_cast<sockaddr*>(&any), sizeof(any)) == 0) {
      joined =
          setsockopt(listener->fd_, IPPROTO_IPV6, IPV6_JOIN_GROUP, &membership, sizeof(membership));
    }
  } else {
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(port);
    ip_mreq membership{};
    membership.imr_multiaddr = group_v4;
    membership.imr_interface = local;
    if (bind(listener->fd_, reinterpret_cast<sockaddr*>(&any), sizeof(any)) == 0) {
      joined =
          setsockopt(listener->fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof(membership));
    }
  }
  if (joined != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen to ", group, " port ", port, ": ", strerror(errno)));
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
    sockaddr_storage from{};
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
    char text[INET6_ADDRSTRLEN] = {};
    if (from.ss_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&from)->sin6_addr, text,
                sizeof(text));
    } else {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&from)->sin_addr, text,
                sizeof(text));
    }
    r.host = text;  // RFC 5352 §3.6: no transport -> the source and the IANA port
    r.sctp_port = protocol::kAsapPort;
    for (const protocol::TransportView& t : m.transports) {
      if (t.type == protocol::ParamType::kSctpTransport && !t.addresses.empty()) {
        r.host = t.addresses.front().ToString();
        r.sctp_port = t.port;
        break;
      }
    }
    callback_(r);
  }
}

}  // namespace rspd::client
