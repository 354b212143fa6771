// File: dataplane/spsc_ring.h
//
// A bounded single-producer/single-consumer ring of trivially copyable
// values (typically pointers), the equivalent of DPDK's rte_ring in SP/SC
// mode for builds and tests without DPDK (docs/architecture.md, docs/style.md
// "Bursts and rings"). Generic: nothing here knows about the handlespace.
//
// - Capacity is a power of two; indices run freely and are masked.
// - The producer index and the consumer index live on separate cache lines,
//   each next to the side's cached copy of the other index, so that the two
//   threads share a line only when one has to refresh its view of the other.
// - Burst semantics (rte_ring "burst", not "bulk"): EnqueueBurst takes as
//   many as fit and returns the count; the caller still owns the rest (a
//   full ring is back-pressure, never a silent drop). DequeueBurst returns
//   as many as are available, up to the span's size.
//
// Example:
//   SpscRing<Request*> ring(1024);
//   size_t sent = ring.EnqueueBurst(absl::MakeConstSpan(batch, n));   // producer
//   Request* got[32];
//   size_t n = ring.DequeueBurst(absl::MakeSpan(got));                // consumer

#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <memory>
#include <type_traits>

#include "absl/base/optimization.h"
#include "absl/types/span.h"

namespace rspd::dataplane {

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "SpscRing holds trivially copyable values");

 public:
  // `capacity` must be a power of two >= 2.
  explicit SpscRing(size_t capacity)
      : mask_(capacity - 1), slots_(std::make_unique<T[]>(capacity)) {
    assert(capacity >= 2 && (capacity & (capacity - 1)) == 0);
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  size_t capacity() const { return mask_ + 1; }

  // Producer side. Returns how many of `items` were taken (a prefix).
  size_t EnqueueBurst(absl::Span<const T> items) {
    const size_t head = producer_.head.load(std::memory_order_relaxed);
    size_t free = capacity() - (head - producer_.cached_tail);
    if (free < items.size()) {
      producer_.cached_tail = consumer_.tail.load(std::memory_order_acquire);
      free = capacity() - (head - producer_.cached_tail);
    }
    const size_t n = items.size() < free ? items.size() : free;
    for (size_t i = 0; i < n; ++i) {
      slots_[(head + i) & mask_] = items[i];
    }
    producer_.head.store(head + n, std::memory_order_release);
    return n;
  }
  bool Enqueue(const T& item) { return EnqueueBurst(absl::Span<const T>(&item, 1)) == 1; }

  // Producer side: free slots as the producer sees them (a lower bound).
  size_t FreeCount() {
    producer_.cached_tail = consumer_.tail.load(std::memory_order_acquire);
    return capacity() - (producer_.head.load(std::memory_order_relaxed) - producer_.cached_tail);
  }

  // Consumer side. Returns how many were written to `out`.
  size_t DequeueBurst(absl::Span<T> out) {
    const size_t tail = consumer_.tail.load(std::memory_order_relaxed);
    size_t avail = consumer_.cached_head - tail;
    if (avail < out.size()) {
      consumer_.cached_head = producer_.head.load(std::memory_order_acquire);
      avail = consumer_.cached_head - tail;
    }
    const size_t n = out.size() < avail ? out.size() : avail;
    for (size_t i = 0; i < n; ++i) {
      out[i] = slots_[(tail + i) & mask_];
    }
    consumer_.tail.store(tail + n, std::memory_order_release);
    return n;
  }

  // Consumer side: nothing to take (re-reads the producer's index, so a
  // consumer about to sleep sees every item published before this call).
  bool Empty() {
    consumer_.cached_head = producer_.head.load(std::memory_order_acquire);
    return consumer_.cached_head == consumer_.tail.load(std::memory_order_relaxed);
  }

 private:
  struct alignas(ABSL_CACHELINE_SIZE) Producer {
    std::atomic<size_t> head{0};
    size_t cached_tail = 0;
  };
  struct alignas(ABSL_CACHELINE_SIZE) Consumer {
    std::atomic<size_t> tail{0};
    size_t cached_head = 0;
  };

  Producer producer_;
  Consumer consumer_;
  const size_t mask_;
  std::unique_ptr<T[]> slots_;
};

}  // namespace rspd::dataplane
