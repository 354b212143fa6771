// File: control/shard_executor.h
//
// Runs handlespace commands on the registrar's shards (docs/architecture.md). The I/O thread
// submits `ShardRequest`s and collects them, answered, later; it never reads a shard's table while
// shards have threads of their own.
//
// - Inline (lcores = 0, the default, best on small machines):
//   one shard, and Submit processes the request at once; Collect hands the
//   answers back in submission order.
// - Shard lcores (lcores = N > 0): N shards, each on a thread of its own
//   (pinned to a CPU, named rspd-shard-K), fed by a pair of SPSC rings. A
//   shard thread spins briefly when idle, then parks on an eventfd that
//   Submit rings only when the thread is parked.
//
// Answers of one shard come back in the order its requests were submitted,
// so the submitter can keep state that mirrors the shard's (docs/style.md,
// "Shards").
// A full ring is back-pressure: Submit refuses a request that may be refused
// (counted); one that must run (removals, expiry) waits in a per-shard
// backlog that goes to the ring, in order, before anything newer.
//
// Example:
//   ShardExecutor::Options options;
//   options.lcores = 2;
//   ShardExecutor executor(options);
//   if (!executor.Submit(executor.ShardFor(handle), &request, /*must_run=*/false)) { ...busy }
//   executor.Collect([](ShardRequest* answered) { ... });

#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "handlespace/router.h"
#include "handlespace/shard.h"

namespace rspd::control {

class ShardExecutor {
 public:
  struct Options {
    int lcores = 0;  // 0: one shard, inline on the caller's thread
    uint64_t seed = 1;
    size_t ring_capacity = 1024;  // per direction and shard; a power of two
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
  using Done = std::function<void(handlespace::ShardRequest*)>;

  explicit ShardExecutor(const Options& options);
  ~ShardExecutor();  // stops the shard threads
  ShardExecutor(const ShardExecutor&) = delete;
  ShardExecutor& operator=(const ShardExecutor&) = delete;

  uint32_t shard_count() const { return static_cast<uint32_t>(lanes_.size()); }
  bool threaded() const { return threaded_; }
  uint32_t ShardFor(handlespace::PoolHandleView handle) const {
    return handlespace::ShardOf(handle, shard_count());
  }

  // Queues `request` for shard `shard`. Returns false, and keeps nothing,
  // when the ring is full and `must_run` is false.
  bool Submit(uint32_t shard, handlespace::ShardRequest* request, bool must_run);
  // Calls done(request) for every answered request. Returns how many.
  size_t Collect(const Done& done);
  // Requests submitted and not yet collected.
  size_t in_flight() const { return in_flight_; }
  uint64_t back_pressure() const { return back_pressure_; }
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
    std::unique_ptr<handlespace::HandlespaceShard::Ring> in;
    std::unique_ptr<handlespace::HandlespaceShard::Ring> out;
    std::deque<handlespace::ShardRequest*> backlog;  // must-run requests waiting for ring space
    std::atomic<bool> parked{false};
    int wake_fd = -1;
    std::thread thread;
  };
  void RunLane(Lane* lane, int cpu);
  static void Wake(Lane& lane);
  // Moves backlog into the ring as far as it fits; true if any moved.
  bool FlushBacklog(Lane& lane);

  const bool threaded_;
  const int park_millis_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::vector<handlespace::ShardRequest*> done_inline_;  // inline: answered, not collected
  std::vector<handlespace::ShardRequest*> collecting_;   // inline: scratch of Collect
  std::atomic<bool> stop_{false};
  size_t in_flight_ = 0;
  uint64_t back_pressure_ = 0;
};

}  // namespace rspd::control
