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
      case ShardCommand::Kind::kExpire:
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
      case ShardCommand::Kind::kExpire:
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
    case ShardCommand::Kind::kResolve:
      DoResolve(static_cast<ResolveCommand&>(c), pool_hint);
      break;
    case ShardCommand::Kind::kExpire:
      DoExpire(static_cast<ExpireCommand&>(c));
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
  c.found = table_.Deregister(c.handle, c.pe_id, /*removed=*/nullptr, pool_hint);
  ShardStats::Add(c.found ? stats_.deregistrations : stats_.deregistrations_unknown);
}

void HandlespaceShard::DoLookup(ElementCommand& c, uint32_t /*pool_hint*/) {
  c.found = table_.Find(c.handle, c.pe_id) != kNoSlot;
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

}  // namespace rspd::handlespace
