#include "control/config.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "dataplane/net/endpoint.h"
#include "protocol/address.h"

namespace rspd::control {
namespace {

bool IsIpAddress(const std::string& text) {
  return dataplane::Endpoint::Parse(text, 0).has_value();
}

bool IsMulticastGroup(const std::string& text) {
  const std::optional<dataplane::Endpoint> group = dataplane::Endpoint::Parse(text, 0);
  return group && group->IsMulticast();
}

}  // namespace

absl::StatusOr<DpdkAddress> ParseDpdkAddress(const std::string& text) {
  DpdkAddress a;
  std::string rest = text;
  if (const size_t at = rest.find('@'); at != std::string::npos) {
    if (!absl::SimpleAtoi(rest.substr(0, at), &a.port) || a.port < 0 || a.port > 31) {
      return absl::InvalidArgumentError(absl::StrCat("'", text, "': the port must be 0 to 31"));
    }
    rest = rest.substr(at + 1);
  }
  if (const size_t slash = rest.find('/'); slash != std::string::npos) {
    if (!absl::SimpleAtoi(rest.substr(slash + 1), &a.prefix_length)) a.prefix_length = -2;
    rest = rest.substr(0, slash);
  }
  const std::optional<protocol::IpAddress> ip = protocol::IpAddress::Parse(rest);
  if (!ip || a.prefix_length < -1 || a.prefix_length > (ip->is_v4() ? 32 : 128)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not [PORT@]ADDRESS[/PREFIX] with an IPv4 or IPv6 address"));
  }
  a.ip = *ip;
  return a;
}

absl::Status RegistrarConfig::Validate() const {
  if (!IsIpAddress(bind_address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bind_address: not an IPv4 or IPv6 address: '", bind_address, "'"));
  }
  if (io == IoBackend::kDpdk) {
    if (dpdk_addresses.empty()) {
      return absl::InvalidArgumentError(
          "dpdk_addresses: --io=dpdk needs an address for its port (e.g. 10.0.0.1/24)");
    }
    std::vector<int> ipv4_per_port(32);
    for (const std::string& text : dpdk_addresses) {
      absl::StatusOr<DpdkAddress> a = ParseDpdkAddress(text);
      if (!a.ok())
        return absl::InvalidArgumentError(absl::StrCat("dpdk_addresses: ", a.status().message()));
      if (a->prefix_length < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("dpdk_addresses: '", text, "' needs its prefix length (/24, /64)"));
      }
      if (a->ip.is_v4() && ++ipv4_per_port[static_cast<size_t>(a->port)] > 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("dpdk_addresses: port ", a->port, " has more than one IPv4 address"));
      }
    }
    for (const std::string& text : dpdk_gateways) {
      absl::StatusOr<DpdkAddress> a = ParseDpdkAddress(text);
      if (!a.ok() || a->prefix_length != -1) {
        return absl::InvalidArgumentError(
            absl::StrCat("dpdk_gateways: '", text, "' is not [PORT@]ADDRESS"));
      }
    }
    if (udp_encapsulation_port == 0) {
      return absl::InvalidArgumentError("udp_port: --io=dpdk needs a fixed port (9899)");
    }
    for (const auto& [name, value, low, high] : {
             std::tuple<const char*, int64_t, int64_t, int64_t>{"dpdk_rx_queues", dpdk_rx_queues, 1,
                                                                64},
             {"dpdk_mbufs", dpdk_mbufs, 1024, 1 << 24},
         }) {
      if (value < low || value > high) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, " must be in [", low, ", ", high, "], got ", value));
      }
    }
    // io_loop.h: 0 (no naps), or from the shortest nap to one timer tick.
    if (dpdk_idle_sleep_us != 0 && (dpdk_idle_sleep_us < 16 || dpdk_idle_sleep_us > 10000)) {
      return absl::InvalidArgumentError(
          absl::StrCat("dpdk_idle_sleep_us must be 0 or in [16, 10000], got ", dpdk_idle_sleep_us));
    }
  }
  if (asap_port == 0) {
    return absl::InvalidArgumentError("asap_port must be a non-zero SCTP port");
  }
  if (enrp_port == 0 || enrp_port == asap_port) {
    return absl::InvalidArgumentError(
        "enrp_port must be a non-zero SCTP port other than asap_port");
  }
  if (secure()) {
    for (auto [name, port] : {std::pair<const char*, uint16_t>{"asap_tls_port", asap_tls_port},
                              {"enrp_tls_port", enrp_tls_port},
                              {"enrp_tls_client_port", enrp_tls_client_port}}) {
      if (port == 0 || port == asap_port || port == enrp_port) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, " must be a non-zero SCTP port other than asap_port and enrp_port"));
      }
    }
    if (asap_tls_port == enrp_tls_port || asap_tls_port == enrp_tls_client_port ||
        enrp_tls_port == enrp_tls_client_port) {
      return absl::InvalidArgumentError(
          "asap_tls_port, enrp_tls_port and enrp_tls_client_port must differ");
    }
    if (tls.min_version != "1.2" && tls.min_version != "1.3") {
      return absl::InvalidArgumentError(
          absl::StrCat("tls_min_version must be 1.2 or 1.3, got '", tls.min_version, "'"));
    }
    if (!tls.psk_file.empty() && tls.psk_identity.empty()) {
      return absl::InvalidArgumentError(
          "tls_psk_file needs tls_psk_identity: the identity this registrar uses toward its ENRP "
          "peers");
    }
  } else {
    for (auto [name, value] :
         {std::pair<const char*, const std::string&>{"tls_private_key", tls.private_key_file},
          {"tls_ca_file", tls.ca_file},
          {"tls_crl_file", tls.crl_file},
          {"tls_psk_identity", tls.psk_identity},
          {"tls_policy_file", tls.policy_file}}) {
      if (!value.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, " needs tls_certificate or tls_psk_file (TLS is off)"));
      }
    }
  }
  for (const PeerAddress& peer : enrp_peers) {
    if (!IsIpAddress(peer.host) || peer.udp_port == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("enrp_peers: not an IPv4 or IPv6 address with a non-zero UDP port: '",
                       protocol::JoinHostPort(peer.host, peer.udp_port), "'"));
    }
  }
  if (!enrp_multicast_group.empty() && !IsMulticastGroup(enrp_multicast_group)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "enrp_multicast_group: not an IPv4 or IPv6 multicast group: '", enrp_multicast_group, "'"));
  }
  if (max_elements_per_table_response < 1 || max_elements_per_table_response > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_elements_per_table_response must be in [1, 4096], got ",
                     max_elements_per_table_response));
  }
  if (shard_lcores < 0 || shard_lcores > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard_lcores must be in [0, 64], got ", shard_lcores));
  }
  // RSPLIB caps handle resolution answers at 128 PEs; a larger answer would not
  // fit one SCTP message of reasonable size.
  if (max_handle_resolution_items < 1 || max_handle_resolution_items > 128) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_handle_resolution_items must be in [1, 128], got ", max_handle_resolution_items));
  }
  if (max_keep_alives_per_second < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_keep_alives_per_second must be 0 (no limit) or more, got ",
                     max_keep_alives_per_second));
  }
  for (const auto& [name, value, low, high] : {
           std::tuple<const char*, int64_t, int64_t, int64_t>{
               "max_pool_elements", static_cast<int64_t>(max_pool_elements), 1, (1 << 24) - 1},
           {"max_pools", static_cast<int64_t>(max_pools), 1, 1 << 24},
           {"max_pes_per_pool", static_cast<int64_t>(max_pes_per_pool), 1, (1 << 24) - 1},
           {"max_pes_per_association", max_pes_per_association, 1, (1 << 24) - 1},
           {"max_registrations_per_second", max_registrations_per_second, 0, 100000000},
           {"max_resolutions_per_second", max_resolutions_per_second, 0, 100000000},
           {"max_unreachable_reports_per_second", max_unreachable_reports_per_second, 0, 100000000},
           {"max_peers", max_peers, 1, 1 << 20},
           {"max_associations", max_associations, 1, 1 << 20},
           {"max_inits_per_address_per_second", max_inits_per_address_per_second, 0, 100000000},
           {"max_inits_per_second", max_inits_per_second, 0, 100000000},
           {"max_bad_pe_reports", max_bad_pe_reports, 1, 1000},
           {"udp_receive_buffer", udp_receive_buffer, 65536, 1 << 30},
       }) {
    if (value < low || value > high) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must be in [", low, ", ", high, "], got ", value));
    }
  }
  // RFC 5352 §8.4: 224.0.1.185 or FF0X::133; any multicast group is allowed.
  if (!announce_group.empty() && !IsMulticastGroup(announce_group)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "announce_group: not an IPv4 or IPv6 multicast group: '", announce_group, "'"));
  }
  if (announce_ttl < 1 || announce_ttl > 255) {
    return absl::InvalidArgumentError(
        absl::StrCat("announce_ttl must be in [1, 255], got ", announce_ttl));
  }
  // Timers: positive, finite, and within what the loop's 10 ms tick and the
  // keep-alive wheel (a 65 s revolution) serve.
  for (const auto& [name, value, low, high] : {
           std::tuple<const char*, absl::Duration, absl::Duration, absl::Duration>{
               "keep_alive_interval", keep_alive_interval, absl::Milliseconds(10), absl::Hours(1)},
           {"keep_alive_timeout", keep_alive_timeout, absl::Milliseconds(10), absl::Minutes(1)},
           {"server_announce_cycle", server_announce_cycle, absl::Milliseconds(10), absl::Hours(1)},
           {"unreachable_report_window", unreachable_report_window, absl::Seconds(1),
            absl::Hours(24)},
           {"sctp_peer_idle_timeout", sctp_peer_idle_timeout, absl::Milliseconds(100),
            absl::Hours(1)},
           {"peer_heartbeat_cycle", peer_heartbeat_cycle, absl::Milliseconds(100), absl::Hours(1)},
           {"max_time_last_heard", max_time_last_heard, absl::Milliseconds(100), absl::Hours(1)},
           {"max_time_no_response", max_time_no_response, absl::Milliseconds(100),
            absl::Minutes(10)},
           {"takeover_expiry", takeover_expiry, absl::Milliseconds(100), absl::Minutes(10)},
           {"mentor_discovery_timeout", mentor_discovery_timeout, absl::Milliseconds(100),
            absl::Minutes(10)},
           {"adopted_pe_timeout", adopted_pe_timeout, absl::Seconds(1), absl::Hours(1)},
       }) {
    if (value < low || value > high) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must be in [", absl::FormatDuration(low), ", ",
                       absl::FormatDuration(high), "], got ", absl::FormatDuration(value)));
    }
  }
  // Each shard holds an equal share of the handlespace caps: at least one.
  const size_t shards = shard_lcores > 0 ? static_cast<size_t>(shard_lcores) : 1;
  if (max_pool_elements < shards || max_pools < shards) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_pool_elements and max_pools must be at least the shard count (", shards,
                     "), each shard holding an equal share"));
  }
  return absl::OkStatus();
}

