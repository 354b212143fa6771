#include "control/config.h"

#include <string>
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

// Settings() is the one list of every field and how a reload takes it: a
// change to any field is reported under its flag's name, at run time only
// for the limits, the policy file and new ENRP peers.
TEST(SettingsTest, EveryFieldIsReportedByItsNameWithHowItReloads) {
  struct Case {
    const char* name;
    Reload reload;
    void (*change)(RegistrarConfig&);
  };
  const std::vector<Case> cases = {
      {"io", Reload::kRestart, [](RegistrarConfig& c) { c.io = IoBackend::kDpdk; }},
      {"server_id", Reload::kRestart, [](RegistrarConfig& c) { c.server_id = 7; }},
      {"bind_address", Reload::kRestart, [](RegistrarConfig& c) { c.bind_address = "::"; }},
      {"udp_port", Reload::kRestart, [](RegistrarConfig& c) { c.udp_encapsulation_port = 1; }},
      {"asap_port", Reload::kRestart, [](RegistrarConfig& c) { c.asap_port = 1; }},
      {"enrp_port", Reload::kRestart, [](RegistrarConfig& c) { c.enrp_port = 1; }},
      {"tls_certificate", Reload::kRestart,
       [](RegistrarConfig& c) { c.tls.certificate_file = "c"; }},
      {"tls_private_key", Reload::kRestart,
       [](RegistrarConfig& c) { c.tls.private_key_file = "k"; }},
      {"tls_ca_file", Reload::kRestart, [](RegistrarConfig& c) { c.tls.ca_file = "a"; }},
      {"tls_crl_file", Reload::kRestart, [](RegistrarConfig& c) { c.tls.crl_file = "r"; }},
      {"tls_psk_file", Reload::kRestart, [](RegistrarConfig& c) { c.tls.psk_file = "p"; }},
      {"tls_psk_identity", Reload::kRestart, [](RegistrarConfig& c) { c.tls.psk_identity = "i"; }},
      {"tls_min_version", Reload::kRestart, [](RegistrarConfig& c) { c.tls.min_version = "1.2"; }},
      {"tls_policy_file", Reload::kRuntime, [](RegistrarConfig& c) { c.tls.policy_file = "p"; }},
      {"asap_tls_port", Reload::kRestart, [](RegistrarConfig& c) { c.asap_tls_port = 1; }},
      {"enrp_tls_port", Reload::kRestart, [](RegistrarConfig& c) { c.enrp_tls_port = 1; }},
      {"enrp_tls_client_port", Reload::kRestart,
       [](RegistrarConfig& c) { c.enrp_tls_client_port = 1; }},
      {"management_address", Reload::kRestart,
       [](RegistrarConfig& c) { c.management_address = "127.0.0.1:0"; }},
      {"shard_lcores", Reload::kRestart, [](RegistrarConfig& c) { c.shard_lcores = 2; }},
      {"enrp_thread", Reload::kRestart, [](RegistrarConfig& c) { c.enrp_thread = true; }},
      {"max_handle_resolution_items", Reload::kRuntime,
       [](RegistrarConfig& c) { c.max_handle_resolution_items = 9; }},
      {"max_bad_pe_reports", Reload::kRuntime,
       [](RegistrarConfig& c) { c.max_bad_pe_reports = 9; }},
      {"unreachable_report_window", Reload::kRuntime,
       [](RegistrarConfig& c) { c.unreachable_report_window = absl::Seconds(9); }},
      {"max_pool_elements", Reload::kRuntime, [](RegistrarConfig& c) { c.max_pool_elements = 9; }},
      {"max_pools", Reload::kRuntime, [](RegistrarConfig& c) { c.max_pools = 9; }},
      {"max_pes_per_pool", Reload::kRuntime, [](RegistrarConfig& c) { c.max_pes_per_pool = 9; }},
      {"max_pes_per_association", Reload::kRuntime,
       [](RegistrarConfig& c) { c.max_pes_per_association = 9; }},
      {"max_registrations_per_second", Reload::kRuntime,
       [](RegistrarConfig& c) { c.max_registrations_per_second = 9; }},
      {"max_resolutions_per_second", Reload::kRuntime,
       [](RegistrarConfig& c) { c.max_resolutions_per_second = 9; }},
      {"max_unreachable_reports_per_second", Reload::kRuntime,
       [](RegistrarConfig& c) { c.max_unreachable_reports_per_second = 9; }},
      {"max_peers", Reload::kRestart, [](RegistrarConfig& c) { c.max_peers = 9; }},
      {"max_associations", Reload::kRestart, [](RegistrarConfig& c) { c.max_associations = 9; }},
      {"max_inits_per_address_per_second", Reload::kRestart,
       [](RegistrarConfig& c) { c.max_inits_per_address_per_second = 9; }},
      {"max_inits_per_second", Reload::kRestart,
       [](RegistrarConfig& c) { c.max_inits_per_second = 9; }},
      {"sctp_peer_idle_timeout", Reload::kRestart,
       [](RegistrarConfig& c) { c.sctp_peer_idle_timeout = absl::Seconds(9); }},
      {"udp_receive_buffer", Reload::kRestart,
       [](RegistrarConfig& c) { c.udp_receive_buffer = 9; }},
      {"keep_alive_interval", Reload::kRestart,
       [](RegistrarConfig& c) { c.keep_alive_interval = absl::Seconds(9); }},
      {"keep_alive_timeout", Reload::kRestart,
       [](RegistrarConfig& c) { c.keep_alive_timeout = absl::Seconds(9); }},
      {"max_keep_alives_per_second", Reload::kRestart,
       [](RegistrarConfig& c) { c.max_keep_alives_per_second = 9; }},
      {"server_announce_cycle", Reload::kRestart,
       [](RegistrarConfig& c) { c.server_announce_cycle = absl::Seconds(9); }},
      {"announce_group", Reload::kRestart, [](RegistrarConfig& c) { c.announce_group = ""; }},
      {"announce_port", Reload::kRestart, [](RegistrarConfig& c) { c.announce_port = 9; }},
      {"announce_ttl", Reload::kRestart, [](RegistrarConfig& c) { c.announce_ttl = 9; }},
      {"enrp_peers", Reload::kAdditions,
       [](RegistrarConfig& c) {
         c.enrp_peers.push_back({"10.0.0.9", 9899});
       }},
      {"enrp_multicast_group", Reload::kRestart,
       [](RegistrarConfig& c) { c.enrp_multicast_group = ""; }},
      {"enrp_multicast_port", Reload::kRestart,
       [](RegistrarConfig& c) { c.enrp_multicast_port = 9; }},
      {"peer_heartbeat_cycle", Reload::kRestart,
       [](RegistrarConfig& c) { c.peer_heartbeat_cycle = absl::Seconds(9); }},
      {"max_time_last_heard", Reload::kRestart,
       [](RegistrarConfig& c) { c.max_time_last_heard = absl::Seconds(9); }},
      {"max_time_no_response", Reload::kRestart,
       [](RegistrarConfig& c) { c.max_time_no_response = absl::Seconds(9); }},
      {"takeover_expiry", Reload::kRestart,
       [](RegistrarConfig& c) { c.takeover_expiry = absl::Seconds(9); }},
      {"mentor_discovery_timeout", Reload::kRestart,
       [](RegistrarConfig& c) { c.mentor_discovery_timeout = absl::Seconds(9); }},
      {"max_elements_per_table_response", Reload::kRestart,
       [](RegistrarConfig& c) { c.max_elements_per_table_response = 9; }},
      {"adopted_pe_timeout", Reload::kRestart,
       [](RegistrarConfig& c) { c.adopted_pe_timeout = absl::Seconds(9); }},
      {"dpdk_eal_args", Reload::kRestart, [](RegistrarConfig& c) { c.dpdk_eal_args = {"-a"}; }},
      {"dpdk_addresses", Reload::kRestart,
       [](RegistrarConfig& c) { c.dpdk_addresses = {"10.0.0.1/24"}; }},
      {"dpdk_gateways", Reload::kRestart,
       [](RegistrarConfig& c) { c.dpdk_gateways = {"10.0.0.254"}; }},
      {"dpdk_rx_queues", Reload::kRestart, [](RegistrarConfig& c) { c.dpdk_rx_queues = 9; }},
      {"dpdk_mbufs", Reload::kRestart, [](RegistrarConfig& c) { c.dpdk_mbufs = 9; }},
      {"dpdk_idle_sleep_us", Reload::kRestart,
       [](RegistrarConfig& c) { c.dpdk_idle_sleep_us = 9; }},
  };
  ASSERT_EQ(Settings().size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(Settings()[i].name, std::string(cases[i].name));
    EXPECT_EQ(Settings()[i].reload, cases[i].reload) << cases[i].name;
    RegistrarConfig old, next;
    cases[i].change(next);
    const std::vector<SettingChange> changes = ChangedSettings(old, next);
    ASSERT_EQ(changes.size(), 1u) << cases[i].name;
    EXPECT_EQ(changes[0].name, cases[i].name);
    EXPECT_EQ(changes[0].at_runtime, cases[i].reload != Reload::kRestart) << cases[i].name;
    EXPECT_TRUE(ChangedSettings(next, next).empty()) << cases[i].name;
    // What a reload applies is exactly the run-time rows: after it, a
    // run-time change is gone and a restart-only one is still there.
    RegistrarConfig running = old;
    TakeRuntimeSettings(next, &running);
    EXPECT_EQ(ChangedSettings(running, next).size(), cases[i].reload == Reload::kRestart ? 1u : 0u)
        << cases[i].name;
  }
  // A field added to RegistrarConfig changes its size: give it a row in
  // Settings() (control/config.cc) and a case above, then update this.
  EXPECT_EQ(sizeof(RegistrarConfig), 808u)
      << "RegistrarConfig changed: does every field have a row in Settings()?";
}

