#include "control/config.h"

#include <vector>

#include "gtest/gtest.h"

namespace rspd::control {
namespace {

TEST(RegistrarConfigTest, DefaultsAreValidAndUseTheIanaPorts) {
  RegistrarConfig config;
  EXPECT_TRUE(config.Validate().ok());
  EXPECT_EQ(config.asap_port, 3863);               // RFC 5352 §8.2
  EXPECT_EQ(config.udp_encapsulation_port, 9899);  // RFC 6951 §5.1
}

TEST(RegistrarConfigTest, RejectsBadAddressNamingTheSetting) {
  RegistrarConfig config;
  config.bind_address = "not-an-address";
  absl::Status status = config.Validate();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("bind_address"), absl::string_view::npos);
}

TEST(RegistrarConfigTest, RejectsAZeroAsapPort) {
  RegistrarConfig config;
  config.asap_port = 0;
  EXPECT_EQ(config.Validate().code(), absl::StatusCode::kInvalidArgument);
}

// RFC 5353 §4: the ENRP thresholds default to the RFC's values.
TEST(RegistrarConfigTest, EnrpDefaultsAreTheRfcs) {
  RegistrarConfig config;
  EXPECT_EQ(config.enrp_port, 9901);
  EXPECT_EQ(config.peer_heartbeat_cycle, absl::Seconds(30));
  EXPECT_EQ(config.max_time_last_heard, absl::Seconds(61));
  EXPECT_EQ(config.max_time_no_response, absl::Seconds(5));
  EXPECT_TRUE(config.enrp_peers.empty());
}

TEST(RegistrarConfigTest, RejectsBadEnrpSettingsNamingThem) {
  RegistrarConfig config;
  config.enrp_port = config.asap_port;
  EXPECT_NE(config.Validate().message().find("enrp_port"), absl::string_view::npos);
  config = RegistrarConfig();
  config.enrp_peers = {{"registrar.example", 9899}};
  EXPECT_NE(config.Validate().message().find("enrp_peers"), absl::string_view::npos);
  config.enrp_peers = {{"10.0.0.1", 0}};
  EXPECT_FALSE(config.Validate().ok());
  config = RegistrarConfig();
  config.max_elements_per_table_response = 0;
  EXPECT_NE(config.Validate().message().find("max_elements_per_table_response"),
            absl::string_view::npos);
  config = RegistrarConfig();
  config.max_time_no_response = absl::ZeroDuration();
  EXPECT_NE(config.Validate().message().find("max_time_no_response"), absl::string_view::npos);
}

TEST(RegistrarConfigTest, RejectsOutOfRangeResolutionItems) {
  RegistrarConfig config;
  config.max_handle_resolution_items = 0;
  EXPECT_FALSE(config.Validate().ok());
  config.max_handle_resolution_items = 129;
  EXPECT_FALSE(config.Validate().ok());
  config.max_handle_resolution_items = 128;
  EXPECT_TRUE(config.Validate().ok());
}

TEST(RegistrarConfigTest, RejectsTimersOutsideTheirRangeNamingIt) {
  for (auto set : std::vector<void (*)(RegistrarConfig&)>{
           [](RegistrarConfig& c) { c.keep_alive_interval = absl::ZeroDuration(); },
           [](RegistrarConfig& c) { c.keep_alive_interval = absl::InfiniteDuration(); },
           [](RegistrarConfig& c) { c.keep_alive_timeout = absl::Milliseconds(1); },
           [](RegistrarConfig& c) { c.keep_alive_timeout = absl::InfiniteDuration(); },
           [](RegistrarConfig& c) { c.sctp_peer_idle_timeout = absl::InfiniteDuration(); },
           [](RegistrarConfig& c) { c.unreachable_report_window = -absl::Seconds(1); },
       }) {
    RegistrarConfig config;
    set(config);
    absl::Status status = config.Validate();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find(" must be in ["), absl::string_view::npos) << status;
  }
}

TEST(RegistrarConfigTest, HandlespaceCapsAreAtLeastOnePerShard) {
  RegistrarConfig config;
  config.shard_lcores = 4;
  config.max_pool_elements = 3;
  EXPECT_FALSE(config.Validate().ok());
  config.max_pool_elements = 4;
  EXPECT_TRUE(config.Validate().ok());
  config.max_bad_pe_reports = 100000000;
  EXPECT_FALSE(config.Validate().ok());
}

// RFC 5352 §8.4: the announce group is IPv4 224.0.1.185 or IPv6 FF0X::133.
TEST(RegistrarConfigTest, AcceptsIpv4AndIpv6AnnounceGroupsAndRejectsUnicast) {
  RegistrarConfig config;
  config.announce_group = "ff05::133";
  EXPECT_TRUE(config.Validate().ok());
  config.announce_group = "ff02::133";
  EXPECT_TRUE(config.Validate().ok());
  for (const char* unicast : {"::1", "10.0.0.1", "fe80::1"}) {
    config.announce_group = unicast;
    absl::Status status = config.Validate();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << unicast;
    EXPECT_NE(status.message().find("announce_group"), absl::string_view::npos) << unicast;
  }
}

TEST(DescribeConfigTest, BracketsAnIpv6AnnounceGroup) {
  RegistrarConfig config;
  config.announce_group = "ff05::133";
  std::string text = DescribeConfig(config);
  EXPECT_NE(text.find("announce                     = [ff05::133]:3863 ttl 1\n"), std::string::npos)
      << text;
}

TEST(IoBackendTest, ParsesBothBackendsAndRejectsOthers) {
  IoBackend io;
  ASSERT_TRUE(ParseIoBackend("dpdk", &io));
  EXPECT_EQ(io, IoBackend::kDpdk);
  ASSERT_TRUE(ParseIoBackend("socket", &io));
  EXPECT_EQ(io, IoBackend::kSocket);
  EXPECT_FALSE(ParseIoBackend("netmap", &io));
}

TEST(DescribeConfigTest, ListsEverySettingWithItsValue) {
  RegistrarConfig config;
  config.server_id = 0x2a;
  config.announce_group.clear();
  std::string text = DescribeConfig(config);
  EXPECT_NE(text.find("server_id                    = 0x0000002a\n"), std::string::npos) << text;
  EXPECT_NE(text.find("keep_alive_interval          = 5s\n"), std::string::npos) << text;
  EXPECT_NE(text.find("announce                     = off\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace rspd::control
