// File: dataplane/spsc_ring_test.cc

#include "dataplane/spsc_ring.h"

#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace rspd::dataplane {
namespace {

TEST(SpscRingTest, BurstTakesWhatFits) {
  SpscRing<int> ring(4);
  const int in[6] = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(ring.EnqueueBurst(absl::MakeConstSpan(in, 6)), 4u);  // caller keeps 5, 6
  EXPECT_EQ(ring.FreeCount(), 0u);
  int out[3];
  EXPECT_EQ(ring.DequeueBurst(absl::MakeSpan(out)), 3u);
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[2], 3);
  EXPECT_EQ(ring.EnqueueBurst(absl::MakeConstSpan(in + 4, 2)), 2u);  // wraps
  int rest[8];
  EXPECT_EQ(ring.DequeueBurst(absl::MakeSpan(rest)), 3u);
  EXPECT_EQ(rest[0], 4);
  EXPECT_EQ(rest[1], 5);
  EXPECT_EQ(rest[2], 6);
  EXPECT_EQ(ring.DequeueBurst(absl::MakeSpan(rest)), 0u);
}

TEST(SpscRingTest, TwoThreadsPassEveryValueInOrder) {
  SpscRing<uint64_t> ring(64);
  constexpr uint64_t kCount = 200000;
  std::thread producer([&] {
    uint64_t next = 0;
    uint64_t batch[16];
    while (next < kCount) {
      size_t n = 0;
      for (; n < 16 && next + n < kCount; ++n) {
        batch[n] = next + n;
      }
      next += ring.EnqueueBurst(absl::MakeConstSpan(batch, n));
    }
  });
  uint64_t expected = 0;
  uint64_t got[8];
  while (expected < kCount) {
    const size_t n = ring.DequeueBurst(absl::MakeSpan(got));
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(got[i], expected++);
    }
  }
  producer.join();
}

}  // namespace
}  // namespace rspd::dataplane
