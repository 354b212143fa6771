// File: dataplane/shard_executor.cc

#include "dataplane/shard_executor.h"

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

namespace rspd::dataplane {
namespace {

using handlespace::HandlespaceShard;

// Empty polls before a shard thread parks: about 20-50 µs of spinning, long
// enough to catch the next command of a busy burst, short enough not to take
// a shared core from the I/O thread for long.
constexpr int kSpinPolls = 256;

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

ShardExecutor::ShardExecutor(const Options& options)
    : threaded_(options.lcores > 0),
      park_millis_(options.park_millis),
      max_backlog_(std::max<size_t>(1, options.max_backlog)) {
  const int shards = threaded_ ? options.lcores : 1;
  for (int i = 0; i < shards; ++i) {
    auto lane = std::make_unique<Lane>();
    HandlespaceShard::Options shard_options;
    shard_options.seed = options.seed + static_cast<uint64_t>(i);
    const auto share = [shards](size_t total) { return Share(total, static_cast<size_t>(shards)); };
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
    lane.in = std::make_unique<Ring>(options.ring_capacity);
    lane.out = std::make_unique<Ring>(options.ring_capacity);
    lane.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (lane.wake_fd < 0) {
      // A failed start is loud (docs/style.md, "Errors"); without the
      // eventfd a parked shard would sleep a second at a time.
      perror("rspd: eventfd for a shard lcore");
      abort();
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

size_t ShardExecutor::ServeBurst(Lane& lane) {
  Command* burst[HandlespaceShard::kMaxBurst];
  // Never more than `out` can take back, so no answer is ever dropped.
  const size_t room = std::min(HandlespaceShard::kMaxBurst, lane.out->FreeCount());
  const size_t n = lane.in->DequeueBurst(absl::MakeSpan(burst, room));
  if (n == 0) return 0;
  lane.shard->ProcessBurst(absl::MakeConstSpan(burst, n));
  // Only this thread produces into `out` and `room` slots were free: all fit.
  const size_t sent = lane.out->EnqueueBurst(absl::MakeConstSpan(burst, n));
  (void)sent;
  assert(sent == n);
  return n;
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
    if (ServeBurst(*lane) != 0) {
      idle = 0;
      continue;
    }
    if (++idle < kSpinPolls) {
      CpuRelax();
      continue;
    }
    // Park, with nothing to take or no room for answers. The fence pairs
    // with the one in Wake: either the I/O thread sees `parked` and writes
    // the eventfd, or this thread sees the command (or the room) it made.
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

bool ShardExecutor::Submit(uint32_t shard, Command* command, bool must_run) {
  Lane& lane = *lanes_[shard];
  if (!threaded_) {
    lane.shard->Process(*command);
    answered_.push_back(command);
    ++in_flight_;
    return true;
  }
  if (lane.backlog.empty() && lane.in->Enqueue(command)) {
    ++in_flight_;
    Wake(lane);
    return true;
  }
  if (!must_run) {
    ShardExecutorStats::Bump(stats_.shard_commands_refused);
    return false;
  }
  if (lane.backlog.size() >= max_backlog_) WaitForRoom(lane);
  lane.backlog.push_back(command);
  ++in_flight_;
  return true;
}

void ShardExecutor::WaitForRoom(Lane& lane) {
  ShardExecutorStats::Bump(stats_.shard_backlog_waits);
  while (lane.backlog.size() >= max_backlog_ && !stop_.load(std::memory_order_relaxed)) {
    // Take the shard's answers aside (it parks when its out ring is full),
    // then hand it what fits.
    Command* burst[HandlespaceShard::kMaxBurst];
    size_t n;
    while ((n = lane.out->DequeueBurst(absl::MakeSpan(burst))) != 0) {
      answered_.insert(answered_.end(), burst, burst + n);
    }
    FlushBacklog(lane);
    Wake(lane);
    CpuRelax();
  }
}

bool ShardExecutor::FlushBacklog(Lane& lane) {
  bool moved = false;
  while (!lane.backlog.empty() && lane.in->Enqueue(lane.backlog.front())) {
    lane.backlog.pop_front();
    moved = true;
  }
  return moved;
}

}  // namespace rspd::dataplane
