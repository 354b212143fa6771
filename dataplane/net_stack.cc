// File: dataplane/net_stack.cc

#include "dataplane/net_stack.h"

#include <algorithm>
#include <cstring>

namespace rspd::dataplane {
namespace {

constexpr size_t kEthernetBytes = 14;
constexpr size_t kArpBytes = 28;
constexpr size_t kIpv4Bytes = 20;
constexpr size_t kIpv6Bytes = 40;
constexpr size_t kUdpBytes = 8;
// Ethernet + IPv6 + Neighbor Advertisement with a target link-layer option.
constexpr size_t kAdvertisementFrameBytes = kEthernetBytes + kIpv6Bytes + 24 + 8;
// A VLAN tag's worth of slack over MTU + Ethernet header before a frame is oversize.
constexpr size_t kFrameSlack = 4;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoSctp = 132;
constexpr size_t kSctpCommonHeaderBytes = 12;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint8_t kIcmpv6EchoRequest = 128;
constexpr uint8_t kIcmpv6EchoReply = 129;
constexpr uint8_t kNeighborSolicitation = 135;
constexpr uint8_t kNeighborAdvertisement = 136;
constexpr uint8_t kOptionSourceLinkLayer = 1;  // RFC 4861 §4.6.1
constexpr uint8_t kOptionTargetLinkLayer = 2;
// RFC 4861 §4.4: Solicited and Override flags.
constexpr uint8_t kAdvertSolicited = 0x40;
constexpr uint8_t kAdvertOverride = 0x20;
constexpr uint8_t kDefaultTtl = 64;
constexpr uint8_t kNdHopLimit = 255;  // RFC 4861 §7.1: ND messages carry 255
// IPv6 extension headers walked before the upper layer at most.
constexpr int kMaxExtensionHeaders = 8;
// How often the neighbor cache drops entries long unconfirmed, and how long
// past their reachable time they stay.
constexpr uint64_t kSweepMillis = 10000;
constexpr uint64_t kForgetAfterReachables = 4;
// Entries looked at to choose the oldest to evict at max_neighbors.
constexpr int kEvictionSample = 8;

const MacAddress kBroadcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
const uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const uint8_t kUnspecified[16] = {};

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void Put16(uint8_t* p, uint16_t x) {
  p[0] = static_cast<uint8_t>(x >> 8);
  p[1] = static_cast<uint8_t>(x);
}
void Put32(uint8_t* p, uint32_t x) {
  Put16(p, static_cast<uint16_t>(x >> 16));
  Put16(p + 2, static_cast<uint16_t>(x));
}

// RFC 1071: the one's complement sum, accumulated in native byte order (the
// sum is byte-order independent, §2(B)); Checksum() folds and complements
// it, and the result is stored with memcpy, i.e. in the same order.
uint64_t Sum(const uint8_t* p, size_t n, uint64_t acc = 0) {
  for (; n >= 4; p += 4, n -= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    acc += w;
  }
  if (n >= 2) {
    uint16_t w;
    memcpy(&w, p, 2);
    acc += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    const uint8_t last[2] = {p[0], 0};
    uint16_t w;
    memcpy(&w, last, 2);
    acc += w;
  }
  return acc;
}
uint16_t Checksum(uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}
void StoreChecksum(uint8_t* at, uint16_t c) { memcpy(at, &c, 2); }

// The pseudo-header sum of RFC 768 (IPv4) or RFC 8200 §8.1 (IPv6).
uint64_t PseudoHeader(bool v6, const uint8_t* src, const uint8_t* dst, uint8_t protocol,
                      size_t length) {
  uint8_t tail[8] = {};
  if (v6) {
    Put32(tail, static_cast<uint32_t>(length));
    tail[7] = protocol;
    return Sum(tail, 8, Sum(dst, 16, Sum(src, 16)));
  }
  tail[1] = protocol;
  Put16(tail + 2, static_cast<uint16_t>(length));
  return Sum(tail, 4, Sum(dst, 4, Sum(src, 4)));
}

bool IsLinkLocal(const protocol::IpAddress& ip) {
  return !ip.is_v4() && ip.bytes[0] == 0xfe && (ip.bytes[1] & 0xc0) == 0x80;
}
bool IsMulticastMac(const uint8_t* mac) { return (mac[0] & 1) != 0; }
// The solicited-node multicast group of `ip` (RFC 4291 §2.7.1).
void SolicitedNode(const protocol::IpAddress& ip, uint8_t* group) {
  static constexpr uint8_t kPrefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
  memcpy(group, kPrefix, 13);
  memcpy(group + 13, ip.bytes.data() + 13, 3);
}
// RFC 2464 §7: an IPv6 multicast group's MAC is 33:33 and its last 32 bits.
void MulticastMac(const uint8_t* group, uint8_t* mac) {
  mac[0] = 0x33;
  mac[1] = 0x33;
  memcpy(mac + 2, group + 12, 4);
}
void WriteEthernet(uint8_t* f, const uint8_t* dst, const MacAddress& src, uint16_t type) {
  memcpy(f, dst, 6);
  memcpy(f + 6, src.data(), 6);
  Put16(f + 12, type);
}
void WriteIpv6(uint8_t* ip, const uint8_t* src, const uint8_t* dst, uint8_t next, uint8_t hop_limit,
               size_t payload) {
  Put32(ip, 0x60000000);
  Put16(ip + 4, static_cast<uint16_t>(payload));
  ip[6] = next;
  ip[7] = hop_limit;
  memcpy(ip + 8, src, 16);
  memcpy(ip + 24, dst, 16);
}
bool PrefixMatch(const protocol::IpAddress& a, const InterfaceAddress& net) {
  if (a.is_v4() != net.ip.is_v4()) return false;
  const int bits = net.prefix_length + (a.is_v4() ? 96 : 0);
  for (int i = 0; i < 16 && i * 8 < bits; ++i) {
    const int keep = std::min(8, bits - i * 8);
    const uint8_t mask = static_cast<uint8_t>(0xff << (8 - keep));
    if ((a.bytes[i] & mask) != (net.ip.bytes[i] & mask)) return false;
  }
  return true;
}

}  // namespace

NetStack::NetStack(const Config& config) : config_(config) {
  // RFC 4291 Appendix A: the link-local address from the MAC (modified EUI-64).
  protocol::IpAddress link_local;
  link_local.bytes[0] = 0xfe;
  link_local.bytes[1] = 0x80;
  const MacAddress& m = config_.mac;
  const uint8_t eui[8] = {
      static_cast<uint8_t>(m[0] ^ 0x02), m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]};
  memcpy(link_local.bytes.data() + 8, eui, 8);
  ipv6_.push_back(link_local);
  for (const InterfaceAddress& a : config_.addresses) {
    if (a.ip.is_v4()) {
      ipv4_ = a.ip;
    } else if (!(a.ip == link_local)) {
      ipv6_.push_back(a.ip);
    }
    prefixes_.push_back(a);
  }
}

