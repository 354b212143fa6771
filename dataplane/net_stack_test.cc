#include "dataplane/net_stack.h"

#include <cstring>
#include <random>
#include <vector>

#include "dataplane/frames.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rspd::dataplane {
namespace {

using protocol::IpAddress;

const MacAddress kOurMac = {0x02, 0, 0, 0, 0, 0x02};
const MacAddress kPeerMac = {0x02, 0, 0, 0, 0, 0x01};  // frames.h's source MAC

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

NetStack::Config TestConfig() {
  NetStack::Config c;
  c.mac = kOurMac;
  c.addresses = {{Ip("10.0.0.1"), 24}, {Ip("fd00::1"), 64}};
  return c;
}

// RFC 1071 as the RFC writes it, byte by byte: the reference the stack's
// word-at-a-time sum is checked against.
uint16_t ReferenceSum(const std::vector<uint8_t>& bytes, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) sum += uint32_t{bytes[i]} << 8 | bytes[i + 1];
  if (bytes.size() % 2) sum += uint32_t{bytes.back()} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}
std::vector<uint8_t> Slice(const std::vector<uint8_t>& f, size_t from, size_t n) {
  return std::vector<uint8_t>(f.begin() + static_cast<long>(from),
                              f.begin() + static_cast<long>(from + n));
}
uint32_t Pseudo(const std::vector<uint8_t>& f, bool v6, uint8_t protocol, size_t length) {
  const size_t ip = 14;
  std::vector<uint8_t> addresses = v6 ? Slice(f, ip + 8, 32) : Slice(f, ip + 12, 8);
  return ReferenceSum(addresses) + protocol + static_cast<uint32_t>(length);
}
// True if the IPv4 header checksum, and the UDP/ICMP/ICMPv6 checksum of the
// frame's upper layer, verify.
bool ChecksumsOk(const std::vector<uint8_t>& f) {
  const bool v6 = f[12] == 0x86;
  const size_t ip = 14;
  size_t l4 = ip + 40;
  uint8_t protocol = f[ip + 6];
  size_t l4_length = (f.size() >= ip + 6 ? (f[ip + 4] << 8 | f[ip + 5]) : 0);
  if (!v6) {
    if (ReferenceSum(Slice(f, ip, 20)) != 0xffff) return false;
    l4 = ip + 20;
    protocol = f[ip + 9];
    l4_length = (f[ip + 2] << 8 | f[ip + 3]) - 20u;
  }
  const std::vector<uint8_t> upper = Slice(f, l4, l4_length);
  if (protocol == 1) return ReferenceSum(upper) == 0xffff;
  if (protocol == 132) return true;
  return ReferenceSum(upper, Pseudo(f, v6, protocol, l4_length)) == 0xffff;
}

std::vector<uint8_t> ArpRequest(const char* sender, const char* target) {
  std::vector<uint8_t> f = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  f.insert(f.end(), kPeerMac.begin(), kPeerMac.end());
  f.insert(f.end(), {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1});
  f.insert(f.end(), kPeerMac.begin(), kPeerMac.end());
  const IpAddress s = Ip(sender), t = Ip(target);
  f.insert(f.end(), s.bytes.begin() + 12, s.bytes.end());
  f.insert(f.end(), 6, 0);
  f.insert(f.end(), t.bytes.begin() + 12, t.bytes.end());
  return f;
}

// Frames from our peer, 10.0.0.2 (or fd00::2), to us.
FrameSpec FromPeer(bool v6) {
  FrameSpec spec;
  spec.ipv6 = v6;
  const IpAddress src = Ip(v6 ? "fd00::2" : "10.0.0.2");
  const IpAddress dst = Ip(v6 ? "fd00::1" : "10.0.0.1");
  memcpy(spec.src_ip, src.bytes.data() + (v6 ? 0 : 12), v6 ? 16 : 4);
  memcpy(spec.dst_ip, dst.bytes.data() + (v6 ? 0 : 12), v6 ? 16 : 4);
  return spec;
}

