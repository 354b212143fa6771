// File: handlespace/timer_wheel.cc

#include "handlespace/timer_wheel.h"

#include <cassert>

namespace rspd::handlespace {

TimerWheel::TimerWheel(size_t bucket_count, unsigned tick_shift, Tick start)
    : shift_(tick_shift), mask_(bucket_count - 1), cursor_(start), heads_(bucket_count, kNil) {
  assert(bucket_count > 0 && (bucket_count & (bucket_count - 1)) == 0);
}

void TimerWheel::Resize(size_t capacity) {
  if (capacity <= expiry_.size()) {
    return;
  }
  next_.resize(capacity, kNil);
  prev_.resize(capacity, kNil);
  expiry_.resize(capacity, kNever);
}

void TimerWheel::Unlink(uint32_t id) {
  const uint32_t n = next_[id];
  const uint32_t p = prev_[id];
  if (p != kNil) {
    next_[p] = n;
  } else {
    heads_[BucketOf(expiry_[id])] = n;
  }
  if (n != kNil) {
    prev_[n] = p;
  }
  expiry_[id] = kNever;
  --armed_;
}

void TimerWheel::Arm(uint32_t id, Tick deadline) {
  if (expiry_[id] != kNever) {
    Unlink(id);
  }
  if (deadline == kNever) {
    return;
  }
  // A deadline already past is clamped to the next tick Expire visits, so it
  // fires on the next call; the stored value always names the timer's bucket.
  const Tick t = deadline < cursor_ ? cursor_ : deadline;
  const size_t b = BucketOf(t);
  expiry_[id] = t;
  const uint32_t h = heads_[b];
  next_[id] = h;
  prev_[id] = kNil;
  if (h != kNil) {
    prev_[h] = id;
  }
  heads_[b] = id;
  ++armed_;
}

void TimerWheel::Cancel(uint32_t id) {
  if (id < expiry_.size() && expiry_[id] != kNever) {
    Unlink(id);
  }
}

size_t TimerWheel::Expire(Tick now, std::vector<uint32_t>* out) {
  if (now < cursor_) {
    return 0;
  }
  size_t fired = 0;
  const Tick first_bucket_tick = cursor_ >> shift_;
  const Tick last_bucket_tick = now >> shift_;
  const Tick span = last_bucket_tick - first_bucket_tick;
  const size_t visits = span > mask_ ? mask_ + 1 : static_cast<size_t>(span) + 1;
  for (size_t v = 0; v < visits; ++v) {
    const size_t b = (first_bucket_tick + v) & mask_;
    uint32_t id = heads_[b];
    while (id != kNil) {
      const uint32_t next = next_[id];
      if (expiry_[id] <= now) {
        Unlink(id);
        out->push_back(id);
        ++fired;
      }
      id = next;
    }
  }
  // The bucket of `now` may still get timers due later within it.
  cursor_ = now + 1;
  return fired;
}

}  // namespace rspd::handlespace
