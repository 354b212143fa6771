#include "dataplane/usrsctp/message_assembler.h"

#include <utility>

namespace rspd::dataplane {

MessageAssembler::Result MessageAssembler::Add(const void* socket, uint32_t assoc, uint16_t stream,
                                               absl::Span<const uint8_t> piece, bool end_of_record,
                                               absl::Span<const uint8_t>* message) {
  auto owner = partial_.find(socket);
  const std::pair<uint32_t, uint16_t> key{assoc, stream};
  std::vector<uint8_t>* held = nullptr;
  if (owner != partial_.end()) {
    auto it = owner->second.find(key);
    if (it != owner->second.end()) held = &it->second;
  }
  const size_t held_size = held == nullptr ? 0 : held->size();
  // No message of ours is longer than its length field allows: a remote
  // that keeps sending one is cut off, and all partial messages together
  // stay within a budget.
  if (held_size + piece.size() > options_.max_message_size ||
      (!(end_of_record && held == nullptr) && bytes_ + piece.size() > options_.max_total_bytes)) {
    Drop(socket, assoc);
    return Result::kTooLarge;
  }
  if (end_of_record && held == nullptr) {
    *message = piece;  // whole in one piece: no copy
    return Result::kWhole;
  }
  if (held == nullptr) {
    held = &partial_[socket][key];
    ++pending_;
  }
  held->insert(held->end(), piece.begin(), piece.end());
  bytes_ += piece.size();
  if (!end_of_record) {
    return Result::kPending;
  }
  completed_ = std::move(*held);
  bytes_ -= completed_.size();
  --pending_;
  Pieces& pieces = partial_[socket];
  pieces.erase(key);
  if (pieces.empty()) partial_.erase(socket);
  *message = completed_;
  return Result::kWhole;
}

void MessageAssembler::Drop(const void* socket, uint32_t assoc) {
  auto owner = partial_.find(socket);
  if (owner == partial_.end()) return;
  Pieces& pieces = owner->second;
  for (auto it = pieces.begin(); it != pieces.end();) {
    auto next = std::next(it);
    if (it->first.first == assoc) {
      bytes_ -= it->second.size();
      --pending_;
      pieces.erase(it);
    }
    it = next;
  }
  if (pieces.empty()) partial_.erase(owner);
}

void MessageAssembler::Drop(const void* socket) {
  auto owner = partial_.find(socket);
  if (owner == partial_.end()) return;
  for (const auto& [key, held] : owner->second) bytes_ -= held.size();
  pending_ -= owner->second.size();
  partial_.erase(owner);
}

}  // namespace rspd::dataplane