bool NetStack::IsOurs(const protocol::IpAddress& ip) const {
  if (ip.is_v4()) return ipv4_ && *ipv4_ == ip;
  return std::find(ipv6_.begin(), ipv6_.end(), ip) != ipv6_.end();
}

bool NetStack::OurMulticastMac(const uint8_t* mac) const {
  uint8_t group_mac[6];
  MulticastMac(kAllNodes, group_mac);
  if (memcmp(mac, group_mac, 6) == 0) return true;
  for (const protocol::IpAddress& ip : ipv6_) {
    uint8_t group[16];
    SolicitedNode(ip, group);
    MulticastMac(group, group_mac);
    if (memcmp(mac, group_mac, 6) == 0) return true;
  }
  return false;
}

bool NetStack::OnLink(const protocol::IpAddress& ip) const {
  if (IsLinkLocal(ip)) return true;
  return std::any_of(prefixes_.begin(), prefixes_.end(),
                     [&](const InterfaceAddress& net) { return PrefixMatch(ip, net); });
}

const protocol::IpAddress* NetStack::SourceFor(const protocol::IpAddress& to) const {
  if (to.is_v4()) return ipv4_ ? &*ipv4_ : nullptr;
  if (IsLinkLocal(to)) return &ipv6_[0];
  // The address whose prefix holds the destination (RFC 6724 §5 rule 8,
  // longest matching prefix, in its simplest form), else the first global
  // one; never the link-local address for a global destination.
  for (const InterfaceAddress& a : config_.addresses) {
    if (!a.ip.is_v4() && !IsLinkLocal(a.ip) && PrefixMatch(to, a)) {
      return &*std::find(ipv6_.begin(), ipv6_.end(), a.ip);
    }
  }
  return ipv6_.size() > 1 ? &ipv6_[1] : nullptr;
}

std::optional<protocol::IpAddress> NetStack::NextHop(const protocol::IpAddress& to) const {
  if (OnLink(to) || neighbors_.contains(to.bytes)) return to;
  const std::optional<protocol::IpAddress>& gateway =
      to.is_v4() ? config_.ipv4_gateway : config_.ipv6_gateway;
  return gateway;
}

bool NetStack::MayReply(Answer answer, uint64_t now_ms) {
  // Echo answers have a budget of their own: a ping flood must not use up
  // what ARP and Neighbor Discovery answers need (peers that cannot resolve
  // us cannot reach us).
  const bool echo = answer == Answer::kEcho;
  const double rate = echo ? config_.max_echo_replies_per_second : config_.max_replies_per_second;
  TokenBucket& bucket = echo ? echo_replies_ : neighbor_replies_;
  if (bucket.Take(now_ms, rate, std::max(1.0, rate / 10))) return true;
  NetStackStats::Bump(stats_.replies_rate_limited);
  return false;
}

bool NetStack::IsGateway(const protocol::IpAddress& ip) const {
  return (config_.ipv4_gateway && *config_.ipv4_gateway == ip) ||
         (config_.ipv6_gateway && *config_.ipv6_gateway == ip);
}

