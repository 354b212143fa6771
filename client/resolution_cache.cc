#include "client/resolution_cache.h"

#include <algorithm>

namespace rspd::client {

const Resolution* ResolutionCache::Find(const std::string& pool, absl::Time now) const {
  auto it = entries_.find(pool);
  if (it == entries_.end() || now - it->second.stored >= stale_after_) {
    return nullptr;  // C1: not cached, or C2: stale
  }
  return &it->second.resolution;  // C4: fresh
}

void ResolutionCache::Store(const std::string& pool, Resolution resolution, absl::Time now) {
  entries_[pool] = Entry{std::move(resolution), now};
}

void ResolutionCache::Purge(const std::string& pool, uint32_t pe_id) {
  auto it = entries_.find(pool);
  if (it == entries_.end()) return;
  auto& elements = it->second.resolution.elements;
  elements.erase(std::remove_if(elements.begin(), elements.end(),
                                [pe_id](const protocol::PoolElement& e) { return e.id == pe_id; }),
                 elements.end());
  if (elements.empty()) entries_.erase(it);
}

}  // namespace rspd::client
