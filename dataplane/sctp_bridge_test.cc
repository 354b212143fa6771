// File: dataplane/sctp_bridge_test.cc
//
// The SCTP bridge against hand-made SCTP packets (RFC 9260): it creates a
// peer only for an INIT with a valid CRC32c, answers out-of-the-blue packets
// statelessly (§8.4), counts associations, reaps peers that have none, keeps
// to its caps, and shuts down cleanly. Associations come up for real: the
// test plays the remote side of the four-way handshake (§5.1) with usrsctp's
// own INIT ACK cookie.

#include "dataplane/sctp_bridge.h"

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/crc32c.h"
#include "gtest/gtest.h"

namespace rspd::dataplane {
namespace {

constexpr uint8_t kData = 0;
constexpr uint8_t kInit = 1;
constexpr uint8_t kInitAck = 2;
constexpr uint8_t kAbort = 6;
constexpr uint8_t kShutdownAck = 8;
constexpr uint8_t kCookieEcho = 10;
constexpr uint8_t kCookieAck = 11;
constexpr uint8_t kShutdownComplete = 14;
constexpr uint16_t kAsapPort = 3863;

void Put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void Put32(std::vector<uint8_t>& b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}
uint32_t Get32(const std::vector<uint8_t>& b, size_t at) {
  return static_cast<uint32_t>(b[at]) << 24 | static_cast<uint32_t>(b[at + 1]) << 16 |
         static_cast<uint32_t>(b[at + 2]) << 8 | b[at + 3];
}

// A packet with the common header and `chunk`, CRC32c filled in.
std::vector<uint8_t> Packet(uint32_t vtag, const std::vector<uint8_t>& chunk,
                            uint16_t dst_port = kAsapPort) {
  std::vector<uint8_t> p;
  Put16(p, 5000);
  Put16(p, dst_port);
  Put32(p, vtag);
  Put32(p, 0);
  p.insert(p.end(), chunk.begin(), chunk.end());
  while (p.size() % 4 != 0) p.push_back(0);
  const uint32_t crc = Crc32c(p);
  memcpy(&p[8], &crc, 4);
  return p;
}

std::vector<uint8_t> Chunk(uint8_t type, uint8_t flags, const std::vector<uint8_t>& value) {
  std::vector<uint8_t> c = {type, flags};
  Put16(c, static_cast<uint16_t>(4 + value.size()));
  c.insert(c.end(), value.begin(), value.end());
  return c;
}

constexpr uint32_t kOurTag = 0x12345678;

std::vector<uint8_t> Init(uint16_t dst_port = kAsapPort) {
  std::vector<uint8_t> v;
  Put32(v, kOurTag);  // initiate tag
  Put32(v, 65536);    // a_rwnd
  Put16(v, 10);       // outbound streams
  Put16(v, 10);       // inbound streams
  Put32(v, 1);        // initial TSN
  return Packet(0, Chunk(kInit, 0, v), dst_port);
}

std::vector<uint8_t> DataChunk(uint32_t tsn) {
  std::vector<uint8_t> v;
  Put32(v, tsn);
  Put16(v, 0);
  Put16(v, 0);
  Put32(v, 11);
  Put32(v, 0x05000004);
  return Chunk(kData, 0x03, v);
}

Endpoint Remote(uint16_t port, uint32_t ip = 0x7f000001) {
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(ip);
  from.sin_port = htons(port);
  return Endpoint::From(reinterpret_cast<sockaddr*>(&from), sizeof(from));
}

// A bridge that records what it sends and the associations that come and go.
class BridgeHarness final : public SctpBridge::Handler {
 public:
  explicit BridgeHarness(SctpBridge::Options options = {}) {
    if (options.listen_ports.empty()) options.listen_ports = {kAsapPort};
    bridge_ = std::make_unique<SctpBridge>(options, this);
  }
  int Output(const Endpoint&, absl::Span<const uint8_t> packet) override {
    sent_.emplace_back(packet.begin(), packet.end());
    return 0;
  }
  void Deliver(const SctpBridge::Delivery&) override {}
  void OnAssociation(SctpBridge::Peer*, uint16_t, uint16_t, SctpBridge::AssocId,
                     SctpBridge::AssocEvent e) override {
    (e == SctpBridge::AssocEvent::kUp ? ups_ : downs_)++;
  }
  SctpBridge& bridge() { return *bridge_; }
  // What the bridge sent since the last call.
  std::vector<std::vector<uint8_t>> TakeSent() { return std::move(sent_); }

