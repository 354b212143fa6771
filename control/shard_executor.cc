#include "control/shard_executor.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace rspd::control {
namespace {

using handlespace::HandlespaceShard;
using handlespace::ShardRequest;

// Empty polls before a shard thread parks: about 20-50 µs of spinning, long
// enough to catch the next request of a busy burst, short enough not to take
// a shared core from the I/O thread for long.
constexpr int kSpinPolls = 256;

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

ShardExecutor::ShardExecutor(const Options& options)
    : threaded_(options.lcores > 0), park_millis_(options.park_millis) {
  const int shards = threaded_ ? options.lcores : 1;
  for (int i = 0; i < shards; ++i) {
    auto lane = std::make_unique<Lane>();
    HandlespaceShard::Options shard_options;
    shard_options.seed = options.seed + static_cast<uint64_t>(i);
    // An equal share, rounded down: the shards together never hold more than
    // the total (a pool distribution skewed by the hash refuses a little
    // earlier instead).
    const auto share = [shards](size_t total) {
      return total == SIZE_MAX ? total : std::max<size_t>(1, total / static_cast<size_t>(shards));
    };
    shard_options.table.max_pool_elements =
        std::min(shard_options.table.max_pool_elements, share(options.max_pool_elements));
    shard_options.table.max_pools = share(options.max_pools);
    shard_options.table.max_pool_size = options.max_pool_size;
    lane->shard = std::make_unique<HandlespaceShard>(static_cast<uint32_t>(i), shard_options);
    lanes_.push_back(std::move(lane));
  }
  if (!threaded_) return;
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  for (int i = 0; i < shards; ++i) {
    Lane& lane = *lanes_[static_cast<size_t>(i)];
    lane.in = std::make_unique<HandlespaceShard::Ring>(options.ring_capacity);
    lane.out = std::make_unique<HandlespaceShard::Ring>(options.ring_capacity);
    lane.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (lane.wake_fd < 0) {
      perror("rspd: eventfd for a shard lcore");
      abort();  // a failed start is loud (docs/style.md, "Errors"); without it a shard sleeps 1 s
                // at a time
    }
    // Shard K on CPU (K+1) mod CPUs: with fewer shards than CPUs, CPU 0 is
    // left to the I/O thread (which is not pinned); on one CPU nothing is.
    const int cpu = cpus > 1 ? static_cast<int>((i + 1) % cpus) : -1;
    lane.thread = std::thread(&ShardExecutor::RunLane, this, &lane, cpu);
    // Thread names are at most 15 characters: "rspd-shard-" and up to 4 digits.
    const std::string name = "rspd-shard-" + std::to_string(i % 10000);
    pthread_setname_np(lane.thread.native_handle(), name.c_str());
  }
}

ShardExecutor::~ShardExecutor() {
  Stop();
  for (auto& lane : lanes_) {
    if (lane->wake_fd >= 0) close(lane->wake_fd);
  }
}

void ShardExecutor::Stop() {
  stop_.store(true, std::memory_order_relaxed);
  for (auto& lane : lanes_) {
    if (!lane->thread.joinable()) continue;
    const uint64_t one = 1;
    (void)!write(lane->wake_fd, &one, sizeof(one));
    lane->thread.join();
  }
}

void ShardExecutor::RunLane(Lane* lane, int cpu) {
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    // Best effort: a cpuset that excludes `cpu` leaves the thread floating.
    (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }
  int idle = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    if (lane->shard->Poll(*lane->in, *lane->out) != 0) {
      idle = 0;
      continue;
    }
    if (++idle < kSpinPolls) {
      CpuRelax();
      continue;
    }
    // Park, with nothing to take or no room for answers. The fence pairs
    // with the one in Wake: either the I/O thread sees `parked` and writes
    // the eventfd, or this thread sees the request (or the room) it made.
    lane->parked.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if ((lane->in->Empty() || lane->out->FreeCount() == 0) &&
        !stop_.load(std::memory_order_relaxed)) {
      pollfd fd = {lane->wake_fd, POLLIN, 0};
      poll(&fd, 1, park_millis_);
      uint64_t count;
      (void)!read(lane->wake_fd, &count, sizeof(count));
    }
    lane->parked.store(false, std::memory_order_relaxed);
    idle = 0;
  }
}

void ShardExecutor::Wake(Lane& lane) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (lane.parked.load(std::memory_order_relaxed)) {
    const uint64_t one = 1;
    (void)!write(lane.wake_fd, &one, sizeof(one));
  }
}

bool ShardExecutor::Submit(uint32_t shard, ShardRequest* request, bool must_run) {
  Lane& lane = *lanes_[shard];
  if (!threaded_) {
    lane.shard->Process(*request);
    done_inline_.push_back(request);
    ++in_flight_;
    return true;
  }
  if (lane.backlog.empty() && lane.in->Enqueue(request)) {
    ++in_flight_;
    Wake(lane);
    return true;
  }
  if (!must_run) {
    ++back_pressure_;
    return false;
  }
  lane.backlog.push_back(request);
  ++in_flight_;
  return true;
}

bool ShardExecutor::FlushBacklog(Lane& lane) {
  bool moved = false;
  while (!lane.backlog.empty() && lane.in->Enqueue(lane.backlog.front())) {
    lane.backlog.pop_front();
    moved = true;
  }
  return moved;
}

size_t ShardExecutor::Collect(const Done& done) {
  if (!threaded_) {
    // `done` may submit more: those land in the emptied done_inline_ and
    // wait for the next Collect.
    collecting_.swap(done_inline_);
    in_flight_ -= collecting_.size();
    for (ShardRequest* r : collecting_) done(r);
    const size_t n = collecting_.size();
    collecting_.clear();
    return n;
  }
  size_t total = 0;
  for (auto& lane_ptr : lanes_) {
    Lane& lane = *lane_ptr;
    ShardRequest* burst[HandlespaceShard::kMaxBurst];
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

}  // namespace rspd::control
