// File: dataplane/sctp_bridge.h
//
// The registrar's SCTP stack: usrsctp in nothreads AF_CONN mode, fed with the
// SCTP packets that a packet I/O backend (kernel UDP sockets, or DPDK)
// received, and emitting packets through that backend (PLATFORM.md, usrsctp).
//
// Every remote encapsulation endpoint (IP address and UDP port, RFC 6951) is
// one `Peer`: a registered sconn address with its own listening sockets, one
// per local SCTP port (ASAP 3863, ENRP 9901), because a wildcard listener
// scans every registered address per packet and collapses with thousands of
// peers. Messages arrive whole (partial deliveries are reassembled) through
// the delivery callback; association state changes through the event
// callback. Everything runs on the thread that calls Input/AdvanceTimers/Send
// (the I/O lcore); usrsctp is process-global, so there is one bridge per process.
//
// Example:
//   SctpBridge bridge({3863, 9901}, output, deliver, events);
//   bridge.Input(from, packet);            // for each received packet
//   bridge.AdvanceTimers(elapsed_ms);      // from the loop's timer tick
//   bridge.Send(peer, 3863, assoc, 11, reply);

#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"

struct socket;

namespace rspd::dataplane {

// A remote IPv4/IPv6 address and UDP port.
struct Endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;

  static Endpoint From(const sockaddr* address, socklen_t length);
};

class SctpBridge {
 public:
  struct Peer;
  using AssocId = uint32_t;

  struct Delivery {
    Peer* peer;
    uint16_t local_port;   // which of our SCTP ports (ASAP or ENRP)
    uint16_t remote_port;  // the sender's SCTP port
    AssocId assoc;
    uint32_t ppid;
    uint16_t stream;
    absl::Span<const uint8_t> data;  // valid during the callback only
  };
  enum class AssocEvent { kUp, kDown };

  // Sends one SCTP packet to `to`. Returns 0 or an errno value.
  using OutputFn = std::function<int(const Endpoint& to, absl::Span<const uint8_t> packet)>;
  using DeliverFn = std::function<void(const Delivery&)>;
  using EventFn = std::function<void(Peer* peer, uint16_t local_port, AssocId assoc, AssocEvent)>;

  struct Stats {
    uint64_t packets_in = 0;
    uint64_t packets_out = 0;
    uint64_t output_errors = 0;
    uint64_t messages_in = 0;
    uint64_t messages_out = 0;
    uint64_t send_failures = 0;
    uint64_t peers_rejected = 0;  // more remotes than max_peers
  };

  struct Options {
    std::vector<uint16_t> listen_ports;
    // Each remote endpoint costs two sockets and a few KiB; past this many,
    // packets from new remotes are dropped and counted.
    size_t max_peers = 65536;
  };

  SctpBridge(const Options& options, OutputFn output, DeliverFn deliver, EventFn events);
  ~SctpBridge();
  SctpBridge(const SctpBridge&) = delete;
  SctpBridge& operator=(const SctpBridge&) = delete;

  // One SCTP packet received from `from` (the UDP payload for RFC 6951).
  void Input(const Endpoint& from, absl::Span<const uint8_t> packet);
  // Drives usrsctp's timers (retransmission, heartbeats, shutdown).
  void AdvanceTimers(uint32_t elapsed_ms);
  // Sends one message on an association accepted on `local_port`. False if
  // the association or peer is gone or usrsctp refused it (counted).
  bool Send(Peer* peer, uint16_t local_port, AssocId assoc, uint32_t ppid,
            absl::Span<const uint8_t> message, uint16_t stream = 0);

  const Endpoint& endpoint(const Peer* peer) const;
  const Stats& stats() const { return stats_; }
  size_t peer_count() const { return peers_.size(); }

  // For usrsctp's C callbacks only: conn_output, and the receive callback of
  // a peer's listening socket.
  struct Listener;
  int Output(Peer* peer, const void* buffer, size_t length);
  void OnReceive(Listener* listener, const void* data, size_t length, uint16_t remote_port,
                 uint32_t assoc, uint32_t ppid, uint16_t stream, int flags);

 private:
  Peer* FindOrCreatePeer(const Endpoint& from);

  Options options_;
  OutputFn output_;
  DeliverFn deliver_;
  EventFn events_;
  // Key: address family, address bytes and port.
  absl::flat_hash_map<std::array<uint8_t, 20>, std::unique_ptr<Peer>> peers_;
  Stats stats_;
};

}  // namespace rspd::dataplane