NetStack::NeighborEntry* NetStack::Entry(const protocol::IpAddress& ip) {
  auto it = neighbors_.find(ip.bytes);
  if (it != neighbors_.end()) return &it->second;
  if (neighbors_.size() >= config_.max_neighbors) {
    // The least recently confirmed of a few resolved entries that wait for
    // nothing; the gateways are never taken. None among them: no room.
    auto victim = neighbors_.end();
    int seen = 0;
    for (auto e = neighbors_.begin(); e != neighbors_.end() && seen < kEvictionSample; ++e) {
      if (e->second.pending || IsGateway(protocol::IpAddress{e->first})) continue;
      ++seen;
      if (victim == neighbors_.end() || e->second.confirmed_ms < victim->second.confirmed_ms) {
        victim = e;
      }
    }
    if (victim == neighbors_.end()) return nullptr;
    neighbors_.erase(victim);
    NetStackStats::Bump(stats_.neighbors_evicted);
  }
  return &neighbors_[ip.bytes];
}

void NetStack::Learn(const protocol::IpAddress& ip, const uint8_t* mac, bool create,
                     uint64_t now_ms) {
  if (IsMulticastMac(mac)) return;
  NeighborEntry* entry = nullptr;
  if (auto it = neighbors_.find(ip.bytes); it != neighbors_.end()) {
    entry = &it->second;
  } else if (create && OnLink(ip)) {
    // Only a neighbor on the link itself: an entry for an off-link address
    // would send its traffic past the gateway, to whoever claimed it.
    entry = Entry(ip);
    if (entry == nullptr) return;
  } else {
    return;
  }
  memcpy(entry->mac.data(), mac, 6);
  entry->resolved = true;
  entry->confirmed_ms = now_ms;
  entry->attempts = 0;
}

void NetStack::MarkPending(const protocol::IpAddress& ip, NeighborEntry& entry) {
  if (entry.pending) return;
  entry.pending = true;
  pending_.push_back(ip);
}

std::optional<MacAddress> NetStack::Neighbor(const protocol::IpAddress& ip) const {
  auto it = neighbors_.find(ip.bytes);
  if (it == neighbors_.end() || !it->second.resolved) return std::nullopt;
  return it->second.mac;
}

NetStack::Verdict NetStack::Input(uint8_t* frame, size_t length, size_t capacity, uint64_t now_ms,
                                  Received* out) {
  NetStackStats::Bump(stats_.l2_frames_in);
  if (length < kEthernetBytes || capacity < length) {
    NetStackStats::Bump(stats_.l2_runts);
    return Verdict::kDrop;
  }
  if (length > config_.mtu + kEthernetBytes + kFrameSlack) {
    NetStackStats::Bump(stats_.l2_oversize);
    return Verdict::kDrop;
  }
  // RFC 894 framing: our unicast MAC, broadcast, or one of our IPv6 groups.
  const bool for_us = memcmp(frame, config_.mac.data(), 6) == 0 ||
                      memcmp(frame, kBroadcastMac.data(), 6) == 0 || OurMulticastMac(frame);
  if (!for_us || IsMulticastMac(frame + 6)) {
    NetStackStats::Bump(stats_.l2_not_for_us);
    return Verdict::kDrop;
  }
  switch (Get16(frame + 12)) {
    case kEtherTypeArp:
      return Arp(frame, length, now_ms, out);
    case kEtherTypeIpv4:
      return Ipv4(frame, length, now_ms, out);
    case kEtherTypeIpv6:
      return Ipv6(frame, length, capacity, now_ms, out);
    default:
      NetStackStats::Bump(stats_.l2_ethertype_unknown);
      return Verdict::kDrop;
  }
}

// RFC 826, with the merge rule: a sender already in the cache is updated by
// any ARP packet; one that is not is added only when it asks for us (a reply
// we did not ask for adds nothing) and is on the link.
NetStack::Verdict NetStack::Arp(uint8_t* frame, size_t length, uint64_t now_ms, Received* out) {
  if (length < kEthernetBytes + kArpBytes) {
    NetStackStats::Bump(stats_.l2_runts);
    return Verdict::kDrop;
  }
  uint8_t* arp = frame + kEthernetBytes;
  const uint16_t op = Get16(arp + 6);
  if (Get16(arp) != 1 || Get16(arp + 2) != kEtherTypeIpv4 || arp[4] != 6 || arp[5] != 4 ||
      (op != 1 && op != 2) || IsMulticastMac(arp + 8)) {
    NetStackStats::Bump(stats_.arp_invalid);
    return Verdict::kDrop;
  }
  const protocol::IpAddress sender = protocol::IpAddress::V4(
      uint32_t{arp[14]} << 24 | uint32_t{arp[15]} << 16 | uint32_t{arp[16]} << 8 | arp[17]);
  const protocol::IpAddress target = protocol::IpAddress::V4(
      uint32_t{arp[24]} << 24 | uint32_t{arp[25]} << 16 | uint32_t{arp[26]} << 8 | arp[27]);
  const bool to_us = ipv4_ && target == *ipv4_ && !(sender == *ipv4_);
  // RFC 5227 §2.1.1: a probe's sender address is 0.0.0.0; it is answered,
  // not learnt.
  if (sender.v4() != 0) Learn(sender, arp + 8, /*create=*/to_us && op == 1, now_ms);
  if (!to_us) {
    NetStackStats::Bump(stats_.arp_ignored);
    return Verdict::kDrop;
  }
  if (op == 2) {
    NetStackStats::Bump(stats_.arp_replies_in);
    return Verdict::kDrop;
  }
  if (!MayReply(Answer::kNeighbor, now_ms)) return Verdict::kDrop;
  // The reply, in place: opcode 2, the asker becomes the target.
  Put16(arp + 6, 2);
  memcpy(arp + 18, arp + 8, 10);  // target hardware + protocol address := sender's
  memcpy(arp + 8, config_.mac.data(), 6);
  memcpy(arp + 14, ipv4_->bytes.data() + 12, 4);
  WriteEthernet(frame, arp + 18, config_.mac, kEtherTypeArp);
  out->reply_length = kEthernetBytes + kArpBytes;
  NetStackStats::Bump(stats_.arp_requests_answered);
  return Verdict::kReply;
}

