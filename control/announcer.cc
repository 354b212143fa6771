#include "control/announcer.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
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

// A literal IPv4 or IPv6 address with a port, as the socket calls take it.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr_in* v4() { return reinterpret_cast<sockaddr_in*>(&storage); }
  sockaddr_in6* v6() { return reinterpret_cast<sockaddr_in6*>(&storage); }
  const sockaddr_in* v4() const { return reinterpret_cast<const sockaddr_in*>(&storage); }
  const sockaddr_in6* v6() const { return reinterpret_cast<const sockaddr_in6*>(&storage); }

  bool IsWildcard() const {
    return family() == AF_INET ? v4()->sin_addr.s_addr == htonl(INADDR_ANY)
                               : IN6_IS_ADDR_UNSPECIFIED(&v6()->sin6_addr);
  }
  bool IsMulticast() const {
    return family() == AF_INET ? IN_MULTICAST(ntohl(v4()->sin_addr.s_addr))
                               : IN6_IS_ADDR_MULTICAST(&v6()->sin6_addr);
  }
};

bool ParseAddress(const std::string& text, uint16_t port, SocketAddress* out) {
  *out = SocketAddress();
  if (inet_pton(AF_INET, text.c_str(), &out->v4()->sin_addr) == 1) {
    out->v4()->sin_family = AF_INET;
    out->v4()->sin_port = htons(port);
    out->length = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), &out->v6()->sin6_addr) == 1) {
    out->v6()->sin6_family = AF_INET6;
    out->v6()->sin6_port = htons(port);
    out->length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

const char* FamilyName(int family) { return family == AF_INET ? "IPv4" : "IPv6"; }

// The index of the interface holding the IPv6 address `address` (lo for ::1,
// the link's interface for a link-local address), or 0 if none does.
// IPV6_MULTICAST_IF and IPV6_JOIN_GROUP name interfaces by index only.
unsigned InterfaceIndexOf(const in6_addr& address) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return 0;
  unsigned index = 0;
  for (const ifaddrs* i = list; i != nullptr && index == 0; i = i->ifa_next) {
    if (i->ifa_addr != nullptr && i->ifa_addr->sa_family == AF_INET6 &&
        memcmp(&reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr, &address,
               sizeof(address)) == 0) {
      index = if_nametoindex(i->ifa_name);
    }
  }
  freeifaddrs(list);
  return index;
}

// The outgoing interface of the announces: the bind address (IPv4) or the
// index of its interface (IPv6); a wildcard leaves the choice to the routes.
struct Outgoing {
  int family = AF_INET;
  in_addr v4{};
  unsigned v6_index = 0;
  bool wildcard = true;
};

void SetOutgoing(int fd, const Outgoing& out, int ttl) {
  if (out.family == AF_INET) {
    const unsigned char hops = static_cast<unsigned char>(ttl);
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &hops, sizeof(hops));
    const unsigned char loop = 1;  // registrars and PEs on this host hear it too
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop));
    if (!out.wildcard) setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &out.v4, sizeof(out.v4));
    return;
  }
  // IPv6 (RFC 3493 §5.2): the hop limit and the loop flag are ints, the
  // interface an index.
  const int hops = ttl;
  setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops));
  const int loop = 1;
  setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof(loop));
  if (!out.wildcard) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &out.v6_index, sizeof(out.v6_index));
  }
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> EncodeServerAnnounce(const RegistrarConfig& config) {
  SocketAddress local;
  if (!ParseAddress(config.bind_address, 0, &local)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bind_address: not an IPv4 or IPv6 address: '", config.bind_address, "'"));
  }
  // RFC 5352 §2.2.10: server ID and the ASAP transport (SCTP; §3.6 "all the
  // transport addresses available for ASAP": rspd has the one bind address).
  // With a wildcard bind address the transport is left out: receivers then
  // take the packet's source address and the IANA port (§3.6).
  protocol::Message m;
  m.type = static_cast<uint8_t>(protocol::AsapType::kServerAnnounce);
  m.server_id = config.server_id;
  protocol::IpAddress address = local.family() == AF_INET
                                    ? protocol::IpAddress::V4(ntohl(local.v4()->sin_addr.s_addr))
                                    : protocol::IpAddress::V6(reinterpret_cast<const uint8_t*>(
                                          local.v6()->sin6_addr.s6_addr));
  protocol::TransportView transport;
  transport.type = protocol::ParamType::kSctpTransport;
  transport.port = config.asap_port;
  transport.addresses = protocol::ParamList<protocol::IpAddress>(absl::MakeConstSpan(&address, 1));
  if (!local.IsWildcard()) {
    m.transports = protocol::ParamList<protocol::TransportView>(absl::MakeConstSpan(&transport, 1));
  }
  return protocol::EncodeMessageToVector(m);
}

