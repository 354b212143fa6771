// Server hunt bookkeeping (RFC 5352 §3.6) without a network: registrars that
// cannot be reached, T5 doubling, and T7 expiry of announced registrars.
#include "client/server_hunt.h"

#include "gtest/gtest.h"

namespace rspd::client {
namespace {

RegistrarAddress Unreachable(uint16_t port) {
  RegistrarAddress r;
  r.host = "127.0.0.1";
  r.udp_port = port;  // nothing listens there: the connect times out
  return r;
}

TEST(ServerHuntTest, FailedRoundsDoubleT5UpToRetranMax) {
  ServerHunt::Options options;
  options.t5 = absl::Milliseconds(200);
  options.retran_max = absl::Milliseconds(500);
  ServerHunt hunt({Unreachable(9)}, options);
  EXPECT_FALSE(hunt.Hunt().ok());
  EXPECT_EQ(hunt.t5(), absl::Milliseconds(400));  // SH5: doubled
  EXPECT_FALSE(hunt.Hunt().ok());
  EXPECT_EQ(hunt.t5(), absl::Milliseconds(500));  // capped at RETRAN-MAX
}

TEST(ServerHuntTest, AnnouncedRegistrarsExpireAfterT7AndConfiguredOnesDoNot) {
  ServerHunt::Options options;
  options.t5 = absl::Milliseconds(100);
  ServerHunt hunt({Unreachable(9)}, options);
  const absl::Time t0 = absl::Now();
  hunt.Heard(Unreachable(11), t0);
  hunt.Heard(Unreachable(11), t0);  // no duplicate
  EXPECT_EQ(hunt.known(), 2u);
  (void)hunt.Hunt(t0 + absl::Seconds(4));
  EXPECT_EQ(hunt.known(), 2u);                         // within T7
  hunt.Heard(Unreachable(11), t0 + absl::Seconds(4));  // re-announced: T7 restarts
  (void)hunt.Hunt(t0 + absl::Seconds(8));
  EXPECT_EQ(hunt.known(), 2u);
  (void)hunt.Hunt(t0 + absl::Seconds(10));
  EXPECT_EQ(hunt.known(), 1u);  // the announced one is outdated, the configured one stays
}

}  // namespace
}  // namespace rspd::client
