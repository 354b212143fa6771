// File: dataplane/udp_socket_io.h
//
// Packet I/O over a kernel UDP socket, for SCTP over UDP (RFC 6951): the
// backend of `rspd --io=socket`. Receives in bursts (recvmmsg) and sends in
// batches (sendmmsg); the SCTP bridge's output lands here.
//
// Example:
//   auto io = UdpSocketIo::Open("127.0.0.1", 9899);
//   for (const Datagram& d : (*io)->ReceiveBurst()) bridge.Input(d.from, d.data);
//   (*io)->Flush();

#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "dataplane/packet_io.h"

namespace rspd::dataplane {

struct UdpSocketOptions {
  // Socket buffer sizes asked for. Beyond net.core.rmem_max / wmem_max they
  // need CAP_NET_ADMIN (SO_RCVBUFFORCE); without it the kernel's maximum
  // applies (see UdpSocketIo::receive_buffer()).
  int receive_buffer = 8 << 20;
  int send_buffer = 4 << 20;
};

// Counters (docs/style.md, "Counters"), written by the I/O thread.
// clang-format off
#define RSPD_UDP_SOCKET_STATS(X) \
  X(udp_rx_datagrams, "datagrams received") \
  X(udp_rx_truncated, "datagrams longer than the largest SCTP packet: dropped") \
  X(udp_rx_kernel_drops, "datagrams the kernel dropped: receive buffer full (as last read)") \
  X(udp_tx_datagrams, "datagrams sent") \
  X(udp_tx_errors, "datagrams the kernel refused to send")
// clang-format on

struct UdpSocketStats {
#define RSPD_UDP_STAT_FIELD(name, help) std::atomic<uint64_t> name{0};
  RSPD_UDP_SOCKET_STATS(RSPD_UDP_STAT_FIELD)
#undef RSPD_UDP_STAT_FIELD
  static void Add(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  static void Set(std::atomic<uint64_t>& counter, uint64_t value) {
    counter.store(value, std::memory_order_relaxed);
  }
  template <typename Fn>
  void ForEach(Fn fn) const {
#define RSPD_UDP_STAT_EXPORT(name, help) fn(#name, help, name.load(std::memory_order_relaxed));
    RSPD_UDP_SOCKET_STATS(RSPD_UDP_STAT_EXPORT)
#undef RSPD_UDP_STAT_EXPORT
  }
};

class UdpSocketIo final : public PacketIo {
 public:
  // Largest datagram: SCTP packets from usrsctp stay below the path MTU; 9216
  // covers jumbo frames. Longer ones are sent unbatched.
  static constexpr size_t kMaxDatagram = 9216;

  // Binds a UDP socket; port 0 picks a free one (see port()).
  static absl::StatusOr<std::unique_ptr<UdpSocketIo>> Open(const std::string& address,
                                                           uint16_t port,
                                                           const UdpSocketOptions& options = {});
  ~UdpSocketIo() override;

  uint16_t port() const { return port_; }
  // The receive buffer the kernel granted, in bytes of its accounting.
  int receive_buffer() const { return receive_buffer_; }
  const UdpSocketStats& stats() const { return stats_; }

  absl::Span<const Datagram> ReceiveBurst() override;
  int Send(const Endpoint& to, absl::Span<const uint8_t> datagram) override;
  void Flush() override;
  int wait_fd() const override { return fd_; }
  // The kernel's count of datagrams dropped at this socket (SO_MEMINFO; one
  // system call), also in stats().udp_rx_kernel_drops.
  uint64_t ReadDrops() override;
  void ForEachCounter(CounterFn fn) const override { stats_.ForEach(fn); }

 private:
  UdpSocketIo(int fd, uint16_t port);

  int fd_;
  uint16_t port_;
  int receive_buffer_ = 0;
  UdpSocketStats stats_;
  std::vector<uint8_t> rx_buffers_;
  std::array<Datagram, kBurst> rx_{};
  std::vector<uint8_t> tx_buffers_;
  std::array<Endpoint, kBurst> tx_to_;
  std::array<size_t, kBurst> tx_length_{};
  size_t tx_count_ = 0;
};

}  // namespace rspd::dataplane