absl::StatusOr<std::unique_ptr<ServerAnnouncer>> ServerAnnouncer::Create(
    const RegistrarConfig& config, std::string* why_off) {
  if (config.announce_group.empty()) {
    *why_off = "off (--announce_group is empty)";
    return nullptr;
  }
  // RFC 5352 §8.4: 224.0.1.185 or FF0X::133; any multicast group is accepted.
  SocketAddress group, local;
  if (!ParseAddress(config.announce_group, config.announce_port, &group) || !group.IsMulticast()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "announce_group: not an IPv4 or IPv6 multicast group: ", config.announce_group));
  }
  absl::StatusOr<std::vector<uint8_t>> message = EncodeServerAnnounce(config);
  if (!message.ok()) return message.status();
  ParseAddress(config.bind_address, 0, &local);
  // Clients reach the registrar at the announced address (or the source of
  // the announce), so the announce travels in the family the registrar
  // serves.
  if (local.family() != group.family()) {
    *why_off = absl::StrCat("off (", FamilyName(group.family()), " group ", config.announce_group,
                            " needs an ", FamilyName(group.family()), " bind address)");
    return nullptr;
  }
  Outgoing out;
  out.family = group.family();
  out.wildcard = local.IsWildcard();
  const bool link_scope =
      out.family == AF_INET6 && (IN6_IS_ADDR_MC_NODELOCAL(&group.v6()->sin6_addr) ||
                                 IN6_IS_ADDR_MC_LINKLOCAL(&group.v6()->sin6_addr));
  if (out.family == AF_INET) {
    out.v4 = local.v4()->sin_addr;
  } else if (out.wildcard && link_scope) {
    // RFC 4007 §6: a link-scope group means nothing without its link.
    *why_off = absl::StrCat("off (link-scope group ", config.announce_group,
                            " needs a bind address on that link, not ", config.bind_address, ")");
    return nullptr;
  } else if (!out.wildcard) {
    out.v6_index = InterfaceIndexOf(local.v6()->sin6_addr);
    if (out.v6_index == 0) {
      *why_off = absl::StrCat("off (no interface holds ", config.bind_address, ")");
      return nullptr;
    }
    // Interface- and link-local groups (ff01::/16, ff02::/16) name their
    // interface in the destination too (RFC 4007 §6).
    if (link_scope) group.v6()->sin6_scope_id = out.v6_index;
  }
  int fd = socket(out.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
  if (out.family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  SetOutgoing(fd, out, config.announce_ttl);
  // On by default only where a route to the group exists (connect() on a
  // UDP socket only looks the route up, from the same outgoing interface).
  int probe = socket(out.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  SetOutgoing(probe, out, config.announce_ttl);
  const bool routed = connect(probe, group.get(), group.length) == 0;
  close(probe);
  if (!routed) {
    close(fd);
    *why_off = absl::StrCat("off (no route to ", config.announce_group, ")");
    return nullptr;
  }
  // Hear the other registrars: bound to the group's port, member of the group
  // on the outgoing interface.
  SocketAddress any;
  ParseAddress(out.family == AF_INET ? "0.0.0.0" : "::", config.announce_port, &any);
  int joined = -1;
  if (bind(fd, any.get(), any.length) == 0) {
    if (out.family == AF_INET) {
      ip_mreq membership{};
      membership.imr_multiaddr = group.v4()->sin_addr;
      membership.imr_interface = out.v4;
      joined = setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof(membership));
    } else {
      ipv6_mreq membership{};
      membership.ipv6mr_multiaddr = group.v6()->sin6_addr;
      membership.ipv6mr_interface = out.v6_index;
      joined = setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &membership, sizeof(membership));
    }
  }
  if (joined != 0) {
    int error = errno;
    close(fd);
    *why_off = absl::StrCat("off (cannot join ", config.announce_group, ": ", strerror(error), ")");
    return nullptr;
  }
  std::unique_ptr<ServerAnnouncer> announcer(new ServerAnnouncer(config, fd));
  announcer->group_ = group.storage;
  announcer->group_length_ = group.length;
  announcer->message_ = std::move(*message);
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
  if (sendto(fd_, message_.data(), message_.size(), 0, reinterpret_cast<const sockaddr*>(&group_),
             group_length_) > 0) {
    ++sent_;
  }
  // RFC 5352 §3.6: every (N+1)*T6.
  next_ = now + static_cast<Tick>(absl::ToInt64Milliseconds(config_.server_announce_cycle)) *
                    (others_.size() + 1);
}

}  // namespace rspd::control
