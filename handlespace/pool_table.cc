// File: handlespace/pool_table.cc

#include "handlespace/pool_table.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include "absl/base/optimization.h"
#include "handlespace/pe_checksum.h"

namespace rspd::handlespace {
namespace {

// WRR as stride scheduling: every selection advances a PE's pass by
// kStrideBase / weight, so over a round each PE is chosen in proportion to
// its weight and its turns are spread evenly (RFC 5356 §4.2.2: "as evenly
// distributed as possible"). kStrideBase = lcm(1..16) * 2^20 makes the stride
// exact for weights 1-16 (and every divisor of it), so small-weight rounds are
// exact; a weight up to 2^32-1 still gets a stride >= 175.
constexpr uint64_t kStrideBase = uint64_t{720720} << 20;
// Weight 0 "is not capable of providing any service" (RFC 5356 §3.2): such a
// PE gets this key and TopK stops before it.
constexpr uint64_t kNeverKey = ~uint64_t{0};
// Pass values are renormalized (all shifted down) when the smallest passes
// this: 2^62 / kStrideBase = 6.1 million selections of a weight-1 PE
// between two O(n) renormalizations.
constexpr uint64_t kPassRenormalize = uint64_t{1} << 62;

uint64_t WrrStride(uint32_t weight) { return weight == 0 ? 0 : kStrideBase / weight; }

bool IsUserTransport(ParamType t) {
  return t == ParamType::kSctpTransport || t == ParamType::kTcpTransport ||
         t == ParamType::kUdpTransport || t == ParamType::kDccpTransport ||
         t == ParamType::kUdpLiteTransport;
}

}  // namespace

PoolTable::PoolTable(const Options& options)
    : options_(options), timers_(options.timer_buckets, options.timer_tick_shift) {
  // One cache line per PE record (the memory budget in pool_table.h).
  static_assert(sizeof(Record) == 64, "PE record must stay 64 bytes");
  options_.max_pool_elements = std::min(options_.max_pool_elements, (size_t{1} << 24) - 1);
  IndexGrow(16);
}

void PoolTable::Reserve(size_t pool_elements) {
  records_.reserve(pool_elements);
  pos_.reserve(pool_elements);
  timers_.Resize(pool_elements);
  size_t cap = 16;
  while (cap < pool_elements * 2) {
    cap <<= 1;
  }
  if (cap > index_.size()) {
    IndexGrow(cap);
  }
}

// ---- (pool, PE id) index -----------------------------------------------------

uint64_t PoolTable::HashKey(uint32_t pool, PoolElementId id) {
  // murmur3 fmix64 over the packed key: PE ids are random (RFC 5352 §3.1 R2.2)
  // but pool indices are small, so mix both into every bit.
  uint64_t k = uint64_t{pool} << 32 | id;
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

namespace {

// Index entry: tag (4 bits of the hash) | distance from the home bucket
// (4 bits, 15 = "15 or more") | slot (24 bits). The tag skips most record
// reads on a probe; the distance lets deletion shift entries back without
// reading their records to rehash them (a record is a random cache miss).
constexpr uint32_t kSlotMask = 0xffffff;
constexpr uint32_t kDibSaturated = 15;
inline uint32_t TagOf(uint64_t h) { return static_cast<uint32_t>(h >> 60); }
inline uint32_t EntryTag(uint32_t e) { return e >> 28; }
inline uint32_t EntryDib(uint32_t e) { return (e >> 24) & 0xf; }
inline uint32_t MakeEntry(uint32_t tag, size_t dib, uint32_t slot) {
  const uint32_t d = dib < kDibSaturated ? static_cast<uint32_t>(dib) : kDibSaturated;
  return tag << 28 | d << 24 | slot;
}

}  // namespace

uint32_t PoolTable::FindInPool(uint32_t pool, PoolElementId id) const {
  const uint64_t h = HashKey(pool, id);
  const uint32_t tag = TagOf(h);
  size_t i = h & index_mask_;
  while (true) {
    const uint32_t e = index_[i];
    if (e == kEmpty) {
      return kNoSlot;
    }
    if (EntryTag(e) == tag) {
      const uint32_t s = e & kSlotMask;
      if (records_[s].id == id && records_[s].pool == pool) {
        return s;
      }
    }
    i = (i + 1) & index_mask_;
  }
}

void PoolTable::IndexInsert(uint32_t slot) {
  if ((element_count_ + 1) * 2 > index_.size()) {
    IndexGrow(index_.size() * 2);
  }
  const uint64_t h = HashKey(records_[slot].pool, records_[slot].id);
  const size_t home = h & index_mask_;
  size_t i = home;
  while (index_[i] != kEmpty) {
    i = (i + 1) & index_mask_;
  }
  index_[i] = MakeEntry(TagOf(h), (i - home) & index_mask_, slot);
}

void PoolTable::IndexErase(uint32_t slot) {
  const uint64_t h = HashKey(records_[slot].pool, records_[slot].id);
  size_t i = h & index_mask_;
  while (index_[i] == kEmpty || (index_[i] & kSlotMask) != slot) {
    i = (i + 1) & index_mask_;
  }
  // Backward-shift deletion (no tombstones): pull later members of the probe
  // run into the hole when their home bucket allows it.
  size_t j = i;
  while (true) {
    j = (j + 1) & index_mask_;
    const uint32_t e = index_[j];
    if (e == kEmpty) {
      break;
    }
    size_t dib = EntryDib(e);
    if (ABSL_PREDICT_FALSE(dib == kDibSaturated)) {
      const uint32_t s = e & kSlotMask;
      dib = (j - (HashKey(records_[s].pool, records_[s].id) & index_mask_)) & index_mask_;
    }
    // The entry may move back to the hole at i if its home is not after i:
    // its distance covers the gap.
    const size_t gap = (j - i) & index_mask_;
    if (dib >= gap) {
      index_[i] = MakeEntry(EntryTag(e), dib - gap, e & kSlotMask);
      i = j;
    }
  }
  index_[i] = kEmpty;
}

void PoolTable::IndexGrow(size_t capacity) {
  HugeVector<uint32_t> old = std::move(index_);
  index_.assign(capacity, kEmpty);
  index_mask_ = capacity - 1;
  for (uint32_t e : old) {
    if (e == kEmpty) {
      continue;
    }
    const uint32_t s = e & kSlotMask;
    const uint64_t h = HashKey(records_[s].pool, records_[s].id);
    const size_t home = h & index_mask_;
    size_t i = home;
    while (index_[i] != kEmpty) {
      i = (i + 1) & index_mask_;
    }
    index_[i] = MakeEntry(TagOf(h), (i - home) & index_mask_, s);
  }
}

// ---- pools -------------------------------------------------------------------

size_t PoolTable::HandleHash::operator()(PoolHandleView h) const {
  const auto load = [](const char* p, size_t n) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    return v;
  };
  const auto mix = [](uint64_t a, uint64_t b) {
    const unsigned __int128 m =
        static_cast<unsigned __int128>(a ^ 0xa0761d6478bd642fULL) * (b ^ 0xe7037ed1a0b428dbULL);
    return static_cast<uint64_t>(m >> 64) ^ static_cast<uint64_t>(m);
  };
  const char* p = h.data();
  size_t n = h.size();
  uint64_t seed = n * 0x8ebc6af09c88c6e3ULL;
  while (n > 16) {
    seed = mix(load(p, 8) ^ seed, load(p + 8, 8));
    p += 16;
    n -= 16;
  }
  uint64_t a = 0;
  uint64_t b = 0;
  if (n >= 8) {
    a = load(p, 8);
    b = load(p + n - 8, 8);
  } else if (n > 0) {
    a = load(p, n);
  }
  return mix(a ^ seed, b ^ 0x589965cc75374cc3ULL);
}

uint32_t PoolTable::FindPool(PoolHandleView handle) const {
  const auto it = pool_index_.find(handle);
  return it == pool_index_.end() ? kNoSlot : it->second;
}

uint32_t PoolTable::FindPoolHinted(PoolHandleView handle, uint32_t hint) const {
  if (hint < pools_.size()) {
    const Pool& pool = pools_[hint];
    if (pool.in_use && PoolHandleView(pool.handle) == handle) {
      return hint;
    }
  }
  return FindPool(handle);
}

uint32_t PoolTable::CreatePool(PoolHandleView handle, const protocol::PoolElement& pe) {
  uint32_t p;
  if (!free_pools_.empty()) {
    p = free_pools_.back();
    free_pools_.pop_back();
  } else {
    p = static_cast<uint32_t>(pools_.size());
    pools_.emplace_back();
  }
  Pool& pool = pools_[p];
  pool.handle.assign(handle.data(), handle.size());
  pool.handle_sum = HandleWordSum(handle);
  // RFC 5352 §3.1 rule 1: the first PE fixes the pool's policy type,
  // transport type and transport use.
  pool.policy = pe.policy.type;
  pool.traits = &TraitsOf(pe.policy.type);
  pool.transport = static_cast<uint8_t>(pe.user.type);
  pool.use = static_cast<uint8_t>(pe.user.use);
  pool.in_use = true;
  pool.size = 0;
  pool.cursor = 0;
  pool.seq = 0;
  pool.registrations = 0;
  pool.resolutions = 0;
  pool_index_.emplace(pool.handle, p);
  return p;
}

void PoolTable::DeletePool(uint32_t p) {
  // RFC 5352 §3.2 / RFC 5353 §3.3: a pool is deleted with its last PE; its
  // policy is free to change with the next first PE.
  Pool& pool = pools_[p];
  pool_index_.erase(pool.handle);
  pool.in_use = false;
  pool.handle.clear();
  pool.handle.shrink_to_fit();
  pool.members = {};
  pool.ordered = OrderedSet();
  pool.weights = WeightTree();
  free_pools_.push_back(p);
}

bool PoolTable::PoolPolicy(PoolHandleView handle, PolicyType* type) const {
  const uint32_t p = FindPool(handle);
  if (p == kNoSlot) {
    return false;
  }
  *type = pools_[p].policy;
  return true;
}

void PoolTable::FillAttributes(const Pool& pool, PoolAttributes* attributes) {
  attributes->policy = pool.policy;
  attributes->transport = static_cast<ParamType>(pool.transport);
  attributes->use = static_cast<TransportUse>(pool.use);
  attributes->size = pool.size;
}

bool PoolTable::GetPoolAttributes(PoolHandleView handle, PoolAttributes* attributes) const {
  const uint32_t p = FindPool(handle);
  if (p == kNoSlot) {
    return false;
  }
  FillAttributes(pools_[p], attributes);
  return true;
}

size_t PoolTable::PoolSize(PoolHandleView handle) const {
  const uint32_t p = FindPool(handle);
  return p == kNoSlot ? 0 : pools_[p].size;
}

// ---- owners ------------------------------------------------------------------

uint16_t PoolTable::OwnerIndex(RegistrarId id) {
  if (id == last_owner_id_ && last_owner_ != 0xffff) {
    return last_owner_;
  }
  const auto it = owner_index_.find(id);
  if (ABSL_PREDICT_TRUE(it != owner_index_.end())) {
    last_owner_id_ = id;
    last_owner_ = it->second;
    return it->second;
  }
  const uint16_t idx = static_cast<uint16_t>(owners_.size());
  owners_.emplace_back();
  owners_.back().id = id;
  owner_index_.emplace(id, idx);
  return idx;
}

void PoolTable::LinkOwner(uint32_t slot, uint16_t owner) {
  Record& r = records_[slot];
  Owner& o = owners_[owner];
  r.owner = owner;
  r.owner_prev = kNoSlot;
  r.owner_next = o.head;
  if (o.head != kNoSlot) {
    records_[o.head].owner_prev = slot;
  } else {
    o.tail = slot;
  }
  o.head = slot;
  ++o.count;
  // RFC 5353 §3.6.2: add the PE's block to its owner's checksum at once.
  o.word_sum += PeBlockSum(pools_[r.pool].handle_sum, r.id);
}

void PoolTable::UnlinkOwner(uint32_t slot) {
  Record& r = records_[slot];
  Owner& o = owners_[r.owner];
  if (r.owner_prev != kNoSlot) {
    records_[r.owner_prev].owner_next = r.owner_next;
  } else {
    o.head = r.owner_next;
  }
  if (r.owner_next != kNoSlot) {
    records_[r.owner_next].owner_prev = r.owner_prev;
  } else {
    o.tail = r.owner_prev;
  }
  --o.count;
  // RFC 5353 §3.6.2: subtract the PE's block (exact integer arithmetic).
  o.word_sum -= PeBlockSum(pools_[r.pool].handle_sum, r.id);
}

uint16_t PoolTable::Checksum(RegistrarId owner) const {
  return FinishChecksum(ChecksumWordSum(owner));
}

uint64_t PoolTable::ChecksumWordSum(RegistrarId owner) const {
  const auto it = owner_index_.find(owner);
  return it == owner_index_.end() ? 0 : owners_[it->second].word_sum;
}

size_t PoolTable::OwnedCount(RegistrarId owner) const {
  const auto it = owner_index_.find(owner);
  return it == owner_index_.end() ? 0 : owners_[it->second].count;
}

size_t PoolTable::TakeOver(RegistrarId from, RegistrarId to, Tick expiry) {
  if (from == to) {
    return 0;
  }
  const auto it = owner_index_.find(from);
  if (it == owner_index_.end() || owners_[it->second].count == 0) {
    return 0;
  }
  const uint16_t fi = it->second;
  const uint16_t ti = OwnerIndex(to);
  Owner& f = owners_[fi];
  Owner& t = owners_[ti];
  // RFC 5353 §3.5.2: the winner marks itself (peers: the sender) as home of
  // every PE the failed registrar owned. The list is spliced whole; only the
  // owner index of each record is rewritten.
  for (uint32_t s = f.head; s != kNoSlot; s = records_[s].owner_next) {
    records_[s].owner = ti;
    if (expiry != kNever) timers_.Arm(s, expiry);
  }
  records_[f.tail].owner_next = t.head;
  if (t.head != kNoSlot) {
    records_[t.head].owner_prev = f.tail;
  } else {
    t.tail = f.tail;
  }
  t.head = f.head;
  const size_t moved = f.count;
  t.count += f.count;
  t.word_sum += f.word_sum;  // checksums move with their blocks
  f = Owner();
  f.id = from;
  return moved;
}

size_t PoolTable::MarkOwner(RegistrarId owner) {
  const auto it = owner_index_.find(owner);
  if (it == owner_index_.end()) {
    return 0;
  }
  size_t n = 0;
  // RFC 5353 §3.6.3 step 1: mark every PE owned by the peer.
  for (uint32_t s = owners_[it->second].head; s != kNoSlot; s = records_[s].owner_next) {
    records_[s].flags |= Record::kMarked;
    ++n;
  }
  return n;
}

size_t PoolTable::SweepOwner(RegistrarId owner, std::vector<ElementEntry>* removed) {
  const auto it = owner_index_.find(owner);
  if (it == owner_index_.end()) {
    return 0;
  }
  // RFC 5353 §3.6.3 step 5: remove the PEs still marked.
  std::vector<uint32_t> doomed;
  for (uint32_t s = owners_[it->second].head; s != kNoSlot; s = records_[s].owner_next) {
    if (records_[s].flags & Record::kMarked) {
      doomed.push_back(s);
    }
  }
  for (uint32_t s : doomed) {
    if (removed != nullptr) {
      removed->emplace_back();
      Remove(s, &removed->back());
    } else {
      Remove(s, nullptr);
    }
  }
  return doomed.size();
}

// ---- addresses ---------------------------------------------------------------

void PoolTable::StoreAddresses(uint32_t slot, const protocol::PoolElement& pe) {
  Record& r = records_[slot];
  if (ABSL_PREDICT_FALSE(pe.user.type == ParamType::kDccpTransport)) {
    dccp_service_[slot] = pe.user.dccp_service_code;
    r.flags |= Record::kDccp;
  }
  r.asap_udp_port = pe.asap.udp_port;
  static_assert(protocol::kMaxTransportAddresses < 16, "address counts are nibbles");
  r.counts = static_cast<uint8_t>(pe.user.addresses.size | pe.asap.addresses.size << 4);
  size_t bytes = 0;
  for (const protocol::IpAddress& a : pe.user.addresses.span()) {
    bytes += a.is_v4() ? 4 : 16;
  }
  for (const protocol::IpAddress& a : pe.asap.addresses.span()) {
    bytes += a.is_v4() ? 4 : 16;
  }
  if (bytes <= sizeof(r.addr)) {
    uint8_t mask = 0;
    size_t off = 0;
    size_t i = 0;
    const auto put = [&](const protocol::IpAddress& a) {
      if (a.is_v4()) {
        std::memcpy(r.addr + off, a.bytes.data() + 12, 4);
        off += 4;
      } else {
        std::memcpy(r.addr + off, a.bytes.data(), 16);
        off += 16;
        mask |= static_cast<uint8_t>(1u << i);
      }
      ++i;
    };
    for (const protocol::IpAddress& a : pe.user.addresses.span()) {
      put(a);
    }
    for (const protocol::IpAddress& a : pe.asap.addresses.span()) {
      put(a);
    }
    r.v6_mask = mask;
    return;
  }
  uint32_t idx;
  if (!free_spills_.empty()) {
    idx = free_spills_.back();
    free_spills_.pop_back();
  } else {
    idx = static_cast<uint32_t>(spills_.size());
    spills_.emplace_back();
  }
  spills_[idx].user = pe.user.addresses;
  spills_[idx].asap = pe.asap.addresses;
  std::memcpy(r.addr, &idx, sizeof(idx));
  r.flags |= Record::kSpilled;
}

void PoolTable::FreeSpill(uint32_t slot) {
  Record& r = records_[slot];
  if (r.flags & Record::kSpilled) {
    uint32_t idx;
    std::memcpy(&idx, r.addr, sizeof(idx));
    free_spills_.push_back(idx);
    r.flags &= static_cast<uint8_t>(~Record::kSpilled);
  }
}

PackedPolicy PoolTable::PolicyOf(uint32_t slot) const {
  const Record& r = records_[slot];
  PackedPolicy p{r.value[0], r.value[1], 0, 0};
  if (ABSL_PREDICT_FALSE(r.flags & Record::kDpf)) {
    const auto& extra = dpf_.find(slot)->second;
    p[2] = extra[0];
    p[3] = extra[1];
  }
  return p;
}

void PoolTable::StorePolicy(uint32_t slot, const PackedPolicy& p, const PolicyTraits& t) {
  Record& r = records_[slot];
  r.value[0] = p[0];
  r.value[1] = p[1];
  if (ABSL_PREDICT_FALSE(t.uses_dpf || t.uses_distance)) {
    dpf_[slot] = {p[2], p[3]};
    r.flags |= Record::kDpf;
  }
}

protocol::PoolElement PoolTable::GetElement(uint32_t slot) const {
  const Record& r = records_[slot];
  const Pool& pool = pools_[r.pool];
  protocol::PoolElement pe;
  pe.id = r.id;
  pe.home = owners_[r.owner].id;
  pe.registration_life = r.registration_life;
  pe.user.type = static_cast<ParamType>(r.user_type);
  pe.user.port = r.user_port;
  pe.user.use =
      (r.flags & Record::kDataControl) ? TransportUse::kDataPlusControl : TransportUse::kDataOnly;
  pe.asap.udp_port = r.asap_udp_port;
  pe.asap.port = r.asap_port;
  pe.policy = UnpackPolicy(pool.policy, PolicyOf(slot));
  if (ABSL_PREDICT_FALSE(r.flags & Record::kDccp)) {
    pe.user.dccp_service_code = dccp_service_.find(slot)->second;
  }

