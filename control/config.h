// File: control/config.h
//
// The registrar's configuration: every timer, threshold, limit and endpoint
// of RFC 5352 §7 that rspd exposes, with the RFC defaults (or, where the RFC
// gives none, RSPLIB's; see docs/decisions.md), and its limits
// (docs/limits.md). `tools/rspd`
// fills it from flags and its configuration file (control/config_file.h);
// `Validate()` rejects impossible combinations with a message that names the
// flag; `RuntimeChanges()` tells which changes a reload applies at once.
//
// Example:
//   RegistrarConfig config;
//   config.udp_encapsulation_port = 0;  // any free port
//   absl::Status status = config.Validate();

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "protocol/address.h"

namespace rspd::control {

// Which packet I/O backend feeds the SCTP bridge (docs/architecture.md).
enum class IoBackend {
  kSocket,  // kernel UDP sockets; runs anywhere
  kDpdk,    // DPDK ports (NICs or vdevs)
};

// Every field has a row in Settings() (config.cc): its flag name and whether
// a reload changes it at run time.
struct RegistrarConfig {
  IoBackend io = IoBackend::kSocket;

  // 0 = draw a random non-zero ID at startup (RFC 5353 §2.1, §3.2.1).
  uint32_t server_id = 0;

  // Addresses and ports. SCTP runs over UDP encapsulation (RFC 6951 §5.1: 9899).
  std::string bind_address = "0.0.0.0";
  uint16_t udp_encapsulation_port = 9899;
  uint16_t asap_port = 3863;  // RFC 5352 §8.2
  uint16_t enrp_port = 9901;  // RFC 5353 §7 (IANA: enrp-sctp)

  // Security (RFC 5352 §9, RFC 5353 §6; docs/security.md). With a
  // certificate or a PSK file the registrar is secure: it serves ASAP over
  // TLS on asap_tls_port besides plaintext on asap_port (where PUs may still
  // resolve, RFC 5355 §2.15, but registrations get cause 0xa), and ENRP over
  // TLS only, on enrp_tls_port, its own associations to peers starting from
  // enrp_tls_client_port (dataplane/tls_associations.h).
  struct Tls {
    std::string certificate_file;  // PEM chain
    std::string private_key_file;  // PEM
    std::string ca_file;           // PEM: whom peers' certificates must chain to
    std::string crl_file;          // PEM: revoked certificates
    std::string psk_file;          // "IDENTITY HEXKEY" lines
    std::string psk_identity;      // ours, toward ENRP peers (with psk_file)
    std::string min_version = "1.3";
    // Authorization (control/security_policy.h); empty: every authenticated
    // identity may do everything. Reloaded on SIGHUP.
    std::string policy_file;
  } tls;
  uint16_t asap_tls_port = 3864;         // RFC 5352 §8.2 (asap-sctp-tls)
  uint16_t enrp_tls_port = 9902;         // RFC 5353 §5.3 (enrp-sctp-tls)
  uint16_t enrp_tls_client_port = 9903;  // rspd's choice (docs/security.md)
  bool secure() const { return !tls.certificate_file.empty() || !tls.psk_file.empty(); }

  // The management interface (docs/management.md): HTTP with OpenMetrics
  // and JSON on "HOST:PORT" (port 0: any free port); empty: off.
  std::string management_address;

  // Handlespace shards on their own lcores; 0 runs them inline on the I/O lcore.
  int shard_lcores = 0;
  // ENRP on a control thread of its own; false runs it on the I/O thread,
  // at the end of each turn of the loop (docs/decisions.md, "ENRP").
  bool enrp_thread = false;

  // RFC 5352 §3.3 says "SHOULD list all"; RFC 5356 "at most the requested
  // number". rspd answers with up to this many (RSPLIB MaxHResItems = 3).
  int max_handle_resolution_items = 3;
  // RFC 5352 §3.5: no default in the RFC; RSPLIB uses 3. Reports count once
  // per reporting address, within the window (RFC 5355 §2.13).
  int max_bad_pe_reports = 3;
  absl::Duration unreachable_report_window = absl::Seconds(60);

