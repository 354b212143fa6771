// rspd: the RSerPool registrar (ENRP server, RFC 5353; ASAP server side, RFC 5352).
//
// Thin main: a configuration file (--config, control/config_file.h), then
// the flags over it -> control::RegistrarConfig -> run until SIGINT/SIGTERM.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "control/config.h"
#include "control/config_file.h"
#include "control/log/log.h"
#include "control/management/server.h"
#include "control/registrar.h"
#include "protocol/address.h"
#include "tools/stop_signals.h"
#include "tools/version.h"

// Integers are read as int64 and narrowed with a range check, so that an
// out-of-range value gets a message naming the flag and its range (exit 2);
// the ranges themselves are RegistrarConfig's (control/config.cc).
ABSL_FLAG(std::string, io, "socket",
          "packet I/O backend: socket (kernel UDP sockets, SCTP over UDP), or dpdk (DPDK ports "
          "with their own L2/L3: SCTP over UDP and native SCTP; docs/dpdk.md)");
ABSL_FLAG(std::string, dpdk_eal_args, "",
          "--io=dpdk: EAL arguments, space-separated (e.g. \"-a 0000:01:00.0\" or "
          "\"--no-pci --vdev=net_af_packet0,iface=eth1\"); memory and core arguments are added "
          "when missing (docs/dpdk.md)");
ABSL_FLAG(std::vector<std::string>, dpdk_addresses, {},
          "--io=dpdk: the ports' addresses, comma-separated [PORT@]ADDRESS/PREFIX (port 0 if not "
          "named), e.g. 10.0.0.1/24,fd00::1/64");
ABSL_FLAG(std::vector<std::string>, dpdk_gateways, {},
          "--io=dpdk: next hops for destinations off every prefix, comma-separated "
          "[PORT@]ADDRESS");
ABSL_FLAG(int64_t, dpdk_rx_queues, 1, "--io=dpdk: RX queues per port (more than one: RSS)");
ABSL_FLAG(int64_t, dpdk_mbufs, 16383, "--io=dpdk: packet buffers in the pool");
ABSL_FLAG(int64_t, dpdk_idle_sleep_us, 500,
          "--io=dpdk: an idle I/O loop sleeps up to this long between polls (the added latency "
          "after a quiet spell); 0 polls without pause, for a core of its own");
ABSL_FLAG(std::string, enrp_thread, "auto",
          "ENRP on a control thread of its own: on, off, or auto (on with 4 CPUs or more; with "
          "fewer its hand-offs to the I/O thread cost more than they free)");
ABSL_FLAG(int64_t, server_id, 0,
          "ENRP server ID, 1 to 4294967295; 0 draws a random non-zero ID (RFC 5353 §3.2.1)");
ABSL_FLAG(std::string, bind_address, "0.0.0.0", "local address for all sockets");
ABSL_FLAG(int64_t, udp_port, 9899,
          "UDP port of the SCTP-over-UDP encapsulation (RFC 6951); 0 picks a free port");
ABSL_FLAG(int64_t, asap_port, 3863, "SCTP port for ASAP (RFC 5352 §8.2)");
ABSL_FLAG(
    int64_t, shard_lcores, 0,
    "handlespace shards on threads of their own (shard K pinned to CPU (K+1) mod CPUs), fed by "
    "rings; 0 = one shard inline on the I/O thread (best on 2 cores)");
ABSL_FLAG(int64_t, max_handle_resolution_items, 3, "most PEs returned per handle resolution");
ABSL_FLAG(int64_t, max_bad_pe_reports, 3,
          "MAX-BAD-PE-REPORT (RFC 5352 §3.5): unreachable reports from this many distinct "
          "addresses within --unreachable_report_window remove a PE");
ABSL_FLAG(absl::Duration, unreachable_report_window, absl::Seconds(60),
          "how long an unreachable report counts against a PE");
ABSL_FLAG(int64_t, max_unreachable_reports_per_second, 10,
          "unreachable reports taken per second from one address (all its associations); 0: no "
          "limit");
ABSL_FLAG(int64_t, max_pool_elements, 2000000, "PEs in the handlespace at most");
ABSL_FLAG(int64_t, max_pools, 100000, "pools in the handlespace at most");
ABSL_FLAG(int64_t, max_pes_per_pool, 100000, "PEs in one pool at most");
ABSL_FLAG(int64_t, max_pes_per_association, 10000, "PEs registered over one association at most");
ABSL_FLAG(int64_t, max_registrations_per_second, 20000,
          "registrations per second and association at most (0: no limit)");
