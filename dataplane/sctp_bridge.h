// File: dataplane/sctp_bridge.h
//
// The registrar's SCTP stack: usrsctp in nothreads AF_CONN mode, fed with the
// SCTP packets that a packet I/O backend (kernel UDP sockets, or DPDK)
// received, and emitting packets through that backend.
//
// Every remote encapsulation endpoint (IP address and UDP port, RFC 6951) is
// one `Peer`: a registered sconn address with its own listening sockets, one
// per local SCTP port it starts associations to (ASAP 3863, ENRP 9901), because a wildcard listener
// scans every registered address per packet and collapses with thousands of
// peers. Messages arrive whole (partial deliveries are reassembled) through
// the handler's Deliver; association state changes through its
// OnAssociation. Everything runs on the thread that calls Input/AdvanceTimers/Send
// (the I/O lcore); usrsctp is process-global, so there is one bridge per process.
//
// State is created for valid SCTP only (docs/limits.md). The bridge checks
// every packet's CRC32c itself (usrsctp's own check is off) and computes it
// on output. A packet from an unknown remote creates a peer only if it is an
// INIT to one of our ports; anything else from an unknown remote is "out of
// the blue" (RFC 9260 §8.4) and answered, at a bounded rate, with a
// stateless ABORT or SHUTDOWN COMPLETE, or dropped. A peer without a live
// association is reaped: soon after its last association ended, or once it
// has been silent for `peer_idle_timeout_ms` if it never had one. New peers
// are rate-limited per remote address. Peers and associations are capped: at the peer cap the
// longest half-open peer (no association) makes room; when every peer holds an association, new
// ones are refused. Every drop, refusal and eviction is counted.
//
// Example:
//   SctpBridge bridge(options, &handler);   // handler: Output, Deliver, OnAssociation
//   bridge.Input(from, packet);            // for each received packet
//   bridge.AdvanceTimers(elapsed_ms);      // from the loop's timer tick
//   bridge.Send(peer, 3863, assoc, 11, reply);

#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"
#include "dataplane/net/endpoint.h"
#include "dataplane/token_bucket.h"
#include "dataplane/usrsctp/message_assembler.h"

struct socket;

namespace rspd::dataplane {

// Counters of the bridge, declared once: name and help text. Owner-only
// updates (relaxed load + store), readable from any thread. Every packet
// given to Input is in exactly one of sctp_not_sctp, sctp_out_of_the_blue,
// sctp_associations_refused, sctp_inits_rate_limited, sctp_peers_refused and
// sctp_packets_in.
// clang-format off
#define RSPD_SCTP_BRIDGE_STATS(X) \
  X(sctp_packets_in, "SCTP packets handed to usrsctp") \
  X(sctp_packets_out, "SCTP packets usrsctp sent") \
  X(sctp_output_errors, "SCTP packets the packet I/O backend could not send") \
  X(sctp_messages_in, "whole messages delivered") \
  X(sctp_messages_too_large, "messages past max_message_size or the reassembly budget: association aborted") \
  X(sctp_messages_out, "messages sent") \
  X(sctp_send_failures, "messages usrsctp refused, or for a gone peer") \
  X(sctp_not_sctp, "datagrams dropped: shorter than an SCTP header and chunk, or a bad CRC32c") \
  X(sctp_out_of_the_blue, "valid SCTP packets from unknown remotes that were not an INIT (RFC 9260 §8.4)") \
  X(sctp_oob_answers_sent, "stateless ABORTs and SHUTDOWN COMPLETEs sent for out-of-the-blue packets") \
  X(sctp_oob_answers_limited, "out-of-the-blue answers not sent: rate limit") \
  X(sctp_peers_created, "remote endpoints that sent an INIT and got a peer") \
  X(sctp_peers_reaped, "peers closed: last association ended, or silent without one") \
  X(sctp_peers_evicted, "half-open peers closed to make room at max_peers") \
  X(sctp_peers_refused, "INITs from new remotes dropped: max_peers, all with associations") \
  X(sctp_inits_rate_limited, "INITs from new remotes dropped: max_inits_per_(address_per_)second") \
  X(sctp_associations_started, "associations SendTo started") \
  X(sctp_associations_up, "associations established") \
  X(sctp_associations_refused, "INITs dropped: max_associations") \
  X(sctp_associations_aborted, "associations aborted as they came up: max_associations") \
  X(sctp_memory_trims, "heap trims after reaping many peers")
// clang-format on

struct SctpBridgeStats {
#define RSPD_BRIDGE_STAT_FIELD(name, help) std::atomic<uint64_t> name{0};
  RSPD_SCTP_BRIDGE_STATS(RSPD_BRIDGE_STAT_FIELD)
#undef RSPD_BRIDGE_STAT_FIELD
  static void Bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // Calls fn(name, help, value) for every counter.
  template <typename Fn>
  void ForEach(Fn fn) const {
#define RSPD_BRIDGE_STAT_EXPORT(name, help) fn(#name, help, name.load(std::memory_order_relaxed));
    RSPD_SCTP_BRIDGE_STATS(RSPD_BRIDGE_STAT_EXPORT)
#undef RSPD_BRIDGE_STAT_EXPORT
  }
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

