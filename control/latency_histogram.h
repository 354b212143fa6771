// File: control/latency_histogram.h
//
// How long requests took, from the loop turn that received them to the one
// that answered them, in buckets (docs/management.md: the registration and
// handle resolution latency histograms). Times are the loop's milliseconds
// (dataplane::IoLoop::Tick), so an answer in the turn of its request counts
// as 0 ms. One thread writes (relaxed load and store); any thread reads.
//
// Example:
//   LatencyHistogram h;
//   h.Observe(now - job->received);
//   LatencyHistogram::Snapshot s = h.Read();  // s.cumulative[b] counts <= kBoundsMillis[b]

#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace rspd::control {

class LatencyHistogram {
 public:
  // Upper bounds in milliseconds: the loop's 1 ms resolution up to the 5 s a
  // PE waits for a registration answer (RSPLIB's default timeout).
  static constexpr std::array<uint64_t, 12> kBoundsMillis = {0,  1,   2,   5,   10,   20,
                                                             50, 100, 200, 500, 1000, 5000};

  void Observe(uint64_t millis) {
    size_t b = 0;
    while (b < kBoundsMillis.size() && millis > kBoundsMillis[b]) ++b;
    Bump(buckets_[b], 1);
    Bump(sum_millis_, millis);
  }
  // The counts as one reading: cumulative per bound, and the total (the
  // +Inf bucket), consistent with each other even while Observe runs.
  struct Snapshot {
    std::array<uint64_t, kBoundsMillis.size()> cumulative{};
    uint64_t count = 0;
    uint64_t sum_millis = 0;
  };
  Snapshot Read() const {
    Snapshot s;
    uint64_t running = 0;
    for (size_t b = 0; b < buckets_.size(); ++b) {
      running += buckets_[b].load(std::memory_order_relaxed);
      if (b < kBoundsMillis.size()) s.cumulative[b] = running;
    }
    s.count = running;
    s.sum_millis = sum_millis_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  static void Bump(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::array<std::atomic<uint64_t>, kBoundsMillis.size() + 1> buckets_{};  // last: +Inf
  std::atomic<uint64_t> sum_millis_{0};
};

}  // namespace rspd::control
