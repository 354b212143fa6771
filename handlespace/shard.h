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
// ExpireCommand (registration lifetimes), issued by the ASAP server; and for
// ENRP (RFC 5353), issued by the ENRP server: PeerUpdateCommand (a peer's
// ADD_PE / DEL_PE, §3.3), OwnerCommand (takeover §3.5.2, mark and sweep
// §3.6.3), ChunkCommand (handle table paging, §3.2.3) and AuditCommand (the
// owners' checksums, §3.6.2). Errors are RFC 5354 causes in the answer, never
// exceptions.
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
#include <functional>
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
  enum class Kind : uint8_t {
    // ASAP (RFC 5352).
    kRegister,
    kRemove,
    kLookup,
    kRenew,
    kResolve,
    kExpire,
    // ENRP (RFC 5353).
    kPeerUpdate,
    kOwner,
    kChunk,
    kAudit,
    // Operators (docs/management.md).
    kManage,
  };
  // Whether the ENRP server issued it (the answers go back to their issuer).
  bool enrp() const { return kind >= Kind::kPeerUpdate && kind != Kind::kManage; }
  // Whether the management interface issued it (ManageCommand::on_answer).
  bool management() const { return kind == Kind::kManage; }
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
// decided), kLookup only reads it, kRenew moves its timer to `expiry` (a PE
// taken over answered us, RFC 5353 §3.5.2).
struct ElementCommand : ShardCommand {
  explicit ElementCommand(Kind k = Kind::kRemove) : ShardCommand(k) {}
  // In.
  PoolHandle handle;
  PoolElementId pe_id = 0;
  // kRemove: remove the PE only while its home is this registrar (0: any
  // home); one that moved to a peer (RFC 5353 §3.3) is that peer's.
  RegistrarId only_home = 0;
  Tick expiry = kNever;  // kRenew
  // Out: whether the PE was there; kRemove: the PE removed (what ENRP's
  // DEL_PE carries, RFC 5353 §3.3).
  bool found = false;
  ElementEntry removed;
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

// RFC 5353 §3.3: a peer's ADD_PE (add, or replace the PE's attributes and
// owner) or DEL_PE; also each PE of a handle table response (§3.2.3).
struct PeerUpdateCommand : ShardCommand {
  PeerUpdateCommand() : ShardCommand(Kind::kPeerUpdate) {}
  // In. pe.home is the owner the peer names.
  protocol::UpdateAction action = protocol::UpdateAction::kAddPe;
  PoolHandle handle;
  protocol::PoolElement pe;
  // ADD_PE: the PE's timer; kNever for a PE another registrar owns (its
  // owner keeps it alive), a deadline for one that comes back to us.
  Tick expiry = kNever;
  // ADD_PE: a PE whose home is `keep_home` now stays as it is (a resync's
  // import does not take a PE we own, docs/decisions.md); 0: any home.
  RegistrarId keep_home = 0;
  // Out. ADD_PE: the registration's result (previous_home tells an
  // ownership move). DEL_PE: whether the PE was there with owner pe.home and
  // is gone (a DEL_PE from an owner the PE has left changes nothing).
  // `kept` when keep_home kept the PE.
  RegisterResult result;
  bool found = false;
  bool kept = false;
};

// Every PE of one owner: RFC 5353 §3.5.2 takeover (the PEs of `owner`
// become `new_owner`'s; `expiry` arms their timers, kNever leaves them) and
// §3.6.3 resync (kMark marks them; kSweep removes those no import unmarked).
struct OwnerCommand : ShardCommand {
  enum class Op : uint8_t { kTakeOver, kMark, kSweep };
  OwnerCommand() : ShardCommand(Kind::kOwner) {}
  // In.
  Op op = Op::kMark;
  RegistrarId owner = 0;
  RegistrarId new_owner = 0;
  Tick expiry = kNever;
  // Out: PEs taken over, marked or swept; kSweep: the PEs removed.
  size_t count = 0;
  std::vector<ElementEntry> swept;
};

// RFC 5353 §3.2.3 handle table paging: up to `max` PEs from `cursor` on (0
// to begin), all of them or those of `owner_filter` (the W flag).
struct ChunkCommand : ShardCommand {
  ChunkCommand() : ShardCommand(Kind::kChunk) {}
  // In.
  uint32_t cursor = 0;
  size_t max = 128;
  RegistrarId owner_filter = 0;
  // Out: the PEs with their slots (a cursor to resume from), and the cursor
  // of the next chunk, kIterationDone when the shard has no more.
  std::vector<uint32_t> slots;
  std::vector<ElementEntry> elements;
  uint32_t next = kIterationDone;
};

// RFC 5353 §3.6.2: how many PEs each owner has here and the word sums of
// their checksums (pe_checksum.h: the shards' sums add up).
struct AuditCommand : ShardCommand {
  AuditCommand() : ShardCommand(Kind::kAudit) {}
  struct Owner {
    RegistrarId id;
    size_t count;
    uint64_t word_sum;
  };
  std::vector<Owner> owners;  // out
};

// The operators' views and run-time limits (docs/management.md): the
// shard's sizes, a summary of every pool, one pool's PEs, or new limits (a
// SIGHUP reload). Its
// answer goes to on_answer, on the thread that collects answers.
struct ManageCommand : ShardCommand {
  enum class Op : uint8_t { kCount, kSummarize, kDescribePool, kSetLimits };
  ManageCommand() : ShardCommand(Kind::kManage) {}
  // In.
  Op op = Op::kSummarize;
  RegistrarId home = 0;  // whose PEs count as owned
  PoolHandle handle;     // kDescribePool
  size_t max = 0;        // kDescribePool: PEs at most
  // kSetLimits: this shard's share of the totals.
  size_t max_pool_elements = 0;
  size_t max_pools = 0;
  size_t max_pool_size = 0;
  // Out.
  size_t pool_count = 0;  // kCount
  size_t element_count = 0;
  size_t owned_count = 0;  // PEs whose home is `home`
  bool found = false;      // kDescribePool
  std::vector<PoolTable::PoolSummary> pools;
  std::vector<PoolTable::ElementDetail> elements;
  std::function<void(ManageCommand*)> on_answer;
};

// Per-shard counters (docs/style.md, "Counters"): declared once, the owner does relaxed
// load+store, other threads relaxed loads.
#define RSPD_HANDLESPACE_SHARD_STATS(X)                                                   \
  X(commands, "commands processed")                                                       \
  X(registrations_added, "new PEs (ASAP registration)")                                   \
  X(registrations_updated, "re-registrations")                                            \
  X(ownership_moves, "PEs whose home registrar changed on (re-)registration")             \
  X(rejected_invalid_values, "registrations rejected: invalid values (0x3)")              \
  X(rejected_policy, "registrations rejected: inconsistent pooling policy (0x5)")         \
  X(rejected_handlespace_full, "new PEs rejected (0x6): max_pool_elements reached")       \
  X(rejected_too_many_pools, "new pools rejected (0x6): max_pools reached")               \
  X(rejected_pool_full, "new PEs rejected (0x6): the pool holds max_pool_size PEs")       \
  X(rejected_transport, "registrations rejected: inconsistent transport type (0x7)")      \
  X(rejected_data_control, "registrations rejected: inconsistent transport use (0x8)")    \
  X(deregistrations, "PEs removed by deregistration or removal")                          \
  X(deregistrations_unknown, "deregistrations of unknown PEs")                            \
  X(resolutions, "handle resolutions answered")                                           \
  X(resolutions_unknown_pool, "handle resolutions for unknown pools (0x9)")               \
  X(pes_selected, "PEs returned by handle resolutions")                                   \
  X(expirations, "PEs removed by lifetime expiry")                                        \
  X(peer_updates_added, "PEs added by a peer's ADD_PE or a handle table")                 \
  X(peer_updates_replaced, "PEs replaced by a peer's ADD_PE or a handle table")           \
  X(peer_updates_rejected, "peers' ADD_PEs the pool's rules rejected (counted, dropped)") \
  X(peer_updates_kept_own, "imported PEs we own: kept as ours")                           \
  X(peer_deletes, "PEs removed by a peer's DEL_PE")                                       \
  X(peer_deletes_stale, "DEL_PEs for a PE unknown or with another owner (no change)")     \
  X(taken_over, "PEs whose owner changed by a takeover (RFC 5353 §3.5.2)")                \
  X(swept, "PEs removed by a resync's sweep (RFC 5353 §3.6.3)")

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
  void DoRenew(ElementCommand& c);
  void DoResolve(ResolveCommand& c, uint32_t pool_hint);
  void DoExpire(ExpireCommand& c);
  void DoPeerUpdate(PeerUpdateCommand& c);
  void DoOwner(OwnerCommand& c);
  void DoChunk(ChunkCommand& c);
  void DoAudit(AuditCommand& c);
  void DoManage(ManageCommand& c);

  const uint32_t index_;
  PoolTable table_;
  Prng rng_;
  ShardStats stats_;
  uint32_t selected_[kMaxResolutionItems];
};

}  // namespace rspd::handlespace
