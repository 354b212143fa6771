// File: dataplane/sctp_bridge_test.cc
//
// The SCTP bridge's lifecycle: a bridge answers an INIT from a new remote
// (registering that remote with usrsctp), shuts down cleanly when it is
// destroyed with the remote still registered, and a new bridge then works
// again on a freshly initialized stack.

#include "dataplane/sctp_bridge.h"

#include <arpa/inet.h>
#include <usrsctp.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace rspd::dataplane {
namespace {

constexpr uint8_t kInitChunk = 1;
constexpr uint8_t kInitAckChunk = 2;

// An SCTP packet with one INIT chunk (RFC 4960 §3.3.2) to port 3863, with a
// zero checksum: the test turns CRC32c checking off (offload).
std::vector<uint8_t> InitPacket() {
  return {
      0x13,       0x88, 0x0f, 0x17,  // source port 5000, destination port 3863
      0x00,       0x00, 0x00, 0x00,  // verification tag 0 (INIT)
      0x00,       0x00, 0x00, 0x00,  // checksum
      kInitChunk, 0x00, 0x00, 0x14,  // INIT, flags 0, length 20
      0x12,       0x34, 0x56, 0x78,  // initiate tag
      0x00,       0x01, 0x00, 0x00,  // a_rwnd 65536
      0x00,       0x0a, 0x00, 0x0a,  // 10 outbound, 10 inbound streams
      0x00,       0x00, 0x00, 0x01,  // initial TSN
  };
}

Endpoint Remote() {
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(0x7f000001);
  from.sin_port = htons(40000);
  return Endpoint::From(reinterpret_cast<sockaddr*>(&from), sizeof(from));
}

// Feeds an INIT to a new bridge and returns the chunk types it answered with.
std::vector<uint8_t> AnswerToInit(std::unique_ptr<SctpBridge>* bridge) {
  auto answers = std::make_shared<std::vector<uint8_t>>();
  SctpBridge::Options options;
  options.listen_ports = {3863};
  *bridge = std::make_unique<SctpBridge>(
      options,
      [answers](const Endpoint&, absl::Span<const uint8_t> packet) {
        if (packet.size() > 12) answers->push_back(packet[12]);
        return 0;
      },
      [](const SctpBridge::Delivery&) {},
      [](SctpBridge::Peer*, uint16_t, SctpBridge::AssocId, SctpBridge::AssocEvent) {});
  usrsctp_enable_crc32c_offload();  // after the bridge's usrsctp_init, which resets it
  (*bridge)->Input(Remote(), InitPacket());
  return *answers;
}

TEST(SctpBridgeTest, SurvivesShutdownWithRegisteredRemotesAndStartsAgain) {
  std::unique_ptr<SctpBridge> bridge;
  EXPECT_EQ(AnswerToInit(&bridge), std::vector<uint8_t>{kInitAckChunk});
  EXPECT_EQ(bridge->peer_count(), 1u);
  // No association exists (the INIT-ACK's cookie holds the state), so
  // usrsctp_finish succeeds and frees everything: the bridge must not touch
  // the stack afterwards (it once deregistered its remotes there).
  bridge.reset();
  EXPECT_EQ(AnswerToInit(&bridge), std::vector<uint8_t>{kInitAckChunk});
  bridge.reset();
}

}  // namespace
}  // namespace rspd::dataplane
