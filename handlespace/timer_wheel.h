// File: handlespace/timer_wheel.h
//
// A hashed timing wheel (Varghese & Lauck, scheme 6) for PE registration
// lifetimes and keep-alive timeouts (RFC 5352 §3.1, §3.5; RFC 5353 §3.3.2).
// Timers are identified by a dense uint32 id (the PE slot); the wheel keeps
// intrusive doubly-linked bucket lists in arrays indexed by id, so arming,
// re-arming and cancelling are O(1) with no allocation once grown.
//
// A timer due more than one revolution ahead sits in its bucket until its
// round comes: `Expire` checks each entry's deadline, so any deadline is
// exact to the tick; only the cost of a bucket visit grows with far timers.
//
// Pure: time is the `now` argument; nothing reads a clock.
//
// Example:
//   TimerWheel wheel(/*bucket_count=*/4096, /*tick_shift=*/4);  // 16-tick buckets
//   wheel.Arm(slot, now + 30000);
//   std::vector<uint32_t> fired;
//   wheel.Expire(now, &fired);

#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "handlespace/huge_page_allocator.h"
#include "handlespace/types.h"

namespace rspd::handlespace {

class TimerWheel {
 public:
  static constexpr uint32_t kNil = 0xffffffffu;

  // `bucket_count` must be a power of two; each bucket spans 2^tick_shift ticks.
  TimerWheel(size_t bucket_count, unsigned tick_shift, Tick start = 0);

  // Makes ids [0, capacity) usable.
  void Resize(size_t capacity);
  size_t capacity() const { return expiry_.size(); }

  // Arms (or re-arms) timer `id` to fire at `deadline` (kNever cancels).
  void Arm(uint32_t id, Tick deadline);
  void Cancel(uint32_t id);
  bool armed(uint32_t id) const { return expiry_[id] != kNever; }
  Tick deadline(uint32_t id) const { return expiry_[id]; }
  size_t size() const { return armed_; }

  // Appends the ids of every timer with deadline <= now to `out` and disarms
  // them. Visits the buckets between the last call and `now` (at most one
  // revolution). Returns how many fired.
  size_t Expire(Tick now, std::vector<uint32_t>* out);

  size_t MemoryBytes() const {
    return heads_.capacity() * sizeof(uint32_t) + next_.capacity() * sizeof(uint32_t) +
           prev_.capacity() * sizeof(uint32_t) + expiry_.capacity() * sizeof(Tick);
  }

 private:
  void Unlink(uint32_t id);
  size_t BucketOf(Tick t) const { return (t >> shift_) & mask_; }

  const unsigned shift_;
  const size_t mask_;
  Tick cursor_;  // first tick not yet expired
  size_t armed_ = 0;
  std::vector<uint32_t> heads_;
  HugeVector<uint32_t> next_;
  HugeVector<uint32_t> prev_;
  HugeVector<Tick> expiry_;
};

}  // namespace rspd::handlespace