// An ICMP (v4) or ICMPv6 echo request from 10.0.0.2 / fd00::2 to us.
std::vector<uint8_t> EchoRequest(bool v6) {
  FrameSpec spec = FromPeer(v6);
  // A UDP frame gives the headers; the upper layer is replaced.
  std::vector<uint8_t> f = BuildUdpFrame(spec, std::vector<uint8_t>(8));
  const size_t l4 = v6 ? 54 : 34;
  std::vector<uint8_t> icmp = {
      static_cast<uint8_t>(v6 ? 128 : 8), 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g'};
  f.resize(l4);
  f.insert(f.end(), icmp.begin(), icmp.end());
  if (v6) {
    f[14 + 5] = static_cast<uint8_t>(icmp.size());
    f[14 + 6] = 58;
  } else {
    f[14 + 3] = static_cast<uint8_t>(20 + icmp.size());
    f[14 + 9] = 1;
    f[14 + 10] = f[14 + 11] = 0;
    const uint16_t c = static_cast<uint16_t>(~ReferenceSum(Slice(f, 14, 20)));
    f[24] = static_cast<uint8_t>(c >> 8);
    f[25] = static_cast<uint8_t>(c);
  }
  const uint16_t c = static_cast<uint16_t>(
      ~ReferenceSum(Slice(f, l4, icmp.size()), v6 ? Pseudo(f, true, 58, icmp.size()) : 0));
  f[l4 + 2] = static_cast<uint8_t>(c >> 8);
  f[l4 + 3] = static_cast<uint8_t>(c);
  return f;
}

// A Neighbor Solicitation for `target` from fd00::2, with its link-layer address.
std::vector<uint8_t> Solicitation(const char* target) {
  std::vector<uint8_t> f = {0x33, 0x33, 0xff, 0, 0, 1};
  f.insert(f.end(), kPeerMac.begin(), kPeerMac.end());
  f.insert(f.end(), {0x86, 0xdd, 0x60, 0, 0, 0, 0, 32, 58, 255});
  const IpAddress src = Ip("fd00::2");
  f.insert(f.end(), src.bytes.begin(), src.bytes.end());
  const uint8_t group[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1};
  f.insert(f.end(), group, group + 16);
  const IpAddress t = Ip(target);
  f.insert(f.end(), {135, 0, 0, 0, 0, 0, 0, 0});
  f.insert(f.end(), t.bytes.begin(), t.bytes.end());
  f.insert(f.end(), {1, 1});
  f.insert(f.end(), kPeerMac.begin(), kPeerMac.end());
  const uint16_t c =
      static_cast<uint16_t>(~ReferenceSum(Slice(f, 54, 32), Pseudo(f, true, 58, 32)));
  f[56] = static_cast<uint8_t>(c >> 8);
  f[57] = static_cast<uint8_t>(c);
  return f;
}

// An SCTP packet from 10.0.0.2 (or fd00::2) to us, over UDP from `udp_port`
// or native (udp_port 0).
std::vector<uint8_t> SctpFrame(bool v6, uint16_t udp_port, const std::vector<uint8_t>& message) {
  FrameSpec spec = FromPeer(v6);
  spec.udp_encapsulation = udp_port != 0;
  spec.udp_src_port = udp_port;
  return BuildSctpDataFrame(spec, message);
}

struct Harness {
  NetStack stack{TestConfig()};
  std::vector<std::vector<uint8_t>> sent;
  uint64_t now = 1000;

  NetStack::Verdict Input(std::vector<uint8_t>& f, NetStack::Received* r, size_t slack = 128) {
    const size_t length = f.size();
    f.resize(length + slack);
    const NetStack::Verdict v = stack.Input(f.data(), length, f.size(), now, r);
    f.resize(v == NetStack::Verdict::kReply ? r->reply_length : length);
    return v;
  }
  void Poll() {
    stack.Poll(now, [&](absl::Span<const uint8_t> f) { sent.emplace_back(f.begin(), f.end()); });
  }
};

TEST(NetStackTest, AnswersArpForOurAddressAndLearnsTheAsker) {
  Harness h;
  std::vector<uint8_t> f = ArpRequest("10.0.0.2", "10.0.0.1");
  NetStack::Received r;
  ASSERT_EQ(h.Input(f, &r), NetStack::Verdict::kReply);
  ASSERT_EQ(f.size(), 42u);
  EXPECT_TRUE(std::equal(kPeerMac.begin(), kPeerMac.end(), f.begin()));     // to the asker
  EXPECT_TRUE(std::equal(kOurMac.begin(), kOurMac.end(), f.begin() + 6));   // from us
  EXPECT_EQ(f[21], 2);                                                      // reply
  EXPECT_TRUE(std::equal(kOurMac.begin(), kOurMac.end(), f.begin() + 22));  // sender hw: us
  EXPECT_EQ(std::vector<uint8_t>(f.begin() + 28, f.begin() + 32),
            (std::vector<uint8_t>{10, 0, 0, 1}));
  EXPECT_EQ(std::vector<uint8_t>(f.begin() + 38, f.begin() + 42),
            (std::vector<uint8_t>{10, 0, 0, 2}));
  EXPECT_EQ(h.stack.Neighbor(Ip("10.0.0.2")), kPeerMac);
  EXPECT_EQ(h.stack.stats().arp_requests_answered.load(), 1u);
}

TEST(NetStackTest, IgnoresArpForOtherAddresses) {
  Harness h;
  std::vector<uint8_t> f = ArpRequest("10.0.0.2", "10.0.0.3");
  NetStack::Received r;
  EXPECT_EQ(h.Input(f, &r), NetStack::Verdict::kDrop);
  EXPECT_FALSE(h.stack.Neighbor(Ip("10.0.0.2")));
  EXPECT_EQ(h.stack.stats().arp_ignored.load(), 1u);
}

TEST(NetStackTest, AnswersIcmpEchoOverIpv4AndIpv6) {
  for (bool v6 : {false, true}) {
    Harness h;
    std::vector<uint8_t> f = EchoRequest(v6);
    const std::vector<uint8_t> request = f;
    NetStack::Received r;
    ASSERT_EQ(h.Input(f, &r), NetStack::Verdict::kReply) << v6;
    ASSERT_EQ(f.size(), request.size());
    EXPECT_TRUE(ChecksumsOk(f)) << v6;
    const size_t l4 = v6 ? 54 : 34;
    EXPECT_EQ(f[l4], v6 ? 129 : 0);
    // Addresses swapped, data kept.
    if (v6) {
      EXPECT_EQ(Slice(f, 22, 16), Slice(request, 38, 16));
      EXPECT_EQ(Slice(f, 38, 16), Slice(request, 22, 16));
    } else {
      EXPECT_EQ(Slice(f, 26, 4), Slice(request, 30, 4));
      EXPECT_EQ(Slice(f, 30, 4), Slice(request, 26, 4));
    }
    EXPECT_EQ(Slice(f, l4 + 4, 8), Slice(request, l4 + 4, 8));
    EXPECT_EQ(h.stack.stats().icmp_echoes_answered.load(), 1u);
  }
}

TEST(NetStackTest, DropsEchoWithBadChecksum) {
  Harness h;
  std::vector<uint8_t> f = EchoRequest(false);
  f[40] ^= 1;
  NetStack::Received r;
  EXPECT_EQ(h.Input(f, &r), NetStack::Verdict::kDrop);
  EXPECT_EQ(h.stack.stats().icmp_ignored.load(), 1u);
}

TEST(NetStackTest, AnswersNeighborSolicitationForOurAddresses) {
  for (const char* target : {"fd00::1", "fe80::ff:fe00:2"}) {
    Harness h;
    std::vector<uint8_t> f = Solicitation(target);
    NetStack::Received r;
    ASSERT_EQ(h.Input(f, &r), NetStack::Verdict::kReply) << target;
    ASSERT_EQ(f.size(), 86u);
    EXPECT_TRUE(ChecksumsOk(f));
    EXPECT_TRUE(std::equal(kPeerMac.begin(), kPeerMac.end(), f.begin()));
    EXPECT_EQ(f[21], 255);   // hop limit
    EXPECT_EQ(f[54], 136);   // advertisement
    EXPECT_EQ(f[58], 0x60);  // solicited, override
    const IpAddress t = Ip(target);
    EXPECT_EQ(Slice(f, 62, 16), std::vector<uint8_t>(t.bytes.begin(), t.bytes.end()));
    EXPECT_TRUE(std::equal(kOurMac.begin(), kOurMac.end(), f.begin() + 80));  // target link-layer
    EXPECT_EQ(h.stack.Neighbor(Ip("fd00::2")), kPeerMac);
  }
  Harness h;
  std::vector<uint8_t> f = Solicitation("fd00::9");
  NetStack::Received r;
  EXPECT_EQ(h.Input(f, &r), NetStack::Verdict::kDrop);
  EXPECT_EQ(h.stack.stats().icmp_ignored.load(), 1u);
}

TEST(NetStackTest, DeliversSctpOverUdpAndNative) {
  const std::vector<uint8_t> message = {1, 2, 3, 4, 5, 6, 7, 8};
  for (bool v6 : {false, true}) {
    for (uint16_t udp_port : {uint16_t{40000}, uint16_t{0}}) {
      Harness h;
      std::vector<uint8_t> f = SctpFrame(v6, udp_port, message);  // to UDP port 9899
      NetStack::Received r;
      ASSERT_EQ(h.Input(f, &r), NetStack::Verdict::kDeliver) << v6 << udp_port;
      EXPECT_EQ(r.from.ip(), Ip(v6 ? "fd00::2" : "10.0.0.2"));
      EXPECT_EQ(r.from.port(), udp_port);
      // The payload is the SCTP packet: common header, then the DATA chunk.
      ASSERT_EQ(r.payload.size(), 12u + 16u + message.size());
      EXPECT_EQ(std::vector<uint8_t>(r.payload.end() - 8, r.payload.end()), message);
      EXPECT_FALSE(h.stack.Neighbor(r.from.ip())) << "an IP packet's source MAC is not learnt";
    }
  }
}

TEST(NetStackTest, DropsFragmentsOtherPortsAndStrangers) {
  Harness h;
  NetStack::Received r;
  std::vector<uint8_t> f = SctpFrame(false, 40000, {1, 2, 3, 4});
  f[14 + 6] |= 0x20;  // More Fragments (breaks the header checksum: fix it)
  f[24] = f[25] = 0;
  const uint16_t c = static_cast<uint16_t>(~ReferenceSum(Slice(f, 14, 20)));
  f[24] = static_cast<uint8_t>(c >> 8);
  f[25] = static_cast<uint8_t>(c);
  EXPECT_EQ(h.Input(f, &r), NetStack::Verdict::kDrop);
  EXPECT_EQ(h.stack.stats().ip_fragments_dropped.load(), 1u);

  f = SctpFrame(false, 40000, {1, 2, 3, 4});
  f[36] = 0x12;  // UDP destination port: not 9899
  EXPECT_EQ(h.Input(f, &r), NetStack::Verdict::kDrop);
  EXPECT_EQ(h.stack.stats().udp_port_unknown.load(), 1u);

  f = SctpFrame(false, 40000, {1, 2, 3, 4});
  f[0] = 0x04;  // another host's MAC
  EXPECT_EQ(h.Input(f, &r), NetStack::Verdict::kDrop);
  EXPECT_EQ(h.stack.stats().l2_not_for_us.load(), 1u);

  f = SctpFrame(false, 40000, {1, 2, 3, 4});
  f[12] = 0x81;  // a VLAN tag
  f[13] = 0x00;
  EXPECT_EQ(h.Input(f, &r), NetStack::Verdict::kDrop);
  EXPECT_EQ(h.stack.stats().l2_ethertype_unknown.load(), 1u);

  f = SctpFrame(false, 40000, {1, 2, 3, 4});
  f[33] ^= 0xff;  // destination address: not ours (and a bad header checksum)
  EXPECT_EQ(h.Input(f, &r), NetStack::Verdict::kDrop);
  EXPECT_EQ(h.stack.stats().ipv4_bad_header.load(), 1u);

  f = SctpFrame(false, 40000, std::vector<uint8_t>(1600));
  EXPECT_EQ(h.Input(f, &r), NetStack::Verdict::kDrop);
  EXPECT_EQ(h.stack.stats().l2_oversize.load(), 1u);
}

// Every prefix of valid frames, and random bytes after a valid Ethernet
// header: never delivered beyond the frame, and every frame counted once.
TEST(NetStackTest, TruncatedAndRandomFramesAreDroppedAndCounted) {
  Harness h;
  std::vector<std::vector<uint8_t>> valid = {ArpRequest("10.0.0.2", "10.0.0.1"),
                                             EchoRequest(false),
                                             EchoRequest(true),
                                             Solicitation("fd00::1"),
                                             SctpFrame(false, 40000, {1, 2, 3, 4}),
                                             SctpFrame(true, 0, {1, 2, 3, 4})};
  uint64_t frames = 0, delivered = 0, replies = 0;
  for (const std::vector<uint8_t>& v : valid) {
    for (size_t n = 0; n < v.size(); ++n) {
      std::vector<uint8_t> f(v.begin(), v.begin() + static_cast<long>(n));
      NetStack::Received r;
      const NetStack::Verdict verdict = h.Input(f, &r, 0);
      ++frames;
      if (verdict == NetStack::Verdict::kDeliver) {
        ++delivered;
        // A cut SCTP packet may still be delivered whole-looking only if
        // the cut is within Ethernet padding; it must lie inside the frame.
        EXPECT_LE(r.payload.data() + r.payload.size(), f.data() + n);
      }
      if (verdict == NetStack::Verdict::kReply) ++replies;
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> f = valid[static_cast<size_t>(i) % valid.size()];
    f.resize(14 + rng() % 120);
    for (size_t k = 14; k < f.size(); ++k) f[k] = static_cast<uint8_t>(rng());
    NetStack::Received r;
    const NetStack::Verdict verdict = h.Input(f, &r);
    ++frames;
    if (verdict == NetStack::Verdict::kDeliver) ++delivered;
    if (verdict == NetStack::Verdict::kReply) ++replies;
  }
  EXPECT_EQ(delivered, 0u) << "no cut or random frame is a valid SCTP packet for us";
  const NetStackStats& s = h.stack.stats();
  EXPECT_EQ(s.l2_frames_in.load(), frames);
  uint64_t counted = 0;
  s.ForEach([&](const char* name, const char*, uint64_t value) {
    const std::string n = name;
    // Everything but the transmit side's counters sorts received frames.
    if (n != "l2_frames_in" && n.find("_sent") == std::string::npos && n.find("tx_") != 0 &&
        n != "frames_built" && n != "neighbors_evicted") {
      counted += value;
    }
  });
  EXPECT_EQ(counted, frames);
  EXPECT_EQ(replies,
            s.arp_requests_answered + s.icmp_echoes_answered + s.nd_solicitations_answered);
}

// Parses a frame BuildFrame wrote with the capture parser and checks its
// checksums.
void ExpectValidSctpFrame(const std::vector<uint8_t>& f, bool v6, bool udp) {
  ParsedFrame parsed;
  ASSERT_TRUE(ParseFrame(LinkType::kEthernet, f, &parsed));
  EXPECT_EQ(parsed.ipv6, v6);
  EXPECT_EQ(parsed.carrier, udp ? ParsedFrame::Carrier::kSctpOverUdp : ParsedFrame::Carrier::kSctp);
  EXPECT_TRUE(parsed.checksum_ok);
  EXPECT_TRUE(ChecksumsOk(f));
}

TEST(NetStackTest, HoldsPacketsUntilTheNeighborAnswers) {
  for (bool v6 : {false, true}) {
    Harness h;
    h.Poll();  // the gratuitous ARP and unsolicited advertisements
    const size_t announced = h.sent.size();
    EXPECT_EQ(announced, 3u);  // ARP, NA for link-local, NA for fd00::1
    h.sent.clear();
    // A DATA chunk with a valid CRC, as the bridge would send it.
    std::vector<uint8_t> sctp = SctpFrame(false, 0, {9, 9, 9, 9});
    sctp.erase(sctp.begin(), sctp.begin() + 34);
    const Endpoint to = Endpoint::Of(Ip(v6 ? "fd00::2" : "10.0.0.2"), 40000);
    std::vector<uint8_t> out(2048);
    EXPECT_EQ(h.stack.BuildFrame(to, sctp, absl::MakeSpan(out), h.now), 0u);
    EXPECT_EQ(h.stack.stats().tx_held.load(), 1u);
    h.Poll();
    ASSERT_EQ(h.sent.size(), 1u);  // the request
    if (v6) {
      EXPECT_EQ(h.sent[0][54], 135);
      EXPECT_TRUE(ChecksumsOk(h.sent[0]));
    } else {
      EXPECT_EQ(h.sent[0][12], 0x08);
      EXPECT_EQ(h.sent[0][13], 0x06);
    }
    // The neighbor answers with a solicitation/ARP request of its own.
    std::vector<uint8_t> answer = v6 ? Solicitation("fd00::1") : ArpRequest("10.0.0.2", "10.0.0.1");
    NetStack::Received r;
    EXPECT_EQ(h.Input(answer, &r), NetStack::Verdict::kReply);
    h.sent.clear();
    h.Poll();
    ASSERT_EQ(h.sent.size(), 1u);  // the held packet
    ExpectValidSctpFrame(h.sent[0], v6, true);
    EXPECT_TRUE(std::equal(kPeerMac.begin(), kPeerMac.end(), h.sent[0].begin()));
    // Now resolved: built at once, native too.
    const size_t n = h.stack.BuildFrame(Endpoint::Of(to.ip(), 0), sctp, absl::MakeSpan(out), h.now);
    ASSERT_GT(n, 0u);
    ExpectValidSctpFrame(std::vector<uint8_t>(out.begin(), out.begin() + static_cast<long>(n)), v6,
                         false);
  }
}

// What is shorter than an SCTP common header is no packet to send (the
// fuzzer's echo of a short native SCTP payload made a 35-byte frame, and
// memcpy from a null span).
TEST(NetStackTest, RefusesToSendLessThanAnSctpHeader) {
  Harness h;
  std::vector<uint8_t> out(2048);
  for (size_t size : {0, 1, 11}) {
    const std::vector<uint8_t> packet(size);
    EXPECT_EQ(
        h.stack.BuildFrame(Endpoint::Of(Ip("10.0.0.2"), 0), packet, absl::MakeSpan(out), h.now),
        0u);
  }
  EXPECT_EQ(h.stack.BuildFrame(Endpoint::Of(Ip("10.0.0.2"), 0), {}, absl::MakeSpan(out), h.now),
            0u);
  EXPECT_EQ(h.stack.stats().tx_not_sctp.load(), 4u);
  EXPECT_EQ(h.stack.stats().tx_held.load(), 0u);
}

TEST(NetStackTest, GivesUpOnSilentNeighbors) {
  Harness h;
  h.Poll();
  h.sent.clear();
  std::vector<uint8_t> out(2048);
  const std::vector<uint8_t> packet(40);
  for (int i = 0; i < 20; ++i) {
    h.stack.BuildFrame(Endpoint::Of(Ip("10.0.0.9"), 9899), packet, absl::MakeSpan(out), h.now);
  }
  EXPECT_EQ(h.stack.stats().tx_held.load(), 16u);
  EXPECT_EQ(h.stack.stats().tx_unresolved_dropped.load(), 4u);
  for (int i = 0; i < 10; ++i) {
    h.Poll();
    h.now += 1000;
  }
  EXPECT_EQ(h.sent.size(), 3u);  // resolve_attempts requests
  EXPECT_EQ(h.stack.stats().tx_unresolved_dropped.load(), 20u);
  EXPECT_EQ(h.stack.neighbor_count(), 0u);
}

TEST(NetStackTest, RoutesOffLinkThroughTheGatewayOrNot) {
  Harness h;
  std::vector<uint8_t> out(2048);
  const std::vector<uint8_t> packet(40);
  EXPECT_EQ(
      h.stack.BuildFrame(Endpoint::Of(Ip("192.0.2.1"), 9899), packet, absl::MakeSpan(out), h.now),
      0u);
  EXPECT_EQ(h.stack.stats().tx_no_route.load(), 1u);
  NetStack::Config c = TestConfig();
  c.ipv4_gateway = Ip("10.0.0.254");
  NetStack routed(c);
  EXPECT_EQ(
      routed.BuildFrame(Endpoint::Of(Ip("192.0.2.1"), 9899), packet, absl::MakeSpan(out), h.now),
      0u);
  EXPECT_EQ(routed.stats().tx_held.load(), 1u);
  std::vector<std::vector<uint8_t>> sent;
  routed.Poll(h.now, [&](absl::Span<const uint8_t> f) { sent.emplace_back(f.begin(), f.end()); });
  ASSERT_EQ(sent.size(), 4u);  // announcements, then the request for the gateway
  EXPECT_EQ(Slice(sent[3], 38, 4), (std::vector<uint8_t>{10, 0, 0, 254}));
}

TEST(NetStackTest, RateLimitsAnswers) {
  NetStack::Config c = TestConfig();
  c.max_replies_per_second = 100;
  NetStack stack(c);
  int answered = 0;
  for (int i = 0; i < 1000; ++i) {
    std::vector<uint8_t> f = ArpRequest("10.0.0.2", "10.0.0.1");
    NetStack::Received r;
    if (stack.Input(f.data(), f.size(), f.size(), 5000, &r) == NetStack::Verdict::kReply) {
      ++answered;
    }
  }
  EXPECT_EQ(answered, 10);  // the burst: a tenth of a second's worth
  EXPECT_EQ(stack.stats().replies_rate_limited.load(), 990u);
}

TEST(NetStackTest, NeighborCacheIsBounded) {
  NetStack::Config c = TestConfig();
  c.addresses = {{Ip("10.0.0.1"), 16}};
  c.max_neighbors = 64;
  NetStack stack(c);
  for (int i = 0; i < 1000; ++i) {
    std::vector<uint8_t> f = ArpRequest("10.0.0.2", "10.0.0.1");
    f[30] = static_cast<uint8_t>(0x10 + (i >> 8));  // sender 10.0.16.0 and on
    f[31] = static_cast<uint8_t>(i);
    NetStack::Received r;
    ASSERT_EQ(stack.Input(f.data(), f.size(), f.size(), 5000, &r), NetStack::Verdict::kReply);
  }
  EXPECT_EQ(stack.neighbor_count(), 64u);
  EXPECT_EQ(stack.stats().neighbors_evicted.load(), 1000u - 64u);
}

// A forged IP packet (our peer's address, another MAC) does not divert what
// we send to the peer.
TEST(NetStackTest, ForgedSourceMacDoesNotPoisonTheCache) {
  Harness h;
  std::vector<uint8_t> f = ArpRequest("10.0.0.2", "10.0.0.1");
  NetStack::Received r;
  ASSERT_EQ(h.Input(f, &r), NetStack::Verdict::kReply);
  f = SctpFrame(false, 40000, {1, 2, 3, 4});
  f[11] = 0x66;  // source MAC 02:00:00:00:00:66
  ASSERT_EQ(h.Input(f, &r), NetStack::Verdict::kDeliver);
  EXPECT_EQ(h.stack.Neighbor(Ip("10.0.0.2")), kPeerMac);
}

// A ping flood uses up the echo budget, not the one ARP and ND answers need.
TEST(NetStackTest, EchoFloodDoesNotStarveArp) {
  NetStack::Config c = TestConfig();
  c.max_replies_per_second = 100;
  c.max_echo_replies_per_second = 100;
  NetStack stack(c);
  int echoes = 0;
  for (int i = 0; i < 1000; ++i) {
    std::vector<uint8_t> f = EchoRequest(false);
    NetStack::Received r;
    if (stack.Input(f.data(), f.size(), f.size(), 5000, &r) == NetStack::Verdict::kReply) ++echoes;
  }
  EXPECT_EQ(echoes, 10);
  std::vector<uint8_t> f = ArpRequest("10.0.0.2", "10.0.0.1");
  NetStack::Received r;
  EXPECT_EQ(stack.Input(f.data(), f.size(), f.size(), 5000, &r), NetStack::Verdict::kReply);
}

// Entries come only from what asks for us from the link: not from an
// off-link sender (it would divert that host's traffic past the gateway),
// not from a reply nobody asked for, not from an ARP probe.
TEST(NetStackTest, LearnsOnlyOnLinkAskers) {
  Harness h;
  NetStack::Received r;
  std::vector<uint8_t> f = ArpRequest("192.0.2.7", "10.0.0.1");
  EXPECT_EQ(h.Input(f, &r), NetStack::Verdict::kReply);  // answered,
  EXPECT_FALSE(h.stack.Neighbor(Ip("192.0.2.7")));       // not learnt
  f = ArpRequest("10.0.0.3", "10.0.0.1");
  f[21] = 2;  // an unsolicited reply
  EXPECT_EQ(h.Input(f, &r), NetStack::Verdict::kDrop);
  EXPECT_FALSE(h.stack.Neighbor(Ip("10.0.0.3")));
  f = ArpRequest("0.0.0.0", "10.0.0.1");  // RFC 5227 probe
  EXPECT_EQ(h.Input(f, &r), NetStack::Verdict::kReply);
  EXPECT_EQ(h.stack.neighbor_count(), 0u);
}

TEST(NetStackTest, DropsImpossibleSources) {
  for (const char* source : {"0.0.0.1", "127.0.0.1", "224.0.0.1", "255.255.255.255", "10.0.0.1"}) {
    Harness h;
    std::vector<uint8_t> f = SctpFrame(false, 40000, {1, 2, 3, 4});
    const IpAddress s = Ip(source);
    memcpy(&f[26], s.bytes.data() + 12, 4);
    f[24] = f[25] = 0;
    const uint16_t sum = static_cast<uint16_t>(~ReferenceSum(Slice(f, 14, 20)));
    f[24] = static_cast<uint8_t>(sum >> 8);
    f[25] = static_cast<uint8_t>(sum);
    NetStack::Received r;
    EXPECT_EQ(h.Input(f, &r), NetStack::Verdict::kDrop) << source;
    EXPECT_EQ(h.stack.stats().ip_martian_source.load(), 1u) << source;
  }
}

// RFC 4861 §7.2.5: an advertisement without the Override flag does not
// replace an address we have; with it, it does.
TEST(NetStackTest, AdvertisementOverridesOnlyWithTheFlag) {
  Harness h;
  std::vector<uint8_t> f = Solicitation("fd00::1");
  NetStack::Received r;
  ASSERT_EQ(h.Input(f, &r), NetStack::Verdict::kReply);  // fd00::2 at kPeerMac
  // fd00::2 advertises itself with another MAC, first without O, then with.
  for (uint8_t flags : {uint8_t{0x40}, uint8_t{0x60}}) {
    f = Solicitation("fd00::1");
    f[54] = 136;
    f[58] = flags;
    const IpAddress target = Ip("fd00::2");
    memcpy(&f[62], target.bytes.data(), 16);
    f[78] = 2;                                       // target link-layer option
    f[85] = 0x77;                                    // MAC 02:00:00:00:00:77
    memcpy(&f[38], Ip("fd00::1").bytes.data(), 16);  // to us
    f[56] = f[57] = 0;
    const uint16_t sum =
        static_cast<uint16_t>(~ReferenceSum(Slice(f, 54, 32), Pseudo(f, true, 58, 32)));
    f[56] = static_cast<uint8_t>(sum >> 8);
    f[57] = static_cast<uint8_t>(sum);
    f[0] = kOurMac[0];
    memcpy(f.data(), kOurMac.data(), 6);
    ASSERT_EQ(h.Input(f, &r), NetStack::Verdict::kDrop);
    EXPECT_EQ((*h.stack.Neighbor(Ip("fd00::2")))[5], flags == 0x40 ? 0x01 : 0x77);
  }
}

TEST(NetStackTest, ChoosesTheSourceWhosePrefixHoldsTheDestination) {
  NetStack::Config c = TestConfig();
  c.addresses.push_back({Ip("2001:db8::1"), 64});
  NetStack stack(c);
  std::vector<uint8_t> f = Solicitation("fd00::1");  // teaches nothing about 2001:db8::5
  std::vector<uint8_t> out(2048);
  stack.BuildFrame(Endpoint::Of(Ip("2001:db8::5"), 9899), std::vector<uint8_t>(40),
                   absl::MakeSpan(out), 1000);
  std::vector<std::vector<uint8_t>> sent;
  stack.Poll(1000, [&](absl::Span<const uint8_t> frame) {
    sent.emplace_back(frame.begin(), frame.end());
  });
  ASSERT_FALSE(sent.empty());
  const std::vector<uint8_t>& ns = sent.back();  // the solicitation for 2001:db8::5
  const IpAddress expected = Ip("2001:db8::1");
  EXPECT_EQ(Slice(ns, 22, 16), std::vector<uint8_t>(expected.bytes.begin(), expected.bytes.end()));
}

TEST(NetStackTest, NeighborsBeingResolvedAreBounded) {
  NetStack::Config c = TestConfig();
  c.max_unresolved = 4;
  NetStack stack(c);
  std::vector<uint8_t> out(2048);
  for (int i = 0; i < 10; ++i) {
    const std::string ip = "10.0.0." + std::to_string(10 + i);
    stack.BuildFrame(Endpoint::Of(Ip(ip.c_str()), 9899), std::vector<uint8_t>(40),
                     absl::MakeSpan(out), 1000);
  }
  EXPECT_EQ(stack.stats().tx_held.load(), 4u);
  EXPECT_EQ(stack.stats().tx_unresolved_dropped.load(), 6u);
}

}  // namespace
}  // namespace rspd::dataplane
