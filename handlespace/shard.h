// File: handlespace/shard.h
//
// HandlespaceShard: one shard of the registrar's handlespace
// (docs/architecture.md): it owns the pools whose handle maps to it (ShardOf in
// shard_of.h), with their PEs, selection state, ownership sets, checksums and
// timers, in a PoolTable. It is driven only by commands, one struct per
// family, each starting with a ShardCommand header; the dataplane's shard
// executor carries them to the shard's thread and back (docs/style.md,
// "Shards"). The sender allocates and frees commands; the shard only fills in
// their answers. One writer: the thread that calls Process / ProcessBurst.
//
// Commands: RegisterCommand (ASAP registration, RFC 5352 §3.1),
// ElementCommand (deregistration or removal, RFC 5352 §3.2; or a lookup),
// ResolveCommand (handle resolution, RFC 5352 §3.3 / RFC 5356) and
// ExpireCommand (registration lifetimes). Errors are RFC 5354 causes in the
// answer, never exceptions. What ENRP will ask of a shard (RFC 5353: peer
// updates, takeover, mark and sweep, table chunks, checksums) is in the
// PoolTable already and becomes commands when ENRP issues them.
//
// Example:
//   HandlespaceShard shard(0, {});
//   RegisterCommand reg;
//   reg.handle = "echo";
//   reg.pe = pe;
//   reg.expiry = now + 30000;
//   shard.Process(reg);
//   if (reg.result.cause == kNoError) ...

#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/types/span.h"
#include "handlespace/pool_table.h"
#include "handlespace/prng.h"
#include "handlespace/types.h"

namespace rspd::handlespace {

// The header of every shard command: which family it is.
struct ShardCommand {
  enum class Kind : uint8_t { kRegister, kRemove, kLookup, kResolve, kExpire };
  explicit ShardCommand(Kind k) : kind(k) {}
  Kind kind;
};

// RFC 5352 §3.1: registers or re-registers `pe` in pool `handle`.
struct RegisterCommand : ShardCommand {
  RegisterCommand() : ShardCommand(Kind::kRegister) {}
  // In.
  PoolHandle handle;
  protocol::PoolElement pe;
  Tick expiry = kNever;
  // Out. On a rejection, the pool's attributes for the cause information
  // (RFC 5354 §3.12: 0x5 quotes the pool's policy, 0x7 its transport type);
  // pool_known is false when the pool does not exist.
  RegisterResult result;
  bool pool_known = false;
  PoolAttributes pool;
};

// One PE by pool handle and identifier: kRemove takes it out of the
// handlespace (deregistration, RFC 5352 §3.2, or a removal the registrar
// decided), kLookup only reads it.
struct ElementCommand : ShardCommand {
  explicit ElementCommand(Kind k = Kind::kRemove) : ShardCommand(k) {}
  // In.
  PoolHandle handle;
  PoolElementId pe_id = 0;
  // Out: whether the PE was there.
  bool found = false;
};

// RFC 5352 §3.3 / RFC 5356: selects up to options.max_items PEs of `handle`.
struct ResolveCommand : ShardCommand {
  ResolveCommand() : ShardCommand(Kind::kResolve) {}
  // In.
  PoolHandle handle;
  ResolveOptions options;
  // Out: kNoError or Unknown Pool Handle; the selected PEs (the vector keeps
  // its capacity across reuse: no allocation); the pool's attributes (its
  // overall policy, RFC 5352 §2.2.6).
  Cause cause = kNoError;
  std::vector<protocol::PoolElement> selected;
  bool pool_known = false;
  PoolAttributes pool;
};

// Registration lifetimes: removes every PE whose lifetime ended by `now`.
struct ExpireCommand : ShardCommand {
  ExpireCommand() : ShardCommand(Kind::kExpire) {}
  Tick now = 0;                       // in
  std::vector<ElementEntry> expired;  // out
};

// Per-shard counters (docs/style.md, "Counters"): declared once, the owner does relaxed
// load+store, other threads relaxed loads.
#define RSPD_HANDLESPACE_SHARD_STATS(X)                                                \
  X(commands, "commands processed")                                                    \
  X(registrations_added, "new PEs (ASAP registration)")                                \
  X(registrations_updated, "re-registrations")                                         \
  X(ownership_moves, "PEs whose home registrar changed on (re-)registration")          \
  X(rejected_invalid_values, "registrations rejected: invalid values (0x3)")           \
  X(rejected_policy, "registrations rejected: inconsistent pooling policy (0x5)")      \
  X(rejected_handlespace_full, "new PEs rejected (0x6): max_pool_elements reached")    \
  X(rejected_too_many_pools, "new pools rejected (0x6): max_pools reached")            \
  X(rejected_pool_full, "new PEs rejected (0x6): the pool holds max_pool_size PEs")    \
  X(rejected_transport, "registrations rejected: inconsistent transport type (0x7)")   \
  X(rejected_data_control, "registrations rejected: inconsistent transport use (0x8)") \
  X(deregistrations, "PEs removed by deregistration or removal")                       \
  X(deregistrations_unknown, "deregistrations of unknown PEs")                         \
  X(resolutions, "handle resolutions answered")                                        \
  X(resolutions_unknown_pool, "handle resolutions for unknown pools (0x9)")            \
  X(pes_selected, "PEs returned by handle resolutions")                                \
  X(expirations, "PEs removed by lifetime expiry")

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
  // Commands processed per burst at most (DPDK's usual burst of 32: enough
  // to overlap the cache misses of a burst, small enough to keep its answers
  // in L1).
  static constexpr size_t kMaxBurst = 32;

  struct Options {
    PoolTable::Options table;
    uint64_t seed = 1;            // this shard's Prng seed (tests fix it)
    size_t reserve_elements = 0;  // pre-size for this many PEs
  };

  HandlespaceShard(uint32_t index, const Options& options);

  // Executes one command in place (`pool_hint`: see PoolTable::PrefetchElement).
  void Process(ShardCommand& command, uint32_t pool_hint = kNoSlot);
  // Executes up to kMaxBurst commands, prefetching for all of them first so
  // that their cache misses overlap.
  void ProcessBurst(absl::Span<ShardCommand* const> burst);

  uint32_t index() const { return index_; }
  const PoolTable& table() const { return table_; }
  const ShardStats& stats() const { return stats_; }

 private:
  void DoRegister(RegisterCommand& c, uint32_t pool_hint);
  void DoRemove(ElementCommand& c, uint32_t pool_hint);
  void DoLookup(ElementCommand& c, uint32_t pool_hint);
  void DoResolve(ResolveCommand& c, uint32_t pool_hint);
  void DoExpire(ExpireCommand& c);

  const uint32_t index_;
  PoolTable table_;
  Prng rng_;
  ShardStats stats_;
  uint32_t selected_[kMaxResolutionItems];
};

}  // namespace rspd::handlespace
