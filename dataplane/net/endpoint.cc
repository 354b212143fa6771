#include "dataplane/net/endpoint.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "protocol/address.h"

namespace rspd::dataplane {
namespace {

const sockaddr_in* V4(const sockaddr_storage& s) {
  return reinterpret_cast<const sockaddr_in*>(&s);
}
const sockaddr_in6* V6(const sockaddr_storage& s) {
  return reinterpret_cast<const sockaddr_in6*>(&s);
}

}  // namespace

Endpoint Endpoint::From(const struct sockaddr* address, socklen_t length) {
  Endpoint e;
  memcpy(&e.address, address, std::min<size_t>(length, sizeof(e.address)));
  e.length = length;
  return e;
}

std::optional<Endpoint> Endpoint::Parse(absl::string_view host, uint16_t port) {
  const std::string text(host);
  Endpoint e;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&e.address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.address);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    e.length = sizeof(*v4);
    return e;
  }
  if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    e.length = sizeof(*v6);
    return e;
  }
  return std::nullopt;
}

Endpoint Endpoint::Of(const protocol::IpAddress& ip, uint16_t port) {
  Endpoint e;
  if (ip.is_v4()) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&e.address);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    v4->sin_addr.s_addr = htonl(ip.v4());
    e.length = sizeof(*v4);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.address);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    memcpy(&v6->sin6_addr, ip.bytes.data(), 16);
    e.length = sizeof(*v6);
  }
  return e;
}

protocol::IpAddress Endpoint::ip() const {
  if (family() == AF_INET) return protocol::IpAddress::V4(ntohl(V4(address)->sin_addr.s_addr));
  return protocol::IpAddress::V6(V6(address)->sin6_addr.s6_addr);
}

uint16_t Endpoint::port() const {
  return ntohs(family() == AF_INET ? V4(address)->sin_port : V6(address)->sin6_port);
}

bool Endpoint::IsWildcard() const {
  return family() == AF_INET ? V4(address)->sin_addr.s_addr == htonl(INADDR_ANY)
                             : IN6_IS_ADDR_UNSPECIFIED(&V6(address)->sin6_addr);
}

bool Endpoint::IsMulticast() const {
  return family() == AF_INET ? IN_MULTICAST(ntohl(V4(address)->sin_addr.s_addr))
                             : IN6_IS_ADDR_MULTICAST(&V6(address)->sin6_addr);
}

std::string Endpoint::HostString() const { return ip().ToString(); }

std::string Endpoint::ToString() const { return protocol::JoinHostPort(ip(), port()); }

std::optional<unsigned> InterfaceIndexOf(const Endpoint& address) {
  if (address.IsWildcard()) return 0u;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return std::nullopt;
  std::optional<unsigned> index;
  const protocol::IpAddress wanted = address.ip();
  for (const ifaddrs* i = list; i != nullptr && !index; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != address.family()) continue;
    const socklen_t length =
        address.family() == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (Endpoint::From(i->ifa_addr, length).ip() == wanted) index = if_nametoindex(i->ifa_name);
  }
  freeifaddrs(list);
  return index;
}

absl::StatusOr<Endpoint> LocalEndpointToward(const Endpoint& remote) {
  const int fd = socket(remote.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  Endpoint local;
  local.length = sizeof(local.address);
  const bool ok =
      connect(fd, remote.as_sockaddr(), remote.length) == 0 &&
      getsockname(fd, reinterpret_cast<struct sockaddr*>(&local.address), &local.length) == 0;
  close(fd);
  if (!ok) return absl::UnavailableError(absl::StrCat("no route to ", remote.HostString()));
  return Endpoint::Of(local.ip(), 0);
}

}  // namespace rspd::dataplane