NetStack::Verdict NetStack::Ipv4(uint8_t* frame, size_t length, uint64_t now_ms, Received* out) {
  uint8_t* ip = frame + kEthernetBytes;
  const size_t avail = length - kEthernetBytes;
  const size_t header = avail >= kIpv4Bytes ? size_t{static_cast<uint8_t>(ip[0] & 0x0f)} * 4 : 0;
  const size_t total = avail >= kIpv4Bytes ? Get16(ip + 2) : 0;
  // RFC 791 §3.1: version 4, a header of 5 words or more, a total length
  // covering it and within the frame (Ethernet may pad past it).
  if (avail < kIpv4Bytes || (ip[0] >> 4) != 4 || header < kIpv4Bytes || total < header ||
      total > avail || Checksum(Sum(ip, header)) != 0) {
    NetStackStats::Bump(stats_.ipv4_bad_header);
    return Verdict::kDrop;
  }
  const protocol::IpAddress dst = protocol::IpAddress::V4(
      uint32_t{ip[16]} << 24 | uint32_t{ip[17]} << 16 | uint32_t{ip[18]} << 8 | ip[19]);
  if (!ipv4_ || !(dst == *ipv4_)) {
    NetStackStats::Bump(stats_.ipv4_not_ours);
    return Verdict::kDrop;
  }
  // More Fragments set or a fragment offset: a piece of a larger datagram.
  if ((Get16(ip + 6) & 0x3fff) != 0) {
    NetStackStats::Bump(stats_.ip_fragments_dropped);
    return Verdict::kDrop;
  }
  const protocol::IpAddress src = protocol::IpAddress::V4(
      uint32_t{ip[12]} << 24 | uint32_t{ip[13]} << 16 | uint32_t{ip[14]} << 8 | ip[15]);
  // RFC 1122 §3.2.1.3: a source of "this network" (0/8), loopback (127/8),
  // multicast or broadcast (224/4 and up), or our own address is impossible.
  if (ip[12] == 0 || ip[12] == 127 || ip[12] >= 224 || src == *ipv4_) {
    NetStackStats::Bump(stats_.ip_martian_source);
    return Verdict::kDrop;
  }
  uint8_t* l4 = ip + header;
  const size_t l4_length = total - header;
  if (ip[9] == kProtoIcmp) {
    // RFC 792: an echo request is answered with its data.
    // Answered only without IP options: a reply would have to reverse
    // them (RFC 1122 §3.2.2.6).
    if (l4_length < 8 || l4[0] != kIcmpEchoRequest || l4[1] != 0 || header != kIpv4Bytes ||
        Checksum(Sum(l4, l4_length)) != 0) {
      NetStackStats::Bump(stats_.icmp_ignored);
      return Verdict::kDrop;
    }
    if (!MayReply(Answer::kEcho, now_ms)) return Verdict::kDrop;
    l4[0] = kIcmpEchoReply;
    StoreChecksum(l4 + 2, 0);
    StoreChecksum(l4 + 2, Checksum(Sum(l4, l4_length)));
    memcpy(ip + 16, ip + 12, 4);
    memcpy(ip + 12, ipv4_->bytes.data() + 12, 4);
    ip[8] = kDefaultTtl;
    StoreChecksum(ip + 10, 0);
    StoreChecksum(ip + 10, Checksum(Sum(ip, header)));
    WriteEthernet(frame, frame + 6, config_.mac, kEtherTypeIpv4);
    out->reply_length = kEthernetBytes + total;
    NetStackStats::Bump(stats_.icmp_echoes_answered);
    return Verdict::kReply;
  }
  return Deliver(src, ip[9], l4, l4_length, out);
}

