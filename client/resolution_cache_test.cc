#include "client/resolution_cache.h"

#include "gtest/gtest.h"

namespace rspd::client {
namespace {

Resolution Of(std::initializer_list<uint32_t> ids) {
  Resolution r;
  for (uint32_t id : ids) {
    protocol::PoolElement e;
    e.id = id;
    r.elements.push_back(e);
  }
  return r;
}

// RFC 5352 §3.3 C1-C4.
TEST(ResolutionCacheTest, FreshEntriesAnswerAndStaleOnesDoNot) {
  ResolutionCache cache(absl::Seconds(2));
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  EXPECT_EQ(cache.Find("echo", t0), nullptr);  // C1: nothing cached
  cache.Store("echo", Of({1, 2}), t0);
  const Resolution* fresh = cache.Find("echo", t0 + absl::Seconds(1));  // C4
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->elements.size(), 2u);
  EXPECT_EQ(cache.Find("echo", t0 + absl::Seconds(2)), nullptr);  // C2: stale
  EXPECT_EQ(cache.Find("other", t0), nullptr);
}

TEST(ResolutionCacheTest, PurgeDropsAFailedPeAndEmptyEntries) {
  ResolutionCache cache;
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  cache.Store("echo", Of({1, 2}), t0);
  cache.Purge("echo", 1);
  ASSERT_NE(cache.Find("echo", t0), nullptr);
  EXPECT_EQ(cache.Find("echo", t0)->elements.front().id, 2u);
  cache.Purge("echo", 2);
  EXPECT_EQ(cache.Find("echo", t0), nullptr);
  cache.Purge("missing", 3);  // harmless
}

}  // namespace
}  // namespace rspd::client