TEST(RuntimeChangesTest, AppliesLimitsPolicyAndNewPeersAndNamesTheRestForRestart) {
  RegistrarConfig old;
  old.enrp_peers = {{"10.0.0.2", 9899}};
  RegistrarConfig next = old;
  next.max_pools = 200000;
  next.max_resolutions_per_second = 5;
  next.tls.policy_file = "/etc/rspd/policy";
  next.enrp_peers.push_back({"10.0.0.3", 9899});
  next.asap_port = 4000;
  next.keep_alive_interval = absl::Seconds(2);
  std::vector<std::string> restart_only;
  EXPECT_EQ(RuntimeChanges(old, next, &restart_only),
            "tls_policy_file '' -> '/etc/rspd/policy', max_pools 100000 -> 200000, "
            "max_resolutions_per_second 20000 -> 5, enrp_peers +10.0.0.3:9899");
  EXPECT_EQ(restart_only, (std::vector<std::string>{"asap_port", "keep_alive_interval"}));
  EXPECT_EQ(RuntimeChanges(old, old, &restart_only), "");
}

// A peer taken out of the list stays until a restart; one added is called.
TEST(RuntimeChangesTest, RemovedEnrpPeersWaitForARestart) {
  RegistrarConfig old;
  old.enrp_peers = {{"10.0.0.2", 9899}, {"10.0.0.3", 9899}};
  RegistrarConfig next = old;
  next.enrp_peers = {{"10.0.0.3", 9899}, {"::1", 9899}};
  std::vector<std::string> restart_only;
  EXPECT_EQ(RuntimeChanges(old, next, &restart_only), "enrp_peers +[::1]:9899");
  EXPECT_EQ(restart_only, std::vector<std::string>{"enrp_peers"});
  restart_only.clear();
  next.enrp_peers = {{"10.0.0.3", 9899}};
  EXPECT_EQ(RuntimeChanges(old, next, &restart_only), "");
  EXPECT_EQ(restart_only, std::vector<std::string>{"enrp_peers"});
}

}  // namespace
}  // namespace rspd::control
