// `rspctl register`: become a pool element. Registers at the registrar, stays
// registered (re-registering every T4 and answering keep-alives) until
// SIGINT/SIGTERM, then deregisters (RFC 5352 §3.1, §3.2, §3.4).

#include <arpa/inet.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "client/announce_listener.h"
#include "client/asap_session.h"
#include "client/sctp_association.h"
#include "client/server_hunt.h"
#include "protocol/describe.h"
#include "tools/rspctl_commands.h"
#include "tools/rspctl_policy.h"
#include "tools/stop_signals.h"

ABSL_FLAG(std::string, address, "127.0.0.1",
          "register: the PE's user transport addresses, comma-separated");
ABSL_FLAG(uint16_t, port, 7, "register: the PE's user transport port");
ABSL_FLAG(std::string, transport, "sctp", "register: user transport: sctp, tcp or udp");
ABSL_FLAG(bool, control_channel, false, "register: SCTP transport carries ASAP control too");
ABSL_FLAG(int32_t, lifetime, 30, "register: registration life in seconds (-1: infinite)");
ABSL_FLAG(uint32_t, pe_id, 0, "register: PE identifier; 0 draws a random one (RFC 5352 §3.1)");
ABSL_FLAG(uint32_t, count, 1,
          "register: how many PEs to register over the one association; PE i gets pe_id+i, "
          "port+i and the policy value (weight, priority or load) + i*value_step");
ABSL_FLAG(absl::Duration, server_hunt_timeout, absl::Seconds(10),
          "register: T5-Serverhunt, doubled after each failed round up to 60 s (RFC 5352 §3.6)");
ABSL_FLAG(std::string, announce_group, "",
          "register: also learn registrars from ASAP_SERVER_ANNOUNCEs on GROUP[:PORT] "
          "(RFC 5352 §3.6), e.g. 224.0.1.185:3863 or [ff05::133]:3863; they are reached on "
          "UDP port 9899");
ABSL_FLAG(std::string, announce_interface, "127.0.0.1",
          "register: the local address (IPv4 or IPv6) whose interface hears the announces");
ABSL_FLAG(bool, reregister, true,
          "register: re-register every T4 to renew the lifetime (false: let it expire)");
ABSL_FLAG(uint32_t, value_step, 0, "register: policy value increment between the --count PEs");

