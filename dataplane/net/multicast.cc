#include "dataplane/net/multicast.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace rspd::dataplane {
namespace {

in_addr V4Address(const Endpoint& e) {
  return reinterpret_cast<const sockaddr_in*>(&e.address)->sin_addr;
}

}  // namespace

absl::StatusOr<int> JoinMulticastGroup(const Endpoint& group, const MulticastInterface& interface,
                                       int type_flags) {
  const int family = group.family();
  const int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | type_flags, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  const Endpoint any = *Endpoint::Parse(family == AF_INET ? "0.0.0.0" : "::", group.port());
  int joined = -1;
  if (bind(fd, any.as_sockaddr(), any.length) == 0) {
    if (family == AF_INET) {
      ip_mreq membership{};
      membership.imr_multiaddr = V4Address(group);
      membership.imr_interface = V4Address(interface.address);
      joined = setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof(membership));
    } else {
      ipv6_mreq membership{};
      membership.ipv6mr_multiaddr =
          reinterpret_cast<const sockaddr_in6*>(&group.address)->sin6_addr;
      membership.ipv6mr_interface = interface.index;
      joined = setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &membership, sizeof(membership));
    }
  }
  if (joined != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot join ", group.ToString(), ": ", strerror(error)));
  }
  return fd;
}

void SetMulticastSending(int fd, int family, const MulticastInterface& interface, int ttl) {
  if (family == AF_INET) {
    const unsigned char hops = static_cast<unsigned char>(ttl);
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &hops, sizeof(hops));
    const unsigned char loop = 1;
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop));
    if (!interface.address.IsWildcard()) {
      const in_addr v4 = V4Address(interface.address);
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &v4, sizeof(v4));
    }
    return;
  }
  // IPv6 (RFC 3493 §5.2): the hop limit and the loop flag are ints, the
  // interface an index.
  const int hops = ttl;
  setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops));
  const int loop = 1;
  setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof(loop));
  if (interface.index != 0) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &interface.index, sizeof(interface.index));
  }
}

}  // namespace rspd::dataplane
