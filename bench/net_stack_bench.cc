// Frames per second through the DPDK path's L2/L3 (dataplane/net_stack.h)
// against testpmd-style I/O forwarding on the same virtual device, in one
// process and run (bench/RESULTS.md, "DPDK packet path").
//
// The device is net_ring0, whose transmit ring is its receive ring: a set of
// mbufs circulates, each turn a receive burst and a transmit burst. Every
// benchmark first writes the question back into each received frame (the
// L2/L3 turns an ICMP echo request into its reply in place, and the reply
// would be dropped on the next lap), so the same copy is in all of them:
//   BM_IoForward          rx -> tx (testpmd's "io" forwarding)
//   BM_IoForwardRewrite   rx -> rewrite -> tx (the baseline with the copy)
//   BM_IcmpEcho           rx -> rewrite -> NetStack::Input (echo answered) -> tx
//   BM_Arp                rx -> rewrite -> NetStack::Input (ARP answered) -> tx
//   BM_SctpDeliver        rx -> rewrite -> NetStack::Input (SCTP over UDP
//                         handed out) -> tx
//
//   bazel run -c opt //bench:net_stack_bench

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench/bench_util.h"
#include "benchmark/benchmark.h"
#include "dataplane/frames.h"
#include "dataplane/net_stack.h"

