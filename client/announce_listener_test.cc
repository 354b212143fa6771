// File: client/announce_listener_test.cc
//
// `--announce_group` parsing for IPv4 and IPv6 groups (RFC 5352 §8.4:
// 224.0.1.185 and FF0X::133). Hearing announces is tested in a network
// namespace by tests/announce_netns_test.sh.

#include "client/announce_listener.h"

#include "gtest/gtest.h"

namespace rspd::client {
namespace {

TEST(AnnounceGroupTest, ParsesIpv4GroupsWithAndWithoutPort) {
  absl::StatusOr<AnnounceGroup> g = ParseAnnounceGroup("224.0.1.185");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->address, "224.0.1.185");
  EXPECT_EQ(g->port, 3863);
  g = ParseAnnounceGroup("239.0.0.50:4000");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->address, "239.0.0.50");
  EXPECT_EQ(g->port, 4000);
}

TEST(AnnounceGroupTest, ParsesIpv6GroupsBracketedOrBare) {
  absl::StatusOr<AnnounceGroup> g = ParseAnnounceGroup("[ff05::133]:3864");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->address, "ff05::133");
  EXPECT_EQ(g->port, 3864);
  g = ParseAnnounceGroup("[ff02::133]");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->address, "ff02::133");
  EXPECT_EQ(g->port, 3863);
  // Without brackets every colon belongs to the address.
  g = ParseAnnounceGroup("ff05::133:3864");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->address, "ff05::133:3864");
  EXPECT_EQ(g->port, 3863);
}

TEST(AnnounceGroupTest, RejectsUnicastGroupsAndBadPorts) {
  for (const char* bad :
       {"127.0.0.1", "::1", "[::1]:3863", "224.0.1.185:0", "224.0.1.185:65536",
        "224.0.1.185:", "[ff05::133]:", "[ff05::133", "[ff05::133]3863", "[ff05::133]:x", ""}) {
    EXPECT_EQ(ParseAnnounceGroup(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(AnnounceListenerTest, RejectsAnInterfaceAddressNoInterfaceHolds) {
  // 2001:db8::/32 is the documentation prefix (RFC 3849): never configured here.
  auto listener =
      AnnounceListener::Start("ff05::133", 0, "2001:db8::1", 9899, [](const RegistrarAddress&) {});
  EXPECT_EQ(listener.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rspd::client