  // Limits (docs/limits.md): each refusal is answered with the RFC's cause
  // and counted. Rates are per second; 0 turns a rate limit off.
  size_t max_pool_elements = 2000000;           // PEs in the handlespace
  size_t max_pools = 100000;                    // pools in the handlespace
  size_t max_pes_per_pool = 100000;             // PEs in one pool
  int max_pes_per_association = 10000;          // PEs registered over one association
  int max_registrations_per_second = 20000;     // per association (re-registrations too)
  int max_resolutions_per_second = 20000;       // per association
  int max_unreachable_reports_per_second = 10;  // per reporting address
  // The SCTP layer: remote endpoints, associations, half-open remotes.
  int max_peers = 16384;
  int max_associations = 16384;
  int max_inits_per_address_per_second = 200;  // new remote endpoints of one address
  int max_inits_per_second = 1000;             // new remote endpoints in all
  absl::Duration sctp_peer_idle_timeout = absl::Seconds(10);
  // The UDP socket's receive buffer (bytes): bursts wait here.
  int udp_receive_buffer = 8 << 20;

  // RFC 5352 §3.4 periodic keep-alives to owned PEs (RSPLIB: 5 s / 5 s).
  absl::Duration keep_alive_interval = absl::Seconds(5);
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  // Keep-alives sent per second at most (RFC 5352 §3.4 leaves the pacing to
  // the registrar); due ones beyond it wait for the next tick. 0: no limit.
  // The default covers 500,000 PEs at the 5 s interval.
  int max_keep_alives_per_second = 100000;

  // RFC 5352 §3.6 / §7.1 T6-Serverannounce = 1 s. Announcements go to the
  // multicast group; empty disables them.
  absl::Duration server_announce_cycle = absl::Seconds(1);
  // RFC 5352 §8.4: IPv4 224.0.1.185, IPv6 FF0X::133 (rspd's IPv6 choice:
  // ff05::133, site scope). Its family must be bind_address's.
  std::string announce_group = "224.0.1.185";
  uint16_t announce_port = 3863;  // asap-udp (RFC 5352 §8.2; docs/decisions.md)
  int announce_ttl = 1;           // TTL / IPv6 hop limit: this link unless configured

  // ENRP (RFC 5353). The static peer list: other registrars of the
  // operation scope, each an SCTP-over-UDP endpoint (address and UDP port;
  // their ENRP SCTP port is enrp_port). The first reachable one is the
  // mentor (§3.2.2.1); none: this registrar is alone and serves at once.
  struct PeerAddress {
    std::string host;
    uint16_t udp_port = 9899;
  };
  std::vector<PeerAddress> enrp_peers;
  // ENRP PRESENCE over multicast (RSPLIB's 239.0.0.51:9901; RFC 5353 names
  // no group, docs/decisions.md): every PEER-HEARTBEAT-CYCLE, and servers
  // heard there are called like static peers. Empty disables it; on only
  // where a route to the group exists, with --announce_ttl. Its family must
  // be bind_address's (IPv6: e.g. ff05::134).
  std::string enrp_multicast_group = "239.0.0.51";
  uint16_t enrp_multicast_port = 9901;
  // RFC 5353 §4 thresholds, with the RFC's defaults.
  absl::Duration peer_heartbeat_cycle = absl::Seconds(30);  // PEER-HEARTBEAT-CYCLE
  absl::Duration max_time_last_heard = absl::Seconds(61);   // MAX-TIME-LAST-HEARD
  absl::Duration max_time_no_response = absl::Seconds(5);   // MAX-TIME-NO-RESPONSE
  // The RFC gives none (docs/decisions.md): RSPLIB's 5 s. How long a
  // takeover waits for INIT_TAKEOVER_ACKs, and how long a peer marked
  // inactive by another's takeover waits for its TAKEOVER_SERVER.
  absl::Duration takeover_expiry = absl::Seconds(5);
  // How long a starting registrar waits for a mentor before it serves alone
  // (RSPLIB's mentor discovery timeout).
  absl::Duration mentor_discovery_timeout = absl::Seconds(5);
  // PEs per HANDLE_TABLE_RESPONSE at most (§3.2.3; RSPLIB: 128); a response
  // also stops short of the 64 KiB message limit.
  int max_elements_per_table_response = 128;
  // How long a PE taken over (or found ours after a restart) stays without
  // answering our ENDPOINT_KEEP_ALIVE (H bit) or re-registering: then it is
  // removed like a PE whose lifetime ended.
  absl::Duration adopted_pe_timeout = absl::Seconds(30);

