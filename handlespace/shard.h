// File: handlespace/shard.h
//
// HandlespaceShard: one shard of the registrar's handlespace
// (docs/architecture.md): it owns the pools whose handle maps to it (ShardOf in
// router.h), with their PEs, selection state, ownership sets, checksums and
// timers, in a PoolTable. It is driven only by commands: other threads put
// `ShardRequest*` on its inbound ring and read the same requests, answered,
// from the paired outbound ring (docs/style.md, "Shards"); the sender allocates and
// frees requests. One writer: the thread that calls Poll (or Process).
//
// Commands: Register (ASAP registration, RFC 5352 §3.1), PeerUpdate (ENRP
// HANDLE_UPDATE ADD_PE/DEL_PE, RFC 5353 §3.3), Deregister (RFC 5352 §3.2),
// Resolve (RFC 5352 §3.3 / RFC 5356), Lookup, SetExpiry (keep-alive answered),
// Expire (lifetimes), TakeOver (RFC 5353 §3.5.2), MarkOwner / SweepOwner
// (RFC 5353 §3.6.3), IterateChunk (RFC 5353 §3.2.3), Checksum (§3.6.2).
// Errors are RFC 5354 causes in `ShardRequest::cause`, never exceptions.
//
// Example:
//   HandlespaceShard shard(0, {});
//   ShardRequest req;
//   req.op = ShardOp::kRegister;
//   req.handle = "echo";
//   req.pe = pe;
//   req.tick = now + 30000;
//   shard.Process(req);  // or: in_ring.Enqueue(&req); shard.Poll(in_ring, out_ring);

#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/optimization.h"
#include "handlespace/pool_table.h"
#include "handlespace/prng.h"
#include "handlespace/spsc_ring.h"
#include "handlespace/types.h"

namespace rspd::handlespace {

enum class ShardOp : uint8_t {
  kRegister,      // in: handle, pe, tick = expiry. out: cause, reg, pool (on rejection)
  kPeerUpdate,    // ENRP ADD_PE: as kRegister, counted apart
  kDeregister,    // in: handle, pe_id. out: found, entries[0] if found
  kPeerRemove,    // ENRP DEL_PE: as kDeregister, counted apart
  kResolve,       // in: handle, resolve. out: cause, entries (the selected PEs), pool
  kSetExpiry,     // in: handle, pe_id, tick. out: found
  kExpire,        // in: tick = now. out: count, entries (removed)
  kTakeOver,      // in: owner (failed), to_owner. out: count
  kMarkOwner,     // in: owner. out: count
  kSweepOwner,    // in: owner. out: count, entries (removed)
  kIterateChunk,  // in: cursor, max, owner (0 = all). out: entries, cursor (kIterationDone at end)
  kChecksum,      // in: owner. out: checksum (this shard), word_sum, count
  kLookup,        // in: handle, pe_id. out: found, entries[0] if found
};

// One command and, once processed, its answer. Allocated and freed by the
// sender; the shard only fills in the outputs. Vectors keep their capacity
// across reuse, so a sender that recycles requests does not allocate.
struct ShardRequest {
  ShardOp op = ShardOp::kResolve;
  uint64_t cookie = 0;  // for the sender's correlation; untouched
  // Inputs.
  PoolHandle handle;
  protocol::PoolElement pe;
  PoolElementId pe_id = 0;
  Tick tick = kNever;
  ResolveOptions resolve;
  RegistrarId owner = 0;
  RegistrarId to_owner = 0;
  uint32_t cursor = 0;
  uint32_t max = 128;
  // Outputs.
  Cause cause = kNoError;
  RegisterResult reg;
  bool found = false;
  size_t count = 0;
  uint16_t checksum = 0xffff;
  uint64_t word_sum = 0;
  std::vector<ElementEntry> entries;
  // The pool's attributes, for answers that quote them (RFC 5352 §2.2.6 the
  // overall policy; RFC 5354 §3.12 the cause information of 0x5 and 0x7), so
  // that no other thread has to read the shard's table. pool_known is false
  // when the pool does not exist.
  bool pool_known = false;
  PoolAttributes pool;
};

// Per-shard counters (docs/style.md, "Counters"): declared once, the owner does relaxed
// load+store, other threads relaxed loads.
#define RSPD_HANDLESPACE_SHARD_STATS(X)                                                \
  X(commands, "commands processed")                                                    \
  X(registrations_added, "new PEs (ASAP registration)")                                \
  X(registrations_updated, "re-registrations")                                         \
  X(peer_updates, "ENRP ADD_PE applied")                                               \
  X(ownership_moves, "PEs whose home registrar changed on (re-)registration")          \
  X(rejected_invalid_values, "registrations rejected: invalid values (0x3)")           \
  X(rejected_policy, "registrations rejected: inconsistent pooling policy (0x5)")      \
  X(rejected_handlespace_full, "new PEs rejected (0x6): max_pool_elements reached")    \
  X(rejected_too_many_pools, "new pools rejected (0x6): max_pools reached")            \
  X(rejected_pool_full, "new PEs rejected (0x6): the pool holds max_pool_size PEs")    \
  X(rejected_transport, "registrations rejected: inconsistent transport type (0x7)")   \
  X(rejected_data_control, "registrations rejected: inconsistent transport use (0x8)") \
  X(deregistrations, "PEs removed by deregistration or DEL_PE")                        \
  X(deregistrations_unknown, "deregistrations of unknown PEs")                         \
  X(resolutions, "handle resolutions answered")                                        \
  X(resolutions_unknown_pool, "handle resolutions for unknown pools (0x9)")            \
  X(pes_selected, "PEs returned by handle resolutions")                                \
  X(expirations, "PEs removed by lifetime expiry")                                     \
  X(takeovers, "takeover commands")                                                    \
  X(pes_taken_over, "PEs re-homed by takeover")                                        \
  X(sweep_removed, "PEs removed by resync sweeps")                                     \
  X(table_chunks, "handle table chunks served")

struct ShardStats {
#define RSPD_HS_STAT_FIELD(name, help) std::atomic<uint64_t> name{0};
  RSPD_HANDLESPACE_SHARD_STATS(RSPD_HS_STAT_FIELD)
#undef RSPD_HS_STAT_FIELD

