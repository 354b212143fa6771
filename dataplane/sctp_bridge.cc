#include "dataplane/sctp_bridge.h"

#include <arpa/inet.h>
#include <usrsctp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace rspd::dataplane {

// One listening socket of a peer: usrsctp calls back with it as ulp_info.
struct SctpBridge::Listener {
  SctpBridge* bridge;
  Peer* peer;
  uint16_t port;
  struct socket* socket = nullptr;
  // Messages delivered in pieces (no MSG_EOR yet), per association.
  absl::flat_hash_map<uint32_t, std::vector<uint8_t>> partial;
};

struct SctpBridge::Peer {
  Endpoint endpoint;
  std::vector<std::unique_ptr<Listener>> listeners;
};

namespace {

SctpBridge* g_bridge = nullptr;

int ConnOutput(void* address, void* buffer, size_t length, uint8_t /*tos*/, uint8_t /*set_df*/) {
  if (g_bridge == nullptr) return EINVAL;
  return g_bridge->Output(static_cast<SctpBridge::Peer*>(address), buffer, length);
}

std::array<uint8_t, 20> KeyOf(const Endpoint& e) {
  std::array<uint8_t, 20> key{};
  if (e.address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&e.address);
    key[0] = 4;
    memcpy(&key[2], &v4->sin_port, 2);
    memcpy(&key[4], &v4->sin_addr, 4);
  } else {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&e.address);
    key[0] = 6;
    memcpy(&key[2], &v6->sin6_port, 2);
    memcpy(&key[4], &v6->sin6_addr, 16);
  }
  return key;
}

int ReceiveCallback(struct socket* /*sock*/, union sctp_sockstore addr, void* data, size_t length,
                    struct sctp_rcvinfo info, int flags, void* ulp_info) {
  auto* listener = static_cast<SctpBridge::Listener*>(ulp_info);
  if (data == nullptr) {
    return 1;  // the association is gone; nothing to deliver
  }
  listener->bridge->OnReceive(listener, data, length, ntohs(addr.sconn.sconn_port),
                              static_cast<uint32_t>(info.rcv_assoc_id), ntohl(info.rcv_ppid),
                              info.rcv_sid, flags);
  free(data);  // usrsctp hands ownership of `data` to the callback
  return 1;
}

}  // namespace

Endpoint Endpoint::From(const sockaddr* address, socklen_t length) {
  Endpoint e;
  memcpy(&e.address, address, std::min<size_t>(length, sizeof(e.address)));
  e.length = length;
  return e;
}

SctpBridge::SctpBridge(const Options& options, OutputFn output, DeliverFn deliver, EventFn events)
    : options_(options),
      output_(std::move(output)),
      deliver_(std::move(deliver)),
      events_(std::move(events)) {
  if (g_bridge != nullptr) {
    abort();  // usrsctp is process-global: one bridge per process
  }
  g_bridge = this;
  // Nothreads: our loop drives the timers (PLATFORM.md). Port 0: no UDP
  // encapsulation socket of usrsctp's own; the backend carries the packets.
  usrsctp_init_nothreads(0, ConnOutput, nullptr);
  usrsctp_sysctl_set_sctp_ecn_enable(0);
}

SctpBridge::~SctpBridge() {
  for (auto& [key, peer] : peers_) {
    for (auto& listener : peer->listeners) {
      usrsctp_close(listener->socket);
    }
  }
  // Closed associations still send their ABORT/SHUTDOWN from timers; drain
  // them before the handles go away (PLATFORM.md: timers may call
  // conn_output after close). Bounded: 30 s of simulated time.
  bool finished = false;
  for (int i = 0; i < 3000 && !(finished = usrsctp_finish() == 0); ++i) {
    usrsctp_handle_timers(10);
  }
  // A finished stack has freed its address lists with everything else:
  // deregistering then would touch freed memory.
  if (!finished) {
    for (auto& [key, peer] : peers_) {
      usrsctp_deregister_address(peer.get());
    }
  }
  g_bridge = nullptr;
}

