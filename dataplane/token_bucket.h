// File: dataplane/token_bucket.h
//
// A token bucket: at most `rate` events per second on average and `burst`
// at once. Time is an argument in milliseconds (no clock is read), so the
// owner decides what "now" is and tests need no sleeps. Used for every rate
// limit the registrar keeps (docs/limits.md).
//
// Example:
//   TokenBucket bucket;                  // starts full
//   if (!bucket.Take(now_ms, 100, 100)) { /* over 100/s: refuse, count */ }

#pragma once

#include <algorithm>
#include <cstdint>

namespace rspd::dataplane {

class TokenBucket {
 public:
  // Takes one token if there is one. `rate` tokens per second accrue up to
  // `burst`; a rate of 0 means no limit.
  bool Take(uint64_t now_ms, double rate, double burst) {
    if (rate <= 0) return true;
    if (!started_) {
      tokens_ = burst;
      started_ = true;
    } else if (now_ms > refill_ms_) {
      tokens_ = std::min(burst, tokens_ + static_cast<double>(now_ms - refill_ms_) * rate / 1000.0);
    }
    refill_ms_ = std::max(refill_ms_, now_ms);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }
  // True once the bucket has refilled to `burst` by `now_ms` (an idle
  // bucket can be forgotten: a new one starts full).
  bool Full(uint64_t now_ms, double rate, double burst) const {
    return !started_ || rate <= 0 ||
           tokens_ + static_cast<double>(now_ms - std::min(now_ms, refill_ms_)) * rate / 1000.0 >=
               burst;
  }

 private:
  double tokens_ = 0;
  uint64_t refill_ms_ = 0;
  bool started_ = false;
};

}  // namespace rspd::dataplane
