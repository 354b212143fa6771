// File: control/multicast_channel.cc

#include "control/multicast_channel.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "dataplane/net/endpoint.h"
#include "dataplane/net/multicast.h"

namespace rspd::control {
namespace {

const char* FamilyName(int family) { return family == AF_INET ? "IPv4" : "IPv6"; }

}  // namespace

absl::StatusOr<std::unique_ptr<MulticastChannel>> MulticastChannel::Open(
    const std::string& group_text, uint16_t port, const std::string& bind_address, int ttl,
    const char* flag, std::string* why_off) {
  if (group_text.empty()) {
    *why_off = absl::StrCat("off (--", flag, " is empty)");
    return nullptr;
  }
  std::optional<dataplane::Endpoint> group = dataplane::Endpoint::Parse(group_text, port);
  if (!group || !group->IsMulticast()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": not an IPv4 or IPv6 multicast group: ", group_text));
  }
  const std::optional<dataplane::Endpoint> bound = dataplane::Endpoint::Parse(bind_address, 0);
  if (!bound) {
    return absl::InvalidArgumentError(
        absl::StrCat("bind_address: not an IP address: ", bind_address));
  }
  const dataplane::Endpoint local = *bound;
  // The channel speaks for the registrar, which serves in the family of its
  // bind address.
  const int family = group->family();
  if (local.family() != family) {
    *why_off = absl::StrCat("off (", FamilyName(family), " group ", group_text, " needs an ",
                            FamilyName(family), " bind address)");
    return nullptr;
  }
  // The outgoing interface: the bind address (IPv4) or the index of its
  // interface (IPv6); a wildcard leaves the choice to the routes.
  dataplane::MulticastInterface out{local, 0};
  auto* group_v6 = reinterpret_cast<sockaddr_in6*>(&group->address);
  const bool link_scope = family == AF_INET6 && (IN6_IS_ADDR_MC_NODELOCAL(&group_v6->sin6_addr) ||
                                                 IN6_IS_ADDR_MC_LINKLOCAL(&group_v6->sin6_addr));
  if (family == AF_INET6 && local.IsWildcard() && link_scope) {
    // RFC 4007 §6: a link-scope group means nothing without its link.
    *why_off = absl::StrCat("off (link-scope group ", group_text,
                            " needs a bind address on that link, not ", bind_address, ")");
    return nullptr;
  }
  if (family == AF_INET6 && !local.IsWildcard()) {
    const std::optional<unsigned> index = dataplane::InterfaceIndexOf(local);
    if (!index) {
      *why_off = absl::StrCat("off (no interface holds ", bind_address, ")");
      return nullptr;
    }
    out.index = *index;
    // Interface- and link-local groups (ff01::/16, ff02::/16) name their
    // interface in the destination too (RFC 4007 §6).
    if (link_scope) group_v6->sin6_scope_id = out.index;
  }
  // On only where a route to the group exists (connect() on a UDP socket
  // only looks the route up, from the same outgoing interface).
  int probe = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  dataplane::SetMulticastSending(probe, family, out, ttl);
  const bool routed = connect(probe, group->as_sockaddr(), group->length) == 0;
  close(probe);
  if (!routed) {
    *why_off = absl::StrCat("off (no route to ", group_text, ")");
    return nullptr;
  }
  // Hear the others: bound to the group's port, member of the group on the
  // outgoing interface.
  absl::StatusOr<int> fd = dataplane::JoinMulticastGroup(*group, out, SOCK_NONBLOCK);
  if (!fd.ok()) {
    *why_off = absl::StrCat("off (", fd.status().message(), ")");
    return nullptr;
  }
  dataplane::SetMulticastSending(*fd, family, out, ttl);
  std::unique_ptr<MulticastChannel> channel(new MulticastChannel(*fd));
  channel->group_ = group->address;
  channel->group_length_ = group->length;
  return channel;
}

MulticastChannel::~MulticastChannel() { close(fd_); }

bool MulticastChannel::Send(absl::Span<const uint8_t> datagram) const {
  return sendto(fd_, datagram.data(), datagram.size(), 0,
                reinterpret_cast<const sockaddr*>(&group_), group_length_) > 0;
}

size_t MulticastChannel::Receive(absl::Span<uint8_t> buffer, protocol::IpAddress* from) const {
  sockaddr_storage source{};
  socklen_t length = sizeof(source);
  const ssize_t n = recvfrom(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT,
                             reinterpret_cast<sockaddr*>(&source), &length);
  if (n <= 0) return 0;
  dataplane::Endpoint e;
  e.address = source;
  e.length = length;
  *from = e.ip();
  return static_cast<size_t>(n);
}

}  // namespace rspd::control