bool ParseIoBackend(const std::string& text, IoBackend* out) {
  if (text == "socket") {
    *out = IoBackend::kSocket;
    return true;
  }
  if (text == "dpdk") {
    *out = IoBackend::kDpdk;
    return true;
  }
  return false;
}

const char* IoBackendName(IoBackend io) { return io == IoBackend::kSocket ? "socket" : "dpdk"; }

std::string DescribeConfig(const RegistrarConfig& c) {
  std::string out;
  auto line = [&out](const char* name, const auto& value) {
    absl::StrAppend(&out, absl::StrFormat("  %-28s = ", name), value, "\n");
  };
  auto duration = [&line](const char* name, absl::Duration value) {
    line(name, absl::FormatDuration(value));
  };
  line("io", IoBackendName(c.io));
  if (c.io == IoBackend::kDpdk) {
    line("dpdk_eal_args", absl::StrJoin(c.dpdk_eal_args, " "));
    line("dpdk_addresses", absl::StrJoin(c.dpdk_addresses, ","));
    line("dpdk_gateways", absl::StrJoin(c.dpdk_gateways, ","));
    line("dpdk_rx_queues", c.dpdk_rx_queues);
    line("dpdk_mbufs", c.dpdk_mbufs);
    line("dpdk_idle_sleep_us", c.dpdk_idle_sleep_us);
  }
  line("server_id", absl::StrFormat("0x%08x", c.server_id));
  line("bind_address", c.bind_address);
  line("udp_encapsulation_port", c.udp_encapsulation_port);
  line("asap_port", c.asap_port);
  line("enrp_port", c.enrp_port);
  if (c.secure()) {
    line("tls", absl::StrCat("asap ", c.asap_tls_port, ", enrp ", c.enrp_tls_port, " (from ",
                             c.enrp_tls_client_port, "), TLS ", c.tls.min_version, "+"));
    line("tls_certificate", c.tls.certificate_file.empty() ? "none" : c.tls.certificate_file);
    line("tls_ca_file", c.tls.ca_file.empty() ? "none" : c.tls.ca_file);
    line("tls_crl_file", c.tls.crl_file.empty() ? "none" : c.tls.crl_file);
    line("tls_psk_file", c.tls.psk_file.empty() ? "none" : c.tls.psk_file);
    line("tls_policy_file",
         c.tls.policy_file.empty() ? "none (every authenticated identity)" : c.tls.policy_file);
  } else {
    line("tls", "off");
  }
  std::string peers;
  for (const RegistrarConfig::PeerAddress& p : c.enrp_peers) {
    absl::StrAppend(&peers, peers.empty() ? "" : ",", protocol::JoinHostPort(p.host, p.udp_port));
  }
  line("enrp_peers", peers.empty() ? std::string("none (alone until a peer calls)") : peers);
  line("enrp_multicast",
       c.enrp_multicast_group.empty()
           ? std::string("off")
           : protocol::JoinHostPort(c.enrp_multicast_group, c.enrp_multicast_port));
  line("management_address",
       c.management_address.empty() ? std::string("off") : c.management_address);
  line("shard_lcores", c.shard_lcores);
  line("enrp_thread", c.enrp_thread ? "on" : "off");
  line("max_handle_resolution_items", c.max_handle_resolution_items);
  line("max_bad_pe_reports", c.max_bad_pe_reports);
  duration("unreachable_report_window", c.unreachable_report_window);
  line("max_pool_elements", c.max_pool_elements);
  line("max_pools", c.max_pools);
  line("max_pes_per_pool", c.max_pes_per_pool);
  line("max_pes_per_association", c.max_pes_per_association);
  line("max_registrations_per_second", c.max_registrations_per_second);
  line("max_resolutions_per_second", c.max_resolutions_per_second);
  line("max_unreachable_reports_per_second", c.max_unreachable_reports_per_second);
  line("max_peers", c.max_peers);
  line("max_associations", c.max_associations);
  line("max_inits_per_address_per_second", c.max_inits_per_address_per_second);
  line("max_inits_per_second", c.max_inits_per_second);
  duration("sctp_peer_idle_timeout", c.sctp_peer_idle_timeout);
  line("udp_receive_buffer", c.udp_receive_buffer);
  duration("keep_alive_interval", c.keep_alive_interval);
  duration("keep_alive_timeout", c.keep_alive_timeout);
  line("max_keep_alives_per_second", c.max_keep_alives_per_second);
  duration("server_announce_cycle", c.server_announce_cycle);
  duration("peer_heartbeat_cycle", c.peer_heartbeat_cycle);
  duration("max_time_last_heard", c.max_time_last_heard);
  duration("max_time_no_response", c.max_time_no_response);
  duration("takeover_expiry", c.takeover_expiry);
  duration("mentor_discovery_timeout", c.mentor_discovery_timeout);
  line("max_elements_per_table_response", c.max_elements_per_table_response);
  duration("adopted_pe_timeout", c.adopted_pe_timeout);
  line("announce", c.announce_group.empty()
                       ? std::string("off")
                       : absl::StrCat(protocol::JoinHostPort(c.announce_group, c.announce_port),
                                      " ttl ", c.announce_ttl));
  return out;
}

