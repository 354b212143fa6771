// File: handlespace/shard.cc

#include "handlespace/shard.h"

#include <algorithm>

#include "handlespace/pe_checksum.h"

namespace rspd::handlespace {

HandlespaceShard::HandlespaceShard(uint32_t index, const Options& options)
    : index_(index), table_(options.table), rng_(options.seed) {
  if (options.reserve_elements > 0) {
    table_.Reserve(options.reserve_elements);
  }
}

size_t HandlespaceShard::Poll(Ring& in, Ring& out) {
  ShardRequest* burst[kMaxBurst];
  uint32_t hint[kMaxBurst];
  uint32_t slot[kMaxBurst];
  const size_t room = std::min(kMaxBurst, out.FreeCount());
  const size_t n = in.DequeueBurst(absl::MakeSpan(burst, room));
  // Prefetch pass, then the work: the burst's cache misses overlap.
  for (size_t i = 0; i < n; ++i) {
    const ShardRequest& r = *burst[i];
    hint[i] = kNoSlot;
    switch (r.op) {
      case ShardOp::kRegister:
      case ShardOp::kPeerUpdate:
        hint[i] = table_.PrefetchElement(r.handle, r.pe.id);
        break;
      case ShardOp::kDeregister:
      case ShardOp::kPeerRemove:
      case ShardOp::kSetExpiry:
      case ShardOp::kLookup:
        hint[i] = table_.PrefetchElement(r.handle, r.pe_id);
        break;
      case ShardOp::kResolve:
        hint[i] = table_.PrefetchPool(r.handle);
        break;
      default:
        break;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const ShardRequest& r = *burst[i];
    if (r.op == ShardOp::kResolve) {
      slot[i] = kNoSlot;
      if (r.resolve.max_items > 1) {
        table_.PrefetchPoolDeeper(hint[i]);
      }
      continue;
    }
    slot[i] = hint[i] == kNoSlot ? kNoSlot
                                 : table_.PrefetchSlot(hint[i], r.op == ShardOp::kRegister ||
                                                                        r.op == ShardOp::kPeerUpdate
                                                                    ? r.pe.id
                                                                    : r.pe_id);
  }
  for (size_t i = 0; i < n; ++i) {
    if (slot[i] != kNoSlot) {
      table_.PrefetchSelection(hint[i], slot[i]);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    Process(*burst[i], hint[i]);
  }
  // Only this thread produces into `out` and `room` slots were free, so all fit.
  const size_t sent = out.EnqueueBurst(absl::MakeConstSpan(burst, n));
  (void)sent;
  assert(sent == n);
  return n;
}

void HandlespaceShard::DoRegister(ShardRequest& r, bool peer, uint32_t pool_hint) {
  r.reg = table_.Register(r.handle, r.pe, r.tick, pool_hint);
  r.cause = r.reg.cause;
  if (r.cause == kNoError) {
    if (peer) {
      ShardStats::Add(stats_.peer_updates);
    } else if (r.reg.added) {
      ShardStats::Add(stats_.registrations_added);
    } else {
      ShardStats::Add(stats_.registrations_updated);
    }
    if (!r.reg.added && r.reg.previous_home != r.pe.home) {
      ShardStats::Add(stats_.ownership_moves);
    }
    return;
  }
  r.pool_known = table_.GetPoolAttributes(r.handle, &r.pool);
  switch (r.cause) {
    case Cause::kInconsistentPoolingPolicy:
      ShardStats::Add(stats_.rejected_policy);
      break;
    case Cause::kInconsistentTransportType:
      ShardStats::Add(stats_.rejected_transport);
      break;
    case Cause::kInconsistentDataControlConfiguration:
      ShardStats::Add(stats_.rejected_data_control);
      break;
    case Cause::kLackOfResources:
      ShardStats::Add(r.reg.limit == CapacityLimit::kPools      ? stats_.rejected_too_many_pools
                      : r.reg.limit == CapacityLimit::kPoolSize ? stats_.rejected_pool_full
                                                                : stats_.rejected_handlespace_full);
      break;
    default:
      ShardStats::Add(stats_.rejected_invalid_values);
      break;
  }
}

void HandlespaceShard::DoDeregister(ShardRequest& r, uint32_t pool_hint) {
  r.entries.resize(1);
  r.found = table_.Deregister(r.handle, r.pe_id, &r.entries[0], pool_hint);
  if (r.found) {
    ShardStats::Add(stats_.deregistrations);
  } else {
    // RFC 5352 §3.2: unknown PE -> still a success to the PE.
    r.entries.clear();
    ShardStats::Add(stats_.deregistrations_unknown);
  }
  r.cause = kNoError;
}

void HandlespaceShard::DoResolve(ShardRequest& r, uint32_t pool_hint) {
  size_t n = 0;
  r.cause = table_.Resolve(r.handle, r.resolve, rng_, selected_, &n, pool_hint, &r.pool);
  r.entries.resize(n);
  for (size_t i = 0; i < n; ++i) {
    r.entries[i].handle = r.handle;
    r.entries[i].pe = table_.GetElement(selected_[i]);
  }
  r.count = n;
  r.pool_known = n != 0;
  if (ABSL_PREDICT_FALSE(r.cause != kNoError)) {
    ShardStats::Add(stats_.resolutions_unknown_pool);
  } else {
    ShardStats::Add(stats_.resolutions);
    ShardStats::Add(stats_.pes_selected, n);
  }
}

void HandlespaceShard::Process(ShardRequest& r, uint32_t pool_hint) {
  ShardStats::Add(stats_.commands);
  r.cause = kNoError;
  r.entries.clear();
  r.count = 0;
  r.pool_known = false;
  switch (r.op) {
    case ShardOp::kRegister:
      DoRegister(r, /*peer=*/false, pool_hint);
      break;
    case ShardOp::kPeerUpdate:
      // RFC 5353 §3.3: ADD_PE creates the pool or PE, or replaces it.
      DoRegister(r, /*peer=*/true, pool_hint);
      break;
    case ShardOp::kDeregister:
    case ShardOp::kPeerRemove:
      // RFC 5353 §3.3: DEL_PE removes the PE (and an empty pool); not found
      // -> nothing to do.
      DoDeregister(r, pool_hint);
      break;
    case ShardOp::kResolve:
      DoResolve(r, pool_hint);
      break;
    case ShardOp::kSetExpiry:
      r.found = table_.SetExpiry(r.handle, r.pe_id, r.tick);
      break;
    case ShardOp::kExpire:
      r.count = table_.Expire(r.tick, &r.entries);
      ShardStats::Add(stats_.expirations, r.count);
      break;
    case ShardOp::kTakeOver:
      r.count = table_.TakeOver(r.owner, r.to_owner);
      ShardStats::Add(stats_.takeovers);
      ShardStats::Add(stats_.pes_taken_over, r.count);
      break;
    case ShardOp::kMarkOwner:
      r.count = table_.MarkOwner(r.owner);
      break;
    case ShardOp::kSweepOwner:
      r.count = table_.SweepOwner(r.owner, &r.entries);
      ShardStats::Add(stats_.sweep_removed, r.count);
      break;
    case ShardOp::kIterateChunk: {
      std::vector<uint32_t>& slots = chunk_slots_;  // keeps its capacity: no allocation
      slots.clear();
      const uint32_t max = std::max<uint32_t>(r.max, 1);  // 0 would never advance
      r.cursor = table_.IterateChunk(r.cursor, max, &slots, r.owner);
      r.entries.resize(slots.size());
      for (size_t i = 0; i < slots.size(); ++i) {
        const PoolHandleView h = table_.pool_handle(slots[i]);
        r.entries[i].handle.assign(h.data(), h.size());
        r.entries[i].pe = table_.GetElement(slots[i]);
      }
      r.count = slots.size();
      ShardStats::Add(stats_.table_chunks);
      break;
    }
    case ShardOp::kLookup: {
      const uint32_t slot = table_.Find(r.handle, r.pe_id);
      r.found = slot != kNoSlot;
      if (r.found) {
        r.entries.resize(1);
        r.entries[0].handle = r.handle;
        r.entries[0].pe = table_.GetElement(slot);
      }
      break;
    }
    case ShardOp::kChecksum:
      r.word_sum = table_.ChecksumWordSum(r.owner);
      r.checksum = FinishChecksum(r.word_sum);
      r.count = table_.OwnedCount(r.owner);
      break;
  }
}

}  // namespace rspd::handlespace