ABSL_FLAG(int64_t, max_resolutions_per_second, 20000,
          "handle resolutions per second and association at most (0: no limit)");
ABSL_FLAG(int64_t, max_peers, 16384,
          "remote SCTP endpoints (address and UDP port) at most; half-open ones make room");
ABSL_FLAG(int64_t, max_associations, 16384, "SCTP associations at most");
ABSL_FLAG(int64_t, max_inits_per_address_per_second, 200,
          "new remote SCTP endpoints (INITs) per second from one IP address at most (0: no limit)");
ABSL_FLAG(int64_t, max_inits_per_second, 1000,
          "new remote SCTP endpoints (INITs) per second in all at most (0: no limit)");
ABSL_FLAG(absl::Duration, sctp_peer_idle_timeout, absl::Seconds(10),
          "a remote endpoint that never set up an association is forgotten after this long "
          "without a packet");
ABSL_FLAG(int64_t, udp_receive_buffer, 8 << 20,
          "UDP receive buffer in bytes (past net.core.rmem_max only as root)");
ABSL_FLAG(absl::Duration, keep_alive_interval, absl::Seconds(5),
          "interval of ENDPOINT_KEEP_ALIVEs to owned PEs (RFC 5352 §3.4)");
ABSL_FLAG(absl::Duration, keep_alive_timeout, absl::Seconds(5),
          "time a PE has to answer a keep-alive");
ABSL_FLAG(int64_t, max_keep_alives_per_second, 100000,
          "most ENDPOINT_KEEP_ALIVEs sent per second; due ones beyond wait (0: no limit)");
ABSL_FLAG(absl::Duration, server_announce_cycle, absl::Seconds(1),
          "T6-Serverannounce (RFC 5352 §7.1)");
ABSL_FLAG(std::string, announce_group, "224.0.1.185",
          "multicast group for ASAP_SERVER_ANNOUNCE (RFC 5352 §8.4); empty disables");
ABSL_FLAG(int64_t, announce_port, 3863, "UDP port for ASAP_SERVER_ANNOUNCE");
ABSL_FLAG(int64_t, announce_ttl, 1, "multicast TTL of the announces (1: this link only)");
ABSL_FLAG(int64_t, enrp_port, 9901, "SCTP port for ENRP (RFC 5353)");
ABSL_FLAG(std::string, tls_certificate, "",
          "PEM certificate (chain) of this registrar; with it (or --tls_psk_file) rspd is secure: "
          "ASAP over TLS on --asap_tls_port, ENRP over TLS only (docs/security.md)");
ABSL_FLAG(std::string, tls_private_key, "", "PEM private key of --tls_certificate");
ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM certificate authorities that peers', PEs' and PUs' certificates must chain to");
ABSL_FLAG(std::string, tls_crl_file, "", "PEM revocation lists of those authorities");
ABSL_FLAG(std::string, tls_psk_file, "",
          "pre-shared keys, 'IDENTITY HEXKEY' per line: every identity in it is accepted");
ABSL_FLAG(std::string, tls_psk_identity, "",
          "this registrar's PSK identity toward its ENRP peers (from --tls_psk_file)");
ABSL_FLAG(std::string, tls_min_version, "1.3", "1.3, or 1.2 (AEAD ciphersuites only)");
ABSL_FLAG(std::string, tls_policy_file, "",
          "authorization policy (register/peer/takeover/report rules); reloaded on SIGHUP; "
          "none: every authenticated identity may do everything");
ABSL_FLAG(int64_t, asap_tls_port, 3864, "SCTP port for ASAP over TLS (RFC 5352 §8.2)");
ABSL_FLAG(int64_t, enrp_tls_port, 9902, "SCTP port for ENRP over TLS (RFC 5353 §5.3)");
ABSL_FLAG(int64_t, enrp_tls_client_port, 9903,
          "SCTP port this registrar's own ENRP associations over TLS start from");
ABSL_FLAG(std::vector<std::string>, enrp_peers, {},
          "static ENRP peers, comma-separated ADDRESS:UDP_PORT of their SCTP-over-UDP endpoints "
          "(the first that answers is the mentor, RFC 5353 §3.2.2.1); none: alone");
