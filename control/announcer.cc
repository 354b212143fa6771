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
  // RFC 5352 §8.4: 224.0.1.185 or FF0X::133; any multicast group is accepted.
  // Clients reach the registrar at the announced address (or the source of
  // the announce), so the announce travels in the family the registrar
  // serves (MulticastChannel).
  absl::StatusOr<std::unique_ptr<MulticastChannel>> channel =
      MulticastChannel::Open(config.announce_group, config.announce_port, config.bind_address,
                             config.announce_ttl, "announce_group", why_off);
  if (!channel.ok()) return channel.status();
  if (*channel == nullptr) return nullptr;  // off: *why_off says why
  absl::StatusOr<std::vector<uint8_t>> message = EncodeServerAnnounce(config);
  if (!message.ok()) return message.status();
  std::unique_ptr<ServerAnnouncer> announcer(new ServerAnnouncer(config, std::move(*channel)));
  announcer->message_ = std::move(*message);
  return announcer;
}

ServerAnnouncer::ServerAnnouncer(const RegistrarConfig& config,
                                 std::unique_ptr<MulticastChannel> channel)
    : config_(config), channel_(std::move(channel)) {}

ServerAnnouncer::~ServerAnnouncer() = default;

void ServerAnnouncer::OnReadable(Tick now) {
  uint8_t buffer[2048];
  // Bounded per call: a flood of announces cannot hold the loop.
  for (int i = 0; i < 64; ++i) {
    protocol::IpAddress from;
    const size_t n = channel_->Receive(absl::MakeSpan(buffer), &from);
    if (n == 0) return;
    protocol::Message m;
    protocol::DecodeError error;
    if (!protocol::DecodeMessage(protocol::Protocol::kAsap, absl::MakeConstSpan(buffer, n), &m,
                                 &error) ||
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
  if (channel_->Send(message_)) {
    AnnouncerStats::Bump(stats_.announces_sent);
  }
  // RFC 5352 §3.6: every (N+1)*T6.
  next_ = now + static_cast<Tick>(absl::ToInt64Milliseconds(config_.server_announce_cycle)) *
                    (others_.size() + 1);
}

}  // namespace rspd::control
