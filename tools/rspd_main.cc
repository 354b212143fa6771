// rspd: the RSerPool registrar (ENRP server, RFC 5353; ASAP server side, RFC 5352).
//
// Thin main: flags -> control::RegistrarConfig -> run until SIGINT/SIGTERM.

#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "control/config.h"
#include "control/registrar.h"
#include "tools/stop_signals.h"
#include "tools/version.h"

ABSL_FLAG(std::string, io, "socket", "packet I/O backend: socket (kernel UDP) or dpdk");
ABSL_FLAG(uint32_t, server_id, 0, "ENRP server ID; 0 draws a random non-zero ID (RFC 5353 §3.2.1)");
ABSL_FLAG(std::string, bind_address, "0.0.0.0", "local address for all sockets");
ABSL_FLAG(uint16_t, udp_port, 9899,
          "UDP port of the SCTP-over-UDP encapsulation (RFC 6951); 0 picks a free port");
ABSL_FLAG(uint16_t, asap_port, 3863, "SCTP port for ASAP (RFC 5352 §8.2)");
ABSL_FLAG(uint16_t, enrp_port, 9901, "SCTP port for ENRP (RFC 5353 §5.3)");
ABSL_FLAG(
    int, shard_lcores, 0,
    "handlespace shards on threads of their own (shard K pinned to CPU (K+1) mod CPUs), fed by "
    "rings; 0 = one shard inline on the I/O thread (best on 2 cores)");
ABSL_FLAG(int, max_handle_resolution_items, 3, "most PEs returned per handle resolution");
ABSL_FLAG(int, max_bad_pe_reports, 3,
          "MAX-BAD-PE-REPORT (RFC 5352 §3.5): unreachable reports from this many distinct "
          "addresses within --unreachable_report_window remove a PE");
ABSL_FLAG(absl::Duration, unreachable_report_window, absl::Seconds(60),
          "how long an unreachable report counts against a PE");
ABSL_FLAG(int, max_unreachable_reports_per_second, 10,
          "unreachable reports taken per second from one address (all its associations); 0: no "
          "limit");
ABSL_FLAG(uint64_t, max_pool_elements, 2000000, "PEs in the handlespace at most");
ABSL_FLAG(uint64_t, max_pools, 100000, "pools in the handlespace at most");
ABSL_FLAG(uint64_t, max_pes_per_pool, 100000, "PEs in one pool at most");
ABSL_FLAG(int, max_pes_per_association, 10000, "PEs registered over one association at most");
ABSL_FLAG(int, max_registrations_per_second, 20000,
          "registrations per second and association at most (0: no limit)");
ABSL_FLAG(int, max_resolutions_per_second, 20000,
          "handle resolutions per second and association at most (0: no limit)");
ABSL_FLAG(int, max_peers, 16384,
          "remote SCTP endpoints (address and UDP port) at most; half-open ones make room");
ABSL_FLAG(int, max_associations, 16384, "SCTP associations at most");
ABSL_FLAG(int, max_inits_per_address_per_second, 200,
          "new remote SCTP endpoints (INITs) per second from one IP address at most (0: no limit)");
ABSL_FLAG(absl::Duration, sctp_peer_idle_timeout, absl::Seconds(10),
          "a remote endpoint that never set up an association is forgotten after this long "
          "without a packet");
ABSL_FLAG(int, udp_receive_buffer, 8 << 20,
          "UDP receive buffer in bytes (past net.core.rmem_max only as root)");
ABSL_FLAG(absl::Duration, keep_alive_interval, absl::Seconds(5),
          "interval of ENDPOINT_KEEP_ALIVEs to owned PEs (RFC 5352 §3.4)");
ABSL_FLAG(absl::Duration, keep_alive_timeout, absl::Seconds(5),
          "time a PE has to answer a keep-alive");
ABSL_FLAG(int, max_keep_alives_per_second, 100000,
          "most ENDPOINT_KEEP_ALIVEs sent per second; due ones beyond wait (0: no limit)");
ABSL_FLAG(absl::Duration, server_announce_cycle, absl::Seconds(1),
          "T6-Serverannounce (RFC 5352 §7.1)");
ABSL_FLAG(std::string, announce_group, "224.0.1.185",
          "multicast group for ASAP_SERVER_ANNOUNCE (RFC 5352 §8.4); empty disables");
ABSL_FLAG(uint16_t, announce_port, 3863, "UDP port for ASAP_SERVER_ANNOUNCE");
ABSL_FLAG(int, announce_ttl, 1, "multicast TTL of the announces (1: this link only)");
ABSL_FLAG(absl::Duration, peer_heartbeat_cycle, absl::Seconds(30),
          "PEER-HEARTBEAT-CYCLE (RFC 5353 §4)");
ABSL_FLAG(absl::Duration, max_time_last_heard, absl::Seconds(61),
          "MAX-TIME-LAST-HEARD (RFC 5353 §4)");
ABSL_FLAG(absl::Duration, max_time_no_response, absl::Seconds(5),
          "MAX-TIME-NO-RESPONSE (RFC 5353 §4)");
ABSL_FLAG(bool, print_stats, true, "print every counter when stopping");
ABSL_FLAG(absl::Duration, takeover_expiry, absl::Seconds(5),
          "how long a takeover waits for INIT_TAKEOVER_ACKs (not in RFC 5353; RSPLIB 5 s)");