  // The first half of the remote's handshake: INIT, and from the INIT ACK
  // the bridge's verification tag and its State Cookie (false if none came).
  bool Init(const Endpoint& from, uint32_t* tag, std::vector<uint8_t>* cookie) {
    TakeSent();
    bridge_->Input(from, ::rspd::dataplane::Init());
    std::vector<std::vector<uint8_t>> sent = TakeSent();
    if (sent.size() != 1 || sent[0].size() < 32 || sent[0][12] != kInitAck) return false;
    const std::vector<uint8_t>& ack = sent[0];
    *tag = Get32(ack, 16);
    // The State Cookie parameter (type 7) among the INIT ACK's parameters.
    for (size_t at = 32; at + 4 <= ack.size();) {
      const uint16_t type = static_cast<uint16_t>(ack[at] << 8 | ack[at + 1]);
      const uint16_t length = static_cast<uint16_t>(ack[at + 2] << 8 | ack[at + 3]);
      if (length < 4) return false;
      if (type == 7) {
        cookie->assign(ack.begin() + at + 4, ack.begin() + at + length);
        return true;
      }
      at += (length + 3u) & ~3u;
    }
    return false;
  }
  // The second half: COOKIE ECHO; true if a COOKIE ACK came back.
  bool EchoCookie(const Endpoint& from, uint32_t tag, const std::vector<uint8_t>& cookie) {
    TakeSent();
    bridge_->Input(from, Packet(tag, Chunk(kCookieEcho, 0, cookie)));
    std::vector<std::vector<uint8_t>> sent = TakeSent();
    return !sent.empty() && sent[0][12] == kCookieAck;
  }
  // Plays the remote's side of the whole handshake from `from`; returns the
  // bridge's verification tag, 0 on failure.
  uint32_t Associate(const Endpoint& from) {
    uint32_t tag = 0;
    std::vector<uint8_t> cookie;
    return Init(from, &tag, &cookie) && EchoCookie(from, tag, cookie) ? tag : 0;
  }

  int ups_ = 0;
  int downs_ = 0;

 private:
  std::vector<std::vector<uint8_t>> sent_;
  std::unique_ptr<SctpBridge> bridge_;
};

TEST(SctpBridgeTest, AnswersAnInitAndShutsDownWithRegisteredRemotes) {
  for (int round = 0; round < 2; ++round) {
    BridgeHarness h;
    h.bridge().Input(Remote(40000), Init());
    std::vector<std::vector<uint8_t>> sent = h.TakeSent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0][12], kInitAck);
    // The bridge computes the CRC32c of what it sends (usrsctp's is off).
    uint32_t stored;
    memcpy(&stored, &sent[0][8], 4);
    EXPECT_EQ(stored, SctpChecksum(sent[0]));
    EXPECT_EQ(h.bridge().peer_count(), 1u);
    // No association exists (the cookie holds the state), so usrsctp_finish
    // succeeds and frees everything; the second round proves the bridge left
    // the stack alone afterwards and a new one starts cleanly.
  }
}

// RFC 9260 §6.8: a bad checksum is discarded; no state for what is not SCTP.
TEST(SctpBridgeTest, JunkAndBadChecksumsCreateNoPeer) {
  BridgeHarness h;
  for (uint16_t port = 1; port <= 2000; ++port) {
    std::vector<uint8_t> junk(16 + port % 100, static_cast<uint8_t>(port));
    h.bridge().Input(Remote(port), junk);
  }
  std::vector<uint8_t> init = Init();
  init[20] ^= 1;  // a bit flipped after the checksum was computed
  h.bridge().Input(Remote(40000), init);
  h.bridge().Input(Remote(40001), {1, 2, 3});
  EXPECT_EQ(h.bridge().peer_count(), 0u);
  EXPECT_TRUE(h.TakeSent().empty());
  EXPECT_EQ(h.bridge().stats().sctp_not_sctp.load(), 2002u);
  EXPECT_EQ(h.bridge().stats().sctp_packets_in.load(), 0u);
}

// RFC 9260 §8.4 rule 8: an out-of-the-blue DATA gets an ABORT with the T
// bit and the packet's own tag, and the bridge keeps no state for it.
TEST(SctpBridgeTest, OutOfTheBlueGetsAStatelessAbort) {
  BridgeHarness h;
  h.bridge().Input(Remote(40000), Packet(0xcafe0001, DataChunk(7)));
  std::vector<std::vector<uint8_t>> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const std::vector<uint8_t>& abort = sent[0];
  ASSERT_EQ(abort.size(), 16u);
  EXPECT_EQ(Get32(abort, 4), 0xcafe0001u);
  EXPECT_EQ(abort[0] << 8 | abort[1], kAsapPort);  // ports swapped
  EXPECT_EQ(abort[2] << 8 | abort[3], 5000);
  EXPECT_EQ(abort[12], kAbort);
  EXPECT_EQ(abort[13], 0x01);  // T bit
  uint32_t stored;
  memcpy(&stored, &abort[8], 4);
  EXPECT_EQ(stored, SctpChecksum(abort));
  EXPECT_EQ(h.bridge().peer_count(), 0u);
  // Rule 5: SHUTDOWN ACK gets SHUTDOWN COMPLETE. Rules 2 and 3: an ABORT and
  // a COOKIE ECHO get nothing.
  h.bridge().Input(Remote(40001), Packet(0xcafe0002, Chunk(kShutdownAck, 0, {})));
  h.bridge().Input(Remote(40002), Packet(0xcafe0003, Chunk(kAbort, 0, {})));
  h.bridge().Input(Remote(40003), Packet(0xcafe0004, Chunk(kCookieEcho, 0, {1, 2, 3, 4})));
  sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0][12], kShutdownComplete);
  EXPECT_EQ(h.bridge().stats().sctp_out_of_the_blue.load(), 4u);
  EXPECT_EQ(h.bridge().peer_count(), 0u);
}

