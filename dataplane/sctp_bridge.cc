#include "dataplane/sctp_bridge.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <usrsctp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "dataplane/crc32c.h"
#include "dataplane/usrsctp/sctp_socket.h"

namespace rspd::dataplane {

// One listening socket of a peer: usrsctp calls back with it as ulp_info.
struct SctpBridge::Listener {
  SctpBridge* bridge;
  Peer* peer;
  uint16_t port;
  struct socket* socket = nullptr;
};

struct SctpBridge::Peer {
  Endpoint endpoint;
  Key key;
  std::vector<std::unique_ptr<Listener>> listeners;
  // Live associations: (local port, association id).
  std::vector<std::pair<uint16_t, AssocId>> assocs;
  // Associations up by their ports, for SendTo.
  struct Route {
    uint16_t local_port;
    uint16_t remote_port;
    AssocId assoc;
  };
  std::vector<Route> routes;
  // Messages for associations SendTo started, until they are up.
  struct Outgoing {
    uint16_t local_port;
    uint16_t remote_port;
    uint32_t ppid;
    std::vector<uint8_t> message;
  };
  std::vector<Outgoing> outgoing;
  // Associations Connect started that are not up yet: (local, remote port).
  std::vector<std::pair<uint16_t, uint16_t>> connecting;
  bool had_association = false;
  uint64_t last_activity_ms = 0;  // last packet in or out
  // Links in the bridge's list of peers without a live association.
  bool candidate = false;
  Peer* prev = nullptr;
  Peer* next = nullptr;
};

namespace {

// SCTP chunk types (RFC 9260 §3.2).
constexpr uint8_t kChunkInit = 1;
constexpr uint8_t kChunkAbort = 6;
constexpr uint8_t kChunkShutdownAck = 8;
constexpr uint8_t kChunkError = 9;
constexpr uint8_t kChunkCookieEcho = 10;
constexpr uint8_t kChunkShutdownComplete = 14;
// The T bit of ABORT and SHUTDOWN COMPLETE: the verification tag is the
// receiver's, reflected (RFC 9260 §3.3.7, §3.3.13, §8.5.1).
constexpr uint8_t kFlagT = 0x01;
constexpr size_t kCommonHeader = 12;
constexpr size_t kInitChunkLength = 20;

// How often peers without an association are looked at.
constexpr uint64_t kReapPeriodMs = 250;
// A peer whose last association ended is reaped once it has been silent this
// long: time for the last SHUTDOWN exchange, and for a client that opens its
// next association at once to reuse the peer.
constexpr uint64_t kClosedGraceMs = 1000;
// How long a closed peer's memory stays valid for usrsctp's late calls
// (timers may call conn_output after close): longer than any retransmission
// of the ABORT or SHUTDOWN that closing sends.
constexpr uint64_t kAfterCloseMs = 5000;
// Closing this many peers makes the heap worth trimming, so that their
// memory goes back to the system.
constexpr uint64_t kTrimAfterClosed = 256;
// Messages SendTo holds per remote endpoint while its associations come up.
constexpr size_t kMaxOutgoing = 4096;

SctpBridge* g_bridge = nullptr;

uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

int ConnOutput(void* address, void* buffer, size_t length, uint8_t /*tos*/, uint8_t /*set_df*/) {
  if (g_bridge == nullptr) return EINVAL;
  return g_bridge->Output(static_cast<SctpBridge::Peer*>(address), buffer, length);
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

// Writes the CRC32c into the checksum field (RFC 9260 §6.8).
void SetChecksum(uint8_t* packet, size_t length) {
  memset(packet + 8, 0, 4);
  const uint32_t crc = Crc32c(absl::MakeConstSpan(packet, length));
  memcpy(packet + 8, &crc, sizeof(crc));
}

}  // namespace

SctpBridge::Key SctpBridge::KeyOf(const Endpoint& e) {
  Key key{};
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

SctpBridge::SctpBridge(const Options& options, Handler* handler)
    : options_(options),
      handler_(handler),
      assembler_({options.max_message_size, options.max_reassembly_bytes}) {
  if (g_bridge != nullptr) {
    abort();  // usrsctp is process-global: one bridge per process
  }
  g_bridge = this;
  // Nothreads: our loop drives the timers. Port 0: no UDP encapsulation
  // socket of usrsctp's own; the backend carries the packets.
  usrsctp_init_nothreads(0, ConnOutput, nullptr);
  usrsctp_sysctl_set_sctp_ecn_enable(0);
  // The bridge checks and computes CRC32c itself (Input, Output): a packet
  // must pass the check before it may create any state. After
  // usrsctp_init, which resets the setting.
  usrsctp_enable_crc32c_offload();
}

SctpBridge::~SctpBridge() {
  // Associations still up are aborted, not shut down gracefully: a remote
  // that does not answer a SHUTDOWN would hold the stack for minutes of
  // retransmissions, and either way the remote learns at once that we are
  // gone.
  for (auto& [key, peer] : peers_) {
    for (auto& listener : peer->listeners) {
      SetAbortOnClose(listener->socket);
      usrsctp_close(listener->socket);
    }
  }
  // Closed associations still send their ABORT/SHUTDOWN from timers; drain
  // them before the handles go away (timers may call conn_output after
  // close). Bounded: 30 s of simulated time.
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
    for (auto& [peer, free_at] : closed_) {
      usrsctp_deregister_address(peer.get());
    }
  }
  g_bridge = nullptr;
}

SctpBridge::Peer* SctpBridge::Find(const Endpoint& from) const {
  auto it = peers_.find(KeyOf(from));
  return it == peers_.end() ? nullptr : it->second.get();
}

void SctpBridge::AddCandidate(Peer* peer) {
  if (peer->candidate) return;
  peer->candidate = true;
  peer->prev = candidates_tail_;
  peer->next = nullptr;
  if (candidates_tail_ != nullptr) {
    candidates_tail_->next = peer;
  } else {
    candidates_head_ = peer;
  }
  candidates_tail_ = peer;
}

void SctpBridge::RemoveCandidate(Peer* peer) {
  if (!peer->candidate) return;
  peer->candidate = false;
  (peer->prev != nullptr ? peer->prev->next : candidates_head_) = peer->next;
  (peer->next != nullptr ? peer->next->prev : candidates_tail_) = peer->prev;
  peer->prev = peer->next = nullptr;
}

SctpBridge::Peer* SctpBridge::CreatePeer(const Endpoint& from, const Key& key) {
  if (peers_.size() >= options_.max_peers) {
    if (candidates_head_ == nullptr) {
      SctpBridgeStats::Bump(stats_.sctp_peers_refused);
      return nullptr;
    }
    // The peer that has gone longest without an association makes room: a
    // flood of INITs from ever new endpoints cannot lock out the next client.
    SctpBridgeStats::Bump(stats_.sctp_peers_evicted);
    Close(candidates_head_);
    ++closed_since_trim_;
  }
  auto peer = std::make_unique<Peer>();
  peer->endpoint = from;
  peer->key = key;
  peer->last_activity_ms = now_ms_;
  Peer* raw = peer.get();
  // The sconn address must be registered, or the first DATA is aborted.
  usrsctp_register_address(raw);
  known_.insert(raw);
  peers_.emplace(key, std::move(peer));
  AddCandidate(raw);
  SctpBridgeStats::Bump(stats_.sctp_peers_created);
  return raw;
}

bool SctpBridge::Listen(Peer* peer, uint16_t port) {
  for (const auto& listener : peer->listeners) {
    if (listener->port == port) return true;
  }
  auto listener = std::make_unique<Listener>();
  listener->bridge = this;
  listener->peer = peer;
  listener->port = port;
  struct socket* s = usrsctp_socket(AF_CONN, SOCK_SEQPACKET, IPPROTO_SCTP, ReceiveCallback, nullptr,
                                    0, listener.get());
  if (s == nullptr) return false;
  usrsctp_set_non_blocking(s, 1);
  SetMessageOptions(s);
  sockaddr_conn local{};
  local.sconn_family = AF_CONN;
  local.sconn_port = htons(port);
  local.sconn_addr = peer;
  if (usrsctp_bind(s, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
      usrsctp_listen(s, 1) != 0) {
    usrsctp_close(s);
    return false;
  }
  listener->socket = s;
  peer->listeners.push_back(std::move(listener));
  return true;
}

SctpBridge::Peer* SctpBridge::Connect(const Endpoint& to, uint16_t local_port,
                                      uint16_t remote_port) {
  const Key key = KeyOf(to);
  auto it = peers_.find(key);
  Peer* peer = it != peers_.end() ? it->second.get() : CreatePeer(to, key);
  if (peer == nullptr || !Listen(peer, local_port)) return nullptr;
  for (const Peer::Route& route : peer->routes) {
    if (route.local_port == local_port && route.remote_port == remote_port) return peer;
  }
  const std::pair<uint16_t, uint16_t> ports{local_port, remote_port};
  if (std::find(peer->connecting.begin(), peer->connecting.end(), ports) !=
      peer->connecting.end()) {
    return peer;
  }
  for (auto& listener : peer->listeners) {
    if (listener->port != local_port) continue;
    // AF_CONN: both ends of the association are the peer's sconn address.
    sockaddr_conn remote{};
    remote.sconn_family = AF_CONN;
    remote.sconn_port = htons(remote_port);
    remote.sconn_addr = peer;
    peer->last_activity_ms = now_ms_;
    if (!dataplane::Connect(listener->socket, reinterpret_cast<const sockaddr*>(&remote),
                            sizeof(remote))) {
      return nullptr;
    }
    SctpBridgeStats::Bump(stats_.sctp_associations_started);
  }
  peer->connecting.push_back(ports);
  return peer;
}

bool SctpBridge::SendTo(const Endpoint& to, uint16_t local_port, uint16_t remote_port,
                        uint32_t ppid, absl::Span<const uint8_t> message) {
  Peer* peer = Connect(to, local_port, remote_port);
  if (peer == nullptr) {
    SctpBridgeStats::Bump(stats_.sctp_send_failures);
    return false;
  }
  for (const Peer::Route& route : peer->routes) {
    if (route.local_port == local_port && route.remote_port == remote_port) {
      return Send(peer, local_port, route.assoc, ppid, message);
    }
  }
  // Not up yet: the message waits for COMM_UP. It is not bundled with the
  // COOKIE ECHO (RFC 9260 §5.1): stacks that take an INIT without address
  // parameters (AF_CONN's) have been seen to abort such an association.
  if (peer->outgoing.size() >= kMaxOutgoing) {
    SctpBridgeStats::Bump(stats_.sctp_send_failures);
    return false;
  }
  peer->outgoing.push_back(
      {local_port, remote_port, ppid, std::vector<uint8_t>(message.begin(), message.end())});
  return true;
}

void SctpBridge::Abort(Peer* peer, uint16_t local_port, AssocId assoc) {
  if (!known_.contains(peer)) return;
  for (auto& listener : peer->listeners) {
    if (listener->port == local_port) refused_.emplace_back(listener.get(), assoc);
  }
}

void SctpBridge::Close(Peer* peer) {
  RemoveCandidate(peer);
  associations_ -= peer->assocs.size();
  peer->assocs.clear();
  peer->routes.clear();
  SctpBridgeStats::Bump(stats_.sctp_send_failures, peer->outgoing.size());
  peer->outgoing.clear();
  peer->connecting.clear();
  handler_->OnPeerClosed(peer);
  for (auto& listener : peer->listeners) {
    usrsctp_close(listener->socket);
    listener->socket = nullptr;
    assembler_.Drop(listener.get());
  }
  auto it = peers_.find(peer->key);
  closed_.emplace_back(std::move(it->second), now_ms_ + kAfterCloseMs);
  peers_.erase(it);
}

void SctpBridge::Input(const Endpoint& from, absl::Span<const uint8_t> packet) {
  // RFC 9260 §6.8: a packet with a bad CRC32c is discarded. Nothing is
  // created or looked up for a datagram that is not SCTP.
  if (packet.size() < kCommonHeader + 4) {
    SctpBridgeStats::Bump(stats_.sctp_not_sctp);
    return;
  }
  if (options_.verify_checksums) {
    uint32_t stored;
    memcpy(&stored, packet.data() + 8, sizeof(stored));
    if (SctpChecksum(packet) != stored) {
      SctpBridgeStats::Bump(stats_.sctp_not_sctp);
      return;
    }
  }
  const Key key = KeyOf(from);
  auto it = peers_.find(key);
  Peer* peer = it == peers_.end() ? nullptr : it->second.get();
  // An INIT (RFC 9260 §8.5.1: verification tag 0) to one of our ports.
  const uint16_t dst_port = Load16(packet.data() + 2);
  const bool init =
      packet[kCommonHeader] == kChunkInit && packet.size() >= kCommonHeader + kInitChunkLength &&
      Load16(packet.data() + kCommonHeader + 2) >= kInitChunkLength &&
      memcmp(packet.data() + 4, "\0\0\0\0", 4) == 0 &&
      std::find(options_.listen_ports.begin(), options_.listen_ports.end(), dst_port) !=
          options_.listen_ports.end();
  if (init && associations_ >= options_.max_associations) {
    SctpBridgeStats::Bump(stats_.sctp_associations_refused);
    return;
  }
  if (peer == nullptr) {
    if (!init) {
      AnswerOutOfTheBlue(from, packet);
      return;
    }
    Key address = key;
    address[2] = address[3] = 0;  // all the address's ports
    const double rate = options_.max_inits_per_address_per_second;
    const double total = options_.max_inits_per_second;
    if ((rate > 0 &&
         ((init_rates_.size() >= options_.max_peers && !init_rates_.contains(address)) ||
          !init_rates_[address].Take(now_ms_, rate, rate))) ||
        !inits_.Take(now_ms_, total, total)) {
      SctpBridgeStats::Bump(stats_.sctp_inits_rate_limited);
      return;
    }
    peer = CreatePeer(from, key);
    if (peer == nullptr) return;
  }
  // A listening socket per SCTP port the remote starts associations to
  // (about 4.5 KiB each), made when its first INIT arrives.
  if (init && !Listen(peer, dst_port)) {
    SctpBridgeStats::Bump(stats_.sctp_peers_refused);
    return;
  }
  peer->last_activity_ms = now_ms_;
  SctpBridgeStats::Bump(stats_.sctp_packets_in);
  usrsctp_conninput(peer, packet.data(), packet.size(), 0);
  AbortRefused();
}

void SctpBridge::AnswerOutOfTheBlue(const Endpoint& from, absl::Span<const uint8_t> packet) {
  SctpBridgeStats::Bump(stats_.sctp_out_of_the_blue);
  // RFC 9260 §8.4: what the packet's chunks call for. Rules 2, 6, 7:
  // ABORT, SHUTDOWN COMPLETE and ERROR get no answer; rule 3: an INIT or
  // COOKIE ECHO we cannot take (not to our port, or from a peer that was
  // reaped) is not answered either, the remote retries; rule 5: SHUTDOWN
  // ACK gets SHUTDOWN COMPLETE; rule 8: anything else gets ABORT. Both
  // answers carry the packet's own verification tag with the T bit.
  uint8_t answer = kChunkAbort;
  for (size_t at = kCommonHeader; at + 4 <= packet.size();) {
    const uint8_t type = packet[at];
    const uint16_t length = Load16(packet.data() + at + 2);
    if (type == kChunkAbort || type == kChunkShutdownComplete || type == kChunkError ||
        type == kChunkInit || type == kChunkCookieEcho) {
      return;
    }
    if (type == kChunkShutdownAck) answer = kChunkShutdownComplete;
    if (length < 4) break;
    at += (static_cast<size_t>(length) + 3) & ~size_t{3};
  }
  // Answers are stateless and bounded: a flood of forged packets gets at
  // most max_oob_answers_per_second answers, never more bytes than it sent.
  const double rate = options_.max_oob_answers_per_second;
  if (!oob_answers_.Take(now_ms_, rate, rate)) {
    SctpBridgeStats::Bump(stats_.sctp_oob_answers_limited);
    return;
  }
  uint8_t reply[kCommonHeader + 4] = {};
  memcpy(reply, packet.data() + 2, 2);      // source port: the packet's destination
  memcpy(reply + 2, packet.data(), 2);      // destination port: its source
  memcpy(reply + 4, packet.data() + 4, 4);  // its verification tag, reflected (T bit)
  reply[kCommonHeader] = answer;
  reply[kCommonHeader + 1] = kFlagT;
  reply[kCommonHeader + 3] = 4;  // chunk length
  SetChecksum(reply, sizeof(reply));
  if (handler_->Output(from, absl::MakeConstSpan(reply)) != 0) {
    SctpBridgeStats::Bump(stats_.sctp_output_errors);
    return;
  }
  SctpBridgeStats::Bump(stats_.sctp_oob_answers_sent);
}

void SctpBridge::AdvanceTimers(uint32_t elapsed_ms) {
  now_ms_ += elapsed_ms;
  usrsctp_handle_timers(elapsed_ms);
  AbortRefused();
  if (now_ms_ >= next_reap_ms_) {
    next_reap_ms_ = now_ms_ + kReapPeriodMs;
    Reap();
  }
}

void SctpBridge::Reap() {
  uint64_t reaped = 0;
  for (Peer* peer = candidates_head_; peer != nullptr;) {
    Peer* next = peer->next;
    const uint64_t silent = now_ms_ - peer->last_activity_ms;
    if (silent >= (peer->had_association ? kClosedGraceMs : options_.peer_idle_timeout_ms)) {
      Close(peer);
      ++reaped;
    }
    peer = next;
  }
  SctpBridgeStats::Bump(stats_.sctp_peers_reaped, reaped);
  // Addresses whose INIT budget is whole again need no entry.
  const double rate = options_.max_inits_per_address_per_second;
  for (auto it = init_rates_.begin(); it != init_rates_.end();) {
    auto next = std::next(it);
    if (it->second.Full(now_ms_, rate, rate)) init_rates_.erase(it);
    it = next;
  }
  // Closed peers whose time is up: usrsctp is done with them.
  auto done = std::partition(closed_.begin(), closed_.end(),
                             [this](const auto& entry) { return entry.second > now_ms_; });
  for (auto it = done; it != closed_.end(); ++it) {
    usrsctp_deregister_address(it->first.get());
    known_.erase(it->first.get());
  }
  closed_.erase(done, closed_.end());
  closed_since_trim_ += reaped;
  if (reaped == 0 && closed_since_trim_ >= kTrimAfterClosed && closed_.empty()) {
    // Thousands of small usrsctp allocations freed: without a trim the heap
    // keeps them and the process never shrinks back.
    malloc_trim(0);
    closed_since_trim_ = 0;
    SctpBridgeStats::Bump(stats_.sctp_memory_trims);
  }
}

int SctpBridge::Output(Peer* peer, void* buffer, size_t length) {
  if (!known_.contains(peer)) return EINVAL;
  peer->last_activity_ms = now_ms_;
  SctpBridgeStats::Bump(stats_.sctp_packets_out);
  auto* bytes = static_cast<uint8_t*>(buffer);
  if (length >= kCommonHeader) SetChecksum(bytes, length);
  int error = handler_->Output(peer->endpoint, absl::MakeConstSpan(bytes, length));
  if (error != 0) SctpBridgeStats::Bump(stats_.sctp_output_errors);
  return error;
}

void SctpBridge::OnAssocChange(Listener* listener, const void* data, size_t length) {
  const std::optional<AssocChange> change = ParseAssocChange(data, length);
  if (!change) return;
  const AssocId id = change->assoc;
  Peer* peer = listener->peer;
  const std::pair<uint16_t, AssocId> assoc{listener->port, id};
  auto known = std::find(peer->assocs.begin(), peer->assocs.end(), assoc);
  if (change->up) {
    if (known != peer->assocs.end()) return;  // a restart of one we have
    if (associations_ >= options_.max_associations) {
      SctpBridgeStats::Bump(stats_.sctp_associations_aborted);
      refused_.emplace_back(listener, id);
      return;
    }
    peer->assocs.push_back(assoc);
    const std::optional<uint16_t> remote_port = RemotePort(listener->socket, id);
    if (remote_port) {
      peer->routes.push_back({listener->port, *remote_port, id});
      peer->connecting.erase(std::remove(peer->connecting.begin(), peer->connecting.end(),
                                         std::make_pair(listener->port, *remote_port)),
                             peer->connecting.end());
      // What SendTo queued for it goes now, in order.
      auto waiting = std::stable_partition(
          peer->outgoing.begin(), peer->outgoing.end(), [&](const Peer::Outgoing& o) {
            return o.local_port != listener->port || o.remote_port != *remote_port;
          });
      std::vector<Peer::Outgoing> ready(std::make_move_iterator(waiting),
                                        std::make_move_iterator(peer->outgoing.end()));
      peer->outgoing.erase(waiting, peer->outgoing.end());
      for (const Peer::Outgoing& o : ready) {
        if (SendMessage(listener->socket, id, o.ppid, 0, o.message)) {
          SctpBridgeStats::Bump(stats_.sctp_messages_out);
        } else {
          SctpBridgeStats::Bump(stats_.sctp_send_failures);
        }
      }
    }
    peer->had_association = true;
    ++associations_;
    RemoveCandidate(peer);
    SctpBridgeStats::Bump(stats_.sctp_associations_up);
    handler_->OnAssociation(peer, listener->port, remote_port.value_or(0), id, AssocEvent::kUp);
  } else {
    assembler_.Drop(listener, id);
    uint16_t remote_port = 0;
    const auto route = std::find_if(
        peer->routes.begin(), peer->routes.end(),
        [&](const Peer::Route& r) { return r.local_port == listener->port && r.assoc == id; });
    if (route != peer->routes.end()) {
      remote_port = route->remote_port;
      peer->routes.erase(route);
    } else if (known == peer->assocs.end()) {
      peer->connecting.erase(
          std::remove_if(peer->connecting.begin(), peer->connecting.end(),
                         [&](const auto& c) { return c.first == listener->port; }),
          peer->connecting.end());
      // An association SendTo started failed to come up: what waited for
      // it on this port is lost (the remote port of a failed setup is not
      // known).
      const size_t before = peer->outgoing.size();
      peer->outgoing.erase(
          std::remove_if(peer->outgoing.begin(), peer->outgoing.end(),
                         [&](const Peer::Outgoing& o) { return o.local_port == listener->port; }),
          peer->outgoing.end());
      SctpBridgeStats::Bump(stats_.sctp_send_failures, before - peer->outgoing.size());
    }
    if (known != peer->assocs.end()) {
      peer->assocs.erase(known);
      --associations_;
      if (peer->assocs.empty()) AddCandidate(peer);
    }
    handler_->OnAssociation(peer, listener->port, remote_port, id, AssocEvent::kDown);
  }
}

void SctpBridge::AbortRefused() {
  for (const auto& [listener, id] : refused_) {
    if (listener->socket == nullptr) continue;
    SendAbort(listener->socket, id);
  }
  refused_.clear();
}

void SctpBridge::OnReceive(Listener* listener, const void* data, size_t length,
                           uint16_t remote_port, uint32_t assoc, uint32_t ppid, uint16_t stream,
                           int flags) {
  if (flags & MSG_NOTIFICATION) {
    OnAssocChange(listener, data, length);
    return;
  }
  absl::Span<const uint8_t> message;
  switch (assembler_.Add(listener, assoc, stream,
                         absl::MakeConstSpan(static_cast<const uint8_t*>(data), length),
                         (flags & MSG_EOR) != 0, &message)) {
    case MessageAssembler::Result::kPending:
      return;
    case MessageAssembler::Result::kTooLarge:
      // A remote that keeps sending a message no ASAP or ENRP length field
      // allows is cut off.
      SctpBridgeStats::Bump(stats_.sctp_messages_too_large);
      refused_.emplace_back(listener, assoc);
      return;
    case MessageAssembler::Result::kWhole:
      SctpBridgeStats::Bump(stats_.sctp_messages_in);
      handler_->Deliver(
          Delivery{listener->peer, listener->port, remote_port, assoc, ppid, stream, message});
      return;
  }
}

bool SctpBridge::Send(Peer* peer, uint16_t local_port, AssocId assoc, uint32_t ppid,
                      absl::Span<const uint8_t> message, uint16_t stream) {
  // The peer may have been closed since the caller learned of it.
  if (known_.contains(peer)) {
    for (auto& listener : peer->listeners) {
      if (listener->port != local_port || listener->socket == nullptr) continue;
      if (!SendMessage(listener->socket, assoc, ppid, stream, message)) break;
      SctpBridgeStats::Bump(stats_.sctp_messages_out);
      return true;
    }
  }
  SctpBridgeStats::Bump(stats_.sctp_send_failures);
  return false;
}

const Endpoint& SctpBridge::endpoint(const Peer* peer) const { return peer->endpoint; }

}  // namespace rspd::dataplane
