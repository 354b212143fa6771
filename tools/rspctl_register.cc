// `rspctl register`: become a pool element. Registers at the registrar, stays
// registered (re-registering every T4 and answering keep-alives) until
// SIGINT/SIGTERM, then deregisters (RFC 5352 §3.1, §3.2, §3.4).

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/asap_session.h"
#include "client/pool_element.h"
#include "client/server_hunt.h"
#include "protocol/address.h"
#include "tools/rspctl_commands.h"
#include "tools/rspctl_flags.h"
#include "tools/rspctl_policy.h"
#include "tools/stop_signals.h"

ABSL_FLAG(std::string, address, "",
          "register: the PE's user transport addresses, comma-separated; default: the local "
          "address toward the first registrar (the one it sees, RFC 5352 §2.2.1), or "
          "--announce_interface with announces only");
ABSL_FLAG(int64_t, port, 7, "register: the PE's user transport port, 1 to 65535");
ABSL_FLAG(std::string, transport, "sctp", "register: user transport: sctp, tcp or udp");
ABSL_FLAG(bool, control_channel, false, "register: SCTP transport carries ASAP control too");
ABSL_FLAG(int64_t, lifetime, 30,
          "register: registration life in seconds, at least 1; -1: infinite (RFC 5354 §3.10)");
ABSL_FLAG(int64_t, pe_id, 0,
          "register: PE identifier, 1 to 4294967295; 0 draws a random one (RFC 5352 §3.1)");
ABSL_FLAG(int64_t, count, 1,
          "register: how many PEs to register over the one association; PE i gets pe_id+i, "
          "port+i and the policy value (weight, priority or load) + i*value_step, each within "
          "its range");
ABSL_FLAG(absl::Duration, server_hunt_timeout, absl::Seconds(10),
          "register: T5-Serverhunt, more than 0, doubled after each failed round up to 60 s "
          "(RFC 5352 §3.6)");
ABSL_FLAG(std::string, announce_group, "",
          "register: also learn registrars from ASAP_SERVER_ANNOUNCEs on GROUP[:PORT] "
          "(RFC 5352 §3.6), e.g. 224.0.1.185:3863 or [ff05::133]:3863; they are reached on "
          "UDP port 9899");
ABSL_FLAG(std::string, announce_interface, "127.0.0.1",
          "register: the local address (IPv4 or IPv6) whose interface hears the announces");
ABSL_FLAG(bool, reregister, true,
          "register: re-register every T4 to renew the lifetime (false: let it expire)");
ABSL_FLAG(int64_t, value_step, 0, "register: policy value increment between the --count PEs");