TEST(SctpBridgeTest, OutOfTheBlueAnswersAreRateLimited) {
  SctpBridge::Options options;
  options.max_oob_answers_per_second = 100;
  BridgeHarness h(options);  // starts with a full bucket
  for (uint16_t port = 1; port <= 1000; ++port) {
    h.bridge().Input(Remote(port), Packet(port, DataChunk(port)));
  }
  EXPECT_EQ(h.TakeSent().size(), 100u);
  EXPECT_EQ(h.bridge().stats().sctp_oob_answers_limited.load(), 900u);
  h.bridge().AdvanceTimers(100);  // a tenth of a second refills ten
  for (uint16_t port = 1; port <= 50; ++port) {
    h.bridge().Input(Remote(port), Packet(port, DataChunk(port)));
  }
  EXPECT_EQ(h.TakeSent().size(), 10u);
}

TEST(SctpBridgeTest, NewPeersAreRateLimitedPerAddress) {
  SctpBridge::Options options;
  options.max_inits_per_address_per_second = 10;
  BridgeHarness h(options);
  for (uint16_t port = 1; port <= 50; ++port) h.bridge().Input(Remote(port), Init());
  EXPECT_EQ(h.bridge().peer_count(), 10u);
  EXPECT_EQ(h.bridge().stats().sctp_inits_rate_limited.load(), 40u);
  // Another address has a budget of its own; a second refills this one's.
  h.bridge().Input(Remote(1, 0x7f000002), Init());
  EXPECT_EQ(h.bridge().peer_count(), 11u);
  h.bridge().AdvanceTimers(1000);
  for (uint16_t port = 100; port < 120; ++port) h.bridge().Input(Remote(port), Init());
  EXPECT_EQ(h.bridge().stats().sctp_inits_rate_limited.load(), 50u);
}

TEST(SctpBridgeTest, AHalfOpenPeerIsReapedAfterTheIdleTimeout) {
  SctpBridge::Options options;
  options.peer_idle_timeout_ms = 3000;
  BridgeHarness h(options);
  h.bridge().Input(Remote(40000), Init());
  EXPECT_EQ(h.bridge().peer_count(), 1u);
  h.bridge().AdvanceTimers(2000);
  EXPECT_EQ(h.bridge().peer_count(), 1u);
  h.bridge().AdvanceTimers(1500);
  EXPECT_EQ(h.bridge().peer_count(), 0u);
  EXPECT_EQ(h.bridge().stats().sctp_peers_reaped.load(), 1u);
  // A reaped remote starts afresh with its next INIT.
  EXPECT_NE(h.Associate(Remote(40000)), 0u);
  EXPECT_EQ(h.bridge().peer_count(), 1u);
}

TEST(SctpBridgeTest, APeerGoesSoonAfterItsLastAssociationEnds) {
  SctpBridge::Options options;
  options.peer_idle_timeout_ms = 60000;
  BridgeHarness h(options);
  const uint32_t tag = h.Associate(Remote(40000));
  ASSERT_NE(tag, 0u);
  EXPECT_EQ(h.ups_, 1);
  EXPECT_EQ(h.bridge().association_count(), 1u);
  // A live association keeps its peer however long it is silent.
  for (int i = 0; i < 20; ++i) h.bridge().AdvanceTimers(1000);
  EXPECT_EQ(h.bridge().peer_count(), 1u);
  // The remote aborts: the association is gone, and its peer with it.
  h.bridge().Input(Remote(40000), Packet(tag, Chunk(kAbort, 0, {})));
  EXPECT_EQ(h.downs_, 1);
  EXPECT_EQ(h.bridge().association_count(), 0u);
  h.bridge().AdvanceTimers(1500);
  EXPECT_EQ(h.bridge().peer_count(), 0u);
}