NetStack::Verdict NetStack::Ipv6(uint8_t* frame, size_t length, size_t capacity, uint64_t now_ms,
                                 Received* out) {
  uint8_t* ip = frame + kEthernetBytes;
  const size_t avail = length - kEthernetBytes;
  if (avail < kIpv6Bytes || (ip[0] >> 4) != 6 || Get16(ip + 4) > avail - kIpv6Bytes ||
      ip[8] == 0xff) {  // a multicast source (RFC 4291 §2.7)
    NetStackStats::Bump(stats_.ipv6_bad_header);
    return Verdict::kDrop;
  }
  const protocol::IpAddress dst = protocol::IpAddress::V6(ip + 24);
  const bool unicast_to_us = IsOurs(dst);
  const bool multicast_to_us = dst.bytes[0] == 0xff && OurMulticastMac(frame);
  if (!unicast_to_us && !multicast_to_us) {
    NetStackStats::Bump(stats_.ipv6_not_ours);
    return Verdict::kDrop;
  }
  // RFC 8200 §4: hop-by-hop (0), routing (43) and destination options (60)
  // are skipped; a routing header with segments left is not for us to
  // forward, and a fragment header (44) marks a piece.
  size_t offset = kIpv6Bytes;
  const size_t end = kIpv6Bytes + Get16(ip + 4);
  uint8_t next = ip[6];
  for (int n = 0; next == 0 || next == 43 || next == 60 || next == 44; ++n) {
    if (next == 44) {
      NetStackStats::Bump(stats_.ip_fragments_dropped);
      return Verdict::kDrop;
    }
    if (n == kMaxExtensionHeaders || end - offset < 8 || (next == 43 && ip[offset + 3] != 0)) {
      NetStackStats::Bump(stats_.ipv6_bad_header);
      return Verdict::kDrop;
    }
    const size_t size = (size_t{ip[offset + 1]} + 1) * 8;
    if (size > end - offset) {
      NetStackStats::Bump(stats_.ipv6_bad_header);
      return Verdict::kDrop;
    }
    next = ip[offset];
    offset += size;
  }
  if (next == kProtoIcmpv6) {
    return Icmpv6(frame, kEthernetBytes + offset, end - offset, capacity, now_ms, out);
  }
  if (!unicast_to_us) {  // only Neighbor Discovery comes to our groups
    NetStackStats::Bump(stats_.ipv6_not_ours);
    return Verdict::kDrop;
  }
  const protocol::IpAddress src = protocol::IpAddress::V6(ip + 8);
  static constexpr uint8_t kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (memcmp(ip + 8, kUnspecified, 16) == 0 || memcmp(ip + 8, kLoopback, 16) == 0 || IsOurs(src)) {
    NetStackStats::Bump(stats_.ip_martian_source);
    return Verdict::kDrop;
  }
  return Deliver(src, next, ip + offset, end - offset, out);
}

NetStack::Verdict NetStack::Icmpv6(uint8_t* frame, size_t l4_offset, size_t l4_length,
                                   size_t capacity, uint64_t now_ms, Received* out) {
  uint8_t* ip = frame + kEthernetBytes;
  uint8_t* l4 = frame + l4_offset;
  // RFC 4443 §2.3: the checksum covers the pseudo-header.
  if (l4_length < 8 ||
      Checksum(Sum(l4, l4_length, PseudoHeader(true, ip + 8, ip + 24, kProtoIcmpv6, l4_length))) !=
          0) {
    NetStackStats::Bump(stats_.icmp_ignored);
    return Verdict::kDrop;
  }
  const protocol::IpAddress src = protocol::IpAddress::V6(ip + 8);
  const protocol::IpAddress dst = protocol::IpAddress::V6(ip + 24);
  const uint8_t type = l4[0];
  const bool unspecified_source = memcmp(ip + 8, kUnspecified, 16) == 0;
  if (type != kNeighborSolicitation && (unspecified_source || IsOurs(src))) {
    // RFC 4291 §2.5.2: only duplicate address detection comes from "::".
    NetStackStats::Bump(stats_.ip_martian_source);
    return Verdict::kDrop;
  }
  // Answered only without extension headers between IPv6 and ICMPv6: a
  // reply would have to handle them (RFC 4443 §4.2).
  if (type == kIcmpv6EchoRequest && l4[1] == 0 && IsOurs(dst) &&
      l4_offset == kEthernetBytes + kIpv6Bytes) {
    // RFC 4443 §4.2: the reply carries the request's data, from the address
    // it was sent to.
    if (!MayReply(Answer::kEcho, now_ms)) return Verdict::kDrop;
    l4[0] = kIcmpv6EchoReply;
    memcpy(ip + 24, ip + 8, 16);
    memcpy(ip + 8, dst.bytes.data(), 16);
    ip[7] = kDefaultTtl;
    StoreChecksum(l4 + 2, 0);
    StoreChecksum(
        l4 + 2,
        Checksum(Sum(l4, l4_length, PseudoHeader(true, ip + 8, ip + 24, kProtoIcmpv6, l4_length))));
    WriteEthernet(frame, frame + 6, config_.mac, kEtherTypeIpv6);
    out->reply_length = l4_offset + l4_length;
    NetStackStats::Bump(stats_.icmp_echoes_answered);
    return Verdict::kReply;
  }
  if ((type != kNeighborSolicitation && type != kNeighborAdvertisement) || l4[1] != 0 ||
      ip[7] != kNdHopLimit || l4_length < 24) {
    NetStackStats::Bump(stats_.icmp_ignored);
    return Verdict::kDrop;
  }
  // RFC 4861 §7.1: options have a non-zero length; the link-layer address
  // options are the ones we read.
  const uint8_t* link_layer = nullptr;
  for (size_t at = 24; at < l4_length;) {
    const size_t size = l4_length - at >= 2 ? size_t{l4[at + 1]} * 8 : 0;
    if (size == 0 || size > l4_length - at) {
      NetStackStats::Bump(stats_.icmp_ignored);
      return Verdict::kDrop;
    }
    const uint8_t wanted =
        type == kNeighborSolicitation ? kOptionSourceLinkLayer : kOptionTargetLinkLayer;
    if (l4[at] == wanted && size == 8) link_layer = l4 + at + 2;
    at += size;
  }
  const protocol::IpAddress target = protocol::IpAddress::V6(l4 + 8);
  if (type == kNeighborAdvertisement) {
    // RFC 4861 §7.2.5: an advertisement updates an entry we have.
    if (link_layer == nullptr || IsOurs(target) || IsMulticastMac(link_layer)) {
      NetStackStats::Bump(stats_.icmp_ignored);
      return Verdict::kDrop;
    }
    // Without the Override flag an advertisement does not replace a
    // different address we have (§7.2.5).
    const auto known = neighbors_.find(target.bytes);
    const bool override = (l4[4] & kAdvertOverride) != 0;
    if (override || known == neighbors_.end() || !known->second.resolved ||
        memcmp(known->second.mac.data(), link_layer, 6) == 0) {
      Learn(target, link_layer, /*create=*/false, now_ms);
    }
    NetStackStats::Bump(stats_.nd_advertisements_in);
    return Verdict::kDrop;
  }
  const bool dad = unspecified_source;
  // RFC 4861 §7.1.1: a solicitation from the unspecified address (duplicate
  // address detection) has no source link-layer option.
  if (!IsOurs(target) || (dad && link_layer != nullptr) || capacity < kAdvertisementFrameBytes ||
      (link_layer != nullptr && IsMulticastMac(link_layer))) {
    NetStackStats::Bump(stats_.icmp_ignored);
    return Verdict::kDrop;
  }
  // RFC 4861 §7.2.3: the solicitor's link-layer address option is learnt;
  // §7.2.4: the answer goes to it, or to all nodes when it has no address
  // yet (we defend our address, RFC 4862 §5.4.3).
  uint8_t to_mac[6];
  memcpy(to_mac, link_layer != nullptr ? link_layer : frame + 6, 6);
  protocol::IpAddress to = src;
  if (dad) {
    to = protocol::IpAddress::V6(kAllNodes);
    MulticastMac(kAllNodes, to_mac);
  } else if (link_layer != nullptr) {
    Learn(src, link_layer, /*create=*/true, now_ms);
  }
  if (!MayReply(Answer::kNeighbor, now_ms)) return Verdict::kDrop;
  out->reply_length = WriteAdvertisement(frame, target, to, to_mac, /*solicited=*/!dad);
  NetStackStats::Bump(stats_.nd_solicitations_answered);
  return Verdict::kReply;
}

