// File: handlespace/pool_table.h
//
// The handlespace of one shard: pools, their pool elements, the per-policy
// selection state, ownership sets with incremental PE checksums, and the
// lifetime timers. Single writer, no locks, no I/O, no clock, no threads.
//
// Rules implemented (each cited where it is enforced in pool_table.cc):
//   RFC 5352 §3.1 registration rules 1-5 (pool creation, consistency of
//     policy type, transport type and transport use, re-registration,
//     ownership move), §3.2 deregistration (pool deleted when empty),
//     §3.3 handle resolution with RFC 5356 selection for every policy.
//   RFC 5353 §3.3 ADD_PE/DEL_PE (same entry points), §3.5.2 takeover
//     (re-home all PEs of an owner), §3.6.2 PE checksums per owner,
//     §3.6.3 mark-and-sweep resync, §3.2.3 chunked handle table iteration.
//
// Memory (the target is <= 128 bytes per PE at 1M PEs): a PE is a
// 64-byte record (one cache line) in a slot array with a free list (no heap
// node per PE), a 4-byte entry in an open-addressing (pool, PE id) index at load <= 1/2,
// 4 bytes of selection position, 16 bytes of timer links and deadline, and
// 4-16 bytes in its pool's selection structure. Pool handles are stored once
// per pool. Addresses are inline when they fit 20 bytes (e.g. one IPv6 user
// address and one IPv4 ASAP address, or up to five IPv4 addresses), else
// they spill to a side table.
//
// Example:
//   PoolTable table;
//   RegisterResult r = table.Register("echo", pe, /*expiry=*/now + 30000);
//   if (r.cause != kNoError) { /* send REGISTRATION_RESPONSE R=1 with r.cause */ }
//   uint32_t slots[3];
//   size_t n = 0;
//   Cause c = table.Resolve("echo", ResolveOptions{3, 0}, rng, slots, &n);

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "handlespace/huge_page_allocator.h"
#include "handlespace/policy.h"
#include "handlespace/prng.h"
#include "handlespace/selection.h"
#include "handlespace/timer_wheel.h"
#include "handlespace/types.h"

namespace rspd::handlespace {

inline constexpr uint32_t kNoSlot = 0xffffffffu;
inline constexpr uint32_t kIterationDone = 0xffffffffu;

// Which cap refused a new PE with Lack of Resources (RFC 5352 §3.1 rule 5).
enum class CapacityLimit : uint8_t {
  kNone,
  kPoolElements,  // Options::max_pool_elements (the table is full)
  kPools,         // Options::max_pools (a new pool would be one too many)
  kPoolSize,      // Options::max_pool_size (the pool is full)
};

struct RegisterResult {
  Cause cause = kNoError;
  CapacityLimit limit = CapacityLimit::kNone;  // with kLackOfResources
  bool added = false;                          // a new PE (false: re-registration / update)
  bool pool_created = false;                   // RFC 5352 §3.1 rule 1
  // On an update, the home registrar before it (ownership moves when it
  // differs from the new one, RFC 5352 §3.1 rule 4).
  RegistrarId previous_home = 0;
  uint32_t slot = kNoSlot;
};

// What the first PE fixed for its pool (RFC 5352 §3.1 rule 1), e.g. for the
// parameters of an Inconsistent Pooling Policy / Transport Type rejection.
struct PoolAttributes {
  PolicyType policy = PolicyType::kRoundRobin;
  ParamType transport = ParamType::kSctpTransport;
  TransportUse use = TransportUse::kDataOnly;
  size_t size = 0;  // PEs in the pool
};

struct ResolveOptions {
  // How many PEs to return at most (RFC 5356 "at most the requested number";
  // RSPLIB MaxHResItems, default 3); capped at kMaxResolutionItems.
  uint32_t max_items = 3;
  // How many of the returned PEs get their per-PE selection state advanced
  // (round-robin head, tie-break sequence, degradation counter), as RSPLIB's
  // MaxIncrement. 0 = the policy's RFC default: 1 for RR, WRR, PRIO, LU, PLU
  // and the DPF orderings (RFC 5356 §4.1.2 "advanced by one element"); every
  // returned PE for the degradation policies (§5.2.2: the counter MUST be
  // incremented for each entry returned); none for RAND and WRAND.
  uint32_t max_increment = 0;
};

// A PE with its pool handle: what a handle table chunk carries, and what
// expiry, sweep or deregistration removed (for the caller's
// DEREGISTRATION_RESPONSE / ENRP DEL_PE announcement).
struct ElementEntry {
  PoolHandle handle;
  protocol::PoolElement pe;
};

class PoolTable {
 public:
  struct Options {
    // Timer wheel: 4096 buckets of 16 ticks = 65.5 s per revolution at 1 ms
    // ticks, just over RSPLIB's default 30 s lifetimes plus keep-alive timeouts,
    // so most timers are visited once.
    size_t timer_buckets = 4096;
    unsigned timer_tick_shift = 4;
    // New PEs beyond these are rejected with Lack of Resources (RFC 5352
    // §3.1 rule 5); re-registrations of PEs already held never are. The
    // index encodes slots in 24 bits.
    size_t max_pool_elements = (size_t{1} << 24) - 1;
    size_t max_pools = SIZE_MAX;
    size_t max_pool_size = SIZE_MAX;  // PEs in one pool
  };