  if (r.flags & Record::kSpilled) {
    uint32_t idx;
    std::memcpy(&idx, r.addr, sizeof(idx));
    pe.user.addresses = spills_[idx].user;
    pe.asap.addresses = spills_[idx].asap;
    return pe;
  }
  size_t off = 0;
  size_t i = 0;
  const auto get = [&]() {
    protocol::IpAddress a;
    if (r.v6_mask & (1u << i)) {
      std::memcpy(a.bytes.data(), r.addr + off, 16);
      off += 16;
    } else {
      a.bytes[10] = a.bytes[11] = 0xff;
      std::memcpy(a.bytes.data() + 12, r.addr + off, 4);
      off += 4;
    }
    ++i;
    return a;
  };
  for (size_t k = 0; k < (r.counts & 0xfu); ++k) {
    pe.user.addresses.push_back(get());
  }
  for (size_t k = 0; k < (r.counts >> 4); ++k) {
    pe.asap.addresses.push_back(get());
  }
  return pe;
}

// ---- selection structures ------------------------------------------------------

uint32_t PoolTable::NextSeq(Pool& pool) {
  if (ABSL_PREDICT_FALSE(pool.seq == 0xffffffffu)) {
    pool.seq = pool.ordered.Resequence();
  }
  return pool.seq++;
}

void PoolTable::SelectionInsert(Pool& pool, uint32_t slot) {
  const Record& r = records_[slot];
  const PolicyTraits& t = *pool.traits;
  switch (t.kind) {
    case SelectorKind::kRoundRobin:
    case SelectorKind::kRandom:
      // RFC 5356 §4.1.2: a new PE joins the circular list (at its end).
      pos_[slot] = static_cast<uint32_t>(pool.members.size());
      GrowGently(pool.members);
      pool.members.push_back(slot);
      break;
    case SelectorKind::kOrdered: {
      uint64_t key;
      if (t.weighted_round_robin) {
        // A new PE starts one stride after the current virtual time, i.e.
        // it joins the current round (RFC 5356 §4.2.2).
        const uint64_t stride = WrrStride(r.value[0]);
        const uint64_t now = pool.ordered.empty() || pool.ordered.top().key == kNeverKey
                                 ? 0
                                 : pool.ordered.top().key;
        key = stride == 0 ? kNeverKey : now + stride;
      } else {
        key = OrderKey(t, PolicyOf(slot), r.degradation);
      }
      pool.ordered.Insert({key, NextSeq(pool), slot}, pos_.data());
      break;
    }
    case SelectorKind::kWeightedRandom:
      pool.weights.Append(slot, RandomWeight(t, PolicyOf(slot), r.degradation), pos_.data());
      break;
  }
}

void PoolTable::SelectionRemove(Pool& pool, uint32_t slot) {
  const uint32_t i = pos_[slot];
  switch (pool.traits->kind) {
    case SelectorKind::kRoundRobin:
    case SelectorKind::kRandom: {
      const uint32_t last = static_cast<uint32_t>(pool.members.size() - 1);
      if (i != last) {
        pool.members[i] = pool.members[last];
        pos_[pool.members[i]] = i;
      }
      pool.members.pop_back();
      if (pool.cursor >= pool.members.size()) {
        pool.cursor = 0;
      }
      break;
    }
    case SelectorKind::kOrdered:
      pool.ordered.RemoveAt(i, pos_.data());
      break;
    case SelectorKind::kWeightedRandom:
      pool.weights.RemoveAt(i, pos_.data());
      break;
  }
}

// After a re-registration changed the PE's policy values (the degradation
// counter is already reset, RFC 5356 §5.2.2).
void PoolTable::SelectionRekey(Pool& pool, uint32_t slot, bool weight_changed) {
  const Record& r = records_[slot];
  const PolicyTraits& t = *pool.traits;
  const uint32_t i = pos_[slot];
  if (t.kind == SelectorKind::kOrdered) {
    const OrderedEntry& e = pool.ordered.at(i);
    uint64_t key;
    if (t.weighted_round_robin) {
      if (!weight_changed) {
        return;  // keeps its place in the round
      }
      const uint64_t stride = WrrStride(r.value[0]);
      const uint64_t top = pool.ordered.top().key;
      key = stride == 0 ? kNeverKey : (top == kNeverKey ? 0 : top) + stride;
    } else {
      key = OrderKey(t, PolicyOf(slot), r.degradation);
    }
    if (key != e.key) {
      pool.ordered.Update(i, key, e.seq, pos_.data());
    }
  } else if (t.kind == SelectorKind::kWeightedRandom) {
    pool.weights.Set(i, RandomWeight(t, PolicyOf(slot), r.degradation));
  }
}

// ---- registration ------------------------------------------------------------

RegisterResult PoolTable::Register(PoolHandleView handle, const protocol::PoolElement& pe,
                                   Tick expiry, uint32_t pool_hint) {
  RegisterResult result;
  // RFC 5352 §3.1 rule 5: the PR MAY reject invalid values.
  if (ABSL_PREDICT_FALSE(handle.empty() || handle.size() > kMaxPoolHandleSize ||
                         protocol::FindPolicy(pe.policy.type) == nullptr ||
                         !IsUserTransport(pe.user.type) || pe.user.addresses.size == 0 ||
                         pe.user.addresses.size > protocol::kMaxTransportAddresses ||
                         pe.asap.addresses.size > protocol::kMaxTransportAddresses)) {
    result.cause = Cause::kInvalidValues;
    return result;
  }
  uint32_t p = FindPoolHinted(handle, pool_hint);
  uint32_t slot = kNoSlot;
  if (p != kNoSlot) {
    const Pool& pool = pools_[p];
    // RFC 5352 §3.1 rules 2 and 3: a new or re-registering PE MUST match the
    // pool's policy type (else cause 0x5), transport type (0x7) and
    // transport use (0x8).
    if (ABSL_PREDICT_FALSE(pe.policy.type != pool.policy)) {
      result.cause = Cause::kInconsistentPoolingPolicy;
      return result;
    }
    if (ABSL_PREDICT_FALSE(static_cast<uint8_t>(pe.user.type) != pool.transport)) {
      result.cause = Cause::kInconsistentTransportType;
      return result;
    }
    if (ABSL_PREDICT_FALSE(static_cast<uint8_t>(pe.user.use) != pool.use)) {
      result.cause = Cause::kInconsistentDataControlConfiguration;
      return result;
    }
    slot = FindInPool(p, pe.id);
  }

  if (slot != kNoSlot) {
    // RFC 5352 §3.1 rule 3: re-registration replaces the PE's attributes.
    Pool& pool = pools_[p];
    Record& r = records_[slot];
    const uint16_t owner = OwnerIndex(pe.home);
    result.previous_home = owners_[r.owner].id;
    if (owner != r.owner) {
      // RFC 5352 §3.1 rule 4: the accepting PR becomes the home, even if
      // another PR owned the PE; the checksum block moves with it.
      UnlinkOwner(slot);
      LinkOwner(slot, owner);
    }
    const PackedPolicy packed = PackPolicy(pe.policy);
    const bool weight_changed = packed[0] != r.value[0];
    const bool rekey = packed != PolicyOf(slot) || r.degradation != 0;
    StorePolicy(slot, packed, *pool.traits);
    r.degradation = 0;  // RFC 5356 §5.2.2: reset on re-registration
    r.registration_life = pe.registration_life;
    r.user_port = pe.user.port;
    r.asap_port = pe.asap.port;
    r.flags &= static_cast<uint8_t>(~Record::kMarked);  // RFC 5353 §3.6.3 step 4
    FreeSpill(slot);
    StoreAddresses(slot, pe);
    if (rekey) {
      SelectionRekey(pool, slot, weight_changed);
    }
    timers_.Arm(slot, expiry);
    ++pool.registrations;
    result.slot = slot;
    return result;
  }

  // RFC 5352 §3.1 rule 5: lack of resources, for new PEs only.
  if (ABSL_PREDICT_FALSE(
          element_count_ >= options_.max_pool_elements ||
          (owner_index_.size() >= 0xffff && owner_index_.find(pe.home) == owner_index_.end()))) {
    result.cause = Cause::kLackOfResources;
    result.limit = CapacityLimit::kPoolElements;
    return result;
  }
  if (ABSL_PREDICT_FALSE(p == kNoSlot ? pool_count() >= options_.max_pools
                                      : pools_[p].size >= options_.max_pool_size)) {
    result.cause = Cause::kLackOfResources;
    result.limit = p == kNoSlot ? CapacityLimit::kPools : CapacityLimit::kPoolSize;
    return result;
  }
  if (p == kNoSlot) {
    p = CreatePool(handle, pe);
    result.pool_created = true;
  }
  if (free_slot_ != kNoSlot) {
    slot = free_slot_;
    free_slot_ = records_[slot].id;
  } else {
    slot = static_cast<uint32_t>(records_.size());
    records_.emplace_back();
    pos_.push_back(0);
    if (timers_.capacity() < records_.size()) {
      timers_.Resize(std::max<size_t>(records_.capacity(), 64));
    }
  }
  Record& r = records_[slot];
  r.pool = p;
  r.id = pe.id;
  r.flags = 0;
  StorePolicy(slot, PackPolicy(pe.policy), *pools_[p].traits);
  r.degradation = 0;  // RFC 5356 §5.2.2: zero on registration
  r.registration_life = pe.registration_life;
  r.user_port = pe.user.port;
  r.asap_port = pe.asap.port;
  r.user_type = static_cast<uint8_t>(pe.user.type);
  // RFC 5354 §3.4: 0 or 1, as the decoder checked.
  if (pe.user.use != TransportUse::kDataOnly) r.flags |= Record::kDataControl;
  StoreAddresses(slot, pe);
  Pool& pool = pools_[p];
  ++pool.size;
  ++pool.registrations;
  ++element_count_;
  IndexInsert(slot);
  LinkOwner(slot, OwnerIndex(pe.home));
  SelectionInsert(pool, slot);
  timers_.Arm(slot, expiry);
  result.added = true;
  result.slot = slot;
  return result;
}

void PoolTable::Remove(uint32_t slot, ElementEntry* removed) {
  Record& r = records_[slot];
  const uint32_t p = r.pool;
  Pool& pool = pools_[p];
  if (removed != nullptr) {
    removed->handle = pool.handle;
    removed->pe = GetElement(slot);
  }
  SelectionRemove(pool, slot);
  UnlinkOwner(slot);
  timers_.Cancel(slot);
  IndexErase(slot);
  FreeSpill(slot);
  if (r.flags & Record::kDpf) {
    dpf_.erase(slot);
  }
  if (r.flags & Record::kDccp) {
    dccp_service_.erase(slot);
  }
  r.flags = Record::kFree;
  r.pool = kNoSlot;
  r.id = free_slot_;
  free_slot_ = slot;
  --element_count_;
  if (--pool.size == 0) {
    DeletePool(p);
  }
}

bool PoolTable::Deregister(PoolHandleView handle, PoolElementId id, ElementEntry* removed,
                           uint32_t pool_hint) {
  const uint32_t p = FindPoolHinted(handle, pool_hint);
  const uint32_t slot = p == kNoSlot ? kNoSlot : FindInPool(p, id);
  if (slot == kNoSlot) {
    return false;
  }
  // RFC 5352 §3.2: remove the PE; the pool goes with its last PE.
  Remove(slot, removed);
  return true;
}

uint32_t PoolTable::PrefetchElement(PoolHandleView handle, PoolElementId id) const {
  const uint32_t p = FindPool(handle);
  if (p != kNoSlot) {
    __builtin_prefetch(&index_[HashKey(p, id) & index_mask_]);
  }
  return p;
}

uint32_t PoolTable::PrefetchSlot(uint32_t pool_hint, PoolElementId id) const {
  if (pool_hint >= pools_.size()) {
    return kNoSlot;
  }
  const uint64_t h = HashKey(pool_hint, id);
  const uint32_t tag = TagOf(h);
  size_t i = h & index_mask_;
  for (int probes = 0; probes < 4; ++probes) {  // the first few buckets only
    const uint32_t e = index_[i];
    if (e == kEmpty) {
      return kNoSlot;
    }
    if (EntryTag(e) == tag) {
      const uint32_t s = e & kSlotMask;
      __builtin_prefetch(&records_[s]);
      __builtin_prefetch(&pos_[s]);
      return s;
    }
    i = (i + 1) & index_mask_;
  }
  return kNoSlot;
}

void PoolTable::PrefetchSelection(uint32_t pool_hint, uint32_t slot) const {
  if (pool_hint >= pools_.size() || slot >= records_.size()) {
    return;
  }
  const Pool& pool = pools_[pool_hint];
  if (!pool.in_use) {
    return;
  }
  const uint32_t at = pos_[slot];
  switch (pool.traits->kind) {
    case SelectorKind::kRoundRobin:
    case SelectorKind::kRandom:
      if (at < pool.members.size()) {
        __builtin_prefetch(&pool.members[at]);
      }
      break;
    case SelectorKind::kOrdered:
      pool.ordered.PrefetchAt(at);
      break;
    case SelectorKind::kWeightedRandom:
      break;
  }
}

uint32_t PoolTable::PrefetchPool(PoolHandleView handle) const {
  const uint32_t p = FindPool(handle);
  if (p == kNoSlot) {
    return p;
  }
  const Pool& pool = pools_[p];
  switch (pool.traits->kind) {
    case SelectorKind::kRoundRobin:
      __builtin_prefetch(&pool.members[pool.cursor]);
      break;
    case SelectorKind::kOrdered:
      pool.ordered.Prefetch();
      break;
    case SelectorKind::kRandom:
    case SelectorKind::kWeightedRandom:
      break;  // random positions: nothing useful to fetch ahead
  }
  return p;
}

void PoolTable::PrefetchPoolDeeper(uint32_t pool_hint) const {
  if (pool_hint < pools_.size() && pools_[pool_hint].in_use &&
      pools_[pool_hint].traits->kind == SelectorKind::kOrdered) {
    pools_[pool_hint].ordered.PrefetchSecondLevel();
  }
}

uint32_t PoolTable::Find(PoolHandleView handle, PoolElementId id) const {
  const uint32_t p = FindPool(handle);
  return p == kNoSlot ? kNoSlot : FindInPool(p, id);
}

bool PoolTable::SetExpiry(PoolHandleView handle, PoolElementId id, Tick expiry) {
  const uint32_t slot = Find(handle, id);
  if (slot == kNoSlot) {
    return false;
  }
  timers_.Arm(slot, expiry);
  return true;
}

size_t PoolTable::Expire(Tick now, std::vector<ElementEntry>* removed) {
  fired_.clear();
  timers_.Expire(now, &fired_);
  // RFC 5352 §2.2.4 / RFC 5353 §3.3.2: an expired registration is removed
  // (the caller answers the PE and announces DEL_PE from `removed`).
  for (uint32_t slot : fired_) {
    if (removed != nullptr) {
      removed->emplace_back();
      Remove(slot, &removed->back());
    } else {
      Remove(slot, nullptr);
    }
  }
  return fired_.size();
}

// ---- handle resolution ---------------------------------------------------------

Cause PoolTable::Resolve(PoolHandleView handle, const ResolveOptions& options, Prng& rng,
                         uint32_t* out, size_t* count, uint32_t pool_hint,
                         PoolAttributes* attributes) {
  *count = 0;
  const uint32_t p = FindPoolHinted(handle, pool_hint);
  if (ABSL_PREDICT_FALSE(p == kNoSlot)) {
    // RFC 5352 §3.3: a missing pool is answered with Unknown Pool Handle.
    return Cause::kUnknownPoolHandle;
  }
  Pool& pool = pools_[p];
  if (attributes != nullptr) FillAttributes(pool, attributes);
  const PolicyTraits& t = *pool.traits;
  const size_t want = std::min<size_t>({options.max_items, kMaxResolutionItems, size_t{pool.size}});
  size_t n = 0;
  switch (t.kind) {
    case SelectorKind::kRoundRobin: {
      // RFC 5356 §4.1.2: return PEs from the circular list starting at the
      // head, then advance the head (by one, or by max_increment).
      const size_t size = pool.members.size();
      size_t c = pool.cursor;
      for (; n < want; ++n) {
        out[n] = pool.members[c];
        if (++c == size) {
          c = 0;
        }
      }
      const size_t inc = options.max_increment == 0 ? 1 : options.max_increment;
      size_t next = pool.cursor + std::min(inc, n);  // n <= size: one wrap at most
      if (next >= size) {
        next -= size;
      }
      pool.cursor = static_cast<uint32_t>(next);
      break;
    }
    case SelectorKind::kRandom: {
      // RFC 5356 §4.3.2: at most the requested number, no PE twice (MUST).
      // Floyd's sampling draws exactly `want` uniform distinct positions;
      // a Fisher-Yates pass then makes their order uniform too.
      const size_t size = pool.members.size();
      uint32_t pick[kMaxResolutionItems];
      for (size_t j = size - want; j < size; ++j) {
        const uint32_t r = static_cast<uint32_t>(rng.Uniform(j + 1));
        const bool dup = std::find(pick, pick + n, r) != pick + n;
        pick[n++] = dup ? static_cast<uint32_t>(j) : r;
      }
      for (size_t i = n; i > 1; --i) {
        std::swap(pick[i - 1], pick[rng.Uniform(i)]);
      }
      for (size_t i = 0; i < n; ++i) {
        out[i] = pool.members[pick[i]];
      }
      break;
    }
    case SelectorKind::kOrdered: {
      // RFC 5356 §5.1.2 (and §4.2, §4.5, §5.2, §5.3): the lowest keys,
      // ascending, no duplicates; equal keys in round-robin order through
      // the sequence number, which a selected PE renews (moving it behind
      // its equals).
      uint32_t index[kMaxResolutionItems];
      n = pool.ordered.TopK(want, kNeverKey, out, index);
      const size_t inc = options.max_increment != 0 ? options.max_increment : t.degrades ? n : 1;
      const size_t updates = std::min(inc, n);
      for (size_t i = 0; i < updates; ++i) {
        // The first update is at the index TopK saw; later ones may have
        // been moved by earlier updates, so their position is looked up.
        const uint32_t at = i == 0 ? index[0] : pos_[out[i]];
        uint64_t key = pool.ordered.at(at).key;
        if (t.weighted_round_robin) {
          key += WrrStride(records_[out[i]].value[0]);
        } else if (t.degrades) {
          // RFC 5356 §5.2.2: the degradation counter of a returned PE is
          // incremented; kept as counter * load_degradation, saturating.
          Record& r = records_[out[i]];
          r.degradation = Saturate32(uint64_t{r.degradation} + r.value[1]);
          key = OrderKey(t, PolicyOf(out[i]), r.degradation);
        }
        // Otherwise the key is unchanged; the new sequence number moves the
        // PE behind its equals (round robin among ties, RFC 5356 §5.1.2).
        pool.ordered.Update(at, key, NextSeq(pool), pos_.data());
      }
      if (t.weighted_round_robin && !pool.ordered.empty() &&
          ABSL_PREDICT_FALSE(pool.ordered.top().key >= kPassRenormalize &&
                             pool.ordered.top().key != kNeverKey)) {
        pool.ordered.ShiftKeys(pool.ordered.top().key, kNeverKey);
      }
      break;
    }
    case SelectorKind::kWeightedRandom: {
      // RFC 5356 §4.4.2 / §5.4.2: draw with probability weight / sum of
      // weights, no PE twice: a drawn PE's weight is zeroed until the end of
      // this resolution, then restored.
      uint32_t at[kMaxResolutionItems];
      uint32_t w[kMaxResolutionItems];
      while (n < want && pool.weights.total() > 0) {
        const size_t i = pool.weights.Find(rng.Uniform(pool.weights.total()));
        at[n] = static_cast<uint32_t>(i);
        w[n] = pool.weights.weight_at(i);
        out[n] = pool.weights.slot_at(i);
        pool.weights.Set(i, 0);
        ++n;
      }
      for (size_t i = 0; i < n; ++i) {
        pool.weights.Set(at[i], w[i]);
      }
      if (t.degrades) {
        const size_t inc = options.max_increment != 0 ? options.max_increment : n;
        for (size_t i = 0; i < std::min(inc, n); ++i) {
          Record& r = records_[out[i]];
          r.degradation = Saturate32(uint64_t{r.degradation} + r.value[1]);
          pool.weights.Set(at[i], RandomWeight(t, PolicyOf(out[i]), r.degradation));
        }
      }
      break;
    }
  }
  ++pool.resolutions;
  *count = n;
  return kNoError;
}

// ---- operators' views ---------------------------------------------------------

void PoolTable::SummarizePools(RegistrarId home, std::vector<PoolSummary>* out) const {
  out->clear();
  std::vector<uint32_t> summary_of(pools_.size(), kNoSlot);
  for (uint32_t p = 0; p < pools_.size(); ++p) {
    const Pool& pool = pools_[p];
    if (!pool.in_use) continue;
    summary_of[p] = static_cast<uint32_t>(out->size());
    PoolSummary& s = out->emplace_back();
    s.handle = pool.handle;
    s.policy = pool.policy;
    s.elements = pool.size;
    s.registrations = pool.registrations;
    s.resolutions = pool.resolutions;
  }
  if (home == 0) return;
  for (uint32_t slot = 0; slot < records_.size(); ++slot) {
    const Record& r = records_[slot];
    if ((r.flags & Record::kFree) == 0 && owners_[r.owner].id == home) {
      ++(*out)[summary_of[r.pool]].owned;
    }
  }
}

bool PoolTable::DescribePool(PoolHandleView handle, RegistrarId home, size_t max,
                             PoolSummary* summary, std::vector<ElementDetail>* out) const {
  out->clear();
  const uint32_t p = FindPool(handle);
  if (p == kNoSlot) return false;
  const Pool& pool = pools_[p];
  *summary = PoolSummary();
  summary->handle = pool.handle;
  summary->policy = pool.policy;
  summary->elements = pool.size;
  summary->registrations = pool.registrations;
  summary->resolutions = pool.resolutions;
  const bool round_robin = pool.traits->kind == SelectorKind::kRoundRobin;
  for (uint32_t slot = 0; slot < records_.size(); ++slot) {
    const Record& r = records_[slot];
    if ((r.flags & Record::kFree) != 0 || r.pool != p) continue;
    if (owners_[r.owner].id == home) ++summary->owned;
    if (out->size() >= max) continue;
    ElementDetail& d = out->emplace_back();
    d.pe = GetElement(slot);
    d.expiry = timers_.deadline(slot);
    d.degradation = r.degradation;
    d.next = round_robin && !pool.members.empty() && pool.members[pool.cursor] == slot;
  }
  return true;
}

void PoolTable::SetLimits(size_t max_pool_elements, size_t max_pools, size_t max_pool_size) {
  // The index encodes slots in 24 bits (Options::max_pool_elements).
  options_.max_pool_elements = std::min(max_pool_elements, (size_t{1} << 24) - 1);
  options_.max_pools = max_pools;
  options_.max_pool_size = max_pool_size;
}

// ---- iteration -----------------------------------------------------------------

uint32_t PoolTable::IterateChunk(uint32_t cursor, size_t max, std::vector<uint32_t>* out,
                                 RegistrarId owner_filter) const {
  const size_t end = records_.size();
  size_t s = cursor;
  size_t taken = 0;
  int filter = -1;
  if (owner_filter != 0) {
    const auto it = owner_index_.find(owner_filter);
    if (it == owner_index_.end()) {
      return kIterationDone;
    }
    filter = it->second;
  }
  for (; s < end && taken < max; ++s) {
    const Record& r = records_[s];
    if (r.flags & Record::kFree) {
      continue;
    }
    if (filter >= 0 && r.owner != filter) {
      continue;
    }
    out->push_back(static_cast<uint32_t>(s));
    ++taken;
  }
  return s >= end ? kIterationDone : static_cast<uint32_t>(s);
}

size_t PoolTable::MemoryBytes() const {
  size_t bytes = records_.capacity() * sizeof(Record) + pos_.capacity() * sizeof(uint32_t) +
                 index_.capacity() * sizeof(uint32_t) + timers_.MemoryBytes() +
                 pools_.capacity() * sizeof(Pool) + owners_.capacity() * sizeof(Owner) +
                 spills_.capacity() * sizeof(Spill) + free_spills_.capacity() * sizeof(uint32_t) +
                 free_pools_.capacity() * sizeof(uint32_t);
  for (const Pool& pool : pools_) {
    bytes += pool.handle.capacity() + pool.members.capacity() * sizeof(uint32_t) +
             pool.ordered.MemoryBytes() + pool.weights.MemoryBytes();
  }
  // Hash maps: one control byte plus the slot per bucket (approximation).
  bytes += pool_index_.capacity() * (1 + sizeof(std::pair<std::string, uint32_t>));
  bytes += owner_index_.capacity() * (1 + sizeof(std::pair<RegistrarId, uint16_t>));
  return bytes;
}

}  // namespace rspd::handlespace