  // Owner-thread increment: relaxed load + store, no read-modify-write.
  static void Add(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // Calls fn(name, help, value) for every counter (export to metrics).
  template <typename Fn>
  void ForEach(Fn fn) const {
#define RSPD_HS_STAT_EXPORT(name, help) fn(#name, help, name.load(std::memory_order_relaxed));
    RSPD_HANDLESPACE_SHARD_STATS(RSPD_HS_STAT_EXPORT)
#undef RSPD_HS_STAT_EXPORT
  }
};

class ABSL_CACHELINE_ALIGNED HandlespaceShard {
 public:
  using Ring = SpscRing<ShardRequest*>;
  // Requests taken from the inbound ring per Poll at most (DPDK's usual RX
  // burst of 32: enough to amortize ring index traffic, small enough to keep
  // the answers of one burst in L1).
  static constexpr size_t kMaxBurst = 32;

  struct Options {
    PoolTable::Options table;
    uint64_t seed = 1;            // this shard's Prng seed (tests fix it)
    size_t reserve_elements = 0;  // pre-size for this many PEs
  };

  HandlespaceShard(uint32_t index, const Options& options);

  // Executes one command in place (`pool_hint`: see PoolTable::PrefetchElement).
  void Process(ShardRequest& request, uint32_t pool_hint = kNoSlot);
  // Takes up to kMaxBurst requests from `in` (never more than `out` can
  // take back, so no answer is ever dropped), processes them and puts them on
  // `out`. Returns how many were processed.
  size_t Poll(Ring& in, Ring& out);

  uint32_t index() const { return index_; }
  const PoolTable& table() const { return table_; }
  const ShardStats& stats() const { return stats_; }

 private:
  void DoRegister(ShardRequest& r, bool peer, uint32_t pool_hint);
  void DoDeregister(ShardRequest& r, uint32_t pool_hint);
  void DoResolve(ShardRequest& r, uint32_t pool_hint);

  const uint32_t index_;
  PoolTable table_;
  Prng rng_;
  ShardStats stats_;
  uint32_t selected_[kMaxResolutionItems];
  std::vector<uint32_t> chunk_slots_;  // scratch for IterateChunk
};

}  // namespace rspd::handlespace