namespace rspd {
namespace {

absl::StatusOr<control::RegistrarConfig> ConfigFromFlags() {
  control::RegistrarConfig config;
  if (!control::ParseIoBackend(absl::GetFlag(FLAGS_io), &config.io)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--io must be socket or dpdk, got '", absl::GetFlag(FLAGS_io), "'"));
  }
  config.server_id = absl::GetFlag(FLAGS_server_id);
  if (config.server_id == 0) {
    absl::BitGen gen;
    config.server_id = absl::Uniform<uint32_t>(absl::IntervalClosed, gen, 1, UINT32_MAX);
  }
  config.bind_address = absl::GetFlag(FLAGS_bind_address);
  config.udp_encapsulation_port = absl::GetFlag(FLAGS_udp_port);
  config.asap_port = absl::GetFlag(FLAGS_asap_port);
  config.enrp_port = absl::GetFlag(FLAGS_enrp_port);
  config.shard_lcores = absl::GetFlag(FLAGS_shard_lcores);
  config.max_handle_resolution_items = absl::GetFlag(FLAGS_max_handle_resolution_items);
  config.max_bad_pe_reports = absl::GetFlag(FLAGS_max_bad_pe_reports);
  config.unreachable_report_window = absl::GetFlag(FLAGS_unreachable_report_window);
  config.max_unreachable_reports_per_second =
      absl::GetFlag(FLAGS_max_unreachable_reports_per_second);
  config.max_pool_elements = absl::GetFlag(FLAGS_max_pool_elements);
  config.max_pools = absl::GetFlag(FLAGS_max_pools);
  config.max_pes_per_pool = absl::GetFlag(FLAGS_max_pes_per_pool);
  config.max_pes_per_association = absl::GetFlag(FLAGS_max_pes_per_association);
  config.max_registrations_per_second = absl::GetFlag(FLAGS_max_registrations_per_second);
  config.max_resolutions_per_second = absl::GetFlag(FLAGS_max_resolutions_per_second);
  config.max_peers = absl::GetFlag(FLAGS_max_peers);
  config.max_associations = absl::GetFlag(FLAGS_max_associations);
  config.max_inits_per_address_per_second = absl::GetFlag(FLAGS_max_inits_per_address_per_second);
  config.sctp_peer_idle_timeout = absl::GetFlag(FLAGS_sctp_peer_idle_timeout);
  config.udp_receive_buffer = absl::GetFlag(FLAGS_udp_receive_buffer);
  config.keep_alive_interval = absl::GetFlag(FLAGS_keep_alive_interval);
  config.keep_alive_timeout = absl::GetFlag(FLAGS_keep_alive_timeout);
  config.max_keep_alives_per_second = absl::GetFlag(FLAGS_max_keep_alives_per_second);
  config.server_announce_cycle = absl::GetFlag(FLAGS_server_announce_cycle);
  config.announce_group = absl::GetFlag(FLAGS_announce_group);
  config.announce_port = absl::GetFlag(FLAGS_announce_port);
  config.announce_ttl = absl::GetFlag(FLAGS_announce_ttl);
  config.peer_heartbeat_cycle = absl::GetFlag(FLAGS_peer_heartbeat_cycle);
  config.max_time_last_heard = absl::GetFlag(FLAGS_max_time_last_heard);
  config.max_time_no_response = absl::GetFlag(FLAGS_max_time_no_response);
  config.takeover_expiry = absl::GetFlag(FLAGS_takeover_expiry);
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
  if (config->io == control::IoBackend::kDpdk) {
    fprintf(stderr, "rspd: --io=dpdk is not available in this build yet; use --io=socket\n");
    return 2;
  }

  // Before any thread starts, so that only sigwait() receives them. SIGUSR1
  // prints every counter without stopping.
  sigset_t signals = tools::BlockStopSignals();
  sigaddset(&signals, SIGUSR1);
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
  // An IPv6 address in brackets, so that the port reads apart: [::1]:9899.
  const bool v6_bind = config->bind_address.find(':') != std::string::npos;
  printf("  udp %s%s%s:%u  SCTP over UDP (RFC 6951), receive buffer %d bytes\n", v6_bind ? "[" : "",
         config->bind_address.c_str(), v6_bind ? "]" : "", (*registrar)->udp_port(),
         (*registrar)->udp_receive_buffer());
  printf("  sctp port %u  ASAP (PPID 11)\n", config->asap_port);
  printf("  sctp port %u  ENRP (PPID 12)\n", config->enrp_port);
  printf("  announces %s\n", (*registrar)->announce_status().c_str());
  printf("handlespace: %zu shard(s), %s\n", (*registrar)->shard_count(),
         (*registrar)->shards_threaded() ? "each on a shard lcore" : "inline on the I/O thread");
  printf("ready; Ctrl-C stops\n");
  fflush(stdout);

  // The loop runs here; a second thread waits for the stop signal.
  int signal_number = 0;
  std::thread stopper([&] {
    while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGUSR1) {
      (*registrar)->RequestStats();
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
      "Usage: rspd [--io=socket] [--udp_port=9899] [flags]\n"
      "Run `rspd --helpfull` for every flag. SIGUSR1 prints every counter; SIGINT or SIGTERM "
      "stops.");
  absl::ParseCommandLine(argc, argv);
  return rspd::Run();
}