ABSL_FLAG(std::string, enrp_multicast_group, "239.0.0.51",
          "multicast group for ENRP PRESENCE (RSPLIB's; an IPv6 bind address needs an IPv6 "
          "group, e.g. ff05::134); servers heard there are called; empty disables");
ABSL_FLAG(int64_t, enrp_multicast_port, 9901, "UDP port of the ENRP multicast group");
ABSL_FLAG(absl::Duration, peer_heartbeat_cycle, absl::Seconds(30),
          "PEER-HEARTBEAT-CYCLE (RFC 5353 §4): PRESENCE to every peer this often");
ABSL_FLAG(absl::Duration, max_time_last_heard, absl::Seconds(61),
          "MAX-TIME-LAST-HEARD (RFC 5353 §4): a peer silent this long is asked");
ABSL_FLAG(absl::Duration, max_time_no_response, absl::Seconds(5),
          "MAX-TIME-NO-RESPONSE (RFC 5353 §4): a peer asked and silent this long is dead");
ABSL_FLAG(absl::Duration, takeover_expiry, absl::Seconds(5),
          "how long a takeover waits for INIT_TAKEOVER_ACKs before it goes on");
ABSL_FLAG(absl::Duration, mentor_discovery_timeout, absl::Seconds(5),
          "how long a starting registrar waits for a mentor before it serves alone");
ABSL_FLAG(int64_t, max_elements_per_table_response, 128,
          "PEs per HANDLE_TABLE_RESPONSE at most (RFC 5353 §3.2.3)");
ABSL_FLAG(absl::Duration, adopted_pe_timeout, absl::Seconds(30),
          "a PE taken over that neither answers our H-bit keep-alive nor registers again within "
          "this is removed");
ABSL_FLAG(std::string, management_address, "",
          "HOST:PORT of the management interface: HTTP with OpenMetrics (/metrics) and JSON "
          "(/api/...) for Prometheus, rspctl status/pools/pool/peers/top and rspd-snmp "
          "(docs/management.md); port 0 takes a free port; empty: off. Bind it to loopback or a "
          "management network only");
ABSL_FLAG(std::string, log_level, "info",
          "log levels: a default and per subsystem (asap, enrp, sctp, tls, config, management, "
          "security), e.g. info,enrp=debug; levels error, warning, info, debug; SIGHUP applies a "
          "changed one (docs/operations.md, \"Logs\")");
ABSL_FLAG(std::string, log_format, "logfmt",
          "log lines as logfmt (key=value) or json (one object per line), to stderr");
ABSL_FLAG(bool, print_stats, true, "print every counter when stopping");
ABSL_FLAG(std::string, config, "",
          "TOML configuration file: its keys are these flags' names, a table is a prefix ([tls] "
          "certificate = sets --tls_certificate); flags on the command line win over it; SIGHUP "
          "reads it again (docs/decisions.md, \"Configuration file\"; tools/rspd.example.toml)");
ABSL_FLAG(std::string, check_config, "",
          "check this configuration file with the other flags, start nothing and exit: 'FILE: ok' "
          "and status 0, or the error and status 2 (also spelled --check-config FILE)");

namespace rspd {
namespace {

// Narrows an int64 flag into `out` if it is within [low, high].
template <typename T>
absl::Status Narrow(const char* flag, int64_t value, int64_t low, int64_t high, T* out) {
  if (value < low || value > high) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " must be in [", low, ", ", high, "], got ", value));
  }
  *out = static_cast<T>(value);
  return absl::OkStatus();
}

// Where the configuration comes from (control/config_file.h): the file
// (--config or --check_config), the command line, and the keys a file may
// hold. main makes it before any thread starts; ReloadConfig holds config_mu.
ABSL_CONST_INIT absl::Mutex config_mu(absl::kConstInit);
control::ConfigLoader* config_loader = nullptr;

// Where each key of the file was set (none before main made the loader).
const control::ConfigFile& LoadedFile() {
  static const control::ConfigFile* const none = new control::ConfigFile;
  return config_loader != nullptr ? config_loader->file() : *none;
}

