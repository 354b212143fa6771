// rspd_load: a load generator for the registrar's throughput benchmark
// (bench/asap_throughput.sh). Opens --associations SCTP associations (usrsctp,
// UDP encapsulation) to --target and keeps --in_flight requests outstanding
// on each: handle resolutions (--mode=resolve), registrations and
// re-registrations (--mode=register), or the resolution request sent to an
// echo server (--mode=echo). Prints the answered messages per second over
// --seconds after --warmup_seconds. With --tls_ca_file (and a certificate)
// the associations run ASAP over TLS (docs/security.md) from one-to-many
// endpoints; --one_to_many uses those endpoints without TLS, the same path
// otherwise (bench/tls.sh compares the two).

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "client/asap_session.h"
#include "client/sctp_association.h"
#include "dataplane/tls/tls_context.h"
#include "protocol/codec.h"
#include "tools/load_requests.h"

ABSL_FLAG(std::string, target, "127.0.0.1:9899", "HOST:UDP_PORT of rspd or sctp_echo");
ABSL_FLAG(std::string, mode, "resolve", "resolve | register | echo");
ABSL_FLAG(std::string, echo_requests, "resolve",
          "echo: send the requests of this mode (resolve | register), so that the baseline "
          "carries the same bytes");
ABSL_FLAG(int, associations, 1, "SCTP associations");
ABSL_FLAG(int, in_flight, 32, "outstanding requests per association");
ABSL_FLAG(double, seconds, 5, "measurement window");
ABSL_FLAG(double, warmup_seconds, 1, "time before measuring");
ABSL_FLAG(std::string, pool, "load", "pool handle");
ABSL_FLAG(int, pes, 10, "resolve: PEs registered in the pool first");
ABSL_FLAG(uint32_t, items, 3, "resolve: PEs asked for per resolution");
ABSL_FLAG(std::string, pe_address, "127.0.0.1",
          "the address the registered PEs give: this host's, as the registrar sees it");
ABSL_FLAG(bool, one_to_many, false,
          "associations from one-to-many endpoints (client::SctpServer), as with TLS");
ABSL_FLAG(std::string, tls_ca_file, "", "ASAP over TLS: the registrar's CA (PEM)");
ABSL_FLAG(std::string, tls_certificate, "", "TLS: this client's certificate (PEM)");
ABSL_FLAG(std::string, tls_private_key, "", "TLS: its private key (PEM)");

namespace {

using rspd::protocol::AsapType;
using rspd::tools::RegistrationRequest;
using rspd::tools::ResolutionRequest;

// One association with its pre-encoded requests, sent round-robin: a
// one-to-one association, or one of a one-to-many endpoint (with TLS).
struct Connection {
  std::unique_ptr<rspd::client::SctpAssociation> association;
  std::unique_ptr<rspd::client::SctpServer> endpoint;
  uint32_t assoc = 0;
  std::vector<std::vector<uint8_t>> requests;
  size_t next = 0;
  uint8_t reply_type = 0;  // 0: any message counts (echo)
  std::atomic<uint64_t> answered{0};
  std::atomic<uint64_t> last_reply_size{0};

