// File: dataplane/net/endpoint_test.cc
//
// Socket addresses from and to text and the wire's IP addresses (RFC 5354
// §3.1, §3.2), and the lookups on this host's interfaces.

#include "dataplane/net/endpoint.h"

#include <arpa/inet.h>

#include "gtest/gtest.h"

namespace rspd::dataplane {
namespace {

TEST(EndpointTest, ParsesLiteralAddressesOnly) {
  std::optional<Endpoint> v4 = Endpoint::Parse("10.0.0.1", 9899);
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->length, sizeof(sockaddr_in));
  EXPECT_EQ(v4->port(), 9899);
  EXPECT_EQ(v4->ToString(), "10.0.0.1:9899");
  std::optional<Endpoint> v6 = Endpoint::Parse("2001:db8::1", 5);
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(v6->length, sizeof(sockaddr_in6));
  EXPECT_EQ(v6->ToString(), "[2001:db8::1]:5");
  EXPECT_EQ(v6->HostString(), "2001:db8::1");
  EXPECT_FALSE(Endpoint::Parse("localhost", 1).has_value());
  EXPECT_FALSE(Endpoint::Parse("[::1]", 1).has_value());
  EXPECT_FALSE(Endpoint::Parse("", 1).has_value());
}

TEST(EndpointTest, ConvertsToAndFromWireAddresses) {
  const protocol::IpAddress v4 = protocol::IpAddress::V4(0x0a000001);
  Endpoint e = Endpoint::Of(v4, 7000);
  EXPECT_EQ(e.ToString(), "10.0.0.1:7000");
  EXPECT_EQ(e.ip(), v4);
  const uint8_t bytes[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  const protocol::IpAddress v6 = protocol::IpAddress::V6(bytes);
  e = Endpoint::Of(v6, 1);
  EXPECT_EQ(e.ToString(), "[2001:db8::2]:1");
  EXPECT_EQ(e.ip(), v6);
  const Endpoint copy = Endpoint::From(e.as_sockaddr(), e.length);
  EXPECT_EQ(copy.ToString(), "[2001:db8::2]:1");
}

TEST(EndpointTest, TellsWildcardAndMulticast) {
  EXPECT_TRUE(Endpoint::Parse("0.0.0.0", 0)->IsWildcard());
  EXPECT_TRUE(Endpoint::Parse("::", 0)->IsWildcard());
  EXPECT_FALSE(Endpoint::Parse("127.0.0.1", 0)->IsWildcard());
  // RFC 5352 §8.4: the announce groups.
  EXPECT_TRUE(Endpoint::Parse("224.0.1.185", 0)->IsMulticast());
  EXPECT_TRUE(Endpoint::Parse("ff05::133", 0)->IsMulticast());
  EXPECT_FALSE(Endpoint::Parse("10.0.0.1", 0)->IsMulticast());
  EXPECT_FALSE(Endpoint::Parse("2001:db8::1", 0)->IsMulticast());
}

TEST(EndpointTest, FindsTheLoopbackInterface) {
  const std::optional<unsigned> lo = InterfaceIndexOf(*Endpoint::Parse("127.0.0.1", 0));
  ASSERT_TRUE(lo.has_value());
  EXPECT_GT(*lo, 0u);
  EXPECT_EQ(InterfaceIndexOf(*Endpoint::Parse("0.0.0.0", 0)), 0u);
  // 192.0.2.0/24 is documentation only (RFC 5737): no interface holds it.
  EXPECT_FALSE(InterfaceIndexOf(*Endpoint::Parse("192.0.2.77", 0)).has_value());
}

TEST(EndpointTest, FindsTheLocalAddressTowardARemote) {
  absl::StatusOr<Endpoint> local = LocalEndpointToward(*Endpoint::Parse("127.0.0.1", 9899));
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(local->ToString(), "127.0.0.1:0");
}

}  // namespace
}  // namespace rspd::dataplane