// The keys a configuration file may hold: the flags this file defines (not
// absl's --helpfull, --flagfile, ..., nor other libraries'), but the two that
// name the file.
std::vector<std::string> FileKeys() {
  std::vector<std::string> names;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::EndsWith(flag->Filename(), "tools/rspd_main.cc") && name != "config" &&
        name != "check_config") {
      names.emplace_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// --server_id=0 draws a random ID once per process, so that a reload keeps it.
uint32_t DrawnServerId() {
  static const uint32_t id = [] {
    absl::BitGen gen;
    return absl::Uniform<uint32_t>(absl::IntervalClosed, gen, 1, UINT32_MAX);
  }();
  return id;
}

absl::StatusOr<control::RegistrarConfig> BuildConfig() {
  control::RegistrarConfig config;
  if (!control::ParseIoBackend(absl::GetFlag(FLAGS_io), &config.io)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--io must be socket or dpdk, got '", absl::GetFlag(FLAGS_io), "'"));
  }
  const std::string enrp_thread = absl::GetFlag(FLAGS_enrp_thread);
  if (enrp_thread == "on" || enrp_thread == "off") {
    config.enrp_thread = enrp_thread == "on";
  } else if (enrp_thread == "auto") {
    config.enrp_thread = sysconf(_SC_NPROCESSORS_ONLN) >= 4;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--enrp_thread must be on, off or auto, got '", enrp_thread, "'"));
  }
  // Ranges wide enough for the config's own checks to name the real limits.
  constexpr int64_t kIntMax = INT32_MAX;
  for (absl::Status s : {
           Narrow("server_id", absl::GetFlag(FLAGS_server_id), 0, UINT32_MAX, &config.server_id),
           Narrow("udp_port", absl::GetFlag(FLAGS_udp_port), 0, 65535,
                  &config.udp_encapsulation_port),
           Narrow("asap_port", absl::GetFlag(FLAGS_asap_port), 1, 65535, &config.asap_port),
           Narrow("enrp_port", absl::GetFlag(FLAGS_enrp_port), 1, 65535, &config.enrp_port),
           Narrow("asap_tls_port", absl::GetFlag(FLAGS_asap_tls_port), 1, 65535,
                  &config.asap_tls_port),
           Narrow("enrp_tls_port", absl::GetFlag(FLAGS_enrp_tls_port), 1, 65535,
                  &config.enrp_tls_port),
           Narrow("enrp_tls_client_port", absl::GetFlag(FLAGS_enrp_tls_client_port), 1, 65535,
                  &config.enrp_tls_client_port),
           Narrow("enrp_multicast_port", absl::GetFlag(FLAGS_enrp_multicast_port), 1, 65535,
                  &config.enrp_multicast_port),
           Narrow("max_elements_per_table_response",
                  absl::GetFlag(FLAGS_max_elements_per_table_response), 0, kIntMax,
                  &config.max_elements_per_table_response),
           Narrow("announce_port", absl::GetFlag(FLAGS_announce_port), 1, 65535,
                  &config.announce_port),
           Narrow("shard_lcores", absl::GetFlag(FLAGS_shard_lcores), 0, kIntMax,
                  &config.shard_lcores),
           Narrow("max_handle_resolution_items", absl::GetFlag(FLAGS_max_handle_resolution_items),
                  0, kIntMax, &config.max_handle_resolution_items),
           Narrow("max_bad_pe_reports", absl::GetFlag(FLAGS_max_bad_pe_reports), 0, kIntMax,
                  &config.max_bad_pe_reports),
           Narrow("max_unreachable_reports_per_second",
                  absl::GetFlag(FLAGS_max_unreachable_reports_per_second), 0, kIntMax,
                  &config.max_unreachable_reports_per_second),
           Narrow("max_pool_elements", absl::GetFlag(FLAGS_max_pool_elements), 0, INT64_MAX,
                  &config.max_pool_elements),
           Narrow("max_pools", absl::GetFlag(FLAGS_max_pools), 0, INT64_MAX, &config.max_pools),
           Narrow("max_pes_per_pool", absl::GetFlag(FLAGS_max_pes_per_pool), 0, INT64_MAX,
                  &config.max_pes_per_pool),
           Narrow("max_pes_per_association", absl::GetFlag(FLAGS_max_pes_per_association), 0,
                  kIntMax, &config.max_pes_per_association),
           Narrow("max_registrations_per_second", absl::GetFlag(FLAGS_max_registrations_per_second),
                  0, kIntMax, &config.max_registrations_per_second),
           Narrow("max_resolutions_per_second", absl::GetFlag(FLAGS_max_resolutions_per_second), 0,
                  kIntMax, &config.max_resolutions_per_second),
           Narrow("max_peers", absl::GetFlag(FLAGS_max_peers), 0, kIntMax, &config.max_peers),
           Narrow("max_associations", absl::GetFlag(FLAGS_max_associations), 0, kIntMax,
                  &config.max_associations),
           Narrow("max_inits_per_address_per_second",
                  absl::GetFlag(FLAGS_max_inits_per_address_per_second), 0, kIntMax,
                  &config.max_inits_per_address_per_second),
           Narrow("max_inits_per_second", absl::GetFlag(FLAGS_max_inits_per_second), 0, kIntMax,
                  &config.max_inits_per_second),
           Narrow("udp_receive_buffer", absl::GetFlag(FLAGS_udp_receive_buffer), 0, kIntMax,
                  &config.udp_receive_buffer),
           Narrow("max_keep_alives_per_second", absl::GetFlag(FLAGS_max_keep_alives_per_second), 0,
                  kIntMax, &config.max_keep_alives_per_second),
           Narrow("announce_ttl", absl::GetFlag(FLAGS_announce_ttl), 0, kIntMax,
                  &config.announce_ttl),
           Narrow("dpdk_rx_queues", absl::GetFlag(FLAGS_dpdk_rx_queues), 0, kIntMax,
                  &config.dpdk_rx_queues),
           Narrow("dpdk_mbufs", absl::GetFlag(FLAGS_dpdk_mbufs), 0, kIntMax, &config.dpdk_mbufs),
           Narrow("dpdk_idle_sleep_us", absl::GetFlag(FLAGS_dpdk_idle_sleep_us), 0, kIntMax,
                  &config.dpdk_idle_sleep_us),
       }) {
    if (!s.ok()) return s;
  }
  if (config.server_id == 0) config.server_id = DrawnServerId();
  config.bind_address = absl::GetFlag(FLAGS_bind_address);
  config.management_address = absl::GetFlag(FLAGS_management_address);
  if (!config.management_address.empty()) {
    if (absl::StatusOr<protocol::HostPort> listen =
            control::management::ParseListenAddress(config.management_address);
        !listen.ok()) {
      return listen.status();
    }
  }
  config.tls.certificate_file = absl::GetFlag(FLAGS_tls_certificate);
  config.tls.private_key_file = absl::GetFlag(FLAGS_tls_private_key);
  config.tls.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  config.tls.crl_file = absl::GetFlag(FLAGS_tls_crl_file);
  config.tls.psk_file = absl::GetFlag(FLAGS_tls_psk_file);
  config.tls.psk_identity = absl::GetFlag(FLAGS_tls_psk_identity);
  config.tls.min_version = absl::GetFlag(FLAGS_tls_min_version);
  config.tls.policy_file = absl::GetFlag(FLAGS_tls_policy_file);
  config.dpdk_eal_args = absl::StrSplit(absl::GetFlag(FLAGS_dpdk_eal_args), ' ', absl::SkipEmpty());
  config.dpdk_addresses = absl::GetFlag(FLAGS_dpdk_addresses);
  config.dpdk_gateways = absl::GetFlag(FLAGS_dpdk_gateways);
  config.unreachable_report_window = absl::GetFlag(FLAGS_unreachable_report_window);
  config.sctp_peer_idle_timeout = absl::GetFlag(FLAGS_sctp_peer_idle_timeout);
  config.keep_alive_interval = absl::GetFlag(FLAGS_keep_alive_interval);
  config.keep_alive_timeout = absl::GetFlag(FLAGS_keep_alive_timeout);
  config.server_announce_cycle = absl::GetFlag(FLAGS_server_announce_cycle);
  config.announce_group = absl::GetFlag(FLAGS_announce_group);
  config.enrp_multicast_group = absl::GetFlag(FLAGS_enrp_multicast_group);
  config.peer_heartbeat_cycle = absl::GetFlag(FLAGS_peer_heartbeat_cycle);
  config.max_time_last_heard = absl::GetFlag(FLAGS_max_time_last_heard);
  config.max_time_no_response = absl::GetFlag(FLAGS_max_time_no_response);
  config.takeover_expiry = absl::GetFlag(FLAGS_takeover_expiry);
  config.mentor_discovery_timeout = absl::GetFlag(FLAGS_mentor_discovery_timeout);
  config.adopted_pe_timeout = absl::GetFlag(FLAGS_adopted_pe_timeout);
  for (const std::string& peer : absl::GetFlag(FLAGS_enrp_peers)) {
    absl::StatusOr<protocol::HostPort> split = protocol::SplitHostPort(peer);
    uint32_t port = 0;
    if (!split.ok() || !absl::SimpleAtoi(split->port, &port) || port == 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("--enrp_peers: '", peer, "' is not ADDRESS:UDP_PORT"));
    }
    config.enrp_peers.push_back({split->host, static_cast<uint16_t>(port)});
  }
  if (absl::Status status = config.Validate(); !status.ok()) {
    return status;
  }
  return config;
}

