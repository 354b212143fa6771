// File: dataplane/dpdk_port_io.h
//
// Packet I/O on DPDK ports: the backend of `rspd --io=dpdk` (docs/dpdk.md).
// It sets up the EAL, one mempool and every port the EAL found (a NIC bound
// to a DPDK driver, or a virtual device such as net_af_packet, net_tap or
// net_memif), each with its own addresses and L2/L3 (net_stack.h). Receive
// bursts from every RX queue go through the port's NetStack: ARP, ICMP echo
// and Neighbor Discovery are answered in place (the received mbuf is sent
// back), SCTP packets (over UDP, RFC 6951, or native, IP protocol 132) are
// handed to the I/O loop without a copy, everything else is dropped and
// counted. Sends copy the SCTP packet once, into an mbuf behind the headers
// the NetStack writes, and leave in one burst per port at Flush.
//
// One I/O thread (the EAL main lcore) calls everything; no lock, and no
// allocation after Open outside the neighbor cache's slow path. There is no
// descriptor to sleep on: the I/O loop polls, and backs off when idle
// (io_loop.h, Options::max_idle_sleep_us).
//
// Example:
//   DpdkOptions options;
//   options.eal_args = {"--no-pci", "--no-huge", "--vdev=net_af_packet0,iface=veth1"};
//   options.ports = {{{{*protocol::IpAddress::Parse("10.0.0.1"), 24}}}};
//   absl::StatusOr<std::unique_ptr<DpdkPortIo>> io = DpdkPortIo::Open(options);

#pragma once

#include <rte_mbuf.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "dataplane/net_stack.h"
#include "dataplane/packet_io.h"

struct rte_mempool;

namespace rspd::dataplane {

struct DpdkOptions {
  // Passed to rte_eal_init after the program name. Open adds what is
  // missing: `--in-memory` when free hugepages exist, else `--no-huge` (an
  // error if the arguments ask for hugepages); with --no-huge, `-m 256`
  // unless sized and `--no-shconf` unless --in-memory or --file-prefix say
  // otherwise; and without a core choice (-l, -c, --lcores) `-l` with the
  // CPU the caller runs on.
  std::vector<std::string> eal_args;
  struct Port {
    std::vector<InterfaceAddress> addresses;
    std::optional<protocol::IpAddress> ipv4_gateway;
    std::optional<protocol::IpAddress> ipv6_gateway;
  };
  // Port i is DPDK port i (probe order: PCI devices, then --vdev in order).
  std::vector<Port> ports;
  uint16_t encapsulation_port = 9899;  // RFC 6951 §5.1
  // RX queues per port; more than one turns on RSS (IP addresses) where the
  // port supports it. One TX queue per port: one thread sends.
  uint16_t rx_queues = 1;
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  // mbufs in the pool: every RX descriptor holds one, and each burst in flight.
  uint32_t mbufs = 16383;
  uint16_t mtu = 1500;
  // ARP and ND answers, and ICMP echo answers, per second and port at most.
  uint32_t max_replies_per_second = 20000;
  uint32_t max_echo_replies_per_second = 1000;
};

// clang-format off
#define RSPD_DPDK_STATS(X) \
  X(dpdk_rx_frames, "frames received from every port") \
  X(dpdk_rx_segmented, "frames dropped: spread over several mbufs (larger than an mbuf)") \
  X(dpdk_tx_frames, "frames the ports took") \
  X(dpdk_tx_ring_full, "frames dropped: the port's TX ring was full") \
  X(dpdk_tx_no_mbuf, "frames not sent: the mempool was empty")
// clang-format on

struct DpdkStats {
#define RSPD_DPDK_STAT_FIELD(name, help) std::atomic<uint64_t> name{0};
  RSPD_DPDK_STATS(RSPD_DPDK_STAT_FIELD)
#undef RSPD_DPDK_STAT_FIELD
  static void Bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

class DpdkPortIo final : public PacketIo {
 public:
  // Sets up the EAL (once per process), the mempool and every port. The
  // error names what is missing: hugepages, ports, permissions, memory.
  static absl::StatusOr<std::unique_ptr<DpdkPortIo>> Open(const DpdkOptions& options);
  // Stops and closes the ports, frees every mbuf and cleans the EAL up.
  ~DpdkPortIo() override;
  DpdkPortIo(const DpdkPortIo&) = delete;
  DpdkPortIo& operator=(const DpdkPortIo&) = delete;

  absl::Span<const Datagram> ReceiveBurst() override;
  int Send(const Endpoint& to, absl::Span<const uint8_t> datagram) override;
  void Flush() override;
  int wait_fd() const override { return -1; }
  uint64_t ReadDrops() override;
  void ForEachCounter(CounterFn fn) const override;

  // One line per port: its name, MAC, addresses, link and queues.
  std::string Describe() const;
  size_t port_count() const { return ports_.size(); }
  const NetStack& stack(size_t port) const { return *ports_[port].stack; }

 private:
  struct PortState {
    uint16_t id = 0;
    std::string name;
    std::unique_ptr<NetStack> stack;
    uint16_t rx_queues = 1;
    uint16_t next_queue = 0;  // where the next burst starts (fairness)
    std::array<rte_mbuf*, kBurst> tx{};
    uint16_t tx_count = 0;
    // Per-port and per-queue counter names, made once.
    std::vector<std::string> counter_names;
  };

  // Frames one ReceiveBurst pulls at most, looking for datagrams: a ring's
  // worth, so that a flood of frames that are answered or dropped is read
  // as fast as it comes.
  static constexpr size_t kMaxFramesPerCall = 1024;
  static constexpr uint64_t kDropsReadMillis = 10;

  explicit DpdkPortIo(const DpdkOptions& options) : options_(options) {}
  absl::Status SetUpPort(uint16_t id, const DpdkOptions::Port& port);
  // One received frame through the port's L2/L3: delivered (datagrams_[*n],
  // ++*n), answered in place, or dropped.
  void Input(PortState& port, rte_mbuf* m, size_t* n);
  void Transmit(PortState& port, rte_mbuf* m);
  void FlushPort(PortState& port);
  // The port whose addresses reach `ip`, or port 0.
  PortState& Route(const protocol::IpAddress& ip);
  static uint64_t NowMillis();

  DpdkOptions options_;
  rte_mempool* pool_ = nullptr;
  std::vector<PortState> ports_;
  size_t next_port_ = 0;
  // The burst handed out by ReceiveBurst and the mbufs behind it, freed at
  // the next ReceiveBurst.
  std::array<Datagram, kBurst> datagrams_;
  std::array<rte_mbuf*, kBurst> delivered_{};
  size_t delivered_count_ = 0;
  uint64_t now_ms_ = 0;
  uint64_t drops_ = 0;
  uint64_t drops_read_ms_ = 0;
  DpdkStats stats_;
};

}  // namespace rspd::dataplane
