// File: handlespace/pe_checksum_test.cc
//
// RFC 5353 §3.6.2 PE checksum: incremental sums equal the RFC 1071 checksum
// of the byte blocks computed from scratch, in any order, with no -0/+0
// ambiguity after removals.

#include "handlespace/pe_checksum.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "handlespace/testing/test_util.h"

namespace rspd::handlespace {
namespace {

using testing::ReferenceChecksum;

TEST(PeChecksumTest, EmptyIsChecksumOfNothing) {
  EXPECT_EQ(FinishChecksum(0), 0xffff);
  EXPECT_EQ(ReferenceChecksum({}), 0xffff);
}

TEST(PeChecksumTest, Rfc1071Example) {
  // RFC 1071 §3 example: words 0001 f203 f4f5 f6f7 sum to ddf2 -> checksum 220d.
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(InternetChecksum(bytes), 0x220d);
}

TEST(PeChecksumTest, HandlePaddedToFourBytes) {
  // "abcde" pads to "abcde\0\0\0": words 6162 6364 6500 0000.
  EXPECT_EQ(HandleWordSum("abcde"), 0x6162u + 0x6364u + 0x6500u);
  EXPECT_EQ(FinishChecksum(PeBlockSum(HandleWordSum("abcde"), 0x01020304)),
            ReferenceChecksum({{"abcde", 0x01020304}}));
}

TEST(PeChecksumTest, IncrementalMatchesFromScratch) {
  std::vector<std::pair<std::string, uint32_t>> blocks;
  uint64_t acc = 0;
  uint32_t x = 12345;
  for (int i = 0; i < 500; ++i) {
    x = x * 1103515245u + 12345u;
    std::string handle = "pool-" + std::to_string(x % 37);
    handle.resize(1 + x % 11, 'z');
    blocks.emplace_back(handle, x);
    acc += PeBlockSum(HandleWordSum(handle), x);
    ASSERT_EQ(FinishChecksum(acc), ReferenceChecksum(blocks)) << i;
  }
  // Remove in a different order; down to empty must give 0xffff exactly.
  while (!blocks.empty()) {
    const size_t k = blocks.size() / 2;
    acc -= PeBlockSum(HandleWordSum(blocks[k].first), blocks[k].second);
    blocks.erase(blocks.begin() + static_cast<long>(k));
    ASSERT_EQ(FinishChecksum(acc), ReferenceChecksum(blocks)) << blocks.size();
  }
  EXPECT_EQ(FinishChecksum(acc), 0xffff);
}

}  // namespace
}  // namespace rspd::handlespace
