// File: client/resolution_cache.h
//
// The pool user's cache of handle resolutions (RFC 5352 §3.3 C1-C4): an
// entry younger than `stale_after` answers a resolution without asking the
// registrar (C4); an older one is stale and is resolved again (C2). A PE that
// failed is purged from its pool's entry (cache_purge_request, §6.4).
// No clock and no I/O: time is an argument.
//
// Example:
//   ResolutionCache cache(absl::Seconds(1));
//   if (const Resolution* r = cache.Find("echo", now)) use(*r);
//   else cache.Store("echo", registrar.Resolve("echo"), now);

#pragma once

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "client/asap_session.h"

namespace rspd::client {

class ResolutionCache {
 public:
  // RFC 5352 gives stale_cache_value no default; one second keeps a PU's
  // view close to the registrar's while sparing it most requests.
  explicit ResolutionCache(absl::Duration stale_after = absl::Seconds(1))
      : stale_after_(stale_after) {}

  // The fresh entry for `pool`, or nullptr (missing or stale).
  const Resolution* Find(const std::string& pool, absl::Time now) const;
  void Store(const std::string& pool, Resolution resolution, absl::Time now);
  // Drops one PE from the pool's entry (it failed); an entry left empty goes.
  void Purge(const std::string& pool, uint32_t pe_id);
  void Clear() { entries_.clear(); }

 private:
  struct Entry {
    Resolution resolution;
    absl::Time stored;
  };
  absl::Duration stale_after_;
  absl::flat_hash_map<std::string, Entry> entries_;
};

}  // namespace rspd::client
