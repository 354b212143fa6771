// File: handlespace/shard_threads_test.cc
//
// N shards on N threads, driven only through their rings by one client
// thread: every request is answered exactly once, nothing is lost under
// back-pressure, and the final handlespace (PE count, per-owner checksums)
// is what the client sent.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "handlespace/router.h"
#include "handlespace/shard.h"
#include "handlespace/testing/test_util.h"

namespace rspd::handlespace {
namespace {

TEST(ShardThreadsTest, ShardsServeThroughRings) {
  constexpr uint32_t kShards = 2;
  constexpr uint32_t kPes = 4000;
  HandlespaceRouter router(kShards, 64);
  std::vector<std::unique_ptr<HandlespaceShard>> shards;
  for (uint32_t k = 0; k < kShards; ++k) {
    shards.push_back(std::make_unique<HandlespaceShard>(k, HandlespaceShard::Options()));
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (uint32_t k = 0; k < kShards; ++k) {
    threads.emplace_back([&, k] {
      while (!stop.load(std::memory_order_acquire)) {
        if (shards[k]->Poll(router.shard_in(k), router.shard_out(k)) == 0) {
          std::this_thread::yield();
        }
      }
    });
  }

  // Registrations, then resolutions, then deregistration of every third PE.
  std::vector<ShardRequest> requests;
  std::vector<std::pair<std::string, uint32_t>> owned[3];
  for (uint32_t i = 0; i < kPes; ++i) {
    ShardRequest r;
    r.op = ShardOp::kRegister;
    r.handle = "pool" + std::to_string(i % 37);
    const RegistrarId home = 1 + i % 2;
    r.pe = testing::MakePe(i + 1, home, PolicyType::kLeastUsed, i % 100);
    r.tick = kNever;
    requests.push_back(std::move(r));
  }
  for (uint32_t i = 0; i < kPes; ++i) {
    ShardRequest r;
    r.op = ShardOp::kResolve;
    r.handle = "pool" + std::to_string(i % 37);
    r.resolve = {3, 0};
    requests.push_back(std::move(r));
  }
  for (uint32_t i = 0; i < kPes; ++i) {
    const std::string handle = "pool" + std::to_string(i % 37);
    if (i % 3 == 0) {
      ShardRequest r;
      r.op = ShardOp::kDeregister;
      r.handle = handle;
      r.pe_id = i + 1;
      requests.push_back(std::move(r));
    } else {
      owned[1 + i % 2].emplace_back(handle, i + 1);
    }
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    requests[i].cookie = i;
  }

  // Send in order per phase (a phase's answers are awaited before the next
  // phase starts, as a registrar awaits a registration before resolving).
  std::vector<int> answered(requests.size(), 0);
  const size_t phases[] = {0, kPes, 2 * kPes, requests.size()};
  for (int phase = 0; phase < 3; ++phase) {
    size_t next = phases[phase];
    size_t done = 0;
    const size_t total = phases[phase + 1] - phases[phase];
    while (done < total) {
      while (next < phases[phase + 1] && router.Send(&requests[next])) {
        ++next;
      }
      for (uint32_t k = 0; k < kShards; ++k) {
        ShardRequest* got[32];
        const size_t n = router.Receive(k, absl::MakeSpan(got));
        for (size_t i = 0; i < n; ++i) {
          ++answered[got[i]->cookie];
          EXPECT_EQ(got[i]->cause, kNoError);
          if (got[i]->op == ShardOp::kResolve) {
            EXPECT_EQ(got[i]->count, 3u);
          }
          if (got[i]->op == ShardOp::kDeregister) {
            EXPECT_TRUE(got[i]->found);
          }
        }
        done += n;
      }
    }
  }
  for (int a : answered) {
    ASSERT_EQ(a, 1);
  }

  // Checksums across shards, through the rings as the control thread would.
  for (RegistrarId owner = 1; owner <= 2; ++owner) {
    std::vector<ShardRequest> checks(kShards);
    for (uint32_t k = 0; k < kShards; ++k) {
      checks[k].op = ShardOp::kChecksum;
      checks[k].owner = owner;
      while (!router.SendToShard(k, &checks[k])) {
        std::this_thread::yield();
      }
    }
    std::vector<uint64_t> sums;
    size_t count = 0;
    for (uint32_t k = 0; k < kShards; ++k) {
      ShardRequest* got = nullptr;
      while (router.Receive(k, absl::MakeSpan(&got, 1)) == 0) {
        std::this_thread::yield();
      }
      sums.push_back(got->word_sum);
      count += got->count;
    }
    EXPECT_EQ(count, owned[owner].size());
    EXPECT_EQ(CombineChecksum(sums), testing::ReferenceChecksum(owned[owner]));
  }
  stop.store(true, std::memory_order_release);
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(shards[0]->table().element_count() + shards[1]->table().element_count(),
            owned[1].size() + owned[2].size());
}

}  // namespace
}  // namespace rspd::handlespace