  PoolTable() : PoolTable(Options()) {}
  explicit PoolTable(const Options& options);
  PoolTable(const PoolTable&) = delete;
  PoolTable& operator=(const PoolTable&) = delete;

  // Pre-sizes the PE arrays and the index for `pool_elements` PEs.
  void Reserve(size_t pool_elements);

  // RFC 5352 §3.1 registration and RFC 5353 §3.3 ADD_PE: adds the PE or
  // replaces its attributes, makes `pe.home` its owner, and arms its timer
  // for `expiry` (kNever: no timer). Rejections carry the RFC 5354 cause.
  // `pool_hint` is what PrefetchElement returned for this command (optional).
  RegisterResult Register(PoolHandleView handle, const protocol::PoolElement& pe, Tick expiry,
                          uint32_t pool_hint = kNoSlot);

  // RFC 5352 §3.2 deregistration and RFC 5353 §3.3 DEL_PE. Returns false if
  // the PE is unknown (the ASAP reply is still a success, §3.2).
  bool Deregister(PoolHandleView handle, PoolElementId id, ElementEntry* removed = nullptr,
                  uint32_t pool_hint = kNoSlot);

  // RFC 5352 §3.3 handle resolution: selects up to `options.max_items` PEs by
  // the pool's policy (RFC 5356), writes their slots to `out` (room for
  // kMaxResolutionItems) and sets `*count`. Updates per-policy state. Returns
  // kUnknownPoolHandle for a missing pool.
  // `pool_hint`: what PrefetchPool returned for this resolution (optional).
  // `attributes` (optional) gets the pool's, as GetPoolAttributes would.
  Cause Resolve(PoolHandleView handle, const ResolveOptions& options, Prng& rng, uint32_t* out,
                size_t* count, uint32_t pool_hint = kNoSlot, PoolAttributes* attributes = nullptr);

  // Re-arms the timer of a PE (keep-alive answered, timeout moved). False if unknown.
  bool SetExpiry(PoolHandleView handle, PoolElementId id, Tick expiry);
  // Removes every PE whose timer is due at `now`; appends them to `removed`
  // when given. Returns how many were removed.
  size_t Expire(Tick now, std::vector<ElementEntry>* removed);

