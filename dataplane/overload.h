// File: dataplane/overload.h
//
// Whether the registrar itself is overloaded, so that its own overload never
// turns into lost PEs (docs/limits.md, "Overload"). When the registrar drops
// or delays input, a keep-alive ACK or a re-registration may be among what it
// dropped: a PE that looks silent may only be unheard. The I/O loop raises a
// signal whenever it sees such a sign:
//   kKernelDrops  the UDP socket's receive queue overflowed (SO_MEMINFO);
//   kShed         the ingress queue shed datagrams it had no room for;
//   kBacklog      the loop stopped reading with datagrams still waiting;
//   kLateTick     the loop's timer tick came late (the thread did not run);
//   kShardsBusy   a shard's command ring was full.
// Keep-alive timeouts and lifetime expiries look here before they remove a
// PE: a PE whose keep-alive went out before the last signal gets another
// chance, and lifetimes wait until the registrar has been calm for a while.
// No clock is read: times are the loop's milliseconds. The I/O loop
// (io_loop.h) raises the signals; the protocol logic reads them.
//
// Example:
//   OverloadMonitor overload;
//   if (drops_now > drops_before) overload.Raise(OverloadMonitor::kKernelDrops, now);
//   if (!overload.RaisedSince(keep_alive_sent)) { /* the PE really did not answer */ }

#pragma once

#include <atomic>
#include <cstdint>

namespace rspd::dataplane {

// The signals and their counters (docs/style.md, "Counters"): how often each
// was raised.
// clang-format off
#define RSPD_OVERLOAD_SIGNALS(X) \
  X(kKernelDrops, overload_kernel_drops, "loop turns that found new kernel receive drops") \
  X(kShed, overload_shed, "loop turns that shed datagrams from the ingress queue") \
  X(kBacklog, overload_backlog, "loop turns that left datagrams unread") \
  X(kLateTick, overload_late_ticks, "timer ticks that came late") \
  X(kShardsBusy, overload_shards_busy, "loop turns in which a shard ring refused a command")
// clang-format on

class OverloadMonitor {
 public:
  using Tick = uint64_t;  // milliseconds
  static constexpr Tick kNever = ~Tick{0};
#define RSPD_OVERLOAD_ENUM(signal, name, help) signal,
  enum Signal { RSPD_OVERLOAD_SIGNALS(RSPD_OVERLOAD_ENUM) kSignalCount };
#undef RSPD_OVERLOAD_ENUM

  void Raise(Signal signal, Tick now) {
    last_ = now;
    raised_[signal].store(raised_[signal].load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
  }
  // True if a signal was raised at or after `since`.
  bool RaisedSince(Tick since) const { return last_ != kNever && last_ >= since; }
  // True if no signal was raised in the `calm` milliseconds up to `now`.
  bool CalmFor(Tick now, Tick calm) const { return last_ == kNever || now >= last_ + calm; }

  // Calls fn(name, help, value) for each signal's count.
  template <typename Fn>
  void ForEach(Fn fn) const {
#define RSPD_OVERLOAD_EXPORT(signal, name, help) \
  fn(#name, help, raised_[signal].load(std::memory_order_relaxed));
    RSPD_OVERLOAD_SIGNALS(RSPD_OVERLOAD_EXPORT)
#undef RSPD_OVERLOAD_EXPORT
  }

 private:
  Tick last_ = kNever;
  std::atomic<uint64_t> raised_[kSignalCount] = {};
};

}  // namespace rspd::dataplane