// The flags (the file's, then the command line's) as a RegistrarConfig; an
// error names the key and, for a key from the file, "(set at FILE:LINE)".
absl::StatusOr<control::RegistrarConfig> ConfigFromFlags() {
  absl::StatusOr<control::RegistrarConfig> config = BuildConfig();
  if (!config.ok()) return LoadedFile().Annotate(config.status());
  return config;
}

// For SIGHUP (Run's signal thread calls it; the registrar applies the result,
// control::RuntimeChanges tells what takes effect at once): the flags back to
// their defaults, the same file read again, the command line applied over it
// again, and a new, validated configuration. On an error the flags are as they
// were and the running configuration stays. (Flags from --flagfile or
// --fromenv are not read again: they return to their defaults.)
absl::StatusOr<control::RegistrarConfig> ReloadConfig() {
  absl::MutexLock lock(&config_mu);
  absl::StatusOr<control::RegistrarConfig> config;
  absl::Status status = config_loader->Reload([&config] {
    config = ConfigFromFlags();
    return config.status();
  });
  if (!status.ok()) return status;
  return config;
}

// The files the tls_* settings name exist and are readable regular files.
absl::Status CheckTlsFiles(const control::RegistrarConfig& config) {
  for (const auto& [flag, path] : {
           std::pair<const char*, const std::string&>{"tls_certificate",
                                                      config.tls.certificate_file},
           {"tls_private_key", config.tls.private_key_file},
           {"tls_ca_file", config.tls.ca_file},
           {"tls_crl_file", config.tls.crl_file},
           {"tls_psk_file", config.tls.psk_file},
           {"tls_policy_file", config.tls.policy_file},
       }) {
    if (path.empty()) continue;
    std::string problem;
    struct stat info;
    if (stat(path.c_str(), &info) != 0) {
      problem = strerror(errno);
    } else if (!S_ISREG(info.st_mode)) {
      problem = "not a regular file";
    } else if (FILE* file = fopen(path.c_str(), "r"); file != nullptr) {
      fclose(file);
    } else {
      problem = strerror(errno);
    }
    if (!problem.empty()) {
      return LoadedFile().Annotate(
          absl::NotFoundError(absl::StrCat(flag, ": cannot read '", path, "': ", problem)));
    }
  }
  return absl::OkStatus();
}

