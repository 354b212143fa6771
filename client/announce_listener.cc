#include "client/announce_listener.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "dataplane/net/endpoint.h"
#include "dataplane/net/multicast.h"
#include "protocol/address.h"
#include "protocol/codec.h"

namespace rspd::client {
namespace {

bool IsMulticastGroup(const std::string& text) {
  const std::optional<dataplane::Endpoint> group = dataplane::Endpoint::Parse(text, 0);
  return group && group->IsMulticast();
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
  const std::optional<dataplane::Endpoint> group_endpoint = dataplane::Endpoint::Parse(group, port);
  if (!group_endpoint || !group_endpoint->IsMulticast()) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 or IPv6 multicast group: ", group));
  }
  const bool v6 = group_endpoint->family() == AF_INET6;
  // IPv4 joins on the interface of an IPv4 address; IPv6 on an interface
  // index, found from an address of either family (127.0.0.1 and ::1: lo).
  const std::optional<dataplane::Endpoint> local = dataplane::Endpoint::Parse(interface, 0);
  if (!local || (!v6 && local->family() != AF_INET)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an IPv", v6 ? "4 or IPv6" : "4", " address: ", interface));
  }
  dataplane::MulticastInterface on{*local, 0};
  if (v6) {
    const std::optional<unsigned> index = dataplane::InterfaceIndexOf(*local);
    if (!index) return absl::InvalidArgumentError(absl::StrCat("no interface holds ", interface));
    on.index = *index;
  }
  absl::StatusOr<int> fd = dataplane::JoinMulticastGroup(*group_endpoint, on, 0);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<AnnounceListener> listener(new AnnounceListener());
  listener->fd_ = *fd;
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
    // RFC 5352 §3.6: no transport -> the source and the IANA port.
    r.host =
        dataplane::Endpoint::From(reinterpret_cast<const sockaddr*>(&from), length).HostString();
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