  // RFC 5353 §3.5.2: every PE owned by `from` becomes owned by `to`; both
  // checksums move with them. O(PEs of `from`). Returns how many moved.
  // `expiry` arms the timers of the moved PEs (the registrar that takes them
  // over removes those that never answer it); kNever leaves them as they were.
  size_t TakeOver(RegistrarId from, RegistrarId to, Tick expiry = kNever);
  // RFC 5353 §3.6.2 PE checksum of `owner` (0xffff for an owner with no PEs,
  // the RFC 1071 checksum of nothing).
  uint16_t Checksum(RegistrarId owner) const;
  // The integer word sum behind Checksum (pe_checksum.h): sums of several
  // shards add up, and FinishChecksum of the total is the registrar-wide
  // checksum of `owner`.
  uint64_t ChecksumWordSum(RegistrarId owner) const;
  size_t OwnedCount(RegistrarId owner) const;
  // Calls fn(owner, count, word_sum) for every owner with PEs here (RFC 5353
  // §3.6.2: the audit's checksums of every registrar).
  template <typename Fn>
  void ForEachOwner(Fn fn) const {
    for (const Owner& o : owners_) {
      if (o.count != 0) fn(o.id, o.count, o.word_sum);
    }
  }
  // RFC 5353 §3.6.3 resync: mark every PE of `owner`; a registration or
  // update of a PE unmarks it; SweepOwner removes those still marked.
  size_t MarkOwner(RegistrarId owner);
  size_t SweepOwner(RegistrarId owner, std::vector<ElementEntry>* removed);
  // Calls fn(slot) for every PE owned by `owner` (e.g. the H=1 keep-alives
  // after a takeover). `fn` must not modify the table.
  template <typename Fn>
  void ForEachOwned(RegistrarId owner, Fn fn) const;

  // RFC 5353 §3.2.3 handle table paging: appends up to `max` slots in slot
  // order starting at `cursor` (0 to begin), optionally only PEs owned by
  // `owner_filter` (W flag; 0 = all). Returns the cursor for the next chunk
  // or kIterationDone. PEs added or removed meanwhile may or may not appear.
  uint32_t IterateChunk(uint32_t cursor, size_t max, std::vector<uint32_t>* out,
                        RegistrarId owner_filter = 0) const;

  // Burst support (work moves in bursts, docs/architecture.md). A shard that holds a
  // burst of commands first prefetches what each will touch, then runs them,
  // so that the cache misses of a burst overlap instead of queueing: the
  // (pool, PE id) index bucket of a registration, re-registration or
  // deregistration, and the selection head of a resolution. Hints only; they
  // change nothing. PrefetchElement returns a pool hint for the command's
  // Register/Deregister call, which then skips hashing the handle again (a
  // hint is checked, so a stale one is harmless).
  uint32_t PrefetchElement(PoolHandleView handle, PoolElementId id) const;
  // Later passes over the same burst, once the previous pass's lines have
  // had time to arrive: PrefetchSlot reads the index bucket and prefetches
  // the PE's record and selection position (returning the probable slot,
  // unverified); PrefetchSelection prefetches the PE's entry in its pool's
  // selection structure (heap entry, list or tree position).
  uint32_t PrefetchSlot(uint32_t pool_hint, PoolElementId id) const;
  void PrefetchSelection(uint32_t pool_hint, uint32_t slot) const;
  // Returns a pool hint for Resolve. PrefetchPoolDeeper is a second pass
  // for a multi-item resolution of an ordered pool: it reads the root's
  // children and prefetches the children of the smallest.
  uint32_t PrefetchPool(PoolHandleView handle) const;
  void PrefetchPoolDeeper(uint32_t pool_hint) const;

  // Lookups. Slots are valid until the next modification of the table.
  uint32_t Find(PoolHandleView handle, PoolElementId id) const;
  protocol::PoolElement GetElement(uint32_t slot) const;
  PoolElementId element_id(uint32_t slot) const { return records_[slot].id; }
  RegistrarId home(uint32_t slot) const { return owners_[records_[slot].owner].id; }
  PoolHandleView pool_handle(uint32_t slot) const { return pools_[records_[slot].pool].handle; }
  // The pool's policy type (fixed by its first PE), or false if no such pool.
  bool PoolPolicy(PoolHandleView handle, PolicyType* type) const;
  // The pool's policy type, transport type and use, or false if no such pool.
  bool GetPoolAttributes(PoolHandleView handle, PoolAttributes* attributes) const;
  size_t PoolSize(PoolHandleView handle) const;

  size_t pool_count() const { return pool_index_.size(); }
  size_t element_count() const { return element_count_; }

