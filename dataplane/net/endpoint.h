// File: dataplane/net/endpoint.h
//
// A socket address (IPv4 or IPv6 address and port) as the socket calls take
// it, with its conversions: from a literal address text, from and to the
// wire's IP address (RFC 5354 §3.1, §3.2) and port, and to text
// (`1.2.3.4:5`, `[2001:db8::1]:5`). Also the two lookups the registrar and the
// client library make of the host's interfaces: which interface holds an
// address, and which local address the kernel sends from toward a remote.
//
// The package is the network helpers of //dataplane, //control and //client;
// it depends on protocol (the address type and JoinHostPort) and absl only,
// nothing in control/ or client/.
//
// Example:
//   std::optional<Endpoint> e = Endpoint::Parse("::1", 9899);
//   sendto(fd, data, size, 0, e->as_sockaddr(), e->length);
//   puts(e->ToString().c_str());  // [::1]:9899

#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protocol/address.h"

namespace rspd::dataplane {

// A remote or local IPv4/IPv6 address and UDP (or SCTP) port.
struct Endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;

  static Endpoint From(const struct sockaddr* address, socklen_t length);
  // A literal IPv4 or IPv6 address (no brackets, no name lookup); nullopt
  // for anything else.
  static std::optional<Endpoint> Parse(absl::string_view host, uint16_t port);
  static Endpoint Of(const protocol::IpAddress& ip, uint16_t port);

  int family() const { return address.ss_family; }
  const struct sockaddr* as_sockaddr() const {
    return reinterpret_cast<const struct sockaddr*>(&address);
  }
  protocol::IpAddress ip() const;
  uint16_t port() const;
  bool IsWildcard() const;   // 0.0.0.0 or ::
  bool IsMulticast() const;  // 224.0.0.0/4 or ff00::/8
  // "1.2.3.4" or "2001:db8::1".
  std::string HostString() const;
  // "1.2.3.4:5" or "[2001:db8::1]:5".
  std::string ToString() const;
};

// The index of the interface holding `address` (lo for 127.0.0.1 and ::1; 0
// for a wildcard address), or nullopt when no interface does.
// IPV6_MULTICAST_IF and IPV6_JOIN_GROUP name interfaces by index only.
std::optional<unsigned> InterfaceIndexOf(const Endpoint& address);

// The local address (port 0) the kernel sends from toward `remote`: what
// `remote` sees as the source. A connected UDP socket sends nothing.
// Unavailable without a route.
absl::StatusOr<Endpoint> LocalEndpointToward(const Endpoint& remote);

}  // namespace rspd::dataplane