size_t NetStack::WriteAdvertisement(uint8_t* frame, const protocol::IpAddress& target,
                                    const protocol::IpAddress& to, const uint8_t* to_mac,
                                    bool solicited) {
  constexpr size_t kBody = 32;  // RFC 4861 §4.4 + the target link-layer option
  uint8_t* ip = frame + kEthernetBytes;
  uint8_t* na = ip + kIpv6Bytes;
  WriteEthernet(frame, to_mac, config_.mac, kEtherTypeIpv6);
  WriteIpv6(ip, target.bytes.data(), to.bytes.data(), kProtoIcmpv6, kNdHopLimit, kBody);
  memset(na, 0, kBody);
  na[0] = kNeighborAdvertisement;
  na[4] = static_cast<uint8_t>(kAdvertOverride | (solicited ? kAdvertSolicited : 0));
  memcpy(na + 8, target.bytes.data(), 16);
  na[24] = kOptionTargetLinkLayer;
  na[25] = 1;
  memcpy(na + 26, config_.mac.data(), 6);
  StoreChecksum(na + 2,
                Checksum(Sum(na, kBody, PseudoHeader(true, ip + 8, ip + 24, kProtoIcmpv6, kBody))));
  return kAdvertisementFrameBytes;
}

NetStack::Verdict NetStack::Deliver(const protocol::IpAddress& source, uint8_t protocol,
                                    const uint8_t* l4, size_t l4_length, Received* out) {
  if (protocol == kProtoSctp) {
    // RFC 9260 directly over IP: UDP port 0 marks it (no encapsulation).
    out->from = Endpoint::Of(source, 0);
    out->payload = absl::MakeConstSpan(l4, l4_length);
    NetStackStats::Bump(stats_.sctp_native_in);
    return Verdict::kDeliver;
  }
  if (protocol != kProtoUdp) {
    NetStackStats::Bump(stats_.ip_protocol_unknown);
    return Verdict::kDrop;
  }
  const size_t udp_length = l4_length >= kUdpBytes ? Get16(l4 + 4) : 0;
  if (udp_length < kUdpBytes || udp_length > l4_length) {
    NetStackStats::Bump(stats_.udp_bad_length);
    return Verdict::kDrop;
  }
  // RFC 6951 §5.1: SCTP packets arrive on the encapsulation port; a source
  // port of 0 could not be answered.
  const uint16_t src_port = Get16(l4);
  if (Get16(l4 + 2) != config_.encapsulation_port || src_port == 0) {
    NetStackStats::Bump(stats_.udp_port_unknown);
    return Verdict::kDrop;
  }
  out->from = Endpoint::Of(source, src_port);
  out->payload = absl::MakeConstSpan(l4 + kUdpBytes, udp_length - kUdpBytes);
  NetStackStats::Bump(stats_.udp_sctp_in);
  return Verdict::kDeliver;
}

