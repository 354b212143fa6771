#include "dataplane/frames.h"

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace rspd::dataplane {
namespace {

TEST(Crc32cTest, MatchesTheRfc3720TestVector) {
  // RFC 3720 §B.4: 32 bytes of zeros -> 0x8a9136aa.
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(Crc32c(zeros), 0x8a9136aau);
  std::string digits = "123456789";
  EXPECT_EQ(Crc32c(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(digits.data()), 9)),
            0xe3069283u);
}

TEST(FramesTest, SctpOverUdpRoundTrip) {
  FrameSpec spec;
  spec.ppid = 12;
  spec.sctp_dst_port = 9901;
  const std::vector<uint8_t> payload = {1, 2, 3, 4, 5};
  std::vector<uint8_t> frame = BuildSctpDataFrame(spec, payload);
  ParsedFrame parsed;
  ASSERT_TRUE(ParseFrame(LinkType::kEthernet, frame, &parsed));
  EXPECT_EQ(parsed.carrier, ParsedFrame::Carrier::kSctpOverUdp);
  EXPECT_TRUE(parsed.checksum_ok);
  EXPECT_EQ(parsed.dst_port, 9901);
  ASSERT_EQ(parsed.chunks.size(), 1u);
  EXPECT_EQ(parsed.chunks[0].ppid, 12u);
  EXPECT_EQ(std::vector<uint8_t>(parsed.chunks[0].payload.begin(), parsed.chunks[0].payload.end()),
            payload);
  frame[frame.size() - 4] ^= 1;  // corrupt the payload: the CRC32c no longer matches
  ASSERT_TRUE(ParseFrame(LinkType::kEthernet, frame, &parsed));
  EXPECT_FALSE(parsed.checksum_ok);
}

TEST(FramesTest, NativeSctpOverIpv6AndPlainUdp) {
  FrameSpec spec;
  spec.ipv6 = true;
  spec.udp_encapsulation = false;
  uint8_t v6[16] = {};
  v6[15] = 1;
  memcpy(spec.src_ip, v6, 16);
  memcpy(spec.dst_ip, v6, 16);
  ParsedFrame parsed;
  ASSERT_TRUE(ParseFrame(LinkType::kEthernet, BuildSctpDataFrame(spec, {{9, 9}}), &parsed));
  EXPECT_EQ(parsed.carrier, ParsedFrame::Carrier::kSctp);
  EXPECT_TRUE(parsed.ipv6);
  EXPECT_TRUE(parsed.checksum_ok);

  FrameSpec udp;
  udp.udp_src_port = 40000;
  udp.udp_dst_port = 3863;
  ASSERT_TRUE(ParseFrame(LinkType::kEthernet, BuildUdpFrame(udp, {{7, 7, 7}}), &parsed));
  EXPECT_EQ(parsed.carrier, ParsedFrame::Carrier::kUdp);
  EXPECT_EQ(parsed.dst_port, 3863);
  EXPECT_EQ(parsed.chunks.at(0).payload.size(), 3u);
}

TEST(FramesTest, TruncatedFramesAreRejectedWithoutOverreading) {
  FrameSpec spec;
  std::vector<uint8_t> frame = BuildSctpDataFrame(spec, {{1, 2, 3, 4}});
  for (size_t size = 0; size < frame.size(); ++size) {
    std::vector<uint8_t> cut(frame.begin(), frame.begin() + size);  // exact-size heap copy
    ParsedFrame parsed;
    bool ok = ParseFrame(LinkType::kEthernet, cut, &parsed);
    EXPECT_FALSE(ok) << size;
    if (ok) {
      for (const ParsedChunk& c : parsed.chunks) {
        EXPECT_LE(c.payload.data() + c.payload.size(), cut.data() + cut.size());
      }
    }
  }
}

}  // namespace
}  // namespace rspd::dataplane
