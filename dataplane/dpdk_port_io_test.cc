// DpdkPortIo on two net_ring ports (a ring port's transmit ring is its
// receive ring, so the test injects frames with rte_eth_tx_burst and reads
// what the backend sent the same way). One test: the EAL starts once per
// process.

#include "dataplane/dpdk_port_io.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstring>
#include <vector>

#include "dataplane/frames.h"
#include "gtest/gtest.h"

namespace rspd::dataplane {
namespace {

using protocol::IpAddress;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

void Inject(rte_mempool* pool, uint16_t port, const std::vector<uint8_t>& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  ASSERT_NE(m, nullptr);
  memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
  ASSERT_EQ(rte_eth_tx_burst(port, 0, &m, 1), 1);
}

std::vector<std::vector<uint8_t>> Drain(uint16_t port) {
  std::vector<std::vector<uint8_t>> frames;
  rte_mbuf* burst[32];
  for (uint16_t n; (n = rte_eth_rx_burst(port, 0, burst, 32)) > 0;) {
    for (uint16_t i = 0; i < n; ++i) {
      const uint8_t* data = rte_pktmbuf_mtod(burst[i], const uint8_t*);
      frames.emplace_back(data, data + burst[i]->data_len);
    }
    rte_pktmbuf_free_bulk(burst, n);
  }
  return frames;
}

TEST(DpdkPortIoTest, FindsDatagramsBehindJunkAndRoutesByLink) {
  DpdkOptions options;
  options.eal_args = {"--no-pci",         "--no-huge",        "--no-shconf",  "--no-telemetry",
                      "--vdev=net_ring0", "--vdev=net_ring1", "--log-level=2"};
  options.mbufs = 8191;
  options.rx_descriptors = 512;
  options.tx_descriptors = 512;
  options.ports.resize(2);
  options.ports[0].addresses = {{Ip("10.0.0.1"), 24}};
  options.ports[0].ipv4_gateway = Ip("10.0.0.254");
  options.ports[1].addresses = {{Ip("10.1.0.1"), 24}};
  absl::StatusOr<std::unique_ptr<DpdkPortIo>> io = DpdkPortIo::Open(options);
  ASSERT_TRUE(io.ok()) << io.status();
  rte_mempool* pool = rte_pktmbuf_pool_create("test", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  ASSERT_NE(pool, nullptr);
  const MacAddress mac0 = (*io)->stack(0).config().mac;

  // 100 frames of an unknown EtherType, then one SCTP packet over UDP: one
  // receive call finds the packet (the junk does not end the burst).
  std::vector<uint8_t> junk(60, 0x5a);
  memcpy(junk.data(), mac0.data(), 6);
  junk[12] = 0x88;
  junk[13] = 0xb5;
  for (int i = 0; i < 100; ++i) Inject(pool, 0, junk);
  FrameSpec spec;
  const uint8_t src[4] = {10, 0, 0, 2}, dst[4] = {10, 0, 0, 1};
  memcpy(spec.src_ip, src, 4);
  memcpy(spec.dst_ip, dst, 4);
  spec.udp_src_port = 40000;
  std::vector<uint8_t> sctp = BuildSctpDataFrame(spec, {1, 2, 3, 4});
  memcpy(sctp.data(), mac0.data(), 6);
  Inject(pool, 0, sctp);
  absl::Span<const Datagram> burst = (*io)->ReceiveBurst();
  ASSERT_EQ(burst.size(), 1u);
  EXPECT_EQ(burst[0].from.ip(), Ip("10.0.0.2"));
  EXPECT_EQ(burst[0].from.port(), 40000);
  EXPECT_EQ((*io)->stack(0).stats().l2_ethertype_unknown.load(), 100u);

  // A packet for port 1's subnet leaves through port 1 (its ARP request
  // first), not through port 0's gateway.
  (*io)->Flush();  // the start's gratuitous ARP and advertisements
  Drain(0);
  Drain(1);
  EXPECT_EQ((*io)->Send(Endpoint::Of(Ip("10.1.0.5"), 9899), std::vector<uint8_t>(40)), 0);
  (*io)->ReceiveBurst();  // polls: the ARP request goes out
  (*io)->Flush();
  const std::vector<std::vector<uint8_t>> on1 = Drain(1);
  ASSERT_EQ(on1.size(), 1u);
  EXPECT_EQ(on1[0][12], 0x08);
  EXPECT_EQ(on1[0][13], 0x06);  // ARP
  EXPECT_EQ(std::vector<uint8_t>(on1[0].begin() + 38, on1[0].begin() + 42),
            (std::vector<uint8_t>{10, 1, 0, 5}));
  EXPECT_TRUE(Drain(0).empty());
  rte_mempool_free(pool);
}

}  // namespace
}  // namespace rspd::dataplane
