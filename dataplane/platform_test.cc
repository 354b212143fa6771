// Proves that the two kernel-bypass dependencies link and start here:
// usrsctp in nothreads AF_CONN mode and the DPDK EAL with a vdev
// (docs/platform.md). Later dataplane code builds on exactly these calls.

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <usrsctp.h>

#include <vector>

#include "gtest/gtest.h"

namespace {

int DiscardOutput(void*, void*, size_t, uint8_t, uint8_t) { return 0; }

TEST(PlatformTest, UsrsctpStartsInNoThreadsModeAndOpensAConnSocket) {
  usrsctp_init_nothreads(0, DiscardOutput, nullptr);
  struct socket* sock =
      usrsctp_socket(AF_CONN, SOCK_SEQPACKET, IPPROTO_SCTP, nullptr, nullptr, 0, nullptr);
  ASSERT_NE(sock, nullptr);
  usrsctp_close(sock);
  usrsctp_handle_timers(10);
  // usrsctp_finish() fails while closed sockets linger in TIME-WAIT-like state;
  // drive the timers until it succeeds (bounded).
  int tries = 0;
  while (usrsctp_finish() != 0 && tries++ < 1000) {
    usrsctp_handle_timers(100);
  }
  EXPECT_LT(tries, 1000);
}

TEST(PlatformTest, DpdkEalStartsWithoutHugepagesAndSeesANullVdev) {
  std::vector<const char*> args = {"platform_test",  "--no-huge", "--no-pci", "--no-shconf",
                                   "--no-telemetry", "-m",        "64",       "--vdev=net_null0",
                                   "--log-level=2"};
  ASSERT_GE(rte_eal_init(static_cast<int>(args.size()), const_cast<char**>(args.data())), 0)
      << rte_strerror(rte_errno);
  EXPECT_EQ(rte_eth_dev_count_avail(), 1u);
  EXPECT_EQ(rte_eal_cleanup(), 0);
}

}  // namespace
