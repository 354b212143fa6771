// File: handlespace/router.cc

#include "handlespace/router.h"

namespace rspd::handlespace {

HandlespaceRouter::HandlespaceRouter(uint32_t shard_count, size_t ring_capacity) {
  for (uint32_t i = 0; i < shard_count; ++i) {
    in_.push_back(std::make_unique<Ring>(ring_capacity));
    out_.push_back(std::make_unique<Ring>(ring_capacity));
  }
}

bool HandlespaceRouter::Send(ShardRequest* request) {
  return SendToShard(ShardFor(request->handle), request);
}

bool HandlespaceRouter::SendToShard(uint32_t shard, ShardRequest* request) {
  if (in_[shard]->Enqueue(request)) {
    return true;
  }
  ++back_pressure_;
  return false;
}

size_t HandlespaceRouter::Receive(uint32_t shard, absl::Span<ShardRequest*> out) {
  return out_[shard]->DequeueBurst(out);
}

}  // namespace rspd::handlespace
