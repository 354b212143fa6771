// File: dataplane/udp_socket_io_test.cc
//
// The kernel UDP backend on loopback: datagrams in bursts, and the kernel's
// drop count, which the registrar reads to notice that it is falling behind
// (docs/limits.md, "Overload") — including drops after the last datagram the
// socket queued.

#include "dataplane/udp_socket_io.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "gtest/gtest.h"

namespace rspd::dataplane {
namespace {

// Sends `count` datagrams of `size` bytes to 127.0.0.1:`port`.
void Blast(uint16_t port, int count, size_t size) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<uint8_t> datagram(size, 0x5a);
  for (int i = 0; i < count; ++i) {
    sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  }
  close(fd);
}

TEST(UdpSocketIoTest, ReceivesInBursts) {
  auto io = UdpSocketIo::Open("127.0.0.1", 0);
  ASSERT_TRUE(io.ok()) << io.status();
  Blast((*io)->port(), 40, 100);
  size_t received = 0;
  for (int i = 0; i < 1000 && received < 40; ++i) {
    const absl::Span<const Datagram> burst = (*io)->ReceiveBurst();
    EXPECT_LE(burst.size(), PacketIo::kBurst);
    for (const Datagram& d : burst) EXPECT_EQ(d.data.size(), 100u);
    received += burst.size();
  }
  EXPECT_EQ(received, 40u);
  EXPECT_EQ((*io)->stats().udp_rx_datagrams.load(), 40u);
}

TEST(UdpSocketIoTest, CountsWhatTheKernelDroppedEvenAfterTheLastQueuedDatagram) {
  UdpSocketOptions options;
  options.receive_buffer = 65536;  // the kernel doubles it; a few dozen datagrams fit
  auto io = UdpSocketIo::Open("127.0.0.1", 0, options);
  ASSERT_TRUE(io.ok()) << io.status();
  EXPECT_EQ((*io)->ReadDrops(), 0u);
  Blast((*io)->port(), 2000, 1000);
  // Nothing was read: the drops show without a datagram to carry them.
  const uint64_t drops = (*io)->ReadDrops();
  EXPECT_GT(drops, 0u);
  EXPECT_EQ((*io)->stats().udp_rx_kernel_drops.load(), drops);
}

}  // namespace
}  // namespace rspd::dataplane
