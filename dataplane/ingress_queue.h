// File: dataplane/ingress_queue.h
//
// Datagrams received but not yet processed, in two classes, so that a
// registrar that falls behind chooses what to serve first instead of letting
// the kernel drop at random (docs/limits.md, "Overload"):
//   kPriority: from remotes that hold registered PEs (keep-alive ACKs,
//              re-registrations, deregistrations) and, later, from peer
//              registrars; served first, every loop iteration.
//   kNormal:   everything else (handle resolutions, new clients); served up
//              to a budget per iteration, and when its queue is full the
//              newest are shed (counted; SCTP retransmits them, and its
//              congestion control slows the senders down).
// Fixed slots, allocated once: no allocation per datagram. A datagram larger
// than a slot is not queued (the caller processes it at once).
//
// Example:
//   IngressQueue queue({});
//   if (!queue.Push(IngressQueue::kNormal, from, packet)) { /* shed */ }
//   queue.Drain(IngressQueue::kPriority, SIZE_MAX, process);
//   queue.Drain(IngressQueue::kNormal, 256, process);

#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "dataplane/net/endpoint.h"

namespace rspd::dataplane {

class IngressQueue {
 public:
  enum Class { kPriority = 0, kNormal = 1 };
  // ASAP and ENRP requests are a few hundred bytes; SCTP packets from
  // usrsctp stay within a 1500-byte path MTU.
  static constexpr size_t kSlotBytes = 2048;

  struct Options {
    // At the loop's 20-50k datagrams/s on a 2-core machine, 4096 normal
    // datagrams are 80-200 ms of work: bursts wait, sustained overload sheds.
    size_t normal_slots = 4096;
    // Priority datagrams are all served every turn: a turn's worth suffices.
    size_t priority_slots = 1024;
  };

  explicit IngressQueue(const Options& options)
      : queues_{Fifo(options.priority_slots), Fifo(options.normal_slots)} {}

  // Copies the datagram into its class's queue; false if that queue is full
  // or the datagram is larger than a slot.
  bool Push(Class c, const Endpoint& from, absl::Span<const uint8_t> datagram) {
    Fifo& q = queues_[c];
    if (q.count == q.capacity || datagram.size() > kSlotBytes) return false;
    const size_t at = (q.head + q.count) % q.capacity;
    q.from[at] = from;
    q.length[at] = static_cast<uint16_t>(datagram.size());
    memcpy(&q.bytes[at * kSlotBytes], datagram.data(), datagram.size());
    ++q.count;
    return true;
  }

  // Hands up to `max` datagrams of class `c`, oldest first, to
  // fn(const Endpoint&, absl::Span<const uint8_t>); returns how many.
  template <typename Fn>
  size_t Drain(Class c, size_t max, Fn&& fn) {
    Fifo& q = queues_[c];
    size_t n = 0;
    while (q.count > 0 && n < max) {
      const size_t at = q.head;
      q.head = (q.head + 1) % q.capacity;
      --q.count;
      ++n;
      fn(q.from[at], absl::MakeConstSpan(&q.bytes[at * kSlotBytes], q.length[at]));
    }
    return n;
  }

  size_t size(Class c) const { return queues_[c].count; }
  bool empty() const { return queues_[kPriority].count == 0 && queues_[kNormal].count == 0; }

 private:
  struct Fifo {
    // The slots' bytes are left uninitialized: pages are touched (and become
    // resident) only once a backlog reaches them.
    explicit Fifo(size_t n) : capacity(n), bytes(new uint8_t[n * kSlotBytes]), from(n), length(n) {}
    size_t capacity;
    std::unique_ptr<uint8_t[]> bytes;
    std::vector<Endpoint> from;
    std::vector<uint16_t> length;
    size_t head = 0;
    size_t count = 0;
  };
  Fifo queues_[2];
};

}  // namespace rspd::dataplane
