// File: dataplane/net_stack.h
//
// The L2/L3 of the DPDK packet path (docs/dpdk.md): what a kernel would do
// for the registrar on a port it owns. Pure: no I/O, no clock (time is an
// argument), so tests and the fuzzer drive it frame by frame.
//
// Input, in place on the received frame:
// - Ethernet II (RFC 894) for us: our MAC, broadcast, or an IPv6 multicast
//   group we are in (all-nodes, our solicited-node groups);
// - ARP (RFC 826): requests for our IPv4 address answered in place, the
//   asker learnt; replies learnt;
// - IPv4 (RFC 791): header and checksum checked, fragments dropped (RFC 6951
//   §5.1 and RFC 9260 §6.9: SCTP avoids them), ICMP echo (RFC 792) answered;
// - IPv6 (RFC 8200): hop-by-hop, routing and destination options skipped,
//   fragments dropped; ICMPv6 (RFC 4443) echo answered; Neighbor
//   Discovery (RFC 4861 §7): solicitations for our addresses answered with
//   an advertisement, advertisements learnt;
// - UDP (RFC 768) to our encapsulation port: SCTP over UDP (RFC 6951), handed
//   out with the sender's address and UDP port; native SCTP (IP protocol
//   132, RFC 9260) handed out with UDP port 0, the packet path's mark for
//   "no encapsulation" (docs/dpdk.md, "Native SCTP").
// Everything else is dropped, and each drop is counted under its reason.
// UDP checksums are not verified on receive (a veth's kernel side leaves
// them unfinished; SCTP's CRC32c covers the payload, RFC 6951 §5.3); IPv4
// header and ICMP checksums are.
//
// Output: BuildFrame writes Ethernet, IP and (for encapsulation) UDP headers
// with correct checksums around a packet for a remote endpoint. The next hop
// comes from the neighbor cache, which learns from ARP and Neighbor
// Discovery only: an IP packet's source MAC is not taken (anyone can forge
// it, and one forged packet would divert a peer's traffic). Unresolved next
// hops are asked for (ARP request,
// or Neighbor Solicitation) and their packets held, a few per neighbor,
// until the answer comes or the retries run out. Entries age; a stale entry
// is still used while it is asked for again.
//
// Example:
//   NetStack stack(config);
//   switch (stack.Input(frame, length, capacity, now_ms, &received)) {
//     case NetStack::Verdict::kDeliver: bridge.Input(received.from, received.payload); break;
//     case NetStack::Verdict::kReply:   transmit(frame, received.reply_length); break;
//     case NetStack::Verdict::kDrop:    break;
//   }
//   size_t n = stack.BuildFrame(to, packet, out, now_ms);  // 0: held or dropped
//   stack.Poll(now_ms, transmit);  // ARP/ND requests, frames whose neighbor answered

#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "dataplane/net/endpoint.h"
#include "dataplane/token_bucket.h"

