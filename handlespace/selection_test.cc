// File: handlespace/selection_test.cc
//
// The selection structures against brute force: OrderedSet's TopK returns the
// k smallest (key, seq) in order after random inserts, updates and removals;
// WeightTree finds the position owning each cumulative weight.

#include "handlespace/selection.h"

#include <algorithm>
#include <vector>

#include "gtest/gtest.h"
#include "handlespace/prng.h"

namespace rspd::handlespace {
namespace {

TEST(OrderedSetTest, TopKMatchesSortUnderChurn) {
  OrderedSet set;
  std::vector<uint32_t> pos(1000, 0);
  std::vector<bool> present(1000, false);
  std::vector<OrderedEntry> model(1000);
  Prng rng(7);
  uint32_t seq = 0;
  for (int step = 0; step < 5000; ++step) {
    const uint32_t s = static_cast<uint32_t>(rng.Uniform(1000));
    const uint64_t key = rng.Uniform(50);  // many ties
    if (!present[s]) {
      model[s] = {key, seq++, s};
      set.Insert(model[s], pos.data());
      present[s] = true;
    } else if (rng.Uniform(2) == 0) {
      set.RemoveAt(pos[s], pos.data());
      present[s] = false;
    } else {
      model[s].key = key;
      model[s].seq = seq++;
      set.Update(pos[s], key, model[s].seq, pos.data());
    }
    if (step % 50 == 0) {
      std::vector<OrderedEntry> sorted;
      for (uint32_t i = 0; i < 1000; ++i) {
        if (present[i]) {
          ASSERT_EQ(set.at(pos[i]).slot, i);
          sorted.push_back(model[i]);
        }
      }
      std::sort(sorted.begin(), sorted.end());
      uint32_t out[128];
      const size_t k = std::min<size_t>(17, sorted.size());
      ASSERT_EQ(set.TopK(17, ~uint64_t{0}, out), k);
      for (size_t i = 0; i < k; ++i) {
        EXPECT_EQ(out[i], sorted[i].slot);
      }
    }
  }
}

TEST(OrderedSetTest, ResequencePreservesOrder) {
  OrderedSet set;
  std::vector<uint32_t> pos(10);
  for (uint32_t i = 0; i < 10; ++i) {
    set.Insert({1, 0xfffffff0u + i, i}, pos.data());
  }
  EXPECT_EQ(set.Resequence(), 10u);
  uint32_t out[10];
  ASSERT_EQ(set.TopK(10, ~uint64_t{0}, out), 10u);
  for (uint32_t i = 0; i < 10; ++i) {
    EXPECT_EQ(out[i], i);
    EXPECT_EQ(set.at(pos[i]).seq, i);
  }
}

TEST(OrderedSetTest, LimitExcludes) {
  OrderedSet set;
  std::vector<uint32_t> pos(3);
  set.Insert({5, 0, 0}, pos.data());
  set.Insert({~uint64_t{0}, 1, 1}, pos.data());
  set.Insert({7, 2, 2}, pos.data());
  uint32_t out[3];
  EXPECT_EQ(set.TopK(3, ~uint64_t{0}, out), 2u);
}

TEST(WeightTreeTest, FindAndRemove) {
  WeightTree tree;
  std::vector<uint32_t> pos(100);
  std::vector<uint32_t> weight(100);
  for (uint32_t s = 0; s < 100; ++s) {
    weight[s] = s % 7;
    tree.Append(s, weight[s], pos.data());
  }
  for (uint32_t s = 0; s < 100; s += 3) {
    tree.RemoveAt(pos[s], pos.data());
  }
  uint64_t total = 0;
  for (size_t i = 0; i < tree.size(); ++i) {
    ASSERT_EQ(tree.weight_at(i), weight[tree.slot_at(i)]);
    total += tree.weight_at(i);
  }
  ASSERT_EQ(tree.total(), total);
  uint64_t start = 0;
  for (size_t i = 0; i < tree.size(); ++i) {
    for (uint64_t r = start; r < start + tree.weight_at(i); ++r) {
      ASSERT_EQ(tree.Find(r), i) << r;
    }
    start += tree.weight_at(i);
  }
}

}  // namespace
}  // namespace rspd::handlespace
