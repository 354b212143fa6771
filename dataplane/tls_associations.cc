// File: dataplane/tls_associations.cc

#include "dataplane/tls_associations.h"

#include <algorithm>
#include <utility>

namespace rspd::dataplane {
namespace {

// The PPID of the SCTP messages that carry TLS records: unspecified (RFC
// 9260 §3.3.1), since they are not ASAP or ENRP messages themselves.
constexpr uint32_t kRecordPpid = 0;

}  // namespace

TlsAssociations::TlsAssociations(std::vector<Service> services, SctpBridge* bridge,
                                 Upcalls* upcalls)
    : services_(std::move(services)), bridge_(bridge), upcalls_(upcalls) {}

TlsAssociations::~TlsAssociations() = default;

const TlsAssociations::Service* TlsAssociations::ServiceOf(uint16_t wire_port) const {
  for (const Service& s : services_) {
    if (s.port == wire_port || (s.client_port != 0 && s.client_port == wire_port)) return &s;
  }
  return nullptr;
}

TlsAssociations::Association* TlsAssociations::Create(SctpBridge::Peer* peer, uint16_t wire_port,
                                                      uint16_t remote_port,
                                                      const Service* service) {
  auto a = std::make_unique<Association>();
  a->peer = peer;
  a->wire_port = wire_port;
  a->remote_port = remote_port;
  a->service = service;
  const bool client = wire_port == service->client_port;
  a->channel = std::make_unique<tls::TlsChannel>(client ? service->client : service->server);
  Association* raw = a.get();
  all_.emplace(raw, std::move(a));
  by_ports_[{peer, wire_port, remote_port}] = raw;
  by_peer_[peer].push_back(raw);
  return raw;
}

void TlsAssociations::Remove(Association* a) {
  by_ports_.erase(PortsKey{a->peer, a->wire_port, a->remote_port});
  if (a->up) by_assoc_.erase(AssocKey{a->peer, a->wire_port, a->assoc});
  auto peer = by_peer_.find(a->peer);
  if (peer != by_peer_.end()) {
    auto& list = peer->second;
    list.erase(std::remove(list.begin(), list.end(), a), list.end());
    if (list.empty()) by_peer_.erase(peer);
  }
  auto it = all_.find(a);
  ended_.emplace_back(std::move(it->second), now_ms_);
  all_.erase(it);
}

void TlsAssociations::Tick(uint64_t now_ms) {
  now_ms_ = now_ms;
  while (!ended_.empty() && now_ms - ended_.front().second >= kKeepEndedMs) ended_.pop_front();
  if (now_ms < next_sweep_ms_) return;
  next_sweep_ms_ = now_ms + 1000;
  for (const auto& [ref, a] : all_) {
    if (a->up && !a->aborted && a->channel->state() == tls::TlsChannel::State::kHandshaking &&
        now_ms - a->up_ms >= kHandshakeTimeoutMs) {
      a->aborted = true;
      TlsStats::Bump(stats_.tls_handshake_timeouts);
      bridge_->Abort(a->peer, a->wire_port, a->assoc);
    }
  }
}

void TlsAssociations::Flush(Association* a) {
  if (!a->up || a->aborted) return;  // the output waits in the channel, or goes nowhere
  // A piece that cannot go would leave the peer a stream with a hole: the
  // association is aborted instead.
  bool sent = true;
  for (const auto& piece : a->channel->TakeOutput()) {
    if (!(sent = bridge_->Send(a->peer, a->wire_port, a->assoc, kRecordPpid, piece))) break;
  }
  if ((!sent || a->channel->state() == tls::TlsChannel::State::kFailed) && !a->aborted) {
    a->aborted = true;
    TlsStats::Bump(stats_.tls_failures);
    bridge_->Abort(a->peer, a->wire_port, a->assoc);
  }
}

void TlsAssociations::OnDeliver(const SctpBridge::Delivery& d) {
  auto it = by_assoc_.find(AssocKey{d.peer, d.local_port, d.assoc});
  if (it == by_assoc_.end()) {
    TlsStats::Bump(stats_.tls_unknown_associations);
    return;
  }
  Association* a = it->second;
  if (a->channel->state() == tls::TlsChannel::State::kFailed) return;  // being aborted
  const Endpoint& remote = bridge_->endpoint(d.peer);
  const auto deliver = [&](absl::Span<const uint8_t> message) {
    if (!a->reported) {
      a->reported = true;
      TlsStats::Bump(stats_.tls_handshakes);
    }
    TlsStats::Bump(stats_.tls_messages_in);
    InboundMessage m;
    m.from = {a, 0};
    m.local_port = a->service->logical_port;
    // A symmetric service (ENRP): the peer's own associations start from
    // its client port, but it is reached on the service's port, as we are
    // (docs/security.md); the application learns where to reach it.
    m.remote_port = a->service->client_port != 0 && a->wire_port == a->service->port
                        ? a->service->port
                        : a->remote_port;
    m.remote_ip = remote.ip();
    m.remote_udp_port = remote.port();
    m.ppid = a->service->ppid;
    m.data = message;
    m.secure = true;
    m.peer_identity = a->channel->peer().name;
    upcalls_->OnSecureMessage(m);
  };
  (void)a->channel->Receive(d.data, deliver);
  if (!a->reported && a->channel->state() == tls::TlsChannel::State::kOpen) {
    a->reported = true;
    TlsStats::Bump(stats_.tls_handshakes);
  }
  Flush(a);
}

void TlsAssociations::OnAssociation(SctpBridge::Peer* peer, uint16_t wire_port,
                                    uint16_t remote_port, SctpBridge::AssocId assoc,
                                    SctpBridge::AssocEvent event) {
  const Service* service = ServiceOf(wire_port);
  if (event == SctpBridge::AssocEvent::kUp) {
    auto it = by_ports_.find(PortsKey{peer, wire_port, remote_port});
    Association* a =
        it != by_ports_.end() ? it->second : Create(peer, wire_port, remote_port, service);
    if (a->up) return;  // a restart of the one it has
    a->up = true;
    a->up_ms = now_ms_;
    a->assoc = assoc;
    by_assoc_[{peer, wire_port, assoc}] = a;
    Flush(a);  // a client's ClientHello, and what waited for the association
    return;
  }
  auto it = by_assoc_.find(AssocKey{peer, wire_port, assoc});
  if (it != by_assoc_.end()) {
    Association* a = it->second;
    if (a->reported) upcalls_->OnSecureDown({a, 0}, service->logical_port);
    Remove(a);
    return;
  }
  if (remote_port == 0) {
    // One we started never came up: its channel, and what waited in it, go.
    std::vector<Association*> failed;
    auto list = by_peer_.find(peer);
    if (list == by_peer_.end()) return;
    for (Association* a : list->second) {
      if (!a->up && a->wire_port == wire_port) failed.push_back(a);
    }
    for (Association* a : failed) {
      TlsStats::Bump(stats_.tls_send_failures);
      Remove(a);
    }
  }
}

void TlsAssociations::OnPeerClosed(SctpBridge::Peer* peer) {
  auto list = by_peer_.find(peer);
  if (list == by_peer_.end()) return;
  const std::vector<Association*> gone = list->second;
  for (Association* a : gone) {
    if (a->reported) upcalls_->OnSecureDown({a, 0}, a->service->logical_port);
    Remove(a);
  }
}

bool TlsAssociations::Send(const AssocRef& ref, absl::Span<const uint8_t> message) {
  auto it = all_.find(ref.peer);
  if (it == all_.end() || !it->second->channel->Send(message).ok()) {
    TlsStats::Bump(stats_.tls_send_failures);
    return false;
  }
  TlsStats::Bump(stats_.tls_messages_out);
  Flush(it->second.get());
  return true;
}

std::optional<bool> TlsAssociations::SendTo(const Endpoint& to, uint16_t logical_port,
                                            uint16_t remote_port,
                                            absl::Span<const uint8_t> message) {
  const Service* service = nullptr;
  for (const Service& s : services_) {
    if (s.logical_port == logical_port) service = &s;
  }
  if (service == nullptr) return std::nullopt;
  const uint16_t wire_port = service->client_port != 0 ? service->client_port : service->port;
  SctpBridge::Peer* peer = bridge_->Connect(to, wire_port, remote_port);
  if (peer == nullptr) {
    TlsStats::Bump(stats_.tls_send_failures);
    return false;
  }
  auto it = by_ports_.find(PortsKey{peer, wire_port, remote_port});
  Association* a =
      it != by_ports_.end() ? it->second : Create(peer, wire_port, remote_port, service);
  return Send({a, 0}, message);
}

}  // namespace rspd::dataplane
