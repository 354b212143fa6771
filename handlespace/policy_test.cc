// File: handlespace/policy_test.cc
//
// Selection semantics of every RFC 5356 policy and RSPLIB's extensions, with
// their per-resolution state updates. Random policies are checked with a
// chi-square test at a fixed seed against a generous threshold.

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "handlespace/pool_table.h"
#include "handlespace/testing/test_util.h"

namespace rspd::handlespace {
namespace {

using testing::MakePe;

constexpr RegistrarId kPr = 0x1;

class PolicyTest : public ::testing::Test {
 protected:
  void Add(PoolElementId id, PolicyType type, uint32_t value = 0, uint32_t degradation = 0) {
    ASSERT_EQ(table_.Register("pool", MakePe(id, kPr, type, value, degradation), kNever).cause,
              kNoError);
  }
  void AddPe(const protocol::PoolElement& pe) {
    ASSERT_EQ(table_.Register("pool", pe, kNever).cause, kNoError);
  }
  std::vector<PoolElementId> Resolve(uint32_t items, uint32_t increment = 0) {
    uint32_t out[kMaxResolutionItems];
    size_t n = 0;
    EXPECT_EQ(table_.Resolve("pool", {items, increment}, rng_, out, &n), kNoError);
    std::vector<PoolElementId> ids;
    for (size_t i = 0; i < n; ++i) {
      ids.push_back(table_.element_id(out[i]));
    }
    return ids;
  }
  // Selection frequency of each PE id over `rounds` single-item resolutions.
  std::map<PoolElementId, int> Histogram(int rounds, uint32_t items = 1) {
    std::map<PoolElementId, int> h;
    for (int i = 0; i < rounds; ++i) {
      for (PoolElementId id : Resolve(items)) {
        ++h[id];
      }
    }
    return h;
  }
  static double ChiSquare(const std::map<PoolElementId, int>& observed,
                          const std::map<PoolElementId, double>& expected) {
    double chi = 0;
    for (const auto& [id, e] : expected) {
      const auto it = observed.find(id);
      const double o = it == observed.end() ? 0 : it->second;
      chi += (o - e) * (o - e) / e;
    }
    return chi;
  }

