#include "control/announcer.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "dataplane/net/endpoint.h"
#include "dataplane/net/multicast.h"
#include "protocol/codec.h"

namespace rspd::control {
namespace {

// T7-ENRPoutdate (RFC 5352 §7.1): how long a heard registrar counts.
constexpr ServerAnnouncer::Tick kOutdateMillis = 5000;

const char* FamilyName(int family) { return family == AF_INET ? "IPv4" : "IPv6"; }

}  // namespace

absl::StatusOr<std::vector<uint8_t>> EncodeServerAnnounce(const RegistrarConfig& config) {
  const std::optional<dataplane::Endpoint> local =
      dataplane::Endpoint::Parse(config.bind_address, 0);
  if (!local) {
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
  const protocol::IpAddress address = local->ip();
  protocol::TransportView transport;
  transport.type = protocol::ParamType::kSctpTransport;
  transport.port = config.asap_port;
  transport.addresses = protocol::ParamList<protocol::IpAddress>(absl::MakeConstSpan(&address, 1));
  if (!local->IsWildcard()) {
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
  std::optional<dataplane::Endpoint> group =
      dataplane::Endpoint::Parse(config.announce_group, config.announce_port);
  if (!group || !group->IsMulticast()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "announce_group: not an IPv4 or IPv6 multicast group: ", config.announce_group));
  }
  absl::StatusOr<std::vector<uint8_t>> message = EncodeServerAnnounce(config);
  if (!message.ok()) return message.status();
  // Valid: EncodeServerAnnounce parsed it.
  const dataplane::Endpoint local = *dataplane::Endpoint::Parse(config.bind_address, 0);
  // Clients reach the registrar at the announced address (or the source of
  // the announce), so the announce travels in the family the registrar
  // serves.
  const int family = group->family();
  if (local.family() != family) {
    *why_off = absl::StrCat("off (", FamilyName(family), " group ", config.announce_group,
                            " needs an ", FamilyName(family), " bind address)");
    return nullptr;
  }
  // The outgoing interface of the announces: the bind address (IPv4) or the
  // index of its interface (IPv6); a wildcard leaves the choice to the routes.
  dataplane::MulticastInterface out{local, 0};
  auto* group_v6 = reinterpret_cast<sockaddr_in6*>(&group->address);
  const bool link_scope = family == AF_INET6 && (IN6_IS_ADDR_MC_NODELOCAL(&group_v6->sin6_addr) ||
                                                 IN6_IS_ADDR_MC_LINKLOCAL(&group_v6->sin6_addr));
  if (family == AF_INET6 && local.IsWildcard() && link_scope) {
    // RFC 4007 §6: a link-scope group means nothing without its link.
    *why_off = absl::StrCat("off (link-scope group ", config.announce_group,
                            " needs a bind address on that link, not ", config.bind_address, ")");
    return nullptr;
  }
  if (family == AF_INET6 && !local.IsWildcard()) {
    const std::optional<unsigned> index = dataplane::InterfaceIndexOf(local);
    if (!index) {
      *why_off = absl::StrCat("off (no interface holds ", config.bind_address, ")");
      return nullptr;
    }
    out.index = *index;
    // Interface- and link-local groups (ff01::/16, ff02::/16) name their
    // interface in the destination too (RFC 4007 §6).
    if (link_scope) group_v6->sin6_scope_id = out.index;
  }
  // On by default only where a route to the group exists (connect() on a
  // UDP socket only looks the route up, from the same outgoing interface).
  int probe = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  dataplane::SetMulticastSending(probe, family, out, config.announce_ttl);
  const bool routed = connect(probe, group->as_sockaddr(), group->length) == 0;
  close(probe);
  if (!routed) {
    *why_off = absl::StrCat("off (no route to ", config.announce_group, ")");
    return nullptr;
  }
  // Hear the other registrars: bound to the group's port, member of the group
  // on the outgoing interface.
  absl::StatusOr<int> fd = dataplane::JoinMulticastGroup(*group, out, SOCK_NONBLOCK);
  if (!fd.ok()) {
    *why_off = absl::StrCat("off (", fd.status().message(), ")");
    return nullptr;
  }
  dataplane::SetMulticastSending(*fd, family, out, config.announce_ttl);
  std::unique_ptr<ServerAnnouncer> announcer(new ServerAnnouncer(config, *fd));
  announcer->group_ = group->address;
  announcer->group_length_ = group->length;
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
    AnnouncerStats::Bump(stats_.announces_heard);
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
    AnnouncerStats::Bump(stats_.announces_sent);
  }
  // RFC 5352 §3.6: every (N+1)*T6.
  next_ = now + static_cast<Tick>(absl::ToInt64Milliseconds(config_.server_announce_cycle)) *
                    (others_.size() + 1);
}

}  // namespace rspd::control