namespace {

// A setting's value as text, for the reload's messages.
template <typename T>
std::string Text(const T& value) {
  return absl::StrCat(value);
}
std::string Text(bool value) { return value ? "true" : "false"; }
std::string Text(const std::string& value) { return absl::StrCat("'", value, "'"); }
std::string Text(absl::Duration value) { return absl::FormatDuration(value); }
std::string Text(IoBackend value) { return IoBackendName(value); }
std::string Text(const std::vector<std::string>& value) {
  return absl::StrCat("'", absl::StrJoin(value, ","), "'");
}
std::string PeerText(const RegistrarConfig::PeerAddress& peer) {
  return protocol::JoinHostPort(peer.host, peer.udp_port);
}
std::string Text(const std::vector<RegistrarConfig::PeerAddress>& value) {
  std::vector<std::string> peers;
  for (const RegistrarConfig::PeerAddress& peer : value) peers.push_back(PeerText(peer));
  return absl::StrCat("'", absl::StrJoin(peers, ","), "'");
}

#define RSPD_SETTING(name, reload, field)                                        \
  SettingInfo {                                                                  \
    name, Reload::reload, [](const RegistrarConfig& c) { return Text(c.field); } \
  }

}  // namespace

const std::vector<SettingInfo>& Settings() {
  // What takes effect at run time is what the registrar can apply to live
  // tables: caps and rates (checked as each request comes), the policy
  // file, and new ENRP peers (called like a peer heard over multicast).
  // Everything bound into sockets, threads, TLS contexts, the EAL or timers
  // already armed waits for a restart.
  static const std::vector<SettingInfo>* const settings = new std::vector<SettingInfo>{
      RSPD_SETTING("io", kRestart, io),
      RSPD_SETTING("server_id", kRestart, server_id),
      RSPD_SETTING("bind_address", kRestart, bind_address),
      RSPD_SETTING("udp_port", kRestart, udp_encapsulation_port),
      RSPD_SETTING("asap_port", kRestart, asap_port),
      RSPD_SETTING("enrp_port", kRestart, enrp_port),
      RSPD_SETTING("tls_certificate", kRestart, tls.certificate_file),
      RSPD_SETTING("tls_private_key", kRestart, tls.private_key_file),
      RSPD_SETTING("tls_ca_file", kRestart, tls.ca_file),
      RSPD_SETTING("tls_crl_file", kRestart, tls.crl_file),
      RSPD_SETTING("tls_psk_file", kRestart, tls.psk_file),
      RSPD_SETTING("tls_psk_identity", kRestart, tls.psk_identity),
      RSPD_SETTING("tls_min_version", kRestart, tls.min_version),
      RSPD_SETTING("tls_policy_file", kRuntime, tls.policy_file),
      RSPD_SETTING("asap_tls_port", kRestart, asap_tls_port),
      RSPD_SETTING("enrp_tls_port", kRestart, enrp_tls_port),
      RSPD_SETTING("enrp_tls_client_port", kRestart, enrp_tls_client_port),
      RSPD_SETTING("management_address", kRestart, management_address),
      RSPD_SETTING("shard_lcores", kRestart, shard_lcores),
      RSPD_SETTING("enrp_thread", kRestart, enrp_thread),
      RSPD_SETTING("max_handle_resolution_items", kRuntime, max_handle_resolution_items),
      RSPD_SETTING("max_bad_pe_reports", kRuntime, max_bad_pe_reports),
      RSPD_SETTING("unreachable_report_window", kRuntime, unreachable_report_window),
      RSPD_SETTING("max_pool_elements", kRuntime, max_pool_elements),
      RSPD_SETTING("max_pools", kRuntime, max_pools),
      RSPD_SETTING("max_pes_per_pool", kRuntime, max_pes_per_pool),
      RSPD_SETTING("max_pes_per_association", kRuntime, max_pes_per_association),
      RSPD_SETTING("max_registrations_per_second", kRuntime, max_registrations_per_second),
      RSPD_SETTING("max_resolutions_per_second", kRuntime, max_resolutions_per_second),
      RSPD_SETTING("max_unreachable_reports_per_second", kRuntime,
                   max_unreachable_reports_per_second),
      RSPD_SETTING("max_peers", kRestart, max_peers),
      RSPD_SETTING("max_associations", kRestart, max_associations),
      RSPD_SETTING("max_inits_per_address_per_second", kRestart, max_inits_per_address_per_second),
      RSPD_SETTING("max_inits_per_second", kRestart, max_inits_per_second),
      RSPD_SETTING("sctp_peer_idle_timeout", kRestart, sctp_peer_idle_timeout),
      RSPD_SETTING("udp_receive_buffer", kRestart, udp_receive_buffer),
      RSPD_SETTING("keep_alive_interval", kRestart, keep_alive_interval),
      RSPD_SETTING("keep_alive_timeout", kRestart, keep_alive_timeout),
      RSPD_SETTING("max_keep_alives_per_second", kRestart, max_keep_alives_per_second),
      RSPD_SETTING("server_announce_cycle", kRestart, server_announce_cycle),
      RSPD_SETTING("announce_group", kRestart, announce_group),
      RSPD_SETTING("announce_port", kRestart, announce_port),
      RSPD_SETTING("announce_ttl", kRestart, announce_ttl),
      RSPD_SETTING("enrp_peers", kAdditions, enrp_peers),
      RSPD_SETTING("enrp_multicast_group", kRestart, enrp_multicast_group),
      RSPD_SETTING("enrp_multicast_port", kRestart, enrp_multicast_port),
      RSPD_SETTING("peer_heartbeat_cycle", kRestart, peer_heartbeat_cycle),
      RSPD_SETTING("max_time_last_heard", kRestart, max_time_last_heard),
      RSPD_SETTING("max_time_no_response", kRestart, max_time_no_response),
      RSPD_SETTING("takeover_expiry", kRestart, takeover_expiry),
      RSPD_SETTING("mentor_discovery_timeout", kRestart, mentor_discovery_timeout),
      RSPD_SETTING("max_elements_per_table_response", kRestart, max_elements_per_table_response),
      RSPD_SETTING("adopted_pe_timeout", kRestart, adopted_pe_timeout),
      RSPD_SETTING("dpdk_eal_args", kRestart, dpdk_eal_args),
      RSPD_SETTING("dpdk_addresses", kRestart, dpdk_addresses),
      RSPD_SETTING("dpdk_gateways", kRestart, dpdk_gateways),
      RSPD_SETTING("dpdk_rx_queues", kRestart, dpdk_rx_queues),
      RSPD_SETTING("dpdk_mbufs", kRestart, dpdk_mbufs),
      RSPD_SETTING("dpdk_idle_sleep_us", kRestart, dpdk_idle_sleep_us),
  };
  return *settings;
}