  // Operators' views (docs/management.md). Each is one pass over every PE
  // of the table: for the management interface, never on a protocol path.
  struct PoolSummary {
    std::string handle;
    PolicyType policy = PolicyType::kRoundRobin;
    size_t elements = 0;
    size_t owned = 0;  // PEs whose home is the `home` asked about
    // Registrations and peers' updates taken, and handle resolutions
    // answered, since the pool was created.
    uint64_t registrations = 0;
    uint64_t resolutions = 0;
  };
  void SummarizePools(RegistrarId home, std::vector<PoolSummary>* out) const;
  struct ElementDetail {
    protocol::PoolElement pe;
    Tick expiry = kNever;      // kNever: no timer here (another registrar keeps it)
    uint32_t degradation = 0;  // RFC 5356 §5.2.2 counter, times the load degradation
    bool next = false;         // round robin: the PE the next resolution starts at
  };
  // Up to `max` PEs of the pool, in slot order; false when there is no such
  // pool.
  bool DescribePool(PoolHandleView handle, RegistrarId home, size_t max, PoolSummary* summary,
                    std::vector<ElementDetail>* out) const;
  // Changes the limits of new PEs and pools (SIGHUP reload); what is held
  // stays, even past a lowered limit.
  void SetLimits(size_t max_pool_elements, size_t max_pools, size_t max_pool_size);
  // Bytes held by all structures (capacities, not sizes).
  size_t MemoryBytes() const;

 private:
  struct Record {
    static constexpr uint8_t kMarked = 1;        // RFC 5353 §3.6.3 resync mark
    static constexpr uint8_t kSpilled = 2;       // addresses in spills_
    static constexpr uint8_t kDpf = 4;           // DPF values in dpf_
    static constexpr uint8_t kDccp = 8;          // DCCP service code in dccp_service_
    static constexpr uint8_t kDataControl = 16;  // user transport use: data plus control
    static constexpr uint8_t kFree = 0x80;       // slot on the free list
    uint32_t pool;
    PoolElementId id;  // next free slot while free
    uint32_t owner_prev;
    uint32_t owner_next;
    uint32_t value[2];     // PackedPolicy[0..1]; [2..3] (DPF) in dpf_
    uint32_t degradation;  // RFC 5356 §5.2.2 accumulator
    int32_t registration_life;
    uint16_t owner;  // index into owners_
    uint16_t user_port;
    uint16_t asap_port;
    uint16_t asap_udp_port;  // SCTP over UDP (RFC 6951); 0: not known
    uint8_t user_type;       // ParamType of the user transport
    uint8_t flags;
    uint8_t counts;    // addresses: user (low nibble), ASAP (high nibble), each <= 8
    uint8_t v6_mask;   // bit i: inline address i is IPv6
    uint8_t addr[20];  // inline addresses, or spill index
  };

  // Hot fields of a resolution first: traits, counters, the ordered heap's
  // and the member list's pointers share the first cache line.
  struct alignas(64) Pool {
    const PolicyTraits* traits = nullptr;
    uint32_t size = 0;
    uint32_t cursor = 0;  // RR head (RFC 5356 §4.1.2)
    uint32_t seq = 0;     // next tie-break sequence number (ordered policies)
    bool in_use = false;
    uint8_t transport = 0;  // RFC 5352 §3.1: fixed by the first PE
    uint8_t use = 0;
    OrderedSet ordered;
    HugeVector<uint32_t> members;  // RR and RAND
    PolicyType policy = PolicyType::kRoundRobin;
    uint32_t handle_sum = 0;  // HandleWordSum(handle), RFC 5353 §3.6.2
    std::string handle;
    // For the operators' views (SummarizePools): beside the handle, which
    // every command reads, so that counting costs no extra cache line.
    uint64_t registrations = 0;
    uint64_t resolutions = 0;
    WeightTree weights;
  };
  struct Owner {
    RegistrarId id = 0;
    uint32_t head = kNoSlot;
    uint32_t tail = kNoSlot;
    uint32_t count = 0;
    uint64_t word_sum = 0;  // pe_checksum.h: integer sum of the owned blocks
  };
  struct Spill {
    protocol::AddressList user;
    protocol::AddressList asap;
  };

