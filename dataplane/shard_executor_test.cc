// File: dataplane/shard_executor_test.cc
//
// The shard executor inline and with shard threads: every command answered
// once, per-shard submission order kept, parked threads woken, back-pressure
// refusing what may be refused and queueing what must run, within a bounded
// backlog.

#include "dataplane/shard_executor.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace rspd::dataplane {
namespace {

using handlespace::RegisterCommand;
using handlespace::ShardCommand;

// A registration that remembers its submission number.
struct Numbered : RegisterCommand {
  uint64_t number = 0;
};

ShardExecutor::Options Lcores(int lcores, size_t ring_capacity = 1024) {
  ShardExecutor::Options options;
  options.lcores = lcores;
  options.ring_capacity = ring_capacity;
  return options;
}

void MakeRegistration(Numbered& r, const std::string& pool, uint32_t id, uint64_t number) {
  r.handle = pool;
  r.pe = protocol::PoolElement();
  r.pe.id = id;
  r.pe.home = 1;
  r.pe.user.port = 7000;
  r.pe.user.addresses.push_back(protocol::IpAddress::V4(0x7f000001));
  r.expiry = handlespace::kNever;
  r.number = number;
}

// Collects until nothing is in flight; returns the answers in arrival order.
std::vector<Numbered*> Drain(ShardExecutor& executor) {
  std::vector<Numbered*> answers;
  while (executor.in_flight() != 0) {
    executor.Collect([&](ShardCommand* r) { answers.push_back(static_cast<Numbered*>(r)); });
  }
  return answers;
}

TEST(ShardExecutorTest, InlineProcessesAtSubmitAndAnswersOnCollect) {
  ShardExecutor executor(Lcores(0));
  EXPECT_FALSE(executor.threaded());
  ASSERT_EQ(executor.shard_count(), 1u);
  Numbered r;
  MakeRegistration(r, "p", 1, 0);
  ASSERT_TRUE(executor.Submit(0, &r, false));
  EXPECT_EQ(executor.shard(0).table().element_count(), 1u);  // done already
  EXPECT_EQ(executor.in_flight(), 1u);
  std::vector<Numbered*> answers = Drain(executor);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0], &r);
  EXPECT_EQ(r.result.cause, handlespace::kNoError);
}

TEST(ShardExecutorTest, ThreadsAnswerEverythingInSubmissionOrderPerShard) {
  ShardExecutor executor(Lcores(2));
  ASSERT_TRUE(executor.threaded());
  ASSERT_EQ(executor.shard_count(), 2u);
  constexpr int kRequests = 20000;
  std::vector<Numbered> requests(kRequests);
  std::map<uint32_t, uint64_t> last_number;  // shard -> last number answered
  int answered = 0;
  int submitted = 0;
  auto collect = [&](ShardCommand* c) {
    auto* r = static_cast<Numbered*>(c);
    const uint32_t shard = executor.ShardFor(r->handle);
    auto it = last_number.find(shard);
    if (it != last_number.end()) {
      EXPECT_GT(r->number, it->second) << "out of order";
    }
    last_number[shard] = r->number;
    EXPECT_EQ(r->result.cause, handlespace::kNoError);
    ++answered;
  };
  while (answered < kRequests) {
    // Bursts of up to 64, as the I/O loop submits them.
    for (int i = 0; i < 64 && submitted < kRequests; ++i) {
      Numbered& r = requests[static_cast<size_t>(submitted)];
      MakeRegistration(r, "pool" + std::to_string(submitted % 16),
                       static_cast<uint32_t>(submitted + 1), static_cast<uint64_t>(submitted));
      if (!executor.Submit(executor.ShardFor(r.handle), &r, false)) break;
      ++submitted;
    }
    executor.Collect(collect);
  }
  EXPECT_EQ(last_number.size(), 2u);  // both shards had work
  executor.Stop();
  EXPECT_EQ(executor.shard(0).table().element_count() + executor.shard(1).table().element_count(),
            static_cast<size_t>(kRequests));
}

TEST(ShardExecutorTest, ParkedShardIsWokenBySubmit) {
  // No safety-net wake-up within the test's time: only Submit's wake-up can
  // get the requests processed.
  ShardExecutor::Options options = Lcores(1);
  options.park_millis = 3600 * 1000;
  ShardExecutor executor(options);
  Numbered r;
  for (uint32_t round = 1; round <= 20; ++round) {
    while (!executor.parked(0)) {
    }
    MakeRegistration(r, "p", round, round);
    ASSERT_TRUE(executor.Submit(0, &r, false));
    std::vector<Numbered*> answers = Drain(executor);
    ASSERT_EQ(answers.size(), 1u);
  }
  executor.Stop();
  EXPECT_EQ(executor.shard(0).table().element_count(), 20u);
}

TEST(ShardExecutorTest, FullRingRefusesWhatMayBeRefusedAndQueuesWhatMustRun) {
  // Rings of 2: without collecting, at most 2 answers and 2 requests fit.
  ShardExecutor executor(Lcores(1, 2));
  std::vector<Numbered> optional(50), must(50);
  size_t accepted = 0;
  for (size_t i = 0; i < optional.size(); ++i) {
    MakeRegistration(optional[i], "p", static_cast<uint32_t>(i + 1), i);
    accepted += executor.Submit(0, &optional[i], /*must_run=*/false) ? 1 : 0;
  }
  EXPECT_LE(accepted, 4u);
  EXPECT_EQ(executor.stats().shard_commands_refused.load(), optional.size() - accepted);
  for (size_t i = 0; i < must.size(); ++i) {
    MakeRegistration(must[i], "q", static_cast<uint32_t>(i + 1), 1000 + i);
    ASSERT_TRUE(executor.Submit(0, &must[i], /*must_run=*/true));
  }
  std::vector<Numbered*> answers = Drain(executor);
  ASSERT_EQ(answers.size(), accepted + must.size());
  for (size_t i = 0; i < must.size(); ++i) {
    EXPECT_EQ(answers[accepted + i], &must[i]);  // in order, none lost
  }
  executor.Stop();
  EXPECT_EQ(executor.shard(0).table().PoolSize("q"), must.size());
}

TEST(ShardExecutorTest, FullBacklogWaitsForTheShardAndLosesNothing) {
  // Rings of 2 and a backlog of 4: must-run commands past them make Submit
  // wait for the shard, with answers kept for Collect, in order.
  ShardExecutor::Options options = Lcores(1, 2);
  options.max_backlog = 4;
  ShardExecutor executor(options);
  std::vector<Numbered> must(200);
  for (size_t i = 0; i < must.size(); ++i) {
    MakeRegistration(must[i], "q", static_cast<uint32_t>(i + 1), i);
    ASSERT_TRUE(executor.Submit(0, &must[i], /*must_run=*/true));
  }
  EXPECT_GT(executor.stats().shard_backlog_waits.load(), 0u);
  std::vector<Numbered*> answers = Drain(executor);
  ASSERT_EQ(answers.size(), must.size());
  for (size_t i = 0; i < must.size(); ++i) EXPECT_EQ(answers[i], &must[i]);
  executor.Stop();
  EXPECT_EQ(executor.shard(0).table().PoolSize("q"), must.size());
}

}  // namespace
}  // namespace rspd::dataplane