namespace rspd::dataplane {
namespace {

constexpr uint16_t kPort = 0;
constexpr uint16_t kBurst = 32;
// Frames circulating: enough for full bursts, well under the ring's size.
constexpr unsigned kInFlight = 512;

const MacAddress kOurMac = {0x02, 0, 0, 0, 0, 0x02};  // frames.h's destination MAC

uint16_t Sum16(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (; n > 1; p += 2, n -= 2) sum += uint32_t{p[0]} << 8 | p[1];
  if (n) sum += uint32_t{p[0]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

FrameSpec PeerToUs() {
  FrameSpec spec;
  const uint8_t src[4] = {10, 0, 0, 2};
  const uint8_t dst[4] = {10, 0, 0, 1};
  memcpy(spec.src_ip, src, 4);
  memcpy(spec.dst_ip, dst, 4);
  spec.udp_src_port = 40000;
  return spec;
}

std::vector<uint8_t> EchoRequest() {
  std::vector<uint8_t> f = BuildUdpFrame(PeerToUs(), std::vector<uint8_t>(56));
  f[14 + 9] = 1;  // ICMP
  f[24] = f[25] = 0;
  const uint16_t ip_sum = Sum16(&f[14], 20);
  f[24] = static_cast<uint8_t>(ip_sum >> 8);
  f[25] = static_cast<uint8_t>(ip_sum);
  uint8_t* icmp = &f[34];
  memset(icmp, 0, 8);
  icmp[0] = 8;  // echo request
  icmp[5] = 1;
  const uint16_t sum = Sum16(icmp, f.size() - 34);
  icmp[2] = static_cast<uint8_t>(sum >> 8);
  icmp[3] = static_cast<uint8_t>(sum);
  return f;
}

std::vector<uint8_t> ArpRequest() {
  std::vector<uint8_t> f = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0,
                            0x01, 0x08, 0x06, 0,    1,    0x08, 0,    6, 4, 0, 1,
                            0x02, 0,    0,    0,    0,    0x01, 10,   0, 0, 2, 0,
                            0,    0,    0,    0,    0,    10,   0,    0, 1};
  return f;
}

// The EAL with net_ring0, once per process.
struct Device {
  rte_mempool* pool = nullptr;
  Device() {
    std::vector<const char*> args = {"net_stack_bench", "--no-huge", "--no-pci", "--no-shconf",
                                     "--no-telemetry",  "-m",        "256",      "--vdev=net_ring0",
                                     "--log-level=2"};
    if (rte_eal_init(static_cast<int>(args.size()), const_cast<char**>(args.data())) < 0) {
      fprintf(stderr, "net_stack_bench: rte_eal_init: %s\n", rte_strerror(rte_errno));
      exit(1);
    }
    pool = rte_pktmbuf_pool_create("bench", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    rte_eth_conf conf{};
    if (pool == nullptr || rte_eth_dev_configure(kPort, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(kPort, 0, 1024, 0, nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(kPort, 0, 1024, 0, nullptr) != 0 || rte_eth_dev_start(kPort) != 0) {
      fprintf(stderr, "net_stack_bench: net_ring0 setup failed\n");
      exit(1);
    }
  }
};
Device& GetDevice() {
  static Device device;
  return device;
}

enum class Work { kNone, kRewrite, kStack };

// Circulates kInFlight copies of `frame` through net_ring0 for the
// benchmark's iterations (one iteration: one burst), doing `work` on each.
void Circulate(benchmark::State& state, const std::vector<uint8_t>& frame, Work work,
               NetStack::Verdict expected) {
  Device& device = GetDevice();
  NetStack::Config config;
  config.mac = kOurMac;
  config.addresses = {{*protocol::IpAddress::Parse("10.0.0.1"), 24}};
  config.max_replies_per_second = 0;  // no limits: this measures the path
  config.max_echo_replies_per_second = 0;
  NetStack stack(config);
  for (unsigned i = 0; i < kInFlight; ++i) {
    rte_mbuf* m = rte_pktmbuf_alloc(device.pool);
    memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
    if (rte_eth_tx_burst(kPort, 0, &m, 1) != 1) rte_pktmbuf_free(m);
  }
  rte_mbuf* burst[kBurst];
  uint64_t frames = 0, wrong = 0;
  for (auto _ : state) {
    const uint16_t n = rte_eth_rx_burst(kPort, 0, burst, kBurst);
    for (uint16_t i = 0; i < n && work != Work::kNone; ++i) {
      uint8_t* data = rte_pktmbuf_mtod(burst[i], uint8_t*);
      memcpy(data, frame.data(), frame.size());
      burst[i]->data_len = static_cast<uint16_t>(frame.size());
      burst[i]->pkt_len = static_cast<uint32_t>(frame.size());
      if (work == Work::kStack) {
        NetStack::Received r;
        const size_t capacity = burst[i]->data_len + rte_pktmbuf_tailroom(burst[i]);
        if (stack.Input(data, frame.size(), capacity, 1000, &r) != expected) ++wrong;
        benchmark::DoNotOptimize(r);
      }
    }
    const uint16_t sent = rte_eth_tx_burst(kPort, 0, burst, n);
    rte_pktmbuf_free_bulk(burst + sent, n - sent);
    frames += n;
  }
  // Drain what circulates, for the next benchmark.
  for (uint16_t n; (n = rte_eth_rx_burst(kPort, 0, burst, kBurst)) > 0;) {
    rte_pktmbuf_free_bulk(burst, n);
  }
  if (wrong != 0) state.SkipWithError("the L2/L3 did not answer as expected");
  state.counters["frames_per_s"] =
      benchmark::Counter(static_cast<double>(frames), benchmark::Counter::kIsRate);
}

void BM_IoForward(benchmark::State& state) {
  Circulate(state, EchoRequest(), Work::kNone, NetStack::Verdict::kDrop);
}
void BM_IoForwardRewrite(benchmark::State& state) {
  Circulate(state, EchoRequest(), Work::kRewrite, NetStack::Verdict::kDrop);
}
void BM_IcmpEcho(benchmark::State& state) {
  Circulate(state, EchoRequest(), Work::kStack, NetStack::Verdict::kReply);
}
void BM_Arp(benchmark::State& state) {
  Circulate(state, ArpRequest(), Work::kStack, NetStack::Verdict::kReply);
}
void BM_SctpDeliver(benchmark::State& state) {
  Circulate(state, BuildSctpDataFrame(PeerToUs(), std::vector<uint8_t>(100)), Work::kStack,
            NetStack::Verdict::kDeliver);
}

const int64_t kIterations = bench::Scale(2000000, 1000);
BENCHMARK(BM_IoForward)->Iterations(kIterations);
BENCHMARK(BM_IoForwardRewrite)->Iterations(kIterations);
BENCHMARK(BM_IcmpEcho)->Iterations(kIterations);
BENCHMARK(BM_Arp)->Iterations(kIterations);
BENCHMARK(BM_SctpDeliver)->Iterations(kIterations);

}  // namespace
}  // namespace rspd::dataplane