  PoolTable table_;
  Prng rng_{20260101};
};

using Ids = std::vector<PoolElementId>;

TEST_F(PolicyTest, RoundRobinAdvancesHeadByOne) {
  // RFC 5356 §4.1.2: PEs from the head of the circular list, head += 1.
  for (PoolElementId id = 1; id <= 4; ++id) {
    Add(id, PolicyType::kRoundRobin);
  }
  EXPECT_EQ(Resolve(3), (Ids{1, 2, 3}));
  EXPECT_EQ(Resolve(3), (Ids{2, 3, 4}));
  EXPECT_EQ(Resolve(3), (Ids{3, 4, 1}));
  EXPECT_EQ(Resolve(1), (Ids{4}));
  EXPECT_EQ(Resolve(10), (Ids{1, 2, 3, 4}));  // no duplicates, at most the pool
  // RSPLIB MaxIncrement: advance by as many as returned.
  EXPECT_EQ(Resolve(2, 2), (Ids{2, 3}));
  EXPECT_EQ(Resolve(2, 2), (Ids{4, 1}));
}

TEST_F(PolicyTest, WeightedRoundRobinProportionalAndSpread) {
  // RFC 5356 §4.2.2: occurrences proportional to weight, spread evenly.
  Add(1, PolicyType::kWeightedRoundRobin, 1);
  Add(2, PolicyType::kWeightedRoundRobin, 2);
  Add(3, PolicyType::kWeightedRoundRobin, 3);
  Add(4, PolicyType::kWeightedRoundRobin, 0);  // §3.2: no service
  std::map<PoolElementId, int> h = Histogram(600);
  // Exact rates; a window of 600 picks may cut a round, hence +-1.
  EXPECT_NEAR(h[1], 100, 1);
  EXPECT_NEAR(h[2], 200, 1);
  EXPECT_NEAR(h[3], 300, 1);
  EXPECT_EQ(h.count(4), 0u);
  // Spread: within any window of 6 consecutive picks PE 3 appears 3 times +-1.
  Ids seq;
  for (int i = 0; i < 60; ++i) {
    seq.push_back(Resolve(1)[0]);
  }
  for (size_t i = 0; i + 6 <= seq.size(); ++i) {
    const auto c =
        std::count(seq.begin() + static_cast<long>(i), seq.begin() + static_cast<long>(i + 6), 3u);
    EXPECT_GE(c, 2);
    EXPECT_LE(c, 4);
  }
  // Several items: distinct, and PE 4 never.
  const Ids three = Resolve(4);
  EXPECT_EQ(three.size(), 3u);
  EXPECT_EQ(std::set<PoolElementId>(three.begin(), three.end()).size(), 3u);
}

TEST_F(PolicyTest, RandomUniformWithoutDuplicates) {
  // RFC 5356 §4.3.2: at most the requested number, no PE twice (MUST).
  for (PoolElementId id = 1; id <= 10; ++id) {
    Add(id, PolicyType::kRandom);
  }
  for (int i = 0; i < 200; ++i) {
    const Ids ids = Resolve(7);
    ASSERT_EQ(ids.size(), 7u);
    ASSERT_EQ(std::set<PoolElementId>(ids.begin(), ids.end()).size(), 7u);
  }
  const int kRounds = 20000;
  const auto h = Histogram(kRounds);
  std::map<PoolElementId, double> e;
  for (PoolElementId id = 1; id <= 10; ++id) {
    e[id] = kRounds / 10.0;
  }
  // df = 9: p = 0.001 at 27.9; 40 is generous.
  EXPECT_LT(ChiSquare(h, e), 40.0);
  // Multi-item picks are uniform too (each PE in 3/10 of the answers).
  const auto h3 = Histogram(kRounds, 3);
  for (auto& [id, v] : e) {
    v = kRounds * 3 / 10.0;
  }
  EXPECT_LT(ChiSquare(h3, e), 40.0);
}

TEST_F(PolicyTest, WeightedRandomFollowsWeights) {
  // RFC 5356 §4.4.2: probability weight / sum of weights; no duplicates.
  const uint32_t weights[] = {1, 2, 3, 4, 0};
  for (PoolElementId id = 1; id <= 5; ++id) {
    Add(id, PolicyType::kWeightedRandom, weights[id - 1]);
  }
  const int kRounds = 20000;
  const auto h = Histogram(kRounds);
  std::map<PoolElementId, double> e;
  for (PoolElementId id = 1; id <= 4; ++id) {
    e[id] = kRounds * weights[id - 1] / 10.0;
  }
  EXPECT_LT(ChiSquare(h, e), 30.0);  // df = 3: p = 0.001 at 16.3
  EXPECT_EQ(h.count(5), 0u);
  const Ids all = Resolve(5);
  EXPECT_EQ(std::set<PoolElementId>(all.begin(), all.end()), (std::set<PoolElementId>{1, 2, 3, 4}));
}

TEST_F(PolicyTest, PriorityHighestFirstDecreasing) {
  // RFC 5356 §4.5.2: the highest priorities, reported in decreasing order.
  Add(1, PolicyType::kPriority, 5);
  Add(2, PolicyType::kPriority, 9);
  Add(3, PolicyType::kPriority, 1);
  Add(4, PolicyType::kPriority, 7);
  EXPECT_EQ(Resolve(3), (Ids{2, 4, 1}));
  EXPECT_EQ(Resolve(1), (Ids{2}));
}

TEST_F(PolicyTest, LeastUsedAscendingWithRoundRobinTies) {
  // RFC 5356 §5.1.2: lowest loads, sorted ascending (MUST), ties round robin.
  Add(1, PolicyType::kLeastUsed, 50);
  Add(2, PolicyType::kLeastUsed, 10);
  Add(3, PolicyType::kLeastUsed, 10);
  Add(4, PolicyType::kLeastUsed, 10);
  Add(5, PolicyType::kLeastUsed, 90);
  EXPECT_EQ(Resolve(1), (Ids{2}));
  EXPECT_EQ(Resolve(1), (Ids{3}));
  EXPECT_EQ(Resolve(1), (Ids{4}));
  EXPECT_EQ(Resolve(1), (Ids{2}));
  const Ids five = Resolve(5);
  EXPECT_EQ(five.size(), 5u);
  EXPECT_EQ(five[3], 1u);
  EXPECT_EQ(five[4], 5u);
  // A re-registration with a new load moves the PE (dynamic load).
  Add(5, PolicyType::kLeastUsed, 1);
  EXPECT_EQ(Resolve(2)[0], 5u);
}

TEST_F(PolicyTest, LeastUsedWithDegradationCountsSelections) {
  // RFC 5356 §5.2.2: counter +1 per PE returned; key load + counter * deg;
  // reset on re-registration.
  Add(1, PolicyType::kLeastUsedWithDegradation, 100, 30);
  Add(2, PolicyType::kLeastUsedWithDegradation, 120, 30);
  EXPECT_EQ(Resolve(1), (Ids{1}));     // 100 -> 130
  EXPECT_EQ(Resolve(1), (Ids{2}));     // 120 -> 150
  EXPECT_EQ(Resolve(1), (Ids{1}));     // 130 -> 160
  EXPECT_EQ(Resolve(2), (Ids{2, 1}));  // 150, 160: both degrade (MUST), 180, 190
  EXPECT_EQ(Resolve(1), (Ids{2}));
  Add(1, PolicyType::kLeastUsedWithDegradation, 100, 30);  // counter reset
  EXPECT_EQ(Resolve(1), (Ids{1}));
}

TEST_F(PolicyTest, PriorityLeastUsedAddsDegradation) {
  // RFC 5356 §5.3: A (50+10) before B (50+50); no per-selection counter.
  Add(1, PolicyType::kPriorityLeastUsed, 50, 50);
  Add(2, PolicyType::kPriorityLeastUsed, 50, 10);
  EXPECT_EQ(Resolve(2), (Ids{2, 1}));
  EXPECT_EQ(Resolve(2), (Ids{2, 1}));
}

TEST_F(PolicyTest, RandomizedLeastUsedWeightsUnload) {
  // RFC 5356 §5.4: WRAND with weight 0xffffffff - load.
  const uint32_t loads[] = {0xffffffffu / 4 * 3, 0xffffffffu / 2, 0};
  for (PoolElementId id = 1; id <= 3; ++id) {
    Add(id, PolicyType::kRandomizedLeastUsed, loads[id - 1]);
  }
  const int kRounds = 20000;
  const auto h = Histogram(kRounds);
  // Unloads 1/4, 1/2, 1 of 0xffffffff -> probabilities 1/7, 2/7, 4/7.
  std::map<PoolElementId, double> e = {
      {1, kRounds / 7.0}, {2, kRounds * 2 / 7.0}, {3, kRounds * 4 / 7.0}};
  EXPECT_LT(ChiSquare(h, e), 25.0);  // df = 2: p = 0.001 at 13.8
}

TEST_F(PolicyTest, RandomizedLeastUsedWithDegradationShiftsWeight) {
  // RSPLIB 0xb0001002: weight 0xffffffff - load - degradation.
  Add(1, PolicyType::kRandomizedLeastUsedWithDegradation, 0, 0x7fffffff);
  Add(2, PolicyType::kRandomizedLeastUsedWithDegradation, 0, 0x7fffffff);
  // After a few selections of both, weights floor at 1 and 1: still answers.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Resolve(2).size(), 2u);
  }
  Add(1, PolicyType::kRandomizedLeastUsedWithDegradation, 0, 0x7fffffff);  // reset
  EXPECT_EQ(Resolve(1), (Ids{1}));  // weight 0xffffffff against 1
}

TEST_F(PolicyTest, PriorityLeastUsedWithDegradationOrdersOnBoth) {
  // RSPLIB 0xb0001003: key load + load_degradation + degradation.
  Add(1, PolicyType::kPriorityLeastUsedWithDegradation, 10, 100);
  Add(2, PolicyType::kPriorityLeastUsedWithDegradation, 150, 1);
  EXPECT_EQ(Resolve(1), (Ids{1}));  // 110 < 151; then 210
  EXPECT_EQ(Resolve(1), (Ids{2}));  // 151; then 152
  EXPECT_EQ(Resolve(1), (Ids{2}));
}

TEST_F(PolicyTest, DistancePenaltyPolicies) {
  // RSPLIB DPF: LU key load + distance * load_dpf; a near PE wins at equal load.
  protocol::PoolElement near = MakePe(1, kPr, PolicyType::kLeastUsedWithDpf, 100);
  near.policy.dpf = 1000;
  near.policy.distance = 1;
  protocol::PoolElement far = MakePe(2, kPr, PolicyType::kLeastUsedWithDpf, 100);
  far.policy.dpf = 1000;
  far.policy.distance = 50;
  AddPe(near);
  AddPe(far);
  EXPECT_EQ(Resolve(2), (Ids{1, 2}));
  EXPECT_EQ(table_.GetElement(table_.Find("pool", 2)).policy, far.policy);
}

TEST_F(PolicyTest, WeightedRandomWithDpfPenalizesDistance) {
  protocol::PoolElement near = MakePe(1, kPr, PolicyType::kWeightedRandomWithDpf, 1000);
  near.policy.dpf = 0xffffffffu / 100;  // 1% per distance unit
  near.policy.distance = 0;
  protocol::PoolElement far = near;
  far.id = 2;
  far.policy.distance = 50;  // weight halved
  AddPe(near);
  AddPe(far);
  const int kRounds = 15000;
  const auto h = Histogram(kRounds);
  std::map<PoolElementId, double> e = {{1, kRounds * 2 / 3.0}, {2, kRounds / 3.0}};
  EXPECT_LT(ChiSquare(h, e), 20.0);
}

// Every known policy: answers are distinct, bounded by the request and the
// pool, and the pool keeps working through churn.
TEST(AllPoliciesTest, DistinctBoundedAnswersUnderChurn) {
  const PolicyType kAll[] = {
      PolicyType::kRoundRobin,
      PolicyType::kWeightedRoundRobin,
      PolicyType::kRandom,
      PolicyType::kWeightedRandom,
      PolicyType::kPriority,
      PolicyType::kLeastUsed,
      PolicyType::kLeastUsedWithDegradation,
      PolicyType::kPriorityLeastUsed,
      PolicyType::kRandomizedLeastUsed,
      PolicyType::kRandomizedPriorityLeastUsed,
      PolicyType::kRandomizedLeastUsedWithDegradation,
      PolicyType::kPriorityLeastUsedWithDegradation,
      PolicyType::kRandomizedPriorityLeastUsedWithDegradation,
      PolicyType::kWeightedRandomWithDpf,
      PolicyType::kLeastUsedWithDpf,
      PolicyType::kLeastUsedWithDegradationWithDpf,
      PolicyType::kPriorityLeastUsedWithDpf,
      PolicyType::kPriorityLeastUsedWithDegradationWithDpf,
  };
  for (PolicyType type : kAll) {
    SCOPED_TRACE(protocol::PolicyTypeName(static_cast<uint32_t>(type)));
    ASSERT_NE(protocol::FindPolicy(type), nullptr);
    PoolTable table;
    Prng rng(3);
    std::set<PoolElementId> members;
    for (int step = 0; step < 400; ++step) {
      const PoolElementId id = static_cast<PoolElementId>(1 + rng.Uniform(40));
      if (rng.Uniform(3) == 0 && members.count(id)) {
        ASSERT_TRUE(table.Deregister("p", id));
        members.erase(id);
      } else {
        protocol::PoolElement pe =
            MakePe(id, kPr, type, static_cast<uint32_t>(1 + rng.Uniform(1000)),
                   static_cast<uint32_t>(rng.Uniform(100)));
        pe.policy.dpf = static_cast<uint32_t>(rng.Uniform(1000));
        pe.policy.distance = static_cast<uint32_t>(rng.Uniform(100));
        pe.policy = pe.policy.Normalized();
        ASSERT_EQ(table.Register("p", pe, kNever).cause, kNoError);
        members.insert(id);
        ASSERT_EQ(table.GetElement(table.Find("p", id)), pe);
      }
      if (members.empty()) {
        continue;
      }
      uint32_t out[kMaxResolutionItems];
      size_t n = 0;
      const uint32_t want = static_cast<uint32_t>(1 + rng.Uniform(8));
      ASSERT_EQ(table.Resolve("p", {want, 0}, rng, out, &n), kNoError);
      ASSERT_EQ(n, std::min<size_t>(want, members.size()));
      std::set<PoolElementId> got;
      for (size_t i = 0; i < n; ++i) {
        got.insert(table.element_id(out[i]));
      }
      ASSERT_EQ(got.size(), n);
      for (PoolElementId id : got) {
        ASSERT_TRUE(members.count(id));
      }
    }
  }
}

}  // namespace
}  // namespace rspd::handlespace