// One fragment of a user message (RFC 9260 §3.3.1): B and E flags, the
// association's TSN sequence starting at the INIT's initial TSN (1).
std::vector<uint8_t> Fragment(uint32_t tsn, bool begin, bool end, size_t bytes) {
  std::vector<uint8_t> v;
  Put32(v, tsn);
  Put16(v, 0);  // stream
  Put16(v, 0);  // stream sequence number
  Put32(v, 11);
  v.resize(v.size() + bytes, 0x5a);
  return Chunk(kData, static_cast<uint8_t>((begin ? 0x02 : 0) | (end ? 0x01 : 0)), v);
}

TEST(SctpBridgeTest, AMessageLargerThanTheLimitAbortsItsAssociation) {
  SctpBridge::Options options;
  options.max_message_size = 4096;
  BridgeHarness h(options);
  const uint32_t tag = h.Associate(Remote(40000));
  ASSERT_NE(tag, 0u);
  // A message that never ends: the start, then middle pieces, until usrsctp
  // hands the bridge the first part (its partial delivery point).
  h.bridge().Input(Remote(40000), Packet(tag, Fragment(1, true, false, 1200)));
  for (uint32_t tsn = 2; tsn <= 400 && h.bridge().association_count() > 0; ++tsn) {
    h.bridge().Input(Remote(40000), Packet(tag, Fragment(tsn, false, false, 1200)));
  }
  EXPECT_EQ(h.bridge().association_count(), 0u);
  EXPECT_EQ(h.bridge().stats().sctp_messages_too_large.load(), 1u);
  EXPECT_EQ(h.downs_, 1);
  EXPECT_EQ(h.bridge().stats().sctp_messages_in.load(), 0u);
}

TEST(SctpBridgeTest, AnAssociationComingUpPastTheCapIsAborted) {
  SctpBridge::Options options;
  options.max_associations = 1;
  BridgeHarness h(options);
  uint32_t tag_a = 0, tag_b = 0;
  std::vector<uint8_t> cookie_a, cookie_b;
  // Both INITs arrive while there is room; the second handshake completes
  // after the first association took it.
  ASSERT_TRUE(h.Init(Remote(1), &tag_a, &cookie_a));
  ASSERT_TRUE(h.Init(Remote(2), &tag_b, &cookie_b));
  ASSERT_TRUE(h.EchoCookie(Remote(1), tag_a, cookie_a));
  h.TakeSent();
  h.bridge().Input(Remote(2), Packet(tag_b, Chunk(kCookieEcho, 0, cookie_b)));
  bool aborted = false;
  for (const auto& packet : h.TakeSent()) aborted |= packet.size() > 12 && packet[12] == kAbort;
  EXPECT_TRUE(aborted);
  EXPECT_EQ(h.bridge().association_count(), 1u);
  EXPECT_EQ(h.bridge().stats().sctp_associations_aborted.load(), 1u);
  EXPECT_EQ(h.ups_, 1);
}

TEST(SctpBridgeTest, AtThePeerCapTheOldestHalfOpenPeerMakesRoom) {
  SctpBridge::Options options;
  options.max_peers = 3;
  BridgeHarness h(options);
  ASSERT_NE(h.Associate(Remote(1)), 0u);
  ASSERT_NE(h.Associate(Remote(2)), 0u);
  h.bridge().Input(Remote(3), Init());  // half open
  h.bridge().Input(Remote(4), Init());  // takes its place
  EXPECT_EQ(h.bridge().peer_count(), 3u);
  EXPECT_EQ(h.bridge().stats().sctp_peers_evicted.load(), 1u);
  EXPECT_EQ(h.bridge().Find(Remote(3)), nullptr);
  EXPECT_NE(h.bridge().Find(Remote(4)), nullptr);
  // With every peer holding an association, a new remote is refused.
  ASSERT_NE(h.Associate(Remote(4)), 0u);
  h.TakeSent();
  h.bridge().Input(Remote(5), Init());
  EXPECT_TRUE(h.TakeSent().empty());
  EXPECT_EQ(h.bridge().stats().sctp_peers_refused.load(), 1u);
  EXPECT_EQ(h.bridge().association_count(), 3u);
}

TEST(SctpBridgeTest, InitsBeyondTheAssociationCapAreRefused) {
  SctpBridge::Options options;
  options.max_associations = 2;
  BridgeHarness h(options);
  ASSERT_NE(h.Associate(Remote(1)), 0u);
  ASSERT_NE(h.Associate(Remote(2)), 0u);
  EXPECT_EQ(h.Associate(Remote(3)), 0u);
  EXPECT_EQ(h.bridge().association_count(), 2u);
  EXPECT_EQ(h.bridge().peer_count(), 2u);
  EXPECT_GE(h.bridge().stats().sctp_associations_refused.load(), 1u);
}

}  // namespace
}  // namespace rspd::dataplane
