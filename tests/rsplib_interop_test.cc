// Interoperability with RSPLIB, the RSerPool reference implementation: its own
// message parser must accept one of every ASAP and ENRP message rspd
// encodes, and reject broken ones (so that the check can fail).

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocol/testing/samples.h"
#include "tests/rsplib_parser.h"

namespace rspd {
namespace {

// RSPLIB's verdict: 0 = scanned without fault (see rsplib_parser.h).
unsigned int ParseWithRsplib(const std::vector<uint8_t>& bytes, protocol::Protocol protocol) {
  std::vector<char> copy(bytes.begin(), bytes.end());  // RSPLIB parses in place
  RSerPoolMessage* message = nullptr;
  unsigned int result = rserpoolPacket2Message(
      copy.data(), nullptr, 0,
      protocol == protocol::Protocol::kAsap ? protocol::kAsapPpid : protocol::kEnrpPpid,
      copy.size(), copy.size(), &message);
  if (message == nullptr) return result == 0 ? 0xffff : result;
  unsigned int error = message->error;
  rserpoolMessageDelete(message);
  return result != 0 ? result : error;
}

// What RSPLIB reports for a well-formed message: the first cause of its
// Operation Error, if it has one.
unsigned int ExpectedVerdict(const protocol::testing::Sample& s) {
  protocol::Message m;
  protocol::DecodeError error;
  EXPECT_TRUE(protocol::DecodeMessage(s.protocol, s.bytes, &m, &error));
  return m.has_error ? static_cast<unsigned int>(m.error_causes.front().code) : 0;
}

// What RSPLIB 3.4.4 does not take (docs/decisions.md, "RSPLIB interop"):
// user transports other than SCTP, TCP and UDP; TCP transports in
// SERVER_ANNOUNCE; BUSINESS_CARD; cookies whose length is not a multiple of 4
// (its parser does not skip the cookie's padding).
bool RsplibRejects(const std::string& name) {
  for (const char* known :
       {"asap_registration_udplite", "asap_registration_dccp", "asap_registration_opaque",
        "asap_server_announce", "asap_business_card", "asap_cookie", "asap_cookie_echo"}) {
    if (name == known) return true;
  }
  return false;
}

TEST(RsplibInteropTest, RsplibParsesEveryMessageWeSend) {
  std::vector<protocol::testing::Sample> samples = protocol::testing::AllSamples();
  ASSERT_GE(samples.size(), 50u);
  int accepted = 0;
  for (const protocol::testing::Sample& s : samples) {
    if (RsplibRejects(s.name)) {
      EXPECT_NE(ParseWithRsplib(s.bytes, s.protocol), 0u) << s.name << ": RSPLIB takes it now";
      continue;
    }
    EXPECT_EQ(ParseWithRsplib(s.bytes, s.protocol), ExpectedVerdict(s)) << s.name;
    ++accepted;
  }
  EXPECT_EQ(accepted, static_cast<int>(samples.size()) - 7);
  EXPECT_EQ(
      ParseWithRsplib(protocol::testing::HandleResolutionResponse(32), protocol::Protocol::kAsap),
      0u);
  EXPECT_EQ(
      ParseWithRsplib(protocol::testing::HandleTableResponse(4, 32), protocol::Protocol::kEnrp),
      0u);
}

TEST(RsplibInteropTest, CookiesPaddedToFourBytesPass) {
  protocol::Message m;
  m.type = static_cast<uint8_t>(protocol::AsapType::kCookie);
  m.has_cookie = true;
  const uint8_t cookie[12] = {'t', 'w', 'e', 'l', 'v', 'e', '-', 'b', 'y', 't', 'e', 's'};
  m.cookie = cookie;
  std::vector<uint8_t> bytes(64);
  bytes.resize(protocol::EncodeMessage(m, absl::MakeSpan(bytes)));
  EXPECT_EQ(ParseWithRsplib(bytes, protocol::Protocol::kAsap), 0u);
}

TEST(RsplibInteropTest, RsplibRejectsBrokenMessages) {
  std::vector<uint8_t> bytes = protocol::testing::HandleResolutionResponse(3);
  std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + 40);
  EXPECT_NE(ParseWithRsplib(truncated, protocol::Protocol::kAsap), 0u);
  std::vector<uint8_t> bad_length = bytes;
  bad_length[3] = 0xff;  // message length beyond the data
  EXPECT_NE(ParseWithRsplib(bad_length, protocol::Protocol::kAsap), 0u);
}

}  // namespace
}  // namespace rspd
