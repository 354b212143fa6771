// File: handlespace/shard_test.cc
//
// The shard's command interface without threads: commands processed in
// place and through the rings, counters per outcome, routing.

#include "handlespace/shard.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "handlespace/router.h"
#include "handlespace/testing/test_util.h"

namespace rspd::handlespace {
namespace {

using testing::MakePe;
using testing::ReferenceChecksum;

ShardRequest Register(const std::string& handle, const protocol::PoolElement& pe, Tick expiry) {
  ShardRequest r;
  r.op = ShardOp::kRegister;
  r.handle = handle;
  r.pe = pe;
  r.tick = expiry;
  return r;
}

TEST(HandlespaceShardTest, CommandsAndCounters) {
  HandlespaceShard shard(0, {});
  ShardRequest r = Register("p", MakePe(1, 7), 100);
  shard.Process(r);
  EXPECT_EQ(r.cause, kNoError);
  EXPECT_TRUE(r.reg.added);
  r = Register("p", MakePe(2, 7, PolicyType::kRandom), 100);
  shard.Process(r);
  EXPECT_EQ(r.cause, Cause::kInconsistentPoolingPolicy);
  // The rejection quotes the pool's policy (RFC 5354 §3.12 cause information).
  ASSERT_TRUE(r.pool_known);
  EXPECT_EQ(r.pool.policy, MakePe(1, 7).policy.type);
  EXPECT_EQ(r.pool.size, 1u);
  r = Register("p", MakePe(1, 8), 100);  // re-registration at another PR
  shard.Process(r);
  EXPECT_EQ(r.cause, kNoError);
  EXPECT_FALSE(r.reg.added);

  ShardRequest q;
  q.op = ShardOp::kResolve;
  q.handle = "p";
  q.resolve = {3, 0};
  shard.Process(q);
  ASSERT_EQ(q.count, 1u);
  EXPECT_EQ(q.entries[0].pe, MakePe(1, 8));
  EXPECT_TRUE(q.pool_known);  // the overall policy for the answer (RFC 5352 §2.2.6)
  EXPECT_EQ(q.pool.policy, MakePe(1, 8).policy.type);
  q.handle = "missing";
  shard.Process(q);
  EXPECT_EQ(q.cause, Cause::kUnknownPoolHandle);
  EXPECT_FALSE(q.pool_known);

  ShardRequest l;
  l.op = ShardOp::kLookup;
  l.handle = "p";
  l.pe_id = 1;
  shard.Process(l);
  ASSERT_TRUE(l.found);
  EXPECT_EQ(l.entries[0].pe, MakePe(1, 8));
  l.pe_id = 2;
  shard.Process(l);
  EXPECT_FALSE(l.found);
  EXPECT_TRUE(l.entries.empty());

  ShardRequest c;
  c.op = ShardOp::kChecksum;
  c.owner = 8;
  shard.Process(c);
  EXPECT_EQ(c.checksum, ReferenceChecksum({{"p", 1}}));
  EXPECT_EQ(c.count, 1u);

  ShardRequest e;
  e.op = ShardOp::kExpire;
  e.tick = 100;
  shard.Process(e);
  EXPECT_EQ(e.count, 1u);
  EXPECT_EQ(shard.table().element_count(), 0u);

  const ShardStats& s = shard.stats();
  EXPECT_EQ(s.registrations_added.load(), 1u);
  EXPECT_EQ(s.registrations_updated.load(), 1u);
  EXPECT_EQ(s.ownership_moves.load(), 1u);
  EXPECT_EQ(s.rejected_policy.load(), 1u);
  EXPECT_EQ(s.resolutions.load(), 1u);
  EXPECT_EQ(s.resolutions_unknown_pool.load(), 1u);
  EXPECT_EQ(s.expirations.load(), 1u);
  size_t exported = 0;
  s.ForEach([&](const char*, const char*, uint64_t) { ++exported; });
  EXPECT_EQ(exported, 22u);
}

TEST(HandlespaceShardTest, PollAnswersThroughRingsWithoutDropping) {
  HandlespaceRouter router(1, 8);
  HandlespaceShard shard(0, {});
  std::vector<ShardRequest> requests(20);
  for (size_t i = 0; i < requests.size(); ++i) {
    requests[i] = Register("p", MakePe(static_cast<PoolElementId>(i + 1), 1), kNever);
    requests[i].cookie = i;
  }
  size_t sent = 0;
  size_t answered = 0;
  std::set<uint64_t> cookies;
  while (answered < requests.size()) {
    while (sent < requests.size() && router.Send(&requests[sent])) {
      ++sent;
    }
    shard.Poll(router.shard_in(0), router.shard_out(0));
    ShardRequest* got[4];  // drain slowly: the shard must not overfill the out ring
    const size_t n = router.Receive(0, absl::MakeSpan(got));
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(got[i]->cause, kNoError);
      cookies.insert(got[i]->cookie);
    }
    answered += n;
  }
  EXPECT_EQ(cookies.size(), requests.size());
  EXPECT_GT(router.back_pressure(), 0u);  // the 8-slot ring did fill up
  EXPECT_EQ(shard.table().element_count(), 20u);
}

TEST(ShardOfTest, StableAndSpread) {
  EXPECT_EQ(ShardOf("pool000001", 1), 0u);
  EXPECT_EQ(ShardOf("pool000001", 4), ShardOf(std::string("pool000001"), 4));
  int counts[4] = {};
  char buf[16];
  for (int p = 0; p < 4000; ++p) {
    std::snprintf(buf, sizeof(buf), "pool%06d", p);
    ++counts[ShardOf(buf, 4)];
  }
  for (int c : counts) {
    EXPECT_GT(c, 800);
    EXPECT_LT(c, 1200);
  }
}

}  // namespace
}  // namespace rspd::handlespace
