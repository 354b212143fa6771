// File: handlespace/shard_of.h
//
// Which shard owns a pool: `ShardOf` is the only mapping from a pool handle
// to a shard (docs/style.md, "Shards"). Commands about an owner (takeover,
// checksum, mark/sweep, table chunks) concern every shard; checksums of
// several shards combine with CombineChecksum.
//
// The hash is FNV-1a 64 over the handle bytes with murmur3's fmix64
// finalizer, reduced to [0, N) by multiply-shift:
// stable across processes and builds (unlike absl::Hash, which is seeded per
// process), as the DPDK multi-process growth path (docs/architecture.md) needs.
//
// Example:
//   uint32_t k = ShardOf(handle, shard_count);   // the shard that serves `handle`

#pragma once

#include <cstdint>

#include "absl/types/span.h"
#include "handlespace/pe_checksum.h"
#include "handlespace/types.h"

namespace rspd::handlespace {

// The shard (0 <= result < shard_count) that owns pool `handle` (a
// PoolHandle converts to the view).
inline uint32_t ShardOf(PoolHandleView handle, uint32_t shard_count) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : handle) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  // FNV-1a's last bytes barely reach the high bits that the range reduction
  // uses; murmur3's fmix64 finalizer spreads every input bit over all 64.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return static_cast<uint32_t>(((h >> 32) * shard_count) >> 32);
}

// The registrar-wide PE checksum of an owner from the shards' word sums.
inline uint16_t CombineChecksum(absl::Span<const uint64_t> word_sums) {
  uint64_t total = 0;
  for (uint64_t s : word_sums) {
    total += s;
  }
  return FinishChecksum(total);
}

}  // namespace rspd::handlespace