SctpBridge::Peer* SctpBridge::FindOrCreatePeer(const Endpoint& from) {
  std::array<uint8_t, 20> key = KeyOf(from);
  auto it = peers_.find(key);
  if (it != peers_.end()) {
    return it->second.get();
  }
  if (peers_.size() >= options_.max_peers) {
    ++stats_.peers_rejected;
    return nullptr;
  }
  auto peer = std::make_unique<Peer>();
  peer->endpoint = from;
  Peer* raw = peer.get();
  // The sconn address must be registered, or the first DATA is aborted.
  usrsctp_register_address(raw);
  for (uint16_t port : options_.listen_ports) {
    auto listener = std::make_unique<Listener>();
    listener->bridge = this;
    listener->peer = raw;
    listener->port = port;
    struct socket* s = usrsctp_socket(AF_CONN, SOCK_SEQPACKET, IPPROTO_SCTP, ReceiveCallback,
                                      nullptr, 0, listener.get());
    if (s == nullptr) {
      continue;
    }
    listener->socket = s;
    usrsctp_set_non_blocking(s, 1);
    const int on = 1;
    usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on));
    usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on));
    sctp_event event{};
    event.se_assoc_id = SCTP_ALL_ASSOC;
    event.se_on = 1;
    event.se_type = SCTP_ASSOC_CHANGE;
    usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_EVENT, &event, sizeof(event));
    sockaddr_conn local{};
    local.sconn_family = AF_CONN;
    local.sconn_port = htons(port);
    local.sconn_addr = raw;
    if (usrsctp_bind(s, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
        usrsctp_listen(s, 1) != 0) {
      usrsctp_close(s);
      continue;
    }
    peer->listeners.push_back(std::move(listener));
  }
  peers_.emplace(key, std::move(peer));
  return raw;
}

void SctpBridge::Input(const Endpoint& from, absl::Span<const uint8_t> packet) {
  ++stats_.packets_in;
  Peer* peer = FindOrCreatePeer(from);
  if (peer == nullptr) {
    return;
  }
  usrsctp_conninput(peer, packet.data(), packet.size(), 0);
}

void SctpBridge::AdvanceTimers(uint32_t elapsed_ms) { usrsctp_handle_timers(elapsed_ms); }

int SctpBridge::Output(Peer* peer, const void* buffer, size_t length) {
  ++stats_.packets_out;
  int error =
      output_(peer->endpoint, absl::MakeConstSpan(static_cast<const uint8_t*>(buffer), length));
  if (error != 0) ++stats_.output_errors;
  return error;
}

void SctpBridge::OnReceive(Listener* listener, const void* data, size_t length,
                           uint16_t remote_port, uint32_t assoc, uint32_t ppid, uint16_t stream,
                           int flags) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  if (flags & MSG_NOTIFICATION) {
    const auto* n = static_cast<const sctp_notification*>(data);
    if (length >= sizeof(sctp_assoc_change) && n->sn_header.sn_type == SCTP_ASSOC_CHANGE) {
      const sctp_assoc_change& change = n->sn_assoc_change;
      uint32_t id = static_cast<uint32_t>(change.sac_assoc_id);
      if (change.sac_state == SCTP_COMM_UP || change.sac_state == SCTP_RESTART) {
        events_(listener->peer, listener->port, id, AssocEvent::kUp);
      } else if (change.sac_state == SCTP_COMM_LOST || change.sac_state == SCTP_SHUTDOWN_COMP ||
                 change.sac_state == SCTP_CANT_STR_ASSOC) {
        listener->partial.erase(id);
        events_(listener->peer, listener->port, id, AssocEvent::kDown);
      }
    }
    return;
  }
  absl::Span<const uint8_t> message(bytes, length);
  if (!(flags & MSG_EOR) || listener->partial.contains(assoc)) {
    std::vector<uint8_t>& partial = listener->partial[assoc];
    partial.insert(partial.end(), bytes, bytes + length);
    if (!(flags & MSG_EOR)) {
      return;
    }
    std::vector<uint8_t> whole = std::move(partial);
    listener->partial.erase(assoc);
    ++stats_.messages_in;
    deliver_(Delivery{listener->peer, listener->port, remote_port, assoc, ppid, stream, whole});
    return;
  }
  ++stats_.messages_in;
  deliver_(Delivery{listener->peer, listener->port, remote_port, assoc, ppid, stream, message});
}

bool SctpBridge::Send(Peer* peer, uint16_t local_port, AssocId assoc, uint32_t ppid,
                      absl::Span<const uint8_t> message, uint16_t stream) {
  for (auto& listener : peer->listeners) {
    if (listener->port != local_port) continue;
    sctp_sndinfo info{};
    info.snd_sid = stream;
    info.snd_ppid = htonl(ppid);
    info.snd_assoc_id = static_cast<sctp_assoc_t>(assoc);
    ssize_t n = usrsctp_sendv(listener->socket, message.data(), message.size(), nullptr, 0, &info,
                              sizeof(info), SCTP_SENDV_SNDINFO, 0);
    if (n < 0) {
      ++stats_.send_failures;
      return false;
    }
    ++stats_.messages_out;
    return true;
  }
  ++stats_.send_failures;
  return false;
}

const Endpoint& SctpBridge::endpoint(const Peer* peer) const { return peer->endpoint; }

}  // namespace rspd::dataplane