// --check_config=FILE: the configuration as a start would build it, and the
// files it names, without starting anything.
// The log's format and levels the flags give, checked; applied when
// `apply` (at start, and again on SIGHUP).
absl::Status ConfigureLog(bool apply) {
  absl::StatusOr<log::Format> format = log::ParseFormat(absl::GetFlag(FLAGS_log_format));
  if (!format.ok()) {
    return format.status();  // it names the flag
  }
  const std::string levels = absl::GetFlag(FLAGS_log_level);
  absl::Status status =
      apply ? log::Default().SetLevels(levels) : log::Default().CheckLevels(levels);
  if (!status.ok()) return status;  // it names the flag
  if (!apply) return absl::OkStatus();
  log::Default().SetFormat(*format);
  return absl::OkStatus();
}

int CheckConfig(const std::string& path) {
  absl::StatusOr<control::RegistrarConfig> config = ConfigFromFlags();
  absl::Status status = config.ok() ? CheckTlsFiles(*config) : config.status();
  if (status.ok()) status = ConfigureLog(/*apply=*/false);
  if (!status.ok()) {
    fprintf(stderr, "rspd: %s\n", std::string(status.message()).c_str());
    return 2;
  }
  printf("%s: ok\n", path.c_str());
  return 0;
}

// SIGHUP: the configuration file and the command line read again; what can
// change at run time goes to the registrar, the rest is named in the log.
void Reload(control::Registrar& registrar, control::RegistrarConfig* running) {
  static const log::Subsystem config_log = log::Get("config");
  // A HUP storm would otherwise log a line per signal.
  static log::RateLimit limit(10, absl::Seconds(1));
  absl::StatusOr<control::RegistrarConfig> next = ReloadConfig();
  // Log settings are flags of their own: checked with the rest, so that a
  // file with a bad one changes nothing.
  absl::Status status = next.ok() ? ConfigureLog(/*apply=*/false) : next.status();
  if (!status.ok()) {
    RSPD_LOG_LIMITED(config_log, kError, limit, "reload refused, the running configuration stays")
        .Kv("reason", status.message());
    return;
  }
  (void)ConfigureLog(/*apply=*/true);
  std::vector<std::string> restart_only;
  const std::string changes = control::RuntimeChanges(*running, *next, &restart_only);
  registrar.RequestReconfigure(*next);
  RSPD_LOG_LIMITED(config_log, kInfo, limit, "reload")
      .Kv("changes", changes.empty() ? "none" : changes);
  if (!restart_only.empty()) {
    RSPD_LOG_LIMITED(config_log, kWarning, limit,
                     "changed settings that take effect at the next start")
        .Kv("settings", absl::StrJoin(restart_only, ","));
  }
  // What runs now: the run-time settings are the new ones, the others stay
  // as started (so the next reload names them again only if they still
  // differ).
  control::TakeRuntimeSettings(*next, running);
}

