// File: dataplane/packet_io.h
//
// Packet I/O: where the SCTP packets of the registrar enter and leave
// (docs/architecture.md, "Packet path"). One backend per process: the kernel
// UDP socket (SCTP over UDP, RFC 6951; udp_socket_io.h) today, DPDK ports
// later. The I/O loop (io_loop.h) is the only caller: it receives in bursts,
// hands each datagram to the SCTP bridge, and flushes what the bridge sent.
//
// Example:
//   for (const Datagram& d : io.ReceiveBurst()) bridge.Input(d.from, d.data);
//   io.Send(to, packet);   // queued
//   io.Flush();            // sent in one batch

#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "dataplane/net/endpoint.h"

namespace rspd::dataplane {

// One received datagram; `data` is valid until the next ReceiveBurst.
struct Datagram {
  Endpoint from;
  absl::Span<const uint8_t> data;
};

class PacketIo {
 public:
  // Datagrams per receive burst and per send batch at most (DPDK's usual 32).
  static constexpr size_t kBurst = 32;
  using CounterFn = absl::FunctionRef<void(const char* name, const char* help, uint64_t value)>;

  virtual ~PacketIo() = default;

  // What arrived, up to kBurst datagrams. Never blocks.
  virtual absl::Span<const Datagram> ReceiveBurst() = 0;
  // Queues a datagram (copied); sends the batch when it is full. Returns 0
  // or an errno value.
  virtual int Send(const Endpoint& to, absl::Span<const uint8_t> datagram) = 0;
  // Sends what is queued.
  virtual void Flush() = 0;
  // A descriptor that becomes readable when datagrams arrive (the loop
  // sleeps on it when idle), or -1 for a backend that must be polled.
  virtual int wait_fd() const = 0;
  // Datagrams lost before the loop could read them (a full receive buffer or
  // ring), in all since the backend opened; reads them afresh.
  virtual uint64_t ReadDrops() = 0;
  // Calls fn(name, help, value) for every counter.
  virtual void ForEachCounter(CounterFn fn) const = 0;
};

}  // namespace rspd::dataplane
