// A registrar that took over a PE (RFC 5353 §3.5.2), for the e2e test: it
// starts an association to the PE's ASAP endpoint, sends ENDPOINT_KEEP_ALIVE
// with H=1 and its server ID, and reports, one line each on stdout, what the
// PE sends back on that association: the ACK (RFC 5352 §3.4 KA2.3), then its
// re-registration and its deregistration, which it accepts.
//
// Usage: takeover_registrar --pe_udp_port=U --pe_sctp_port=S --pool=P --pe_id=N --server_id=N

#include <cstdio>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "client/sctp_association.h"
#include "client/testing/fake_registrar.h"
#include "protocol/codec.h"

ABSL_FLAG(uint16_t, pe_udp_port, 0, "the PE's UDP encapsulation port");
ABSL_FLAG(uint16_t, pe_sctp_port, 0, "the SCTP port of the PE's ASAP endpoint");
ABSL_FLAG(std::string, pool, "", "the PE's pool handle");
ABSL_FLAG(uint32_t, pe_id, 0, "the PE's identifier");
ABSL_FLAG(uint32_t, server_id, 0xbeef, "this registrar's server ID");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(20), "how long to wait for each message");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using rspd::protocol::AsapType;
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  auto fail = [](const absl::Status& s) {
    fprintf(stderr, "takeover_registrar: %s\n", std::string(s.message()).c_str());
    return 1;
  };
  if (absl::Status s = rspd::client::StartSctp(); !s.ok()) return fail(s);
  auto registrar = rspd::client::testing::FakeRegistrar::Start();
  if (!registrar.ok()) return fail(registrar.status());
  auto assoc =
      (*registrar)
          ->ConnectTo(absl::GetFlag(FLAGS_pe_sctp_port), absl::GetFlag(FLAGS_pe_udp_port), timeout);
  if (!assoc.ok()) return fail(assoc.status());
  if (absl::Status s =
          (*registrar)
              ->SendKeepAlive(*assoc, absl::GetFlag(FLAGS_pool), absl::GetFlag(FLAGS_pe_id),
                              /*home=*/true, absl::GetFlag(FLAGS_server_id));
      !s.ok()) {
    return fail(s);
  }
  const std::pair<AsapType, const char*> expected[] = {
      {AsapType::kEndpointKeepAliveAck, "keep-alive acked"},
      {AsapType::kRegistration, "re-registration"},
      {AsapType::kDeregistration, "deregistration"},
  };
  for (const auto& [type, what] : expected) {
    auto from = (*registrar)->Await(type, timeout);
    if (!from.ok()) return fail(from.status());
    printf("%s on the %s association\n", what, *from == *assoc ? "takeover" : "another");
    fflush(stdout);
  }
  return 0;
}
