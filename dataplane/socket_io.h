// File: dataplane/socket_io.h
//
// Packet I/O over a kernel UDP socket, for SCTP over UDP (RFC 6951): the
// default backend of `rspd --io=socket`. Receives in bursts (recvmmsg) and
// sends in batches (sendmmsg); the SCTP bridge's output lands here.
//
// Example:
//   auto io = UdpSocketIo::Open("127.0.0.1", 9899);
//   (*io)->ReceiveBurst([&](const Endpoint& from, absl::Span<const uint8_t> p) {
//     bridge.Input(from, p);
//   });
//   (*io)->Flush();

#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "dataplane/sctp_bridge.h"

namespace rspd::dataplane {

struct UdpSocketOptions {
  // Socket buffer sizes asked for. Beyond net.core.rmem_max / wmem_max they
  // need CAP_NET_ADMIN (SO_RCVBUFFORCE); without it the kernel's maximum
  // applies (see UdpSocketIo::receive_buffer()).
  int receive_buffer = 8 << 20;
  int send_buffer = 4 << 20;
};

class UdpSocketIo {
 public:
  // RX and TX batch: 32 datagrams, the DPDK burst size the design uses.
  static constexpr size_t kBurst = 32;
  // Largest datagram: SCTP packets from usrsctp stay below the path MTU; 9216
  // covers jumbo frames. Longer ones are sent unbatched.
  static constexpr size_t kMaxDatagram = 9216;

  struct Stats {
    uint64_t rx_datagrams = 0;
    uint64_t rx_truncated = 0;  // longer than kMaxDatagram: dropped
    // Datagrams the kernel dropped because the receive buffer was full, since
    // the socket was opened (as of the last ReadKernelDrops).
    uint64_t rx_kernel_drops = 0;
    uint64_t tx_datagrams = 0;
    uint64_t tx_errors = 0;
  };

  // Binds a UDP socket; port 0 picks a free one (see port()).
  static absl::StatusOr<std::unique_ptr<UdpSocketIo>> Open(const std::string& address,
                                                           uint16_t port,
                                                           const UdpSocketOptions& options = {});
  ~UdpSocketIo();

  int fd() const { return fd_; }
  uint16_t port() const { return port_; }
  // The receive buffer the kernel granted, in bytes of its accounting.
  int receive_buffer() const { return receive_buffer_; }
  const Stats& stats() const { return stats_; }

  // Receives what is waiting, up to kBurst datagrams, calling
  // fn(const Endpoint&, absl::Span<const uint8_t>) for each. Never blocks.
  template <typename Fn>
  size_t ReceiveBurst(Fn&& fn);

  // Queues a datagram (copied); sends the batch when it is full. Returns 0
  // or an errno value.
  int Send(const Endpoint& to, absl::Span<const uint8_t> datagram);
  // Sends what is queued.
  void Flush();
  // Reads the kernel's count of datagrams dropped at this socket into
  // stats().rx_kernel_drops and returns it (one system call).
  uint64_t ReadKernelDrops();

 private:
  UdpSocketIo(int fd, uint16_t port);
  size_t Receive();  // fills rx_* and returns the count

  int fd_;
  uint16_t port_;
  int receive_buffer_ = 0;
  Stats stats_;
  std::vector<uint8_t> rx_buffers_;
  std::array<Endpoint, kBurst> rx_from_;
  std::array<size_t, kBurst> rx_length_{};
  std::vector<uint8_t> tx_buffers_;
  std::array<Endpoint, kBurst> tx_to_;
  std::array<size_t, kBurst> tx_length_{};
  size_t tx_count_ = 0;
};

template <typename Fn>
size_t UdpSocketIo::ReceiveBurst(Fn&& fn) {
  size_t n = Receive();
  for (size_t i = 0; i < n; ++i) {
    fn(rx_from_[i], absl::MakeConstSpan(&rx_buffers_[i * kMaxDatagram], rx_length_[i]));
  }
  return n;
}

}  // namespace rspd::dataplane