namespace rspd::tools {
namespace {

absl::StatusOr<std::vector<protocol::IpAddress>> ParseAddresses(const std::string& text) {
  std::vector<protocol::IpAddress> out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    if (part.empty()) return absl::InvalidArgumentError("--address: an empty address in the list");
    std::optional<protocol::IpAddress> address = protocol::IpAddress::Parse(part);
    if (!address) {
      return absl::InvalidArgumentError(absl::StrCat("--address: not an IP address: '", part, "'"));
    }
    out.push_back(*address);
  }
  return out;
}

// The PEs the flags describe, every value checked: InvalidArgument naming the
// flag and its range otherwise.
absl::StatusOr<std::vector<protocol::PoolElement>> PoolElementsFromFlags() {
  const int64_t lifetime = absl::GetFlag(FLAGS_lifetime);
  if (lifetime != protocol::kInfiniteLifetime && (lifetime < 1 || lifetime > INT32_MAX)) {
    // RFC 5354 §3.10: seconds, -1 infinite. 0 would re-register at once,
    // again and again; other negative values mean nothing.
    return absl::InvalidArgumentError(absl::StrCat(
        "--lifetime must be -1 (infinite) or 1 to 2147483647 seconds; got ", lifetime));
  }
  const int64_t port = absl::GetFlag(FLAGS_port);
  if (absl::Status s = CheckRange("--port", port, 1, kMaxPort); !s.ok()) return s;
  const int64_t count = absl::GetFlag(FLAGS_count);
  if (count < 1 || port + count - 1 > kMaxPort) {
    return absl::InvalidArgumentError(absl::StrCat("--count must be 1 to ", kMaxPort - port + 1,
                                                   " (PE i gets port ", port, "+i, at most ",
                                                   kMaxPort, "); got ", count));
  }
  const int64_t pe_id = absl::GetFlag(FLAGS_pe_id);
  if (pe_id < 0 || pe_id + count - 1 > kMaxUint32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--pe_id must be 0 (random) or 1 to ", kMaxUint32 - count + 1,
        " (PE i gets pe_id+i, at most ", kMaxUint32, ", with --count=", count, "); got ", pe_id));
  }
  const int64_t step = absl::GetFlag(FLAGS_value_step);
  if (absl::Status s = CheckRange("--value_step", step, 0, kMaxUint32); !s.ok()) return s;
  absl::StatusOr<protocol::PolicyInfo> policy = PolicyFromFlags();
  if (!policy.ok()) return policy.status();
  // The value --value_step steps: the policy's first (protocol/policy_table.h).
  const protocol::PolicyRow& row = *protocol::FindPolicy(policy->type);
  const uint32_t first_value = row.value_count > 0 ? policy->at(row.values[0]) : 0;
  if (row.value_count > 0 && count > 1 && first_value + (count - 1) * step > kMaxUint32) {
    return absl::InvalidArgumentError(
        absl::StrCat("--value_step must be 0 to ", (kMaxUint32 - first_value) / (count - 1),
                     " (PE i gets the policy value ", first_value, "+i*step, at most ", kMaxUint32,
                     ", with --count=", count, "); got ", step));
  }

  protocol::PoolElement pe;
  pe.registration_life = static_cast<int32_t>(lifetime);
  const std::string transport = absl::GetFlag(FLAGS_transport);
  if (transport == "sctp") {
    pe.user.type = protocol::ParamType::kSctpTransport;
  } else if (transport == "tcp") {
    pe.user.type = protocol::ParamType::kTcpTransport;
  } else if (transport == "udp") {
    pe.user.type = protocol::ParamType::kUdpTransport;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--transport must be sctp, tcp or udp; got '", transport, "'"));
  }
  const bool control_channel = absl::GetFlag(FLAGS_control_channel);
  if (control_channel && pe.user.type != protocol::ParamType::kSctpTransport) {
    // RFC 5354 §3.4: only the SCTP transport has a Transport Use.
    return absl::InvalidArgumentError("--control_channel needs --transport=sctp");
  }
  // Without --address, PoolElement::Start fills in the address the first
  // registrar sees (or the announce interface's).
  const std::string address_text = absl::GetFlag(FLAGS_address);
  pe.user.use = control_channel ? protocol::TransportUse::kDataPlusControl
                                : protocol::TransportUse::kDataOnly;
  if (!address_text.empty()) {
    absl::StatusOr<std::vector<protocol::IpAddress>> addresses = ParseAddresses(address_text);
    if (!addresses.ok()) return addresses.status();
    for (const protocol::IpAddress& a : *addresses) {
      if (!pe.user.addresses.push_back(a)) {
        return absl::InvalidArgumentError(absl::StrCat("--address: at most ",
                                                       protocol::kMaxTransportAddresses,
                                                       " addresses (RFC 5352 §3.1 rule 5)"));
      }
    }
  }
  pe.policy = *policy;

  uint32_t first_id = static_cast<uint32_t>(pe_id);
  if (first_id == 0) {
    absl::BitGen gen;
    first_id = absl::Uniform<uint32_t>(absl::IntervalClosed, gen, 1,
                                       static_cast<uint32_t>(kMaxUint32 - count + 1));
  }
  std::vector<protocol::PoolElement> pes;
  pes.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    protocol::PoolElement p = pe;
    p.id = static_cast<uint32_t>(first_id + i);
    p.user.port = static_cast<uint16_t>(port + i);
    if (row.value_count > 0) p.policy.at(row.values[0]) += static_cast<uint32_t>(i * step);
    pes.push_back(p);
  }
  return pes;
}