  void SendNext() {
    const std::vector<uint8_t>& r = requests[next];
    next = (next + 1) % requests.size();
    if (endpoint != nullptr) {
      (void)endpoint->Send(assoc, rspd::protocol::kAsapPpid, r);
    } else {
      (void)association->Send(rspd::protocol::kAsapPpid, r);
    }
  }
  // The association's handler, on usrsctp's receive thread: the only sender
  // after the start.
  bool OnMessage(absl::Span<const uint8_t> data) {
    if (data.size() >= 4 && (reply_type == 0 || data[0] == reply_type)) {
      answered.fetch_add(1, std::memory_order_relaxed);
      last_reply_size.store(data.size(), std::memory_order_relaxed);
      SendNext();
    }
    return true;
  }
};

// Connects `c` from a one-to-many endpoint of its own (with the target's
// TLS, if any) and waits until the association (and its handshake) is up.
absl::Status ConnectEndpoint(const rspd::client::RegistrarAddress& target, Connection* c) {
  auto up = std::make_shared<std::promise<bool>>();
  auto reported = std::make_shared<std::atomic<bool>>(false);
  auto endpoint = rspd::client::SctpServer::Listen(
      0, [c](uint32_t, uint32_t, absl::Span<const uint8_t> data) { (void)c->OnMessage(data); },
      [up, reported](uint32_t, bool is_up) {
        if (!reported->exchange(true)) up->set_value(is_up);
      },
      {target.tls, rspd::protocol::kAsapPpid});
  if (!endpoint.ok()) return endpoint.status();
  c->endpoint = std::move(*endpoint);
  auto assoc = c->endpoint->Connect(target.host, target.sctp_port, target.udp_port);
  if (!assoc.ok()) return assoc.status();
  c->assoc = *assoc;
  std::future<bool> result = up->get_future();
  if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready || !result.get()) {
    return absl::UnavailableError(
        absl::StrCat("no association to the target: ", c->endpoint->tls_error()));
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (!rspd::protocol::IpAddress::Parse(absl::GetFlag(FLAGS_pe_address))) {
    fprintf(stderr, "rspd_load: --pe_address is not an IP address\n");
    return 2;
  }
  auto target = rspd::client::ParseRegistrarAddress(absl::GetFlag(FLAGS_target));
  if (!target.ok()) {
    fprintf(stderr, "rspd_load: %s\n", std::string(target.status().message()).c_str());
    return 2;
  }
  if (!absl::GetFlag(FLAGS_tls_ca_file).empty()) {
    rspd::dataplane::tls::TlsOptions options;
    options.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
    options.certificate_file = absl::GetFlag(FLAGS_tls_certificate);
    options.private_key_file = absl::GetFlag(FLAGS_tls_private_key);
    auto context =
        rspd::dataplane::tls::TlsContext::Create(options, rspd::dataplane::tls::TlsRole::kClient);
    if (!context.ok()) {
      fprintf(stderr, "rspd_load: %s\n", std::string(context.status().message()).c_str());
      return 2;
    }
    target->tls = std::move(*context);
  }
  const bool one_to_many = target->tls != nullptr || absl::GetFlag(FLAGS_one_to_many);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  const std::string pool = absl::GetFlag(FLAGS_pool);
  // The session starts usrsctp for this process; in resolve mode it also
  // fills the pool.
  auto setup = rspd::client::AsapSession::Connect(*target, absl::Seconds(5));
  if (!setup.ok()) {
    fprintf(stderr, "rspd_load: %s\n", std::string(setup.status().message()).c_str());
    return 1;
  }
  if (mode == "resolve") {
    for (int i = 0; i < absl::GetFlag(FLAGS_pes); ++i) {
      rspd::protocol::PoolElement pe;
      pe.id = static_cast<uint32_t>(i + 1);
      pe.registration_life = -1;
      pe.user.port = static_cast<uint16_t>(7000 + i);
      pe.user.addresses.push_back(
          *rspd::protocol::IpAddress::Parse(absl::GetFlag(FLAGS_pe_address)));
      pe.policy.type = rspd::protocol::PolicyType::kRoundRobin;
      if (absl::Status s = (*setup)->Register(pool, pe); !s.ok()) {
        fprintf(stderr, "rspd_load: %s\n", std::string(s.message()).c_str());
        return 1;
      }
    }
  }

  const int count = absl::GetFlag(FLAGS_associations);
  const int in_flight = absl::GetFlag(FLAGS_in_flight);
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < count; ++i) {
    auto c = std::make_unique<Connection>();
    const bool registrations =
        mode == "register" || (mode == "echo" && absl::GetFlag(FLAGS_echo_requests) == "register");
    if (registrations) {
      c->reply_type = static_cast<uint8_t>(AsapType::kRegistrationResponse);
      for (uint32_t k = 0; k < 1000; ++k) {
        c->requests.push_back(RegistrationRequest(
            pool, 0x10000000u + static_cast<uint32_t>(i) * 1000 + k,
            *rspd::protocol::IpAddress::Parse(absl::GetFlag(FLAGS_pe_address))));
      }
    } else {
      c->reply_type = static_cast<uint8_t>(AsapType::kHandleResolutionResponse);
      c->requests.push_back(ResolutionRequest(pool, absl::GetFlag(FLAGS_items)));
    }
    if (mode == "echo") c->reply_type = 0;  // the echo server's replies are opaque
    Connection* raw = c.get();
    if (one_to_many) {
      if (absl::Status s = ConnectEndpoint(*target, raw); !s.ok()) {
        fprintf(stderr, "rspd_load: %s\n", std::string(s.message()).c_str());
        return 1;
      }
      connections.push_back(std::move(c));
      continue;
    }
    auto association = rspd::client::SctpAssociation::Connect(
        target->host, target->sctp_port, target->udp_port, absl::Seconds(10),
        [raw](uint32_t, absl::Span<const uint8_t> data) { return raw->OnMessage(data); });
    if (!association.ok()) {
      fprintf(stderr, "rspd_load: %s\n", std::string(association.status().message()).c_str());
      return 1;
    }
    c->association = std::move(*association);
    connections.push_back(std::move(c));
  }
  for (auto& c : connections) {
    for (int k = 0; k < in_flight; ++k) c->SendNext();
  }
  auto total = [&] {
    uint64_t sum = 0;
    for (auto& c : connections) sum += c->answered.load(std::memory_order_relaxed);
    return sum;
  };
  std::this_thread::sleep_for(std::chrono::duration<double>(absl::GetFlag(FLAGS_warmup_seconds)));
  const uint64_t start = total();
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(absl::GetFlag(FLAGS_seconds)));
  const uint64_t end = total();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  printf("mode=%s associations=%d in_flight=%d reply_bytes=%llu rate=%.0f msg/s\n", mode.c_str(),
         count, in_flight, static_cast<unsigned long long>(connections[0]->last_reply_size.load()),
         static_cast<double>(end - start) / elapsed);
  fflush(stdout);
  _exit(0);  // skip usrsctp teardown: the measurement is done
}