  // Where the bridge's output and upcalls go: the I/O loop.
  class Handler {
   public:
    // Sends one SCTP packet to `to`. Returns 0 or an errno value.
    virtual int Output(const Endpoint& to, absl::Span<const uint8_t> packet) = 0;
    // One whole message.
    virtual void Deliver(const Delivery& delivery) = 0;
    // An association came up or went down. `remote_port` is the peer's SCTP
    // port (0 for an association SendTo or Connect started that never came
    // up).
    virtual void OnAssociation(Peer* peer, uint16_t local_port, uint16_t remote_port, AssocId assoc,
                               AssocEvent event) = 0;
    // The peer is closed (it had no association left, or never had one);
    // the pointer may name another peer later.
    virtual void OnPeerClosed(Peer* /*peer*/) {}

   protected:
    ~Handler() = default;
  };

  struct Options {
    std::vector<uint16_t> listen_ports;
    // Each remote endpoint costs a usrsctp socket per SCTP port it talks to
    // (about 4.5 KiB each) and each association a few KiB more
    // (docs/limits.md).
    size_t max_peers = 16384;
    size_t max_associations = 16384;
    // A peer that never had an association (an INIT, then nothing) is reaped
    // after this long without a packet in either direction.
    uint32_t peer_idle_timeout_ms = 10000;
    // Out-of-the-blue answers (RFC 9260 §8.4) per second at most.
    uint32_t max_oob_answers_per_second = 1000;
    // INITs that create a peer, per second and remote IP address (all its
    // ports), and in all: each costs a socket and a cookie, so a flood of
    // INITs cannot take the time that associations already up need. New
    // remotes beyond the rate retry their INIT (RFC 9260 §5.1). 0: no limit.
    uint32_t max_inits_per_address_per_second = 200;
    uint32_t max_inits_per_second = 1000;
    // A message delivered in pieces is reassembled up to this size; a larger
    // one aborts its association (ASAP and ENRP lengths are 16-bit, RFC 5354
    // §4). All partial messages together may hold at most
    // `max_reassembly_bytes`.
    size_t max_message_size = 0xffff;
    size_t max_reassembly_bytes = 64 << 20;
    // false only for fuzzing: packets reach usrsctp unchecked.
    bool verify_checksums = true;
  };

  // `handler` must outlive the bridge.
  SctpBridge(const Options& options, Handler* handler);
  ~SctpBridge();
  SctpBridge(const SctpBridge&) = delete;
  SctpBridge& operator=(const SctpBridge&) = delete;

  // One SCTP packet received from `from` (the UDP payload for RFC 6951).
  void Input(const Endpoint& from, absl::Span<const uint8_t> packet);
  // Drives usrsctp's timers (retransmission, heartbeats, shutdown) and reaps
  // peers that have no association left.
  void AdvanceTimers(uint32_t elapsed_ms);
  // Sends one message on an association accepted on `local_port`. False if
  // the association or peer is gone or usrsctp refused it (counted).
  bool Send(Peer* peer, uint16_t local_port, AssocId assoc, uint32_t ppid,
            absl::Span<const uint8_t> message, uint16_t stream = 0);

