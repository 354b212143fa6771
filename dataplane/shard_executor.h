// File: dataplane/shard_executor.h
//
// Runs handlespace commands on the registrar's shards (docs/architecture.md).
// The I/O thread submits commands (handlespace/shard.h) and collects them,
// answered, later; it never reads a shard's table while shards have threads
// of their own.
//
// - Inline (lcores = 0, the default, best on small machines): one shard, and
//   Submit processes the command at once; Collect hands the answers back in
//   submission order.
// - Shard lcores (lcores = N > 0): N shards, each on a thread of its own
//   (pinned to a CPU, named rspd-shard-K), fed by a pair of SPSC rings
//   (spsc_ring.h) and processing bursts (HandlespaceShard::ProcessBurst). A
//   shard thread spins briefly when idle, then parks on an eventfd that
//   Submit rings only when the thread is parked.
//
// Answers of one shard come back in the order its commands were submitted,
// so the submitter can keep state that mirrors the shard's (docs/style.md,
// "Shards"). A full ring is back-pressure: Submit refuses a command that may
// be refused (counted in back_pressure); one that must run (removals,
// expiry) waits in a per-shard backlog that goes to the ring, in order,
// before anything newer. The backlog is bounded (max_backlog per shard):
// past it, Submit waits for the shard to make room (counted in
// backlog_waits), so memory stays bounded however far a shard falls behind.
//
// Depends on handlespace/ only (the shards it runs).
//
// Example:
//   ShardExecutor::Options options;
//   options.lcores = 2;
//   ShardExecutor executor(options);
//   if (!executor.Submit(executor.ShardFor(handle), &command, /*must_run=*/false)) { ...busy }
//   executor.Collect([](handlespace::ShardCommand* answered) { ... });

#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "dataplane/spsc_ring.h"
#include "handlespace/shard.h"
#include "handlespace/shard_of.h"

namespace rspd::dataplane {

// Counters (docs/style.md, "Counters"); the I/O thread writes them.
// clang-format off
#define RSPD_SHARD_EXECUTOR_STATS(X) \
  X(shard_commands_refused, "commands refused by a full ring (the caller answers them as busy)") \
  X(shard_backlog_waits, "must-run commands that waited for ring space: the backlog was full")
// clang-format on

struct ShardExecutorStats {
#define RSPD_EXECUTOR_STAT_FIELD(name, help) std::atomic<uint64_t> name{0};
  RSPD_SHARD_EXECUTOR_STATS(RSPD_EXECUTOR_STAT_FIELD)
#undef RSPD_EXECUTOR_STAT_FIELD
  static void Bump(std::atomic<uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  // Calls fn(name, help, value) for every counter.
  template <typename Fn>
  void ForEach(Fn fn) const {
#define RSPD_EXECUTOR_STAT_EXPORT(name, help) fn(#name, help, name.load(std::memory_order_relaxed));
    RSPD_SHARD_EXECUTOR_STATS(RSPD_EXECUTOR_STAT_EXPORT)
#undef RSPD_EXECUTOR_STAT_EXPORT
  }
};

class ShardExecutor {
 public:
  using Command = handlespace::ShardCommand;
  using Ring = SpscRing<Command*>;

  struct Options {
    int lcores = 0;  // 0: one shard, inline on the caller's thread
    uint64_t seed = 1;
    size_t ring_capacity = 1024;  // per direction and shard; a power of two
    // Must-run commands waiting for ring space, per shard, at most.
    size_t max_backlog = 16384;
    // A parked shard re-checks its ring this often even if nothing woke it
    // (a safety net: Submit wakes it).
    int park_millis = 1000;
    // Handlespace caps (docs/limits.md). The totals are split evenly between
    // the shards (pools are spread by hash): exact inline; with several shard
    // lcores never more than the total, and a skewed spread refuses a little
    // earlier.
    size_t max_pool_elements = SIZE_MAX;
    size_t max_pools = SIZE_MAX;
    size_t max_pool_size = SIZE_MAX;
  };

