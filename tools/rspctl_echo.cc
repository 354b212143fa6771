// `rspctl echo-server` and `rspctl echo-client`: a PE service and a PU that
// keeps a session alive across PE failures (RFC 5352 §3.8 cookies, §6.5.5
// failover). The server registers in --pool with a control channel, gives
// each new PU a business card (§3.9) naming the pool's other PEs, echoes
// every data message, and after each one hands the PU a cookie with its
// state; the client calls it every --interval and prints each failover.

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "client/asap_session.h"
#include "client/business_card.h"
#include "client/pool_element.h"
#include "client/pool_user_session.h"
#include "client/sctp_association.h"
#include "protocol/codec.h"
#include "tools/rspctl_commands.h"
#include "tools/rspctl_flags.h"
#include "tools/stop_signals.h"

ABSL_FLAG(int64_t, echo_port, 7000,
          "echo-server: SCTP port of the service (also its UDP encapsulation port), 1 to 65535");
ABSL_FLAG(int64_t, echo_count, 10, "echo-client: how many calls, at least 1");
ABSL_FLAG(absl::Duration, echo_interval, absl::Milliseconds(200),
          "echo-client: time between calls, 0 or more");

namespace rspd::tools {
namespace {

using protocol::AsapType;
using protocol::Message;

// --pool and --registrar, as both echo commands take them.
absl::StatusOr<client::RegistrarAddress> PoolAndRegistrarFromFlags() {
  if (absl::Status s = CheckPoolFlag(absl::GetFlag(FLAGS_pool)); !s.ok()) return s;
  return RegistrarFromFlags();
}

int RunEchoServer(const std::vector<std::string>& /*args*/) {
  constexpr absl::string_view kCommand = "echo-server";
  const std::string pool = absl::GetFlag(FLAGS_pool);
  auto registrar = PoolAndRegistrarFromFlags();
  if (!registrar.ok()) return UsageError(kCommand, registrar.status());
  // The PE's transport port: 0 would register a port nobody can reach.
  const int64_t echo_port = absl::GetFlag(FLAGS_echo_port);
  if (absl::Status s = CheckRange("--echo_port", echo_port, 1, kMaxPort); !s.ok()) {
    return UsageError(kCommand, s);
  }
  const uint16_t port = static_cast<uint16_t>(echo_port);
  sigset_t stop = BlockStopSignals();
  // The service's UDP encapsulation port is its SCTP port (sctp_association.h).
  if (absl::Status s = client::StartSctp(port); !s.ok()) {
    fprintf(stderr, "rspctl echo-server: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  absl::BitGen gen;
  const uint32_t pe_id = absl::Uniform<uint32_t>(absl::IntervalClosed, gen, 1, UINT32_MAX);
  std::atomic<uint64_t> served{0};
  // RFC 5352 §3.9: the business card this PE hands each new PU, listing the
  // other PEs of the pool in its preferred failover order. Refreshed by the
  // main thread (a resolution must not block usrsctp's callback thread).
  std::mutex card_mu;
  std::vector<uint8_t> card;
  std::set<uint32_t> carded;  // associations that got it
  std::unique_ptr<client::SctpServer> server;
  auto listening = client::SctpServer::Listen(
      port,
      [&](uint32_t assoc, uint32_t ppid, absl::Span<const uint8_t> data) {
        if (ppid == protocol::kAsapPpid) {
          Message m;
          protocol::DecodeError error;
          if (protocol::DecodeMessage(protocol::Protocol::kAsap, data, &m, &error) &&
              m.type == static_cast<uint8_t>(AsapType::kCookieEcho)) {
            printf("cookie echo from a failed-over PU: %s\n",
                   std::string(m.cookie.begin(), m.cookie.end()).c_str());
            fflush(stdout);
          }
          return;
        }
        {
          std::lock_guard<std::mutex> lock(card_mu);
          if (!card.empty() && carded.insert(assoc).second) {
            (void)server->Send(assoc, protocol::kAsapPpid, card);
          }
        }
        (void)server->Send(assoc, ppid, data);  // the echo
        // RFC 5352 §3.8: a PE may send a cookie at any time; this one
        // carries the session state a successor would need.
        std::string state = absl::StrCat("pe=", pe_id, " served=", ++served);
        Message cookie;
        cookie.type = static_cast<uint8_t>(AsapType::kCookie);
        cookie.has_cookie = true;
        cookie.cookie =
            absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(state.data()), state.size());
        std::vector<uint8_t> bytes(256);
        bytes.resize(protocol::EncodeMessage(cookie, absl::MakeSpan(bytes)));
        (void)server->Send(assoc, protocol::kAsapPpid, bytes);
      },
      nullptr);
  if (!listening.ok()) {
    fprintf(stderr, "rspctl echo-server: %s\n", std::string(listening.status().message()).c_str());
    return 1;
  }
  server = std::move(*listening);
  protocol::PoolElement pe;
  pe.id = pe_id;
  pe.registration_life = 30;
  pe.user.port = port;
  // No address: PoolElement::Start gives it the one the registrar sees.
  pe.user.use = protocol::TransportUse::kDataPlusControl;
  pe.policy.type = protocol::PolicyType::kRoundRobin;
  client::PoolElement::Options options;
  options.registrars = {*registrar};
  // Registered, re-registered every T4 and re-homed by the library; the
  // line below tells scripts the service is in the pool.
  auto element =
      client::PoolElement::Start(pool, {pe}, options, [&](const client::PoolElement::Event& event) {
        if (event.kind == client::PoolElement::Event::Kind::kRegistered) {
          printf("echo-server pe_id=0x%08x pool=%s port=%u\n", pe_id, pool.c_str(), port);
          fflush(stdout);
        } else if (event.kind != client::PoolElement::Event::Kind::kDeregistered) {
          fprintf(stderr, "rspctl echo-server: %s\n", event.text.c_str());
        }
      });
  if (!element.ok()) {
    fprintf(stderr, "rspctl echo-server: %s\n", std::string(element.status().message()).c_str());
    return 1;
  }
  // A PU's view of the pool, for the business cards.
  auto session = client::AsapSession::Connect(*registrar, absl::Seconds(5));
  if (!session.ok()) {
    fprintf(stderr, "rspctl echo-server: %s\n", std::string(session.status().message()).c_str());
    return 1;
  }
  while (!(*element)->failed()) {
    timespec second = absl::ToTimespec(absl::Seconds(1));
    int signal_number = sigtimedwait(&stop, nullptr, &second);
    if (signal_number == SIGINT || signal_number == SIGTERM) break;
    auto others = (*session)->Resolve(pool, 16, absl::Seconds(2));
    if (!others.ok()) continue;
    std::optional<std::vector<uint8_t>> fresh = client::EncodeBusinessCard(pool, *others, pe_id);
    if (!fresh) continue;
    std::lock_guard<std::mutex> lock(card_mu);
    card = std::move(*fresh);
  }
  if ((*element)->failed()) return 1;
  (void)(*element)->Stop();
  printf("echo-server pe_id=0x%08x served %llu\n", pe_id,
         static_cast<unsigned long long>(served.load()));
  return 0;
}

int RunEchoClient(const std::vector<std::string>& /*args*/) {
  constexpr absl::string_view kCommand = "echo-client";
  const std::string pool = absl::GetFlag(FLAGS_pool);
  auto registrar = PoolAndRegistrarFromFlags();
  if (!registrar.ok()) return UsageError(kCommand, registrar.status());
  const int64_t count = absl::GetFlag(FLAGS_echo_count);
  if (absl::Status s = CheckRange("--echo_count", count, 1, INT32_MAX); !s.ok()) {
    return UsageError(kCommand, s);
  }
  const absl::Duration interval = absl::GetFlag(FLAGS_echo_interval);
  if (interval < absl::ZeroDuration()) {
    return UsageError(
        kCommand, absl::InvalidArgumentError(absl::StrCat("--echo_interval must be 0 or more; got ",
                                                          absl::FormatDuration(interval))));
  }
  auto session = client::AsapSession::Connect(*registrar, absl::Seconds(5));
  if (!session.ok()) {
    fprintf(stderr, "rspctl echo-client: %s\n", std::string(session.status().message()).c_str());
    return 1;
  }
  client::PoolUserSession::Options options;
  options.log = [](const std::string& line) {
    printf("%s\n", line.c_str());
    fflush(stdout);
  };
  auto pu = client::PoolUserSession::Open(session->get(), pool, options);
  if (!pu.ok()) {
    fprintf(stderr, "rspctl echo-client: %s\n", std::string(pu.status().message()).c_str());
    return 1;
  }
  const int calls = static_cast<int>(count);
  for (int i = 1; i <= calls; ++i) {
    std::string text = absl::StrCat("hello ", i);
    auto reply = (*pu)->Call(
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    if (!reply.ok()) {
      fprintf(stderr, "rspctl echo-client: %s\n", std::string(reply.status().message()).c_str());
      return 1;
    }
    printf("echo %d from pe_id=0x%08x: %s\n", i, (*pu)->pe_id(),
           std::string(reply->begin(), reply->end()).c_str());
    fflush(stdout);
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(interval));
  }
  printf("echo-client: %d calls, %d failovers\n", calls, (*pu)->failovers());
  return 0;
}

}  // namespace

const Command kEchoServerCommand = {
    "echo-server", "a PE that echoes (--pool, --echo_port) and hands out cookies", RunEchoServer};
const Command kEchoClientCommand = {
    "echo-client", "a PU calling --pool's echo service, failing over (--echo_count)",
    RunEchoClient};

}  // namespace rspd::tools
