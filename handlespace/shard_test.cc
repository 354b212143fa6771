// File: handlespace/shard_test.cc
//
// The shard's commands without threads: each family processed in place and
// in bursts, counters per outcome, routing.

#include "handlespace/shard.h"

#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "handlespace/shard_of.h"
#include "handlespace/testing/test_util.h"

namespace rspd::handlespace {
namespace {

using testing::MakePe;

RegisterCommand Register(const std::string& handle, const protocol::PoolElement& pe, Tick expiry) {
  RegisterCommand r;
  r.handle = handle;
  r.pe = pe;
  r.expiry = expiry;
  return r;
}

TEST(HandlespaceShardTest, CommandsAndCounters) {
  HandlespaceShard shard(0, {});
  RegisterCommand r = Register("p", MakePe(1, 7), 100);
  shard.Process(r);
  EXPECT_EQ(r.result.cause, kNoError);
  EXPECT_TRUE(r.result.added);
  r = Register("p", MakePe(2, 7, PolicyType::kRandom), 100);
  shard.Process(r);
  EXPECT_EQ(r.result.cause, Cause::kInconsistentPoolingPolicy);
  // The rejection quotes the pool's policy (RFC 5354 §3.12 cause information).
  ASSERT_TRUE(r.pool_known);
  EXPECT_EQ(r.pool.policy, MakePe(1, 7).policy.type);
  EXPECT_EQ(r.pool.size, 1u);
  r = Register("p", MakePe(1, 8), 100);  // re-registration at another PR
  shard.Process(r);
  EXPECT_EQ(r.result.cause, kNoError);
  EXPECT_FALSE(r.result.added);

  ResolveCommand q;
  q.handle = "p";
  q.options = {3, 0};
  shard.Process(q);
  ASSERT_EQ(q.selected.size(), 1u);
  EXPECT_EQ(q.selected[0], MakePe(1, 8));
  EXPECT_TRUE(q.pool_known);  // the overall policy for the answer (RFC 5352 §2.2.6)
  EXPECT_EQ(q.pool.policy, MakePe(1, 8).policy.type);
  q.handle = "missing";
  shard.Process(q);
  EXPECT_EQ(q.cause, Cause::kUnknownPoolHandle);
  EXPECT_FALSE(q.pool_known);
  EXPECT_TRUE(q.selected.empty());

  ElementCommand l(ShardCommand::Kind::kLookup);
  l.handle = "p";
  l.pe_id = 1;
  shard.Process(l);
  EXPECT_TRUE(l.found);
  l.pe_id = 2;
  shard.Process(l);
  EXPECT_FALSE(l.found);

  ExpireCommand e;
  e.now = 99;
  shard.Process(e);
  EXPECT_TRUE(e.expired.empty());
  e.now = 100;
  shard.Process(e);
  ASSERT_EQ(e.expired.size(), 1u);
  EXPECT_EQ(e.expired[0].handle, "p");
  EXPECT_EQ(e.expired[0].pe.id, 1u);
  EXPECT_EQ(shard.table().element_count(), 0u);

  const ShardStats& s = shard.stats();
  EXPECT_EQ(s.registrations_added.load(), 1u);
  EXPECT_EQ(s.registrations_updated.load(), 1u);
  EXPECT_EQ(s.ownership_moves.load(), 1u);
  EXPECT_EQ(s.rejected_policy.load(), 1u);
  EXPECT_EQ(s.resolutions.load(), 1u);
  EXPECT_EQ(s.resolutions_unknown_pool.load(), 1u);
  EXPECT_EQ(s.expirations.load(), 1u);
  EXPECT_EQ(s.commands.load(), 9u);
}

TEST(HandlespaceShardTest, RemoveTellsWhetherThePeWasThere) {
  HandlespaceShard shard(0, {});
  RegisterCommand r = Register("p", MakePe(1, 7), kNever);
  shard.Process(r);
  ElementCommand d;
  d.handle = "p";
  d.pe_id = 1;
  shard.Process(d);
  EXPECT_TRUE(d.found);
  shard.Process(d);  // RFC 5352 §3.2: gone already, still no error
  EXPECT_FALSE(d.found);
  EXPECT_EQ(shard.table().element_count(), 0u);
  EXPECT_EQ(shard.stats().deregistrations.load(), 1u);
  EXPECT_EQ(shard.stats().deregistrations_unknown.load(), 1u);
}

// A burst mixes the families and is processed in order: a resolution after
// registrations in the same burst sees them, one after the removal does not.
TEST(HandlespaceShardTest, BurstProcessesEveryFamilyInOrder) {
  HandlespaceShard shard(0, {});
  std::vector<RegisterCommand> regs;
  for (PoolElementId id = 1; id <= 20; ++id) regs.push_back(Register("p", MakePe(id, 1), kNever));
  ResolveCommand before;
  before.handle = "p";
  before.options = {30, 0};
  ElementCommand remove;
  remove.handle = "p";
  remove.pe_id = 5;
  ResolveCommand after = before;
  std::vector<ShardCommand*> burst;
  for (auto& r : regs) burst.push_back(&r);
  burst.push_back(&before);
  burst.push_back(&remove);
  burst.push_back(&after);
  ASSERT_LE(burst.size(), HandlespaceShard::kMaxBurst);
  shard.ProcessBurst(burst);
  for (const auto& r : regs) EXPECT_EQ(r.result.cause, kNoError);
  EXPECT_EQ(before.selected.size(), 20u);
  EXPECT_TRUE(remove.found);
  EXPECT_EQ(after.selected.size(), 19u);
  for (const protocol::PoolElement& pe : after.selected) EXPECT_NE(pe.id, 5u);
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