  // Sends one message from our `local_port` to `remote_port` of the remote
  // endpoint `to`, on the association between them, which is set up first
  // if there is none (the message waits for it, up to a bound): a registrar calls its ENRP peers
  // (RFC 5353 §3.2) and the PEs it took over (RFC 5353 §3.5.2) so. The peer is made if there is
  // none, and its socket on `local_port` both listens and sends, so that an INIT collision (RFC
  // 9260 §5.2) ends in one association. False if the peer cannot be made (max_peers) or usrsctp
  // refused (counted). Not rate-limited: the caller decides whom to call.
  bool SendTo(const Endpoint& to, uint16_t local_port, uint16_t remote_port, uint32_t ppid,
              absl::Span<const uint8_t> message);
  // What SendTo does without a message: makes sure an association from our
  // `local_port` to `remote_port` of `to` is up or being set up, and returns
  // its peer (null if it cannot be made: max_peers, or usrsctp refused).
  // OnAssociation says when it is up.
  Peer* Connect(const Endpoint& to, uint16_t local_port, uint16_t remote_port);
  // Aborts an association (once usrsctp has returned from the current
  // call): for a transport above SCTP (TLS) that found its peer lying.
  void Abort(Peer* peer, uint16_t local_port, AssocId assoc);
  // The peer of a remote endpoint, or null if it has none.
  Peer* Find(const Endpoint& from) const;
  const Endpoint& endpoint(const Peer* peer) const;
  const SctpBridgeStats& stats() const { return stats_; }
  size_t peer_count() const { return peers_.size(); }
  size_t association_count() const { return associations_; }

  // For usrsctp's C callbacks only: conn_output, and the receive callback of
  // a peer's listening socket.
  struct Listener;
  int Output(Peer* peer, void* buffer, size_t length);
  void OnReceive(Listener* listener, const void* data, size_t length, uint16_t remote_port,
                 uint32_t assoc, uint32_t ppid, uint16_t stream, int flags);

 private:
  using Key = std::array<uint8_t, 20>;  // address family, port, address
  static Key KeyOf(const Endpoint& e);

  Peer* CreatePeer(const Endpoint& from, const Key& key);
  // Makes sure `peer` has a listening socket on `port`.
  bool Listen(Peer* peer, uint16_t port);
  // Closes the peer's sockets and frees it once usrsctp is done with it.
  void Close(Peer* peer);
  void OnAssocChange(Listener* listener, const void* notification, size_t length);
  // RFC 9260 §8.4 for a valid packet from a remote without a peer.
  void AnswerOutOfTheBlue(const Endpoint& from, absl::Span<const uint8_t> packet);
  void Reap();
  void AbortRefused();
  // Candidates: peers without a live association, oldest first.
  void AddCandidate(Peer* peer);
  void RemoveCandidate(Peer* peer);

  Options options_;
  Handler* handler_;
  absl::flat_hash_map<Key, std::unique_ptr<Peer>> peers_;
  // Every Peer usrsctp may still name in conn_output: live ones and closed
  // ones waiting in `closed_` until usrsctp has surely let go of them.
  absl::flat_hash_set<const Peer*> known_;
  std::vector<std::pair<std::unique_ptr<Peer>, uint64_t>> closed_;  // peer, free at (ms)
  Peer* candidates_head_ = nullptr;
  Peer* candidates_tail_ = nullptr;
  // Associations to abort once usrsctp has returned (over
  // max_associations, or sending messages too large).
  std::vector<std::pair<Listener*, AssocId>> refused_;
  MessageAssembler assembler_;  // messages in pieces, per listener and association
  size_t associations_ = 0;
  uint64_t now_ms_ = 0;  // the sum of AdvanceTimers' elapsed times
  uint64_t next_reap_ms_ = 0;
  uint64_t closed_since_trim_ = 0;
  TokenBucket oob_answers_;
  // INITs that created peers, per remote address (Key with port 0), and all.
  absl::flat_hash_map<Key, TokenBucket> init_rates_;
  TokenBucket inits_;
  SctpBridgeStats stats_;
};

}  // namespace rspd::dataplane