  uint32_t FindPool(PoolHandleView handle) const;
  uint32_t FindPoolHinted(PoolHandleView handle, uint32_t hint) const;
  static void FillAttributes(const Pool& pool, PoolAttributes* attributes);
  uint32_t CreatePool(PoolHandleView handle, const protocol::PoolElement& pe);
  void DeletePool(uint32_t pool);
  uint32_t FindInPool(uint32_t pool, PoolElementId id) const;
  uint16_t OwnerIndex(RegistrarId id);  // creates the owner
  void LinkOwner(uint32_t slot, uint16_t owner);
  void UnlinkOwner(uint32_t slot);
  void StoreAddresses(uint32_t slot, const protocol::PoolElement& pe);
  void FreeSpill(uint32_t slot);
  PackedPolicy PolicyOf(uint32_t slot) const;
  void StorePolicy(uint32_t slot, const PackedPolicy& p, const PolicyTraits& t);
  void SelectionInsert(Pool& pool, uint32_t slot);
  void SelectionRemove(Pool& pool, uint32_t slot);
  void SelectionRekey(Pool& pool, uint32_t slot, bool reset_position);
  uint32_t NextSeq(Pool& pool);
  void Remove(uint32_t slot, ElementEntry* removed);

  // (pool, PE id) -> slot index: open addressing, linear probing, load <= 1/2.
  // An entry is tag (4 bits) | probe distance (4 bits) | slot (24 bits), see
  // pool_table.cc; kEmpty marks a free bucket.
  static constexpr uint32_t kEmpty = 0xffffffffu;
  static uint64_t HashKey(uint32_t pool, PoolElementId id);
  void IndexInsert(uint32_t slot);
  void IndexErase(uint32_t slot);
  void IndexGrow(size_t capacity);

  Options options_;
  HugeVector<Record> records_;
  HugeVector<uint32_t> pos_;  // slot -> position in its pool's selection structure
  uint32_t free_slot_ = kNoSlot;
  size_t element_count_ = 0;
  HugeVector<uint32_t> index_;
  size_t index_mask_ = 0;
  std::vector<Pool> pools_;
  std::vector<uint32_t> free_pools_;
  // Handle hashing is on every command's path: a short-string hash that
  // reads the handle in at most two overlapping 8-byte loads (handles are
  // typically 4-32 bytes) and one multiply per 16 bytes.
  struct HandleHash {
    using is_transparent = void;
    size_t operator()(PoolHandleView h) const;
  };
  struct HandleEq {
    using is_transparent = void;
    bool operator()(PoolHandleView a, PoolHandleView b) const { return a == b; }
  };
  absl::flat_hash_map<std::string, uint32_t, HandleHash, HandleEq> pool_index_;
  std::vector<Owner> owners_;
  absl::flat_hash_map<RegistrarId, uint16_t> owner_index_;
  // Most PEs have the same home (this registrar): skip the map for it.
  RegistrarId last_owner_id_ = 0;
  uint16_t last_owner_ = 0xffff;
  std::vector<Spill> spills_;
  // DPF and distance of the RSPLIB DPF policies (rare; keeps the record at
  // 64 bytes, one cache line).
  absl::flat_hash_map<uint32_t, std::array<uint32_t, 2>> dpf_;
  // DCCP service codes (RFC 5354 §3.3), likewise rare.
  absl::flat_hash_map<uint32_t, uint32_t> dccp_service_;
  std::vector<uint32_t> free_spills_;
  TimerWheel timers_;
  std::vector<uint32_t> fired_;  // scratch for Expire
};

template <typename Fn>
void PoolTable::ForEachOwned(RegistrarId owner, Fn fn) const {
  const auto it = owner_index_.find(owner);
  if (it == owner_index_.end()) {
    return;
  }
  for (uint32_t s = owners_[it->second].head; s != kNoSlot; s = records_[s].owner_next) {
    fn(s);
  }
}

}  // namespace rspd::handlespace