namespace rspd::dataplane {

using MacAddress = std::array<uint8_t, 6>;

// Counters of the L2/L3 path. Every frame given to Input is counted in
// l2_frames_in and in exactly one of: a drop reason (l2_*, arp_invalid,
// arp_ignored, ipv4_*/ipv6_* drops, ip_*, icmp_*, udp_*), a reply
// (arp_requests_answered, icmp_echoes_answered, nd_solicitations_answered),
// a learnt answer (arp_replies_in, nd_advertisements_in), or a delivery
// (udp_sctp_in, sctp_native_in).
// clang-format off
#define RSPD_NET_STACK_STATS(X) \
  X(l2_frames_in, "frames received") \
  X(l2_runts, "frames dropped: shorter than their headers say") \
  X(l2_oversize, "frames dropped: longer than the MTU") \
  X(l2_not_for_us, "frames dropped: another host's unicast MAC, or a multicast group we are not in") \
  X(l2_ethertype_unknown, "frames dropped: neither IPv4, IPv6 nor ARP (VLAN tags included)") \
  X(arp_requests_answered, "ARP requests for our address answered") \
  X(arp_replies_in, "ARP replies learnt") \
  X(arp_invalid, "ARP packets dropped: not Ethernet/IPv4, or a bad opcode") \
  X(arp_ignored, "ARP packets dropped: for another address") \
  X(arp_requests_sent, "ARP requests sent (resolution, refresh, and the gratuitous one at start)") \
  X(ipv4_bad_header, "IPv4 packets dropped: bad version, header length, total length or checksum") \
  X(ipv4_not_ours, "IPv4 packets dropped: to another address") \
  X(ipv6_bad_header, "IPv6 packets dropped: bad version, payload length or extension header") \
  X(ipv6_not_ours, "IPv6 packets dropped: to another address") \
  X(ip_fragments_dropped, "IPv4 and IPv6 fragments dropped (not reassembled)") \
  X(ip_protocol_unknown, "IP packets dropped: neither UDP, SCTP, ICMP nor ICMPv6") \
  X(ip_martian_source, "IP packets dropped: an impossible source (0/8, 127/8, multicast, ::, ::1, ours)") \
  X(icmp_echoes_answered, "ICMP and ICMPv6 echo requests answered") \
  X(icmp_ignored, "ICMP and ICMPv6 messages dropped: bad checksum or length, or a type we do not answer") \
  X(nd_solicitations_answered, "Neighbor Solicitations for our addresses answered") \
  X(nd_advertisements_in, "Neighbor Advertisements learnt") \
  X(nd_solicitations_sent, "Neighbor Solicitations sent") \
  X(replies_rate_limited, "answers not sent: max_replies_per_second (ARP, ND) or max_echo_replies_per_second") \
  X(udp_bad_length, "UDP datagrams dropped: length field disagrees with the IP length") \
  X(udp_port_unknown, "UDP datagrams dropped: not to the encapsulation port") \
  X(udp_sctp_in, "SCTP-over-UDP packets delivered (RFC 6951)") \
  X(sctp_native_in, "native SCTP packets delivered (IP protocol 132)") \
  X(frames_built, "frames built for transmission") \
  X(tx_held, "packets held for a neighbor being resolved") \
  X(tx_unresolved_dropped, "packets dropped: the neighbor never answered, or too many held") \
  X(tx_no_route, "packets dropped: no address of that family, or no next hop") \
  X(tx_too_large, "packets dropped: larger than the MTU allows") \
  X(tx_not_sctp, "packets dropped: shorter than an SCTP common header (RFC 9260 §3)") \
  X(neighbors_evicted, "neighbor entries dropped to make room at max_neighbors")
// clang-format on

struct NetStackStats {
#define RSPD_NET_STACK_STAT_FIELD(name, help) std::atomic<uint64_t> name{0};
  RSPD_NET_STACK_STATS(RSPD_NET_STACK_STAT_FIELD)
#undef RSPD_NET_STACK_STAT_FIELD
  static void Bump(std::atomic<uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  template <typename Fn>
  void ForEach(Fn fn) const {
#define RSPD_NET_STACK_STAT_EXPORT(name, help) \
  fn(#name, help, name.load(std::memory_order_relaxed));
    RSPD_NET_STACK_STATS(RSPD_NET_STACK_STAT_EXPORT)
#undef RSPD_NET_STACK_STAT_EXPORT
  }
};

// An address of ours and its on-link prefix.
struct InterfaceAddress {
  protocol::IpAddress ip;
  int prefix_length = 0;
};

class NetStack {
 public:
  // Ethernet + IPv6 + UDP: the most BuildFrame puts before a packet.
  static constexpr size_t kMaxHeaderBytes = 14 + 40 + 8;

  struct Config {
    MacAddress mac{};
    // At most one IPv4 and any number of IPv6 addresses; an IPv6 link-local
    // address (fe80::/64 from the MAC, RFC 4291 Appendix A) is added.
    std::vector<InterfaceAddress> addresses;
    // Next hops for destinations outside every prefix; none: such packets
    // are dropped (tx_no_route) unless the neighbor cache knows the
    // destination from its own packets.
    std::optional<protocol::IpAddress> ipv4_gateway;
    std::optional<protocol::IpAddress> ipv6_gateway;
    uint16_t encapsulation_port = 9899;  // RFC 6951 §5.1
    uint16_t mtu = 1500;                 // IP packet bytes
    // Neighbor cache: entries, their life after the last confirmation (a
    // stale one is used while being asked again), how often and how many
    // times an unanswered neighbor is asked, and how many packets wait for it.
    size_t max_neighbors = 4096;
    uint32_t neighbor_reachable_ms = 60000;
    uint32_t resolve_interval_ms = 1000;
    int resolve_attempts = 3;
    size_t max_held_per_neighbor = 16;
    // Neighbors being resolved at most (each holds packets and costs a
    // request a second): past it, packets for new destinations are dropped.
    size_t max_unresolved = 256;
    // ARP and Neighbor Advertisement answers per second at most (a storm
    // costs transmit slots the registrar's answers need), and ICMP echo
    // answers, on a budget of their own.
    uint32_t max_replies_per_second = 20000;
    uint32_t max_echo_replies_per_second = 1000;
  };

  enum class Verdict {
    kDrop,     // counted
    kReply,    // the frame was rewritten in place into an answer to send
    kDeliver,  // an SCTP packet for the bridge
  };
  struct Received {
    Endpoint from;                      // kDeliver: address, UDP port (0: native SCTP)
    absl::Span<const uint8_t> payload;  // kDeliver: the SCTP packet, inside the frame
    size_t reply_length = 0;            // kReply: the answer's length
  };
  using Transmit = absl::FunctionRef<void(absl::Span<const uint8_t> frame)>;

  explicit NetStack(const Config& config);

  // One received frame of `length` bytes in a buffer of `capacity` (an
  // answer may be longer than the question). Never reads or writes outside.
  Verdict Input(uint8_t* frame, size_t length, size_t capacity, uint64_t now_ms, Received* out);

  // Writes the frame carrying `packet` to `to` into `out` (at least
  // packet.size() + kMaxHeaderBytes bytes): native SCTP if to.port() is 0,
  // else UDP from our encapsulation port. Returns its length, or 0 if it is
  // not sent now: held for a neighbor being resolved (Poll sends it; `*held`
  // says so when given), or dropped (counted).
  size_t BuildFrame(const Endpoint& to, absl::Span<const uint8_t> packet, absl::Span<uint8_t> out,
                    uint64_t now_ms, bool* held = nullptr);

  // Sends what is due: the gratuitous ARP and unsolicited Neighbor
  // Advertisements at start (RFC 5227 §3, RFC 4861 §7.2.6), requests for
  // unresolved neighbors and refreshes for stale ones, and held packets whose
  // neighbor answered. Call every turn; cheap when nothing is due.
  void Poll(uint64_t now_ms, Transmit transmit);

  // Whether BuildFrame has a source address and a next hop for `ip`: the
  // packet path picks the port that does.
  // Whether `ip` is on this port's link (inside a prefix, or link-local).
  bool OnLink(const protocol::IpAddress& ip) const;
  bool Reaches(const protocol::IpAddress& ip) const {
    return SourceFor(ip) != nullptr && NextHop(ip).has_value();
  }
  const NetStackStats& stats() const { return stats_; }
  const Config& config() const { return config_; }
  size_t neighbor_count() const { return neighbors_.size(); }
  // The cached MAC of `ip`, if resolved (tests and rspctl).
  std::optional<MacAddress> Neighbor(const protocol::IpAddress& ip) const;

 private:
  using IpKey = std::array<uint8_t, 16>;  // protocol::IpAddress::bytes (IPv4 mapped)
  struct Held {
    Endpoint to;
    std::vector<uint8_t> packet;
  };
  struct NeighborEntry {
    MacAddress mac{};
    bool resolved = false;
    uint64_t confirmed_ms = 0;  // last answer or packet from it
    uint64_t asked_ms = 0;      // last request sent
    int attempts = 0;           // requests since the last answer
    bool pending = false;       // listed in pending_
    std::deque<Held> held;
  };

  bool IsOurs(const protocol::IpAddress& ip) const;
  bool OurMulticastMac(const uint8_t* mac) const;
  // The source address for a packet to `to`, or null if we have none of its family.
  const protocol::IpAddress* SourceFor(const protocol::IpAddress& to) const;
  // The neighbor to send to for `to`: itself when on-link or in the cache
  // (an off-link host that ARPed for us), else the gateway.
  std::optional<protocol::IpAddress> NextHop(const protocol::IpAddress& to) const;
  // Learns (or refreshes) `ip` at `mac`; `create`: make an entry if there is none.
  void Learn(const protocol::IpAddress& ip, const uint8_t* mac, bool create, uint64_t now_ms);
  // The entry of `ip`, made (evicting another at max_neighbors) if there is
  // none; null when there is no room.
  NeighborEntry* Entry(const protocol::IpAddress& ip);
  bool IsGateway(const protocol::IpAddress& ip) const;
  void MarkPending(const protocol::IpAddress& ip, NeighborEntry& entry);
  // Whether an answer of this kind may go out now (the budgets).
  enum class Answer { kNeighbor, kEcho };
  bool MayReply(Answer answer, uint64_t now_ms);
  // Writes headers and copies `packet`; `mac` is the next hop's.
  size_t Write(const Endpoint& to, const protocol::IpAddress& source, const MacAddress& mac,
               absl::Span<const uint8_t> packet, absl::Span<uint8_t> out);
  void Ask(const protocol::IpAddress& ip, Transmit transmit);
  // Writes a Neighbor Advertisement for our `target` into `frame` (86 bytes).
  size_t WriteAdvertisement(uint8_t* frame, const protocol::IpAddress& target,
                            const protocol::IpAddress& to, const uint8_t* to_mac, bool solicited);

  Verdict Arp(uint8_t* frame, size_t length, uint64_t now_ms, Received* out);
  Verdict Ipv4(uint8_t* frame, size_t length, uint64_t now_ms, Received* out);
  Verdict Ipv6(uint8_t* frame, size_t length, size_t capacity, uint64_t now_ms, Received* out);
  Verdict Icmpv6(uint8_t* frame, size_t l4, size_t l4_length, size_t capacity, uint64_t now_ms,
                 Received* out);
  Verdict Deliver(const protocol::IpAddress& source, uint8_t protocol, const uint8_t* l4,
                  size_t l4_length, Received* out);

  Config config_;
  std::optional<protocol::IpAddress> ipv4_;
  std::vector<protocol::IpAddress> ipv6_;  // link-local first
  std::vector<InterfaceAddress> prefixes_;
  absl::flat_hash_map<IpKey, NeighborEntry> neighbors_;
  std::vector<protocol::IpAddress> pending_;  // neighbors with held packets or unanswered
  bool announced_ = false;
  uint64_t next_sweep_ms_ = 0;
  TokenBucket neighbor_replies_;
  TokenBucket echo_replies_;
  NetStackStats stats_;
};

}  // namespace rspd::dataplane