#undef RSPD_SETTING

std::vector<SettingChange> ChangedSettings(const RegistrarConfig& old,
                                           const RegistrarConfig& next) {
  std::vector<SettingChange> changes;
  for (const SettingInfo& setting : Settings()) {
    std::string before = setting.text(old);
    std::string after = setting.text(next);
    if (before == after) continue;
    if (setting.reload != Reload::kAdditions) {
      changes.push_back(
          {setting.name, std::move(before), std::move(after), setting.reload == Reload::kRuntime});
      continue;
    }
    // enrp_peers, the one list: its added peers now, its removed ones later.
    auto peers = [](const RegistrarConfig& c) {
      std::vector<std::string> out;
      for (const RegistrarConfig::PeerAddress& peer : c.enrp_peers) out.push_back(PeerText(peer));
      return out;
    };
    const std::vector<std::string> old_peers = peers(old), next_peers = peers(next);
    std::vector<std::string> added, removed;
    for (const std::string& peer : next_peers) {
      if (std::find(old_peers.begin(), old_peers.end(), peer) == old_peers.end()) {
        added.push_back(absl::StrCat("+", peer));
      }
    }
    for (const std::string& peer : old_peers) {
      if (std::find(next_peers.begin(), next_peers.end(), peer) == next_peers.end()) {
        removed.push_back(absl::StrCat("-", peer));
      }
    }
    if (!added.empty()) changes.push_back({setting.name, before, absl::StrJoin(added, ","), true});
    if (!removed.empty()) {
      changes.push_back({setting.name, before, absl::StrJoin(removed, ","), false});
    }
  }
  return changes;
}