  // --io=dpdk (docs/dpdk.md). EAL arguments, passed through; the ports'
  // addresses as "[PORT@]ADDRESS/PREFIX" (port 0 if not named; at most one
  // IPv4 address per port) and next hops as "[PORT@]ADDRESS".
  std::vector<std::string> dpdk_eal_args;
  std::vector<std::string> dpdk_addresses;
  std::vector<std::string> dpdk_gateways;
  int dpdk_rx_queues = 1;  // per port; more than one: RSS
  int dpdk_mbufs = 16383;  // the packet buffer pool
  // An idle I/O loop sleeps up to this long between polls; 0 polls without
  // pause (a dedicated core).
  int dpdk_idle_sleep_us = 500;

  // Returns InvalidArgument naming the offending setting.
  absl::Status Validate() const;
};

// One of dpdk_addresses or dpdk_gateways, parsed: "[PORT@]ADDRESS[/PREFIX]".
struct DpdkAddress {
  int port = 0;
  protocol::IpAddress ip;
  int prefix_length = -1;  // -1: none given
};
absl::StatusOr<DpdkAddress> ParseDpdkAddress(const std::string& text);

// Parses "socket" or "dpdk".
bool ParseIoBackend(const std::string& text, IoBackend* out);
const char* IoBackendName(IoBackend io);

// One line per setting, "name = value", for the startup banner and `rspctl`.
std::string DescribeConfig(const RegistrarConfig& config);

// How a changed setting takes effect when the configuration is reloaded
// (SIGHUP; docs/decisions.md, "Configuration file").
enum class Reload {
  kRuntime,    // at once: the limits, the authorization policy file
  kAdditions,  // a list whose added entries take effect at once (enrp_peers), removals at restart
  kRestart,    // at the next start: sockets, ports, threads, TLS contexts, timers, DPDK
};

// One setting of RegistrarConfig, named by its flag (tools/rspd_main.cc) and
// configuration-file key. Settings() (config.cc) is the one list of every
// field and how it is reloaded; a field added to RegistrarConfig gets a row
// there (control/config_test.cc checks that the list is complete).
struct SettingInfo {
  const char* name;
  Reload reload;
  std::string (*text)(const RegistrarConfig&);  // its value, for messages
};
const std::vector<SettingInfo>& Settings();

// A setting whose value differs between two configurations. enrp_peers may
// give two: its added peers (kAdditions) and its removed ones (kRestart).
struct SettingChange {
  std::string name;
  std::string before;
  std::string after;
  bool at_runtime = false;
};
std::vector<SettingChange> ChangedSettings(const RegistrarConfig& old, const RegistrarConfig& next);

// What a reload from `old` to `next` changes at once, for the log:
// "max_pools 100000 -> 200000, enrp_peers +10.0.0.4:9899"; "" if nothing.
// The names of the changed settings that wait for a restart are appended to
// `restart_only` (if not null).
//
// Example:
//   std::vector<std::string> later;
//   std::string now = RuntimeChanges(running, *reloaded, &later);
std::string RuntimeChanges(const RegistrarConfig& old, const RegistrarConfig& next,
                           std::vector<std::string>* restart_only);

// Copies the settings of `next` that change at run time (kRuntime; and the
// added peers of kAdditions) into `running`, leaving the others: what a
// reload applies (Registrar::Reconfigure, AsapServer::UpdateLimits).
void TakeRuntimeSettings(const RegistrarConfig& next, RegistrarConfig* running);

}  // namespace rspd::control