size_t NetStack::BuildFrame(const Endpoint& to, absl::Span<const uint8_t> packet,
                            absl::Span<uint8_t> out, uint64_t now_ms, bool* held) {
  if (held != nullptr) *held = false;
  // The bridge sends SCTP packets: a common header at least (RFC 9260 §3).
  // Anything shorter would also make a frame below any L2/L3 header's size.
  if (packet.size() < kSctpCommonHeaderBytes) {
    NetStackStats::Bump(stats_.tx_not_sctp);
    return 0;
  }
  const protocol::IpAddress dst = to.ip();
  const protocol::IpAddress* source = SourceFor(dst);
  const std::optional<protocol::IpAddress> hop = source ? NextHop(dst) : std::nullopt;
  if (!hop) {
    NetStackStats::Bump(stats_.tx_no_route);
    return 0;
  }
  const size_t ip_bytes = (dst.is_v4() ? kIpv4Bytes : kIpv6Bytes) + (to.port() ? kUdpBytes : 0);
  if (packet.size() + ip_bytes > config_.mtu || out.size() < packet.size() + kMaxHeaderBytes) {
    NetStackStats::Bump(stats_.tx_too_large);
    return 0;
  }
  NeighborEntry* found = nullptr;
  if (auto it = neighbors_.find(hop->bytes); it != neighbors_.end()) {
    found = &it->second;
  } else if (pending_.size() < config_.max_unresolved) {
    found = Entry(*hop);
  }
  if (found == nullptr) {
    // No room for another neighbor to resolve: a flood of new destinations
    // (replies to forged sources) cannot push out the ones we have.
    NetStackStats::Bump(stats_.tx_unresolved_dropped);
    return 0;
  }
  NeighborEntry& entry = *found;
  if (entry.resolved) {
    // RFC 4861 §7.3.3 (and the same for ARP): a stale entry is used while it is confirmed again.
    if (now_ms - entry.confirmed_ms > config_.neighbor_reachable_ms && OnLink(*hop)) {
      MarkPending(*hop, entry);
    }
    return Write(to, *source, entry.mac, packet, out);
  }
  if (entry.held.size() >= config_.max_held_per_neighbor) {
    NetStackStats::Bump(stats_.tx_unresolved_dropped);
    return 0;
  }
  entry.held.push_back({to, std::vector<uint8_t>(packet.begin(), packet.end())});
  NetStackStats::Bump(stats_.tx_held);
  if (held != nullptr) *held = true;
  MarkPending(*hop, entry);
  return 0;
}