std::string RuntimeChanges(const RegistrarConfig& old, const RegistrarConfig& next,
                           std::vector<std::string>* restart_only) {
  std::vector<std::string> now;
  for (const SettingChange& change : ChangedSettings(old, next)) {
    if (!change.at_runtime) {
      if (restart_only != nullptr) restart_only->push_back(change.name);
    } else if (change.name == "enrp_peers") {
      now.push_back(absl::StrCat(change.name, " ", change.after));
    } else {
      now.push_back(absl::StrCat(change.name, " ", change.before, " -> ", change.after));
    }
  }
  return absl::StrJoin(now, ", ");
}

void TakeRuntimeSettings(const RegistrarConfig& next, RegistrarConfig* running) {
  running->max_handle_resolution_items = next.max_handle_resolution_items;
  running->max_bad_pe_reports = next.max_bad_pe_reports;
  running->unreachable_report_window = next.unreachable_report_window;
  running->max_pool_elements = next.max_pool_elements;
  running->max_pools = next.max_pools;
  running->max_pes_per_pool = next.max_pes_per_pool;
  running->max_pes_per_association = next.max_pes_per_association;
  running->max_registrations_per_second = next.max_registrations_per_second;
  running->max_resolutions_per_second = next.max_resolutions_per_second;
  running->max_unreachable_reports_per_second = next.max_unreachable_reports_per_second;
  running->tls.policy_file = next.tls.policy_file;
  for (const RegistrarConfig::PeerAddress& peer : next.enrp_peers) {
    const bool listed = std::any_of(
        running->enrp_peers.begin(), running->enrp_peers.end(),
        [&](const auto& p) { return p.host == peer.host && p.udp_port == peer.udp_port; });
    if (!listed) running->enrp_peers.push_back(peer);
  }
}

}  // namespace rspd::control
