// File: handlespace/shard.cc

#include "handlespace/shard.h"

#include <algorithm>
#include <cassert>

namespace rspd::handlespace {

HandlespaceShard::HandlespaceShard(uint32_t index, const Options& options)
    : index_(index), table_(options.table), rng_(options.seed) {
  if (options.reserve_elements > 0) {
    table_.Reserve(options.reserve_elements);
  }
}

void HandlespaceShard::ProcessBurst(absl::Span<ShardCommand* const> burst) {
  assert(burst.size() <= kMaxBurst);
  uint32_t hint[kMaxBurst];
  uint32_t slot[kMaxBurst];
  const size_t n = std::min(burst.size(), kMaxBurst);
  // Prefetch passes, then the work: the burst's cache misses overlap.
  for (size_t i = 0; i < n; ++i) {
    ShardCommand& c = *burst[i];
    hint[i] = kNoSlot;
    slot[i] = kNoSlot;
    switch (c.kind) {
      case ShardCommand::Kind::kRegister: {
        const auto& r = static_cast<const RegisterCommand&>(c);
        hint[i] = table_.PrefetchElement(r.handle, r.pe.id);
        break;
      }
      case ShardCommand::Kind::kRemove:
      case ShardCommand::Kind::kLookup: {
        const auto& e = static_cast<const ElementCommand&>(c);
        hint[i] = table_.PrefetchElement(e.handle, e.pe_id);
        break;
      }
      case ShardCommand::Kind::kResolve:
        hint[i] = table_.PrefetchPool(static_cast<const ResolveCommand&>(c).handle);
        break;
      default:  // ENRP's families: rare, not prefetched
        break;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (hint[i] == kNoSlot) continue;
    const ShardCommand& c = *burst[i];
    switch (c.kind) {
      case ShardCommand::Kind::kResolve:
        if (static_cast<const ResolveCommand&>(c).options.max_items > 1) {
          table_.PrefetchPoolDeeper(hint[i]);
        }
        break;
      case ShardCommand::Kind::kRegister:
        slot[i] = table_.PrefetchSlot(hint[i], static_cast<const RegisterCommand&>(c).pe.id);
        break;
      case ShardCommand::Kind::kRemove:
      case ShardCommand::Kind::kLookup:
        slot[i] = table_.PrefetchSlot(hint[i], static_cast<const ElementCommand&>(c).pe_id);
        break;
      default:
        break;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (slot[i] != kNoSlot) {
      table_.PrefetchSelection(hint[i], slot[i]);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    Process(*burst[i], hint[i]);
  }
}

void HandlespaceShard::Process(ShardCommand& c, uint32_t pool_hint) {
  ShardStats::Add(stats_.commands);
  switch (c.kind) {
    case ShardCommand::Kind::kRegister:
      DoRegister(static_cast<RegisterCommand&>(c), pool_hint);
      break;
    case ShardCommand::Kind::kRemove:
      DoRemove(static_cast<ElementCommand&>(c), pool_hint);
      break;
    case ShardCommand::Kind::kLookup:
      DoLookup(static_cast<ElementCommand&>(c), pool_hint);
      break;
    case ShardCommand::Kind::kRenew:
      DoRenew(static_cast<ElementCommand&>(c));
      break;
    case ShardCommand::Kind::kResolve:
      DoResolve(static_cast<ResolveCommand&>(c), pool_hint);
      break;
    case ShardCommand::Kind::kExpire:
      DoExpire(static_cast<ExpireCommand&>(c));
      break;
    case ShardCommand::Kind::kPeerUpdate:
      DoPeerUpdate(static_cast<PeerUpdateCommand&>(c));
      break;
    case ShardCommand::Kind::kOwner:
      DoOwner(static_cast<OwnerCommand&>(c));
      break;
    case ShardCommand::Kind::kChunk:
      DoChunk(static_cast<ChunkCommand&>(c));
      break;
    case ShardCommand::Kind::kAudit:
      DoAudit(static_cast<AuditCommand&>(c));
      break;
    case ShardCommand::Kind::kManage:
      DoManage(static_cast<ManageCommand&>(c));
      break;
  }
}

void HandlespaceShard::DoManage(ManageCommand& c) {
  switch (c.op) {
    case ManageCommand::Op::kCount:
      c.pool_count = table_.pool_count();
      c.element_count = table_.element_count();
      c.owned_count = table_.OwnedCount(c.home);
      break;
    case ManageCommand::Op::kSummarize:
      table_.SummarizePools(c.home, &c.pools);
      break;
    case ManageCommand::Op::kDescribePool:
      c.pools.resize(1);
      c.found = table_.DescribePool(c.handle, c.home, c.max, &c.pools[0], &c.elements);
      if (!c.found) c.pools.clear();
      break;
    case ManageCommand::Op::kSetLimits:
      table_.SetLimits(c.max_pool_elements, c.max_pools, c.max_pool_size);
      break;
  }
}

void HandlespaceShard::DoRegister(RegisterCommand& c, uint32_t pool_hint) {
  c.result = table_.Register(c.handle, c.pe, c.expiry, pool_hint);
  c.pool_known = false;
  if (c.result.cause == kNoError) {
    ShardStats::Add(c.result.added ? stats_.registrations_added : stats_.registrations_updated);
    if (!c.result.added && c.result.previous_home != c.pe.home) {
      ShardStats::Add(stats_.ownership_moves);
    }
    return;
  }
  c.pool_known = table_.GetPoolAttributes(c.handle, &c.pool);
  switch (c.result.cause) {
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
      ShardStats::Add(c.result.limit == CapacityLimit::kPools ? stats_.rejected_too_many_pools
                      : c.result.limit == CapacityLimit::kPoolSize
                          ? stats_.rejected_pool_full
                          : stats_.rejected_handlespace_full);
      break;
    default:
      ShardStats::Add(stats_.rejected_invalid_values);
      break;
  }
}

void HandlespaceShard::DoRemove(ElementCommand& c, uint32_t pool_hint) {
  // RFC 5352 §3.2: an unknown PE is no error (the PE is told success).
  if (c.only_home != 0) {
    const uint32_t slot = table_.Find(c.handle, c.pe_id);
    if (slot == kNoSlot || table_.home(slot) != c.only_home) {
      c.found = false;
      ShardStats::Add(stats_.deregistrations_unknown);
      return;
    }
  }
  c.found = table_.Deregister(c.handle, c.pe_id, &c.removed, pool_hint);
  ShardStats::Add(c.found ? stats_.deregistrations : stats_.deregistrations_unknown);
}

void HandlespaceShard::DoLookup(ElementCommand& c, uint32_t /*pool_hint*/) {
  c.found = table_.Find(c.handle, c.pe_id) != kNoSlot;
}

void HandlespaceShard::DoRenew(ElementCommand& c) {
  c.found = table_.SetExpiry(c.handle, c.pe_id, c.expiry);
}

void HandlespaceShard::DoResolve(ResolveCommand& c, uint32_t pool_hint) {
  size_t n = 0;
  c.cause = table_.Resolve(c.handle, c.options, rng_, selected_, &n, pool_hint, &c.pool);
  c.selected.resize(n);
  for (size_t i = 0; i < n; ++i) {
    c.selected[i] = table_.GetElement(selected_[i]);
  }
  c.pool_known = n != 0;
  if (ABSL_PREDICT_FALSE(c.cause != kNoError)) {
    ShardStats::Add(stats_.resolutions_unknown_pool);
  } else {
    ShardStats::Add(stats_.resolutions);
    ShardStats::Add(stats_.pes_selected, n);
  }
}

void HandlespaceShard::DoExpire(ExpireCommand& c) {
  c.expired.clear();
  const size_t n = table_.Expire(c.now, &c.expired);
  ShardStats::Add(stats_.expirations, n);
}

void HandlespaceShard::DoPeerUpdate(PeerUpdateCommand& c) {
  c.kept = false;
  if (c.action == protocol::UpdateAction::kAddPe) {
    if (c.keep_home != 0 && c.pe.home != c.keep_home) {
      const uint32_t slot = table_.Find(c.handle, c.pe.id);
      if (slot != kNoSlot && table_.home(slot) == c.keep_home) {
        c.kept = true;
        ShardStats::Add(stats_.peer_updates_kept_own);
        return;
      }
    }
    // RFC 5353 §3.3: ADD_PE creates the pool (its policy from this PE), adds
    // the PE or replaces its attributes, with the same rules as a
    // registration (RFC 5352 §3.1).
    c.result = table_.Register(c.handle, c.pe, c.expiry);
    if (c.result.cause != kNoError) {
      ShardStats::Add(stats_.peer_updates_rejected);
    } else {
      ShardStats::Add(c.result.added ? stats_.peer_updates_added : stats_.peer_updates_replaced);
      if (!c.result.added && c.result.previous_home != c.pe.home) {
        ShardStats::Add(stats_.ownership_moves);
      }
    }
    return;
  }
  // DEL_PE: only the owner's word removes a PE; one that moved to another
  // registrar since stays (the updates of two owners may cross).
  const uint32_t slot = table_.Find(c.handle, c.pe.id);
  c.found = slot != kNoSlot && table_.home(slot) == c.pe.home;
  if (c.found) table_.Deregister(c.handle, c.pe.id);
  ShardStats::Add(c.found ? stats_.peer_deletes : stats_.peer_deletes_stale);
}

void HandlespaceShard::DoOwner(OwnerCommand& c) {
  c.swept.clear();
  switch (c.op) {
    case OwnerCommand::Op::kTakeOver:
      c.count = table_.TakeOver(c.owner, c.new_owner, c.expiry);
      ShardStats::Add(stats_.taken_over, c.count);
      return;
    case OwnerCommand::Op::kMark:
      c.count = table_.MarkOwner(c.owner);
      return;
    case OwnerCommand::Op::kSweep:
      c.count = table_.SweepOwner(c.owner, &c.swept);
      ShardStats::Add(stats_.swept, c.count);
      return;
  }
}

void HandlespaceShard::DoChunk(ChunkCommand& c) {
  c.slots.clear();
  c.next = table_.IterateChunk(c.cursor, c.max, &c.slots, c.owner_filter);
  c.elements.resize(c.slots.size());
  for (size_t i = 0; i < c.slots.size(); ++i) {
    const PoolHandleView handle = table_.pool_handle(c.slots[i]);
    c.elements[i].handle.assign(handle.data(), handle.size());
    c.elements[i].pe = table_.GetElement(c.slots[i]);
  }
}

void HandlespaceShard::DoAudit(AuditCommand& c) {
  c.owners.clear();
  table_.ForEachOwner([&c](RegistrarId id, size_t count, uint64_t word_sum) {
    c.owners.push_back({id, count, word_sum});
  });
}

}  // namespace rspd::handlespace
