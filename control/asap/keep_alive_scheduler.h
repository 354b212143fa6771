// File: control/asap/keep_alive_scheduler.h
//
// When the registrar sends each of its PEs an ENDPOINT_KEEP_ALIVE (RFC 5352
// §3.4) and when it gives up waiting for the ACK: one timer per session slot
// on a timing wheel (a tick costs the timers due, not all of them), rounds
// jittered by ±50 % (RFC 5355 §2.14: no synchronized bursts), and a pacing
// budget (--max_keep_alives_per_second) so that a large handlespace sends
// its keep-alives spread out. It decides nothing about PEs: the ASAP server
// asks it what is due and what may be sent now.
//
// Example:
//   KeepAliveScheduler scheduler(interval_ms, max_per_second);
//   scheduler.ScheduleRound(slot, now);
//   scheduler.Due(now, &due);
//   for (uint32_t slot : due) if (scheduler.TakeToken()) ...send...

#pragma once

#include <cstdint>
#include <vector>

#include "absl/random/random.h"
#include "handlespace/timer_wheel.h"
#include "handlespace/types.h"

namespace rspd::control {

class KeepAliveScheduler {
 public:
  using Tick = handlespace::Tick;  // milliseconds

  // `interval_ms`: the keep-alive period; `max_per_second`: the pacing
  // rate (0: unpaced).
  KeepAliveScheduler(int64_t interval_ms, int64_t max_per_second);

  // Makes room for timers of slots below `slots`.
  void Reserve(size_t slots);
  // The session's next keep-alive, a jittered interval from `now`.
  void ScheduleRound(uint32_t slot, Tick now);
  // The session's next keep-alive at a random point of the next interval
  // (re-probes after an overload, spread out).
  void ScheduleSpread(uint32_t slot, Tick now);
  // A timer at `at` exactly (an ACK deadline, or the next tick).
  void ScheduleAt(uint32_t slot, Tick at) { timers_.Arm(slot, at); }
  void Cancel(uint32_t slot) { timers_.Cancel(slot); }

  // The slots whose timers are due at `now` (replaces *out), and refills
  // the pacing budget.
  void Due(Tick now, std::vector<uint32_t>* out);
  // Takes one keep-alive from the pacing budget; false: none left this tick.
  bool TakeToken();

 private:
  const int64_t interval_;
  const int64_t rate_;
  absl::BitGen jitter_;  // timing only (selection uses the shards' Prng)
  handlespace::TimerWheel timers_;
  // A token bucket that holds at most a tenth of a second's worth.
  double tokens_ = 0;
  Tick refilled_ = 0;
};

}  // namespace rspd::control