  explicit ShardExecutor(const Options& options);
  ~ShardExecutor();  // stops the shard threads
  ShardExecutor(const ShardExecutor&) = delete;
  ShardExecutor& operator=(const ShardExecutor&) = delete;

  uint32_t shard_count() const { return static_cast<uint32_t>(lanes_.size()); }
  // One shard's share of a handlespace cap (Options): an equal share,
  // rounded down, so that the shards together never hold more than the
  // total (a pool distribution skewed by the hash refuses a little earlier).
  static size_t Share(size_t total, size_t shards) {
    return total == SIZE_MAX ? total : std::max<size_t>(1, total / shards);
  }
  bool threaded() const { return threaded_; }
  uint32_t ShardFor(handlespace::PoolHandleView handle) const {
    return handlespace::ShardOf(handle, shard_count());
  }

  // Queues `command` for shard `shard`. Returns false, and keeps nothing,
  // when the ring is full and `must_run` is false.
  bool Submit(uint32_t shard, Command* command, bool must_run);
  // Calls done(Command*) for every answered command. Returns how many.
  template <typename Fn>
  size_t Collect(Fn&& done);
  // Commands submitted and not yet collected.
  size_t in_flight() const { return in_flight_; }
  const ShardExecutorStats& stats() const { return stats_; }
  // Shard `k`'s thread sleeps on its eventfd (tests await it).
  bool parked(uint32_t k) const { return lanes_[k]->parked.load(std::memory_order_acquire); }

  // Stops and joins the shard threads; afterwards nothing is processed.
  void Stop();
  // A shard, for reading its table and counters: with shard threads, only
  // after Stop() or while nothing is in flight.
  const handlespace::HandlespaceShard& shard(uint32_t k) const { return *lanes_[k]->shard; }

 private:
  struct Lane {
    std::unique_ptr<handlespace::HandlespaceShard> shard;
    std::unique_ptr<Ring> in;
    std::unique_ptr<Ring> out;
    std::deque<Command*> backlog;  // must-run commands waiting for ring space
    std::atomic<bool> parked{false};
    int wake_fd = -1;
    std::thread thread;
  };
  void RunLane(Lane* lane, int cpu);
  // One burst from `in`, processed, to `out`; how many.
  static size_t ServeBurst(Lane& lane);
  static void Wake(Lane& lane);
  // Moves backlog into the ring as far as it fits; true if any moved.
  bool FlushBacklog(Lane& lane);
  // Makes room in a full backlog: waits for the shard, parking its answers
  // in `answered_` for the next Collect.
  void WaitForRoom(Lane& lane);

  const bool threaded_;
  const int park_millis_;
  const size_t max_backlog_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  // Answered, not yet collected: inline, every command; threaded, answers
  // taken off the rings while Submit waited for room (in ring order).
  std::vector<Command*> answered_;
  std::vector<Command*> collecting_;  // scratch of Collect
  std::atomic<bool> stop_{false};
  size_t in_flight_ = 0;
  ShardExecutorStats stats_;
};

template <typename Fn>
size_t ShardExecutor::Collect(Fn&& done) {
  // Answers taken aside first: they precede, per shard, what the rings hold.
  // `done` may submit more: inline, those land in the emptied answered_ and
  // wait for the next Collect.
  collecting_.swap(answered_);
  size_t total = collecting_.size();
  in_flight_ -= collecting_.size();
  for (Command* c : collecting_) done(c);
  collecting_.clear();
  if (!threaded_) return total;
  for (auto& lane_ptr : lanes_) {
    Lane& lane = *lane_ptr;
    Command* burst[handlespace::HandlespaceShard::kMaxBurst];
    size_t n;
    bool took = false;
    while ((n = lane.out->DequeueBurst(absl::MakeSpan(burst))) != 0) {
      took = true;
      in_flight_ -= n;
      total += n;
      for (size_t i = 0; i < n; ++i) done(burst[i]);
    }
    // A shard parks with an empty in ring or a full out ring: wake it when
    // either changed.
    if (FlushBacklog(lane) || took) Wake(lane);
  }
  return total;
}

}  // namespace rspd::dataplane