int Run() {
  absl::StatusOr<control::RegistrarConfig> config = ConfigFromFlags();
  if (!config.ok()) {
    fprintf(stderr, "rspd: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (absl::Status status = ConfigureLog(/*apply=*/true); !status.ok()) {
    fprintf(stderr, "rspd: %s\n", std::string(status.message()).c_str());
    return 2;
  }
  // Before any thread starts, so that only sigwait() receives them. SIGUSR1
  // prints every counter and SIGHUP reloads the configuration, without
  // stopping.
  sigset_t signals = tools::BlockStopSignals();
  sigaddset(&signals, SIGUSR1);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<control::Registrar>> registrar =
      control::Registrar::Create(*config);
  if (!registrar.ok()) {
    fprintf(stderr, "rspd: %s\n", std::string(registrar.status().message()).c_str());
    return 1;
  }

  printf("rspd %s\n", kVersion);
  printf("configuration:\n%s", control::DescribeConfig(*config).c_str());
  printf("listening:\n");
  printf("%s", (*registrar)->io_description().c_str());
  printf("  sctp port %u  ASAP (PPID 11)\n", config->asap_port);
  if (config->secure()) {
    printf("%s", (*registrar)->DescribeSecurity().c_str());
    printf("  server ID 0x%08x\n", config->server_id);
  } else {
    printf("  sctp port %u  ENRP (PPID 12), server ID 0x%08x\n", config->enrp_port,
           config->server_id);
  }
  printf("  announces %s\n", (*registrar)->announce_status().c_str());
  printf("  enrp multicast %s\n", (*registrar)->enrp_multicast_status().c_str());
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (config->shard_lcores > 0 && config->shard_lcores >= cpus) {
    printf("warning: %d shard lcores on %ld CPUs share CPUs with the I/O thread\n",
           config->shard_lcores, cpus);
  }
  printf("handlespace: %zu shard(s), %s\n", (*registrar)->shard_count(),
         (*registrar)->shards_threaded() ? "each on a shard lcore" : "inline on the I/O thread");
  printf("ENRP: %s\n", config->enrp_thread ? "on a control thread of its own"
                                           : "on the I/O thread, at the end of each turn");
  // The management interface reads the registrar; it stops first (below).
  std::unique_ptr<control::management::ManagementServer> management;
  if (!config->management_address.empty()) {
    absl::StatusOr<std::unique_ptr<control::management::ManagementServer>> started =
        control::management::ManagementServer::Start(config->management_address,
                                                     (*registrar)->management_source(), kVersion);
    if (!started.ok()) {
      fprintf(stderr, "rspd: %s\n", std::string(started.status().message()).c_str());
      return 1;
    }
    management = std::move(*started);
    printf("management: http://%s (/metrics, /api/status; docs/management.md)\n",
           management->address().c_str());
  }
  printf("ready; Ctrl-C stops\n");
  fflush(stdout);

  // The loop runs here; a second thread waits for the stop signal (and
  // takes SIGUSR1 and SIGHUP).
  control::RegistrarConfig running = *config;
  int signal_number = 0;
  std::thread stopper([&] {
    while (sigwait(&signals, &signal_number) == 0 &&
           (signal_number == SIGUSR1 || signal_number == SIGHUP)) {
      if (signal_number == SIGUSR1) {
        (*registrar)->RequestStats();
      } else {
        Reload(**registrar, &running);
      }
    }
    (*registrar)->RequestStop();
  });
  (*registrar)->Run();
  stopper.join();
  management.reset();
  if (absl::GetFlag(FLAGS_print_stats)) {
    printf("statistics:\n%s", (*registrar)->DescribeStats().c_str());
  }
  registrar->reset();
  printf("rspd: stopped by %s\n", strsignal(signal_number));
  return 0;
}

// What main finds in argv before absl parses it.
struct PreScan {
  std::vector<std::string> args;  // argv without the program name, spellings rewritten
  std::string config;             // --config
  std::string check_config;       // --check_config or --check-config
};

// Finds --config and --check_config (in absl's forms: one or two dashes,
// "=VALUE" or the next argument) and rewrites --check-config FILE and
// --check-config=FILE to --check_config=FILE, which absl knows.
PreScan ScanArgs(int argc, char** argv) {
  PreScan scan;
  int i = 1;
  for (; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    absl::string_view name = arg;
    if (!absl::ConsumePrefix(&name, "--") && !absl::ConsumePrefix(&name, "-")) {
      scan.args.emplace_back(arg);
      continue;
    }
    std::string value;
    bool has_value = false;
    if (const size_t equals = name.find('='); equals != absl::string_view::npos) {
      value = std::string(name.substr(equals + 1));
      name = name.substr(0, equals);
      has_value = true;
    }
    const bool check = name == "check_config" || name == "check-config";
    if (!check && name != "config") {
      scan.args.emplace_back(arg);
      continue;
    }
    if (!has_value && i + 1 < argc) {
      value = argv[++i];
      has_value = true;
    }
    if (!has_value) {  // absl says what is missing
      scan.args.emplace_back(check ? "--check_config" : "--config");
      continue;
    }
    (check ? scan.check_config : scan.config) = value;
    scan.args.push_back(absl::StrCat(check ? "--check_config=" : "--config=", value));
  }
  for (; i < argc; ++i) scan.args.emplace_back(argv[i]);
  return scan;
}

// "rspd: " before each line of a message.
void PrintError(absl::string_view message) {
  for (absl::string_view line : absl::StrSplit(message, '\n')) {
    fprintf(stderr, "rspd: %s\n", std::string(line).c_str());
  }
}

}  // namespace
}  // namespace rspd

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage_config;
  usage_config.version_string = [] { return std::string("rspd ") + rspd::kVersion + "\n"; };
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(
      "the RSerPool registrar (ASAP server, ENRP server).\n"
      "Usage: rspd [--config=FILE.toml] [--io=socket|dpdk] [--udp_port=9899] [flags]\n"
      "       rspd --check-config FILE.toml [flags]   (checks, starts nothing)\n"
      "Run `rspd --helpfull` for every flag. SIGUSR1 prints every counter; SIGHUP reloads the "
      "configuration (file, limits, log levels, peers, authorization policy); SIGINT or SIGTERM "
      "stops.");
  // The file first, then the command line over it (docs/decisions.md,
  // "Configuration file"): a bad file starts nothing.
  rspd::PreScan scan = rspd::ScanArgs(argc, argv);
  const std::string& path = scan.check_config.empty() ? scan.config : scan.check_config;
  rspd::config_loader = new rspd::control::ConfigLoader(path, scan.args, rspd::FileKeys());
  if (absl::Status status = rspd::config_loader->LoadFile(); !status.ok()) {
    rspd::PrintError(status.message());
    return 2;
  }
  std::vector<char*> args = {argv[0]};
  for (std::string& arg : scan.args) args.push_back(arg.data());
  args.push_back(nullptr);
  absl::ParseCommandLine(static_cast<int>(args.size() - 1), args.data());
  rspd::config_loader->CommandLineParsed();
  if (!scan.check_config.empty()) return rspd::CheckConfig(scan.check_config);
  return rspd::Run();
}
