// rspd: the RSerPool registrar (ENRP server, RFC 5353; ASAP server side, RFC 5352).
//
// Thin main: flags -> control::RegistrarConfig -> run until SIGINT/SIGTERM.

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/config.h"
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
ABSL_FLAG(bool, print_stats, true, "print every counter when stopping");

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

absl::StatusOr<control::RegistrarConfig> ConfigFromFlags() {
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
  if (config.server_id == 0) {
    absl::BitGen gen;
    config.server_id = absl::Uniform<uint32_t>(absl::IntervalClosed, gen, 1, UINT32_MAX);
  }
  config.bind_address = absl::GetFlag(FLAGS_bind_address);
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

int Run() {
  absl::StatusOr<control::RegistrarConfig> config = ConfigFromFlags();
  if (!config.ok()) {
    fprintf(stderr, "rspd: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  // Before any thread starts, so that only sigwait() receives them. SIGUSR1
  // prints every counter and SIGHUP reloads the authorization policy, without
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
  printf("ready; Ctrl-C stops\n");
  fflush(stdout);

  // The loop runs here; a second thread waits for the stop signal.
  int signal_number = 0;
  std::thread stopper([&] {
    while (sigwait(&signals, &signal_number) == 0 &&
           (signal_number == SIGUSR1 || signal_number == SIGHUP)) {
      if (signal_number == SIGUSR1) {
        (*registrar)->RequestStats();
      } else {
        (*registrar)->RequestReload();
      }
    }
    (*registrar)->RequestStop();
  });
  (*registrar)->Run();
  stopper.join();
  if (absl::GetFlag(FLAGS_print_stats)) {
    printf("statistics:\n%s", (*registrar)->DescribeStats().c_str());
  }
  registrar->reset();
  printf("rspd: stopped by %s\n", strsignal(signal_number));
  return 0;
}

}  // namespace
}  // namespace rspd

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage_config;
  usage_config.version_string = [] { return std::string("rspd ") + rspd::kVersion + "\n"; };
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(
      "the RSerPool registrar (ASAP server, ENRP server).\n"
      "Usage: rspd [--io=socket|dpdk] [--udp_port=9899] [flags]\n"
      "Run `rspd --helpfull` for every flag. SIGUSR1 prints every counter; SIGHUP reloads the "
      "authorization policy; SIGINT or SIGTERM stops.");
  absl::ParseCommandLine(argc, argv);
  return rspd::Run();
}