namespace rspd::tools {
namespace {

absl::StatusOr<std::vector<protocol::IpAddress>> ParseAddresses(const std::string& text) {
  std::vector<protocol::IpAddress> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::string s(part);
    uint8_t bytes[16];
    if (inet_pton(AF_INET, s.c_str(), bytes) == 1) {
      out.push_back(protocol::IpAddress::V4(protocol::Load32(bytes)));
    } else if (inet_pton(AF_INET6, s.c_str(), bytes) == 1) {
      out.push_back(protocol::IpAddress::V6(bytes));
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--address: not an IP address: '", s, "'"));
    }
  }
  if (out.empty()) return absl::InvalidArgumentError("--address: no address");
  return out;
}

// T4-reregistration (RFC 5352 §7.1): min(10 min, lifetime - 20 s); half the
// lifetime when that is shorter than 20 s.
absl::Duration ReregistrationInterval(int32_t lifetime) {
  if (lifetime < 0) return absl::Minutes(10);
  absl::Duration life = absl::Seconds(lifetime);
  absl::Duration t4 = life > absl::Seconds(40) ? life - absl::Seconds(20) : life / 2;
  return std::min(t4, absl::Minutes(10));
}

int RunRegister(const std::vector<std::string>& /*args*/) {
  const std::string pool = absl::GetFlag(FLAGS_pool);
  if (pool.empty()) {
    fprintf(stderr, "rspctl register: --pool is required\n");
    return 2;
  }
  const std::string announce_group = absl::GetFlag(FLAGS_announce_group);
  absl::StatusOr<std::vector<client::RegistrarAddress>> registrars =
      client::ParseRegistrarList(absl::GetFlag(FLAGS_registrar));
  if (!registrars.ok() && !announce_group.empty() && absl::GetFlag(FLAGS_registrar).empty()) {
    registrars = std::vector<client::RegistrarAddress>();  // announces only
  }
  absl::StatusOr<protocol::Policy> policy = PolicyFromFlags();
  absl::StatusOr<std::vector<protocol::IpAddress>> addresses =
      ParseAddresses(absl::GetFlag(FLAGS_address));
  for (const absl::Status& s : {registrars.status(), policy.status(), addresses.status()}) {
    if (!s.ok()) {
      fprintf(stderr, "rspctl register: %s\n", std::string(s.message()).c_str());
      return 2;
    }
  }
  client::PoolElementSpec pe;
  pe.pe_id = absl::GetFlag(FLAGS_pe_id);
  if (pe.pe_id == 0) {
    absl::BitGen gen;
    pe.pe_id = absl::Uniform<uint32_t>(absl::IntervalClosed, gen, 1, UINT32_MAX);
  }
  pe.registration_life = absl::GetFlag(FLAGS_lifetime);
  const std::string transport = absl::GetFlag(FLAGS_transport);
  if (transport == "sctp") {
    pe.transport = protocol::ParamType::kSctpTransport;
  } else if (transport == "tcp") {
    pe.transport = protocol::ParamType::kTcpTransport;
  } else if (transport == "udp") {
    pe.transport = protocol::ParamType::kUdpTransport;
  } else {
    fprintf(stderr, "rspctl register: --transport must be sctp, tcp or udp\n");
    return 2;
  }
  pe.port = absl::GetFlag(FLAGS_port);
  pe.control_channel = absl::GetFlag(FLAGS_control_channel);
  pe.addresses = *addresses;
  pe.policy = *policy;

  sigset_t stop = BlockStopSignals();

  const uint32_t count = std::max<uint32_t>(1, absl::GetFlag(FLAGS_count));
  const uint32_t step = absl::GetFlag(FLAGS_value_step);
  std::vector<client::PoolElementSpec> pes;
  for (uint32_t i = 0; i < count; ++i) {
    client::PoolElementSpec p = pe;
    p.pe_id = pe.pe_id + i;
    p.port = static_cast<uint16_t>(pe.port + i);
    if (p.policy.value_count > 0) p.policy.values[0] += i * step;
    pes.push_back(p);
  }

  client::ServerHunt::Options hunt_options;
  hunt_options.t5 = absl::GetFlag(FLAGS_server_hunt_timeout);
  client::ServerHunt hunt(*registrars, hunt_options);
  // Registrars heard in announces, handed over from the listener's thread.
  std::mutex announced_mu;
  std::vector<client::RegistrarAddress> announced;
  std::unique_ptr<client::AnnounceListener> listener;
  if (!announce_group.empty()) {
    absl::StatusOr<client::AnnounceGroup> group = client::ParseAnnounceGroup(announce_group);
    if (!group.ok()) {
      fprintf(stderr, "rspctl register: bad --announce_group '%s': %s\n", announce_group.c_str(),
              std::string(group.status().message()).c_str());
      return 2;
    }
    auto started = client::AnnounceListener::Start(
        group->address, group->port, absl::GetFlag(FLAGS_announce_interface),
        protocol::kSctpUdpEncapsulationPort, [&](const client::RegistrarAddress& r) {
          std::lock_guard<std::mutex> lock(announced_mu);
          announced.push_back(r);
        });
    if (!started.ok()) {
      fprintf(stderr, "rspctl register: %s\n", std::string(started.status().message()).c_str());
      return 1;
    }
    listener = std::move(*started);
  }
  std::unique_ptr<client::AsapSession> session;
  const absl::Duration t4 = absl::GetFlag(FLAGS_reregister)
                                ? ReregistrationInterval(pe.registration_life)
                                : absl::InfiniteDuration();
  absl::Time next_registration = absl::InfinitePast();
  absl::Time next_hunt = absl::InfinitePast();
  bool reported = false;
  uint32_t home = 0;  // the home registrar's server ID, once an H=1 keep-alive named it
  while (true) {
    // Wake often enough to notice a lost registrar quickly (RFC 5352 §3.7).
    timespec tick = absl::ToTimespec(absl::Milliseconds(100));
    int signal_number = sigtimedwait(&stop, nullptr, &tick);
    if (signal_number == SIGINT || signal_number == SIGTERM) break;
    const absl::Time now = absl::Now();
    {
      std::lock_guard<std::mutex> lock(announced_mu);
      for (const client::RegistrarAddress& r : announced) hunt.Heard(r, now);
      announced.clear();
    }
    if (session != nullptr && !session->connected()) {
      const std::string lost = home != 0 ? absl::StrFormat("0x%08x", home) : hunt.current();
      fprintf(stderr, "rspctl register: lost registrar %s; hunting\n", lost.c_str());
      session.reset();
      home = 0;
    }
    if (session == nullptr) {
      if (now < next_hunt) continue;
      auto s = hunt.Hunt();
      if (!s.ok()) {
        fprintf(stderr, "rspctl register: %s\n", std::string(s.status().message()).c_str());
        next_hunt = absl::Now() + hunt.t5();  // SH5: wait, then a new round
        continue;
      }
      session = std::move(*s);
      fprintf(stderr,
              "rspctl register: server hunt: %s; ASAP endpoint SCTP port %u over UDP port %u\n",
              hunt.LastRoundText().c_str(), session->local_port(), client::SctpUdpPort());
      next_registration = now;  // register at the new home at once (§3.1 rule 4)
      reported = false;
    }
    // RFC 5352 §3.4 KA2.4: a registrar that took over (H=1 keep-alive, RFC
    // 5353 §3.5.2) is home now; the session's next re-registration and the
    // deregistration go to it.
    if (const uint32_t h = session->home_registrar(); h != home) {
      home = h;
      printf("home registrar now 0x%08x\n", home);
      fflush(stdout);
    }
    if (now < next_registration) continue;
    absl::Status status;
    for (const client::PoolElementSpec& p : pes) {
      status = session->Register(pool, p, absl::Seconds(5));
      if (!status.ok()) break;
    }
    if (absl::IsFailedPrecondition(status)) {
      // RFC 5352 §3.1: a rejection must not be retried unchanged.
      fprintf(stderr, "rspctl register: %s\n", std::string(status.message()).c_str());
      return 1;
    }
    if (!status.ok()) {
      fprintf(stderr, "rspctl register: %s\n", std::string(status.message()).c_str());
      session.reset();
      continue;
    }
    if (!reported) {
      for (const client::PoolElementSpec& p : pes) {
        printf("registered pe_id=0x%08x pool=%s registrar=%s\n", p.pe_id, pool.c_str(),
               hunt.current().c_str());
      }
      fflush(stdout);
      reported = true;
    }
    next_registration = now + t4;
  }
  int result = 0;
  for (const client::PoolElementSpec& p : pes) {
    if (session == nullptr || !session->connected()) break;
    absl::Status status = session->Deregister(pool, p.pe_id, absl::Seconds(5));
    if (!status.ok()) {
      fprintf(stderr, "rspctl register: deregistration: %s\n",
              std::string(status.message()).c_str());
      result = 1;
      continue;
    }
    printf("deregistered pe_id=0x%08x\n", p.pe_id);
  }
  return result;
}

}  // namespace

const Command kRegisterCommand = {
    "register",
    "register PEs (--pool, --policy, --port, --count) until interrupted; --registrar may list "
    "several registrars, --announce_group adds announced ones",
    RunRegister};

}  // namespace rspd::tools
