// File: control/announcer_test.cc
//
// ASAP_SERVER_ANNOUNCE contents and the announcer's on/off decisions that do
// not depend on the host's multicast routes (RFC 5352 §2.2.10, §3.6, §8.4).
// Sending and hearing announces over IPv4 and IPv6 is tested in a network
// namespace by tests/announce_netns_test.sh.

#include "control/announcer.h"

#include <arpa/inet.h>

#include "gtest/gtest.h"
#include "protocol/codec.h"

namespace rspd::control {
namespace {

protocol::Message Decode(const std::vector<uint8_t>& bytes) {
  protocol::Message m;
  protocol::DecodeError error;
  EXPECT_TRUE(
      protocol::DecodeMessage(protocol::Protocol::kAsap, absl::MakeConstSpan(bytes), &m, &error));
  return m;
}

// RFC 5352 §2.2.10 with RFC 5354 §3.2: a registrar bound to an IPv6 address
// announces it as an IPv6 Address parameter in its SCTP Transport.
TEST(ServerAnnounceTest, CarriesTheIpv6BindAddress) {
  RegistrarConfig config;
  config.server_id = 0xa1;
  config.bind_address = "::1";
  config.asap_port = 3865;
  absl::StatusOr<std::vector<uint8_t>> bytes = EncodeServerAnnounce(config);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  protocol::Message m = Decode(*bytes);
  EXPECT_EQ(m.type, static_cast<uint8_t>(protocol::AsapType::kServerAnnounce));
  EXPECT_EQ(m.server_id, 0xa1u);
  ASSERT_EQ(m.transports.size(), 1u);
  const protocol::TransportView t = m.transports.front();
  EXPECT_EQ(t.type, protocol::ParamType::kSctpTransport);
  EXPECT_EQ(t.port, 3865);
  ASSERT_EQ(t.addresses.size(), 1u);
  uint8_t loopback[16];
  ASSERT_EQ(inet_pton(AF_INET6, "::1", loopback), 1);
  EXPECT_EQ(t.addresses.front(), protocol::IpAddress::V6(loopback));
}

TEST(ServerAnnounceTest, CarriesTheIpv4BindAddress) {
  RegistrarConfig config;
  config.bind_address = "127.0.0.1";
  absl::StatusOr<std::vector<uint8_t>> bytes = EncodeServerAnnounce(config);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  protocol::Message m = Decode(*bytes);
  ASSERT_EQ(m.transports.size(), 1u);
  const protocol::TransportView t = m.transports.front();
  ASSERT_EQ(t.addresses.size(), 1u);
  EXPECT_EQ(t.addresses.front(), protocol::IpAddress::V4(0x7f000001));
}

// RFC 5352 §3.6: without transport parameters receivers use the source
// address and the IANA port, which is what a wildcard-bound registrar wants.
TEST(ServerAnnounceTest, WildcardBindAddressesSendNoTransport) {
  for (const char* wildcard : {"0.0.0.0", "::"}) {
    RegistrarConfig config;
    config.bind_address = wildcard;
    absl::StatusOr<std::vector<uint8_t>> bytes = EncodeServerAnnounce(config);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_EQ(Decode(*bytes).transports.size(), 0u) << wildcard;
  }
}

TEST(ServerAnnouncerTest, RejectsGroupsThatAreNotMulticast) {
  for (const char* group : {"::1", "127.0.0.1", "fe80::1"}) {
    RegistrarConfig config;
    config.bind_address = "::1";
    config.announce_group = group;
    std::string why;
    EXPECT_EQ(ServerAnnouncer::Create(config, &why).status().code(),
              absl::StatusCode::kInvalidArgument)
        << group;
  }
}

// RFC 5352 §3.6: clients connect to what the announce names (or to its
// source), so an IPv6 group needs a registrar bound to IPv6, and vice versa.
TEST(ServerAnnouncerTest, IsOffWhenGroupAndBindAddressDifferInFamily) {
  RegistrarConfig config;
  config.bind_address = "127.0.0.1";
  config.announce_group = "ff05::133";
  std::string why;
  absl::StatusOr<std::unique_ptr<ServerAnnouncer>> a = ServerAnnouncer::Create(config, &why);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, nullptr);
  EXPECT_EQ(why, "off (IPv6 group ff05::133 needs an IPv6 bind address)");

  config.bind_address = "::1";
  config.announce_group = "224.0.1.185";
  a = ServerAnnouncer::Create(config, &why);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, nullptr);
  EXPECT_EQ(why, "off (IPv4 group 224.0.1.185 needs an IPv4 bind address)");
}

// RFC 4007 §6: a wildcard bind address names no link for ff02::133.
TEST(ServerAnnouncerTest, IsOffForALinkScopeGroupOnAWildcardAddress) {
  RegistrarConfig config;
  config.bind_address = "::";
  config.announce_group = "ff02::133";
  std::string why;
  absl::StatusOr<std::unique_ptr<ServerAnnouncer>> a = ServerAnnouncer::Create(config, &why);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, nullptr);
  EXPECT_EQ(why, "off (link-scope group ff02::133 needs a bind address on that link, not ::)");
}

}  // namespace
}  // namespace rspd::control