size_t NetStack::Write(const Endpoint& to, const protocol::IpAddress& source, const MacAddress& mac,
                       absl::Span<const uint8_t> packet, absl::Span<uint8_t> out) {
  const bool v6 = !source.is_v4();
  const uint16_t udp_port = to.port();
  const uint8_t protocol = udp_port != 0 ? kProtoUdp : kProtoSctp;
  const size_t l4_length = packet.size() + (udp_port != 0 ? kUdpBytes : 0);
  uint8_t* f = out.data();
  WriteEthernet(f, mac.data(), config_.mac, v6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
  uint8_t* ip = f + kEthernetBytes;
  const protocol::IpAddress dst = to.ip();
  const uint8_t* src_bytes = source.bytes.data() + (v6 ? 0 : 12);
  const uint8_t* dst_bytes = dst.bytes.data() + (v6 ? 0 : 12);
  size_t header;
  if (v6) {
    header = kIpv6Bytes;
    WriteIpv6(ip, src_bytes, dst_bytes, protocol, kDefaultTtl, l4_length);
  } else {
    header = kIpv4Bytes;
    ip[0] = 0x45;
    ip[1] = 0;
    Put16(ip + 2, static_cast<uint16_t>(kIpv4Bytes + l4_length));
    Put16(ip + 4, 0);       // no fragments are ever made: the ID is unused (RFC 6864 §4.1)
    Put16(ip + 6, 0x4000);  // DF: SCTP does its own path MTU discovery (RFC 9260 §6.9)
    ip[8] = kDefaultTtl;
    ip[9] = protocol;
    memcpy(ip + 12, src_bytes, 4);
    memcpy(ip + 16, dst_bytes, 4);
    StoreChecksum(ip + 10, 0);
    StoreChecksum(ip + 10, Checksum(Sum(ip, kIpv4Bytes)));
  }
  uint8_t* l4 = ip + header;
  if (udp_port != 0) {
    // RFC 6951 §5.1: from our encapsulation port to the remote's; RFC 768
    // checksum (mandatory over IPv6, RFC 8200 §8.1; 0 is sent as all ones).
    memcpy(l4 + kUdpBytes, packet.data(), packet.size());
    Put16(l4, config_.encapsulation_port);
    Put16(l4 + 2, udp_port);
    Put16(l4 + 4, static_cast<uint16_t>(l4_length));
    StoreChecksum(l4 + 6, 0);
    uint16_t c =
        Checksum(Sum(l4, l4_length, PseudoHeader(v6, src_bytes, dst_bytes, kProtoUdp, l4_length)));
    if (c == 0) c = 0xffff;
    StoreChecksum(l4 + 6, c);
  } else {
    memcpy(l4, packet.data(), packet.size());  // its CRC32c is the bridge's (RFC 9260 §6.8)
  }
  NetStackStats::Bump(stats_.frames_built);
  return kEthernetBytes + header + l4_length;
}

void NetStack::Ask(const protocol::IpAddress& ip, Transmit transmit) {
  const protocol::IpAddress* source = SourceFor(ip);
  if (source == nullptr) return;
  if (ip.is_v4()) {
    // RFC 826: a broadcast request; the target hardware address is unknown.
    uint8_t f[kEthernetBytes + kArpBytes] = {};
    WriteEthernet(f, kBroadcastMac.data(), config_.mac, kEtherTypeArp);
    uint8_t* arp = f + kEthernetBytes;
    Put16(arp, 1);
    Put16(arp + 2, kEtherTypeIpv4);
    arp[4] = 6;
    arp[5] = 4;
    Put16(arp + 6, 1);
    memcpy(arp + 8, config_.mac.data(), 6);
    memcpy(arp + 14, source->bytes.data() + 12, 4);
    memcpy(arp + 24, ip.bytes.data() + 12, 4);
    transmit(f);
    NetStackStats::Bump(stats_.arp_requests_sent);
    return;
  }
  // RFC 4861 §7.2.2: to the target's solicited-node group, with our
  // link-layer address.
  uint8_t f[kEthernetBytes + kIpv6Bytes + 32] = {};
  uint8_t group[16];
  uint8_t group_mac[6];
  SolicitedNode(ip, group);
  MulticastMac(group, group_mac);
  WriteEthernet(f, group_mac, config_.mac, kEtherTypeIpv6);
  uint8_t* ip6 = f + kEthernetBytes;
  WriteIpv6(ip6, source->bytes.data(), group, kProtoIcmpv6, kNdHopLimit, 32);
  uint8_t* ns = ip6 + kIpv6Bytes;
  ns[0] = kNeighborSolicitation;
  memcpy(ns + 8, ip.bytes.data(), 16);
  ns[24] = kOptionSourceLinkLayer;
  ns[25] = 1;
  memcpy(ns + 26, config_.mac.data(), 6);
  StoreChecksum(ns + 2,
                Checksum(Sum(ns, 32, PseudoHeader(true, ip6 + 8, ip6 + 24, kProtoIcmpv6, 32))));
  transmit(f);
  NetStackStats::Bump(stats_.nd_solicitations_sent);
}

void NetStack::Poll(uint64_t now_ms, Transmit transmit) {
  if (!announced_) {
    // RFC 5227 §3 gratuitous ARP; RFC 4861 §7.2.6 unsolicited advertisements.
    announced_ = true;
    if (ipv4_) {
      Ask(*ipv4_, transmit);
    }
    for (const protocol::IpAddress& ip : ipv6_) {
      uint8_t f[kAdvertisementFrameBytes];
      uint8_t all_nodes_mac[6];
      MulticastMac(kAllNodes, all_nodes_mac);
      transmit(absl::MakeConstSpan(
          f, WriteAdvertisement(f, ip, protocol::IpAddress::V6(kAllNodes), all_nodes_mac, false)));
    }
  }
  size_t kept = 0;
  for (size_t i = 0; i < pending_.size(); ++i) {
    const protocol::IpAddress ip = pending_[i];
    auto it = neighbors_.find(ip.bytes);
    if (it == neighbors_.end()) continue;  // evicted
    NeighborEntry& entry = it->second;
    if (entry.resolved && !entry.held.empty()) {
      // Held packets go out now that the neighbor answered.
      std::vector<uint8_t> frame;
      for (const Held& h : entry.held) {
        frame.resize(h.packet.size() + kMaxHeaderBytes);
        const protocol::IpAddress* source = SourceFor(h.to.ip());
        if (source != nullptr) {
          transmit(absl::MakeConstSpan(
              frame.data(), Write(h.to, *source, entry.mac, h.packet, absl::MakeSpan(frame))));
        }
      }
      entry.held.clear();
    }
    const bool fresh =
        entry.resolved && now_ms - entry.confirmed_ms <= config_.neighbor_reachable_ms;
    if (fresh) {
      entry.pending = false;
      continue;
    }
    if (entry.attempts > 0 && now_ms - entry.asked_ms < config_.resolve_interval_ms) {
      pending_[kept++] = ip;
      continue;
    }
    if (entry.attempts >= config_.resolve_attempts) {
      // No answer: held packets are dropped and the entry forgotten; the
      // next packet for it starts afresh.
      stats_.tx_unresolved_dropped.fetch_add(entry.held.size(), std::memory_order_relaxed);
      neighbors_.erase(it);
      continue;
    }
    ++entry.attempts;
    entry.asked_ms = now_ms;
    Ask(ip, transmit);
    pending_[kept++] = ip;
  }
  pending_.resize(kept);
  if (now_ms >= next_sweep_ms_) {
    next_sweep_ms_ = now_ms + kSweepMillis;
    const uint64_t forget = kForgetAfterReachables * config_.neighbor_reachable_ms;
    absl::erase_if(neighbors_, [&](const auto& e) {
      return !e.second.pending && now_ms - e.second.confirmed_ms > forget;
    });
  }
}

}  // namespace rspd::dataplane
