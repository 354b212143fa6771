// File: dataplane/udp_socket_io.cc

#include "dataplane/udp_socket_io.h"

#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"

namespace rspd::dataplane {

namespace {

// Asks for `size` bytes of socket buffer: forced past the system maximum
// where we may (root), else as much as the maximum allows.
void SetBuffer(int fd, int force_option, int option, int size) {
  if (setsockopt(fd, SOL_SOCKET, force_option, &size, sizeof(size)) != 0) {
    setsockopt(fd, SOL_SOCKET, option, &size, sizeof(size));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<UdpSocketIo>> UdpSocketIo::Open(const std::string& address,
                                                               uint16_t port,
                                                               const UdpSocketOptions& options) {
  std::optional<Endpoint> local = Endpoint::Parse(address, port);
  if (!local) {
    return absl::InvalidArgumentError(absl::StrCat("not an IP address: '", address, "'"));
  }
  int fd = socket(local->family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  }
  // Bursts from many PEs and PUs: the kernel charges about 1 KiB of buffer
  // per small datagram, so the default 8 MiB holds some 8,000 of them, a
  // tenth of a second of the loop's work on a 2-core machine.
  SetBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, options.receive_buffer);
  SetBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, options.send_buffer);
  if (bind(fd, local->as_sockaddr(), local->length) != 0) {
    int error = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("bind UDP ", local->ToString(), ": ", strerror(error)));
  }
  getsockname(fd, reinterpret_cast<sockaddr*>(&local->address), &local->length);
  auto io = std::unique_ptr<UdpSocketIo>(new UdpSocketIo(fd, local->port()));
  int granted = 0;
  socklen_t granted_length = sizeof(granted);
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &granted_length);
  io->receive_buffer_ = granted;
  return io;
}

UdpSocketIo::UdpSocketIo(int fd, uint16_t port)
    : fd_(fd),
      port_(port),
      rx_buffers_(kBurst * kMaxDatagram),
      tx_buffers_(kBurst * kMaxDatagram) {}

UdpSocketIo::~UdpSocketIo() {
  Flush();
  close(fd_);
}

absl::Span<const Datagram> UdpSocketIo::ReceiveBurst() {
  std::array<mmsghdr, kBurst> messages{};
  std::array<iovec, kBurst> iov{};
  for (size_t i = 0; i < kBurst; ++i) {
    iov[i] = {&rx_buffers_[i * kMaxDatagram], kMaxDatagram};
    messages[i].msg_hdr.msg_iov = &iov[i];
    messages[i].msg_hdr.msg_iovlen = 1;
    messages[i].msg_hdr.msg_name = &rx_[i].from.address;
    messages[i].msg_hdr.msg_namelen = sizeof(rx_[i].from.address);
  }
  int n = recvmmsg(fd_, messages.data(), kBurst, MSG_DONTWAIT, nullptr);
  if (n <= 0) {
    return {};
  }
  size_t kept = 0;
  for (int i = 0; i < n; ++i) {
    if (messages[i].msg_hdr.msg_flags & MSG_TRUNC) {
      UdpSocketStats::Add(stats_.udp_rx_truncated);
      continue;
    }
    if (kept != static_cast<size_t>(i)) {
      memmove(&rx_buffers_[kept * kMaxDatagram], &rx_buffers_[i * kMaxDatagram],
              messages[i].msg_len);
      rx_[kept].from.address = rx_[i].from.address;
    }
    rx_[kept].from.length = messages[i].msg_hdr.msg_namelen;
    rx_[kept].data = absl::MakeConstSpan(&rx_buffers_[kept * kMaxDatagram], messages[i].msg_len);
    ++kept;
  }
  UdpSocketStats::Add(stats_.udp_rx_datagrams, kept);
  return absl::MakeConstSpan(rx_.data(), kept);
}

uint64_t UdpSocketIo::ReadDrops() {
  // SO_MEMINFO: the socket's memory counters, its drop count among them
  // (Linux 4.6). Read on demand, it also sees drops after the last datagram
  // that was queued.
  uint32_t meminfo[SK_MEMINFO_VARS] = {};
  socklen_t length = sizeof(meminfo);
  if (getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, meminfo, &length) == 0 &&
      length > SK_MEMINFO_DROPS * sizeof(uint32_t)) {
    UdpSocketStats::Set(stats_.udp_rx_kernel_drops, meminfo[SK_MEMINFO_DROPS]);
  }
  return stats_.udp_rx_kernel_drops.load(std::memory_order_relaxed);
}

int UdpSocketIo::Send(const Endpoint& to, absl::Span<const uint8_t> datagram) {
  if (datagram.size() > kMaxDatagram) {
    Flush();
    ssize_t n = sendto(fd_, datagram.data(), datagram.size(), 0,
                       reinterpret_cast<const sockaddr*>(&to.address), to.length);
    if (n < 0) {
      UdpSocketStats::Add(stats_.udp_tx_errors);
      return errno;
    }
    UdpSocketStats::Add(stats_.udp_tx_datagrams);
    return 0;
  }
  if (tx_count_ == kBurst) {
    Flush();
  }
  memcpy(&tx_buffers_[tx_count_ * kMaxDatagram], datagram.data(), datagram.size());
  tx_to_[tx_count_] = to;
  tx_length_[tx_count_] = datagram.size();
  ++tx_count_;
  return 0;
}

void UdpSocketIo::Flush() {
  size_t sent = 0;
  while (sent < tx_count_) {
    std::array<mmsghdr, kBurst> messages{};
    std::array<iovec, kBurst> iov{};
    size_t n = tx_count_ - sent;
    for (size_t i = 0; i < n; ++i) {
      size_t k = sent + i;
      iov[i] = {&tx_buffers_[k * kMaxDatagram], tx_length_[k]};
      messages[i].msg_hdr.msg_iov = &iov[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_name = &tx_to_[k].address;
      messages[i].msg_hdr.msg_namelen = tx_to_[k].length;
    }
    int r = sendmmsg(fd_, messages.data(), static_cast<unsigned>(n), 0);
    if (r <= 0) {
      // The datagram at the head failed (e.g. an unreachable peer): count it
      // and go on with the rest; SCTP retransmits what matters.
      UdpSocketStats::Add(stats_.udp_tx_errors);
      ++sent;
      continue;
    }
    UdpSocketStats::Add(stats_.udp_tx_datagrams, static_cast<uint64_t>(r));
    sent += static_cast<size_t>(r);
  }
  tx_count_ = 0;
}

}  // namespace rspd::dataplane
