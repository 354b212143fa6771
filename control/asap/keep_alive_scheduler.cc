// File: control/asap/keep_alive_scheduler.cc

#include "control/asap/keep_alive_scheduler.h"

#include <algorithm>

namespace rspd::control {
namespace {

// 16 ms buckets, 4096 of them: a 65 s revolution, longer than any sensible
// keep-alive interval, so a timer fires on its first visit.
constexpr size_t kTimerBuckets = 4096;
constexpr unsigned kTimerTickShift = 4;

}  // namespace

KeepAliveScheduler::KeepAliveScheduler(int64_t interval_ms, int64_t max_per_second)
    : interval_(std::max<int64_t>(1, interval_ms)),
      rate_(max_per_second),
      timers_(kTimerBuckets, kTimerTickShift) {}

void KeepAliveScheduler::Reserve(size_t slots) {
  if (slots > timers_.capacity()) timers_.Resize(std::max<size_t>(64, 2 * slots));
}

void KeepAliveScheduler::ScheduleRound(uint32_t slot, Tick now) {
  // RFC 5352 §3.4 / RFC 5355 §2.14: ±50 % jitter.
  timers_.Arm(slot, now + static_cast<Tick>(absl::Uniform<int64_t>(jitter_, interval_ / 2,
                                                                   interval_ + interval_ / 2 + 1)));
}

void KeepAliveScheduler::ScheduleSpread(uint32_t slot, Tick now) {
  timers_.Arm(slot,
              now + 1 + absl::Uniform<uint64_t>(jitter_, 0, static_cast<uint64_t>(interval_)));
}

void KeepAliveScheduler::Due(Tick now, std::vector<uint32_t>* out) {
  if (rate_ > 0) {
    const double burst = std::max(1.0, static_cast<double>(rate_) / 10.0);
    tokens_ = std::min(burst, tokens_ + static_cast<double>(now - refilled_) *
                                            static_cast<double>(rate_) / 1000.0);
    refilled_ = now;
  }
  out->clear();
  timers_.Expire(now, out);
}

bool KeepAliveScheduler::TakeToken() {
  if (rate_ <= 0) return true;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

}  // namespace rspd::control