int RunRegister(const std::vector<std::string>& /*args*/) {
  constexpr absl::string_view kCommand = "register";
  const std::string pool = absl::GetFlag(FLAGS_pool);
  if (absl::Status s = CheckPoolFlag(pool); !s.ok()) return UsageError(kCommand, s);
  const absl::Duration t5 = absl::GetFlag(FLAGS_server_hunt_timeout);
  if (absl::Status s = CheckPositive("--server_hunt_timeout", t5); !s.ok()) {
    return UsageError(kCommand, s);
  }
  const std::string announce_group = absl::GetFlag(FLAGS_announce_group);
  absl::StatusOr<std::vector<client::RegistrarAddress>> registrars =
      client::ParseRegistrarList(absl::GetFlag(FLAGS_registrar));
  if (!registrars.ok() && !announce_group.empty() && absl::GetFlag(FLAGS_registrar).empty()) {
    registrars = std::vector<client::RegistrarAddress>();  // announces only
  }
  if (!registrars.ok()) {
    return UsageError(kCommand, absl::InvalidArgumentError(
                                    absl::StrCat("--registrar: ", registrars.status().message())));
  }
  absl::StatusOr<std::shared_ptr<const dataplane::tls::TlsContext>> tls = TlsFromFlags();
  if (!tls.ok()) return UsageError(kCommand, tls.status());
  UseTls(*tls, *registrars);
  absl::StatusOr<std::vector<protocol::PoolElement>> pes = PoolElementsFromFlags();
  if (!pes.ok()) return UsageError(kCommand, pes.status());

  sigset_t stop = BlockStopSignals();

  client::PoolElement::Options options;
  options.registrars = *registrars;
  options.announce_group = announce_group;
  options.announced_tls = *tls;
  options.announce_interface = absl::GetFlag(FLAGS_announce_interface);
  options.hunt.t5 = t5;
  options.reregister = absl::GetFlag(FLAGS_reregister);
  // What an operator reads: registrations, home changes, removals by the
  // registrar and deregistrations on stdout (tests and scripts wait for
  // them), the rest on stderr.
  auto started = client::PoolElement::Start(
      pool, std::move(*pes), options, [](const client::PoolElement::Event& event) {
        using Kind = client::PoolElement::Event::Kind;
        const bool out = event.kind == Kind::kRegistered || event.kind == Kind::kHomeChanged ||
                         event.kind == Kind::kRemovedByRegistrar ||
                         event.kind == Kind::kDeregistered;
        if (out) {
          printf("%s\n", event.text.c_str());
          fflush(stdout);
        } else {
          fprintf(stderr, "rspctl register: %s\n", event.text.c_str());
        }
      });
  if (!started.ok()) return UsageError(kCommand, started.status());
  std::unique_ptr<client::PoolElement> pe_runner = std::move(*started);
  // Until Ctrl-C / SIGTERM, or a rejection (which stops the PE).
  while (!pe_runner->failed()) {
    timespec tick = absl::ToTimespec(absl::Milliseconds(100));
    const int signal_number = sigtimedwait(&stop, nullptr, &tick);
    if (signal_number == SIGINT || signal_number == SIGTERM) break;
  }
  if (pe_runner->failed()) return 1;
  return pe_runner->Stop().ok() ? 0 : 1;
}

}  // namespace

const Command kRegisterCommand = {
    "register",
    "register PEs (--pool, --policy, --port, --count) until interrupted; --registrar may list "
    "several registrars, --announce_group adds announced ones",
    RunRegister};

}  // namespace rspd::tools
