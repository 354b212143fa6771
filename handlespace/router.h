// File: handlespace/router.h
//
// The thin layer between the registrar's threads and its handlespace
// shards: `ShardOf` is the only mapping from a pool handle to a shard
// (docs/style.md, "Shards"), and `HandlespaceRouter` holds each shard's pair of rings
// (requests in, answers out) and sends a request to the right one.
// Commands about an owner (takeover, checksum, mark/sweep, table chunks) go
// to every shard (SendToShard); checksums of several shards combine with
// CombineChecksum.
//
// The hash is FNV-1a 64 over the handle bytes with murmur3's fmix64
// finalizer, reduced to [0, N) by multiply-shift:
// stable across processes and builds (unlike absl::Hash, which is seeded per
// process), as the DPDK multi-process growth path (docs/architecture.md) needs.
//
// Example:
//   HandlespaceRouter router(/*shards=*/2, /*ring_capacity=*/1024);
//   if (!router.Send(&request)) { /* back-pressure: answer with an ASAP error */ }
//   router.shard_in(k) / router.shard_out(k) are given to shard k's Poll.

#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "handlespace/pe_checksum.h"
#include "handlespace/shard.h"
#include "handlespace/spsc_ring.h"
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

class HandlespaceRouter {
 public:
  using Ring = HandlespaceShard::Ring;

  // `ring_capacity` must be a power of two.
  HandlespaceRouter(uint32_t shard_count, size_t ring_capacity);

  uint32_t shard_count() const { return static_cast<uint32_t>(in_.size()); }
  uint32_t ShardFor(PoolHandleView handle) const { return ShardOf(handle, shard_count()); }

  // Queues a pool command on its shard's inbound ring; false when the ring is
  // full (the caller keeps the request; a counted back-pressure case).
  bool Send(ShardRequest* request);
  bool SendToShard(uint32_t shard, ShardRequest* request);
  // Answers of shard `shard`, up to out.size(). Returns how many.
  size_t Receive(uint32_t shard, absl::Span<ShardRequest*> out);

  Ring& shard_in(uint32_t shard) { return *in_[shard]; }
  Ring& shard_out(uint32_t shard) { return *out_[shard]; }
  uint64_t back_pressure() const { return back_pressure_; }

 private:
  std::vector<std::unique_ptr<Ring>> in_;
  std::vector<std::unique_ptr<Ring>> out_;
  uint64_t back_pressure_ = 0;
};

}  // namespace rspd::handlespace
