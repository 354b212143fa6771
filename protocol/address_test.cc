#include "protocol/address.h"

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"

namespace rspd::protocol {
namespace {

constexpr uint8_t kV6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};

// RFC 4291 §2.5.5.2: IPv4 is held in the IPv4-mapped form.
TEST(IpAddressTest, Ipv4IsHeldMapped) {
  const IpAddress a = IpAddress::V4(0x0a000001);
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.v4(), 0x0a000001u);
  EXPECT_EQ(a.bytes[10], 0xff);
  EXPECT_EQ(a.bytes[11], 0xff);
  EXPECT_FALSE(IpAddress::V6(kV6).is_v4());
  EXPECT_NE(IpAddress::V6(kV6), a);
}

TEST(IpAddressTest, ParsesBothFamiliesAndPrintsThemBack) {
  EXPECT_EQ(IpAddress::Parse("10.0.0.1"), IpAddress::V4(0x0a000001));
  EXPECT_EQ(IpAddress::Parse("2001:db8::42"), IpAddress::V6(kV6));
  EXPECT_EQ(IpAddress::Parse("::ffff:10.0.0.1"), IpAddress::V4(0x0a000001));
  EXPECT_EQ(IpAddress::Parse("registrar.example"), std::nullopt);
  EXPECT_EQ(IpAddress::Parse(""), std::nullopt);
  EXPECT_EQ(IpAddress::V4(0x0a000001).ToString(), "10.0.0.1");
  EXPECT_EQ(IpAddress::V6(kV6).ToString(), "2001:db8::42");
}

// RFC 3986 §3.2.2: an IPv6 literal is bracketed before its port; nothing
// else is.
TEST(HostPortTest, JoinBracketsIpv6Only) {
  EXPECT_EQ(JoinHostPort("127.0.0.1", 7600), "127.0.0.1:7600");
  EXPECT_EQ(JoinHostPort("::1", 7600), "[::1]:7600");
  EXPECT_EQ(JoinHostPort(IpAddress::V4(0x0a000001), 9899), "10.0.0.1:9899");
  EXPECT_EQ(JoinHostPort(IpAddress::V6(kV6), 3863), "[2001:db8::42]:3863");
}

TEST(HostPortTest, SplitIsTheInverseOfJoin) {
  for (const char* text : {"127.0.0.1:7600", "[::1]:7600", "[2001:db8::42]:3863"}) {
    absl::StatusOr<HostPort> split = SplitHostPort(text);
    ASSERT_TRUE(split.ok()) << text;
    uint32_t port = 0;
    ASSERT_TRUE(absl::SimpleAtoi(split->port, &port)) << text;
    EXPECT_EQ(JoinHostPort(split->host, static_cast<uint16_t>(port)), text);
  }
}

TEST(HostPortTest, SplitWithoutPort) {
  for (const char* text : {"127.0.0.1", "::1", "[::1]", "2001:db8::42"}) {
    absl::StatusOr<HostPort> split = SplitHostPort(text);
    ASSERT_TRUE(split.ok()) << text;
    EXPECT_TRUE(split->port.empty()) << text;
    EXPECT_EQ(split->host.find('['), std::string::npos) << text;
  }
}

TEST(HostPortTest, SplitRejectsMalformedBracketsAndEmptyPorts) {
  for (const char* text : {"[::1", "[::1]x", "[::1]:", "127.0.0.1:"}) {
    EXPECT_EQ(SplitHostPort(text).status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

}  // namespace
}  // namespace rspd::protocol
