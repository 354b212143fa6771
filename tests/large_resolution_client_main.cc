// large_resolution_client: registers --pes PEs in --pool over one
// association, each with --addresses_per_pe user transport addresses
// (127.0.0.1, the source the registrar sees, then 2001:db8::PE:N), and asks
// for all of them in one handle resolution (RFC 5352 §3.3). The answer is
// larger than what usrsctp hands a receive callback at once: the client's
// receive buffer is made small (--receive_buffer, via usrsctp's recvspace,
// before the association exists), so the answer arrives in pieces (partial
// delivery, no MSG_EOR until the last) and the library must join them.
// Prints "resolved N PEs, M addresses" and exits 0 when every PE
// came back whole, 1 otherwise.

#include <usrsctp.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "client/asap_session.h"
#include "client/sctp_association.h"
#include "protocol/codec.h"
#include "protocol/pool_element.h"
#include "protocol/types.h"

ABSL_FLAG(std::string, registrar, "127.0.0.1:9899", "HOST:UDP_PORT of rspd");
ABSL_FLAG(std::string, pool, "large", "pool handle");
ABSL_FLAG(uint32_t, pes, rspd::protocol::kMaxResolutionItems, "PEs to register and resolve");
ABSL_FLAG(uint32_t, addresses_per_pe, 4,
          "user transport addresses of each PE, 1 to 8 (the most a PE record holds)");
ABSL_FLAG(uint32_t, receive_buffer, 8192,
          "the client's usrsctp receive buffer in bytes; usrsctp delivers a message larger "
          "than half of it in pieces");

namespace {

int Fail(const std::string& why) {
  fprintf(stderr, "large_resolution_client: %s\n", why.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto registrar = rspd::client::ParseRegistrarAddress(absl::GetFlag(FLAGS_registrar));
  if (!registrar.ok()) return Fail(std::string(registrar.status().message()));
  if (absl::Status s = rspd::client::StartSctp(); !s.ok()) return Fail(std::string(s.message()));
  // After usrsctp_init (StartSctp), which sets the defaults; before the
  // session's socket is made, which takes it.
  usrsctp_sysctl_set_sctp_recvspace(absl::GetFlag(FLAGS_receive_buffer));
  auto session = rspd::client::AsapSession::Connect(*registrar, absl::Seconds(5));
  if (!session.ok()) return Fail(std::string(session.status().message()));

  const std::string pool = absl::GetFlag(FLAGS_pool);
  const uint32_t pes = absl::GetFlag(FLAGS_pes);
  const uint32_t per_pe = absl::GetFlag(FLAGS_addresses_per_pe);
  if (per_pe < 1 || per_pe > rspd::protocol::kMaxTransportAddresses) {
    return Fail("--addresses_per_pe must be 1 to " +
                std::to_string(rspd::protocol::kMaxTransportAddresses));
  }
  for (uint32_t i = 1; i <= pes; ++i) {
    rspd::protocol::PoolElement pe;
    pe.id = i;
    pe.registration_life = -1;
    pe.user.port = static_cast<uint16_t>(7000 + i);
    pe.user.addresses.push_back(rspd::protocol::IpAddress::V4(0x7f000001));
    for (uint32_t n = 1; n < per_pe; ++n) {
      const uint8_t v6[16] = {0x20,
                              0x01,
                              0x0d,
                              0xb8,
                              0,
                              0,
                              0,
                              0,
                              0,
                              0,
                              0,
                              0,
                              static_cast<uint8_t>(i >> 8),
                              static_cast<uint8_t>(i),
                              0,
                              static_cast<uint8_t>(n)};
      pe.user.addresses.push_back(rspd::protocol::IpAddress::V6(v6));
    }
    pe.policy.type = rspd::protocol::PolicyType::kRoundRobin;
    if (absl::Status s = (*session)->Register(pool, pe); !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }
  auto resolution = (*session)->Resolve(pool, pes, absl::Seconds(5));
  if (!resolution.ok()) return Fail(std::string(resolution.status().message()));
  size_t addresses = 0;
  for (const rspd::protocol::PoolElement& e : resolution->elements) {
    if (e.user.addresses.size != per_pe) {
      return Fail("PE " + std::to_string(e.id) + " came back with " +
                  std::to_string(e.user.addresses.size) + " addresses");
    }
    addresses += e.user.addresses.size;
  }
  printf("resolved %zu PEs, %zu addresses\n", resolution->elements.size(), addresses);
  return resolution->elements.size() == pes ? 0 : 1;
}
