// Server hunt (RFC 5352 §3.6): registrars that cannot be reached, T5
// doubling, T7 expiry of announced registrars, and parallel attempts against
// registrars that never answer (UDP sockets nobody reads, so no ICMP either)
// and a live fake registrar in this process.
#include "client/server_hunt.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "client/testing/fake_registrar.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rspd::client {
namespace {

using ::testing::ElementsAre;
using Attempt = AsapSession::Attempt;

RegistrarAddress Unreachable(uint16_t port) {
  RegistrarAddress r;
  r.host = "127.0.0.1";
  r.udp_port = port;  // nothing listens there: the connect times out
  return r;
}

// A registrar address whose INITs go unanswered: a bound UDP socket that is
// never read.
class BlackHole {
 public:
  BlackHole() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(local);
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
      address_.udp_port = ntohs(local.sin_port);
    }
  }
  ~BlackHole() {
    if (fd_ >= 0) close(fd_);
  }
  const RegistrarAddress& address() const { return address_; }

 private:
  int fd_ = -1;
  RegistrarAddress address_;
};

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

// RFC 5352 §3.6 SH1, SH3, SH6: three registrars are tried at once; the live
// one comes up while the two silent ones are still in INIT, becomes home, and
// the others are aborted. Tried one at a time, the silent ones would have
// failed first (after their INIT retries) instead.
TEST(ServerHuntTest, TriesThreeRegistrarsAtOnceAndTheFirstUpBecomesHome) {
  ASSERT_TRUE(StartSctp().ok());
  BlackHole silent_a, silent_b;
  auto live = testing::FakeRegistrar::Start();
  ASSERT_TRUE(live.ok()) << live.status();
  ServerHunt::Options options;
  options.t5 = absl::Seconds(10);  // longer than the silent ones' INIT retries
  ServerHunt hunt({silent_a.address(), silent_b.address(), (*live)->address()}, options);
  auto session = hunt.Hunt();
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE((*session)->connected());
  EXPECT_THAT(hunt.last_round(), ElementsAre(Attempt::kAborted, Attempt::kAborted, Attempt::kHome));
  EXPECT_EQ(hunt.current(), FormatRegistrarAddress((*live)->address()));
  EXPECT_EQ(hunt.current(),
            absl::StrCat("127.0.0.1:", SctpUdpPort(), "/", (*live)->address().sctp_port));
  EXPECT_EQ(hunt.t5(), options.t5);
}

// RFC 5352 §3.6 SH1, SH4: never more than three attempts at once; the fourth
// registrar is tried only when one of the first three has failed.
TEST(ServerHuntTest, TriesAFourthRegistrarOnlyAfterOneOfThreeFailed) {
  ASSERT_TRUE(StartSctp().ok());
  BlackHole silent_a, silent_b, silent_c;
  auto live = testing::FakeRegistrar::Start();
  ASSERT_TRUE(live.ok()) << live.status();
  ServerHunt::Options options;
  options.t5 = absl::Seconds(30);  // several times the silent ones' INIT retries
  ServerHunt hunt({silent_a.address(), silent_b.address(), silent_c.address(), (*live)->address()},
                  options);
  auto session = hunt.Hunt();
  ASSERT_TRUE(session.ok()) << session.status();
  const std::vector<Attempt>& round = hunt.last_round();
  ASSERT_EQ(round.size(), 4u);
  EXPECT_EQ(round[3], Attempt::kHome);
  EXPECT_GE(std::count(round.begin(), round.end() - 1, Attempt::kFailed), 1);
  EXPECT_EQ(std::count(round.begin(), round.end(), Attempt::kNotTried), 0);
}

}  // namespace
}  // namespace rspd::client
