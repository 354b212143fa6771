// File: control/announcer.h
//
// ASAP_SERVER_ANNOUNCE (RFC 5352 §3.6, §2.2.10): the registrar multicasts its
// server ID and ASAP transport every (N+1)*T6, N being the other registrars
// heard announcing in the last T7, so that the scope sees about one announce
// per T6. Announces are unauthenticated: what is heard only counts
// registrars, rate-limited by the loop, never trusted for anything else.
//
// The group is IPv4 (224.0.1.185) or IPv6 (FF0X::133, X the scope; rspd's
// IPv6 choice is the site-local ff05::133), RFC 5352 §8.4, and its family must
// be the family of --bind_address. Announces leave through the interface of
// --bind_address (IPv4: IP_MULTICAST_IF with the address; IPv6:
// IPV6_MULTICAST_IF with the index of the interface holding it, lo for ::1)
// with TTL / hop limit --announce_ttl, and are on by default only where a
// route to the group exists.
//
// Example:
//   auto announcer = ServerAnnouncer::Create(config);   // nullptr when off
//   poll(... announcer->fd() ...); announcer->OnReadable(now);
//   announcer->OnTimer(now);

#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "control/config.h"
#include "control/multicast_channel.h"

namespace rspd::control {

// EncodeServerAnnounce()
//
// The ASAP_SERVER_ANNOUNCE for `config` (RFC 5352 §2.2.10): the server ID and,
// unless --bind_address is a wildcard, one SCTP Transport parameter with the
// ASAP port and the bind address as an IPv4 or IPv6 Address parameter
// (RFC 5354 §3.1, §3.2). InvalidArgument when bind_address is no IP address.
absl::StatusOr<std::vector<uint8_t>> EncodeServerAnnounce(const RegistrarConfig& config);

// Counters (docs/style.md, "Counters").
// clang-format off
#define RSPD_ANNOUNCER_STATS(X) \
  X(announces_sent, "ASAP_SERVER_ANNOUNCEs sent (RFC 5352 §3.6)") \
  X(announces_heard, "ASAP_SERVER_ANNOUNCEs heard from other registrars")
// clang-format on

struct AnnouncerStats {
#define RSPD_ANNOUNCER_STAT_FIELD(name, help) std::atomic<uint64_t> name{0};
  RSPD_ANNOUNCER_STATS(RSPD_ANNOUNCER_STAT_FIELD)
#undef RSPD_ANNOUNCER_STAT_FIELD
  static void Bump(std::atomic<uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  template <typename Fn>
  void ForEach(Fn fn) const {
#define RSPD_ANNOUNCER_STAT_EXPORT(name, help) \
  fn(#name, help, name.load(std::memory_order_relaxed));
    RSPD_ANNOUNCER_STATS(RSPD_ANNOUNCER_STAT_EXPORT)
#undef RSPD_ANNOUNCER_STAT_EXPORT
  }
};

class ServerAnnouncer {
 public:
  using Tick = uint64_t;  // milliseconds

  // nullptr (with *why_off set) when announces are disabled, the group and
  // the bind address differ in family, or no route to the group exists; an
  // error for a bad configuration (a group that is not multicast).
  static absl::StatusOr<std::unique_ptr<ServerAnnouncer>> Create(const RegistrarConfig& config,
                                                                 std::string* why_off);
  ~ServerAnnouncer();

  int fd() const { return channel_->fd(); }
  void OnReadable(Tick now);
  void OnTimer(Tick now);

  const AnnouncerStats& stats() const { return stats_; }

 private:
  ServerAnnouncer(const RegistrarConfig& config, std::unique_ptr<MulticastChannel> channel);

  RegistrarConfig config_;
  std::unique_ptr<MulticastChannel> channel_;
  std::vector<uint8_t> message_;
  absl::flat_hash_map<uint32_t, Tick> others_;  // server ID -> last heard
  Tick next_ = 0;
  AnnouncerStats stats_;
};

}  // namespace rspd::control
