// File: control/announcer.h
//
// ASAP_SERVER_ANNOUNCE (RFC 5352 §3.6, §2.2.10): the registrar multicasts its
// server ID and ASAP transport every (N+1)*T6, N being the other registrars
// heard announcing in the last T7, so that the scope sees about one announce
// per T6. Announces are unauthenticated: what is heard only counts
// registrars, rate-limited by the loop, never trusted for anything else.
//
// Announces leave through the interface of --bind_address (IP_MULTICAST_IF)
// with TTL --announce_ttl, and are on by default only where a route to the
// group exists. IPv4 groups only.
//
// Example:
//   auto announcer = ServerAnnouncer::Create(config);   // nullptr when off
//   poll(... announcer->fd() ...); announcer->OnReadable(now);
//   announcer->OnTimer(now);

#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "control/config.h"

namespace rspd::control {

class ServerAnnouncer {
 public:
  using Tick = uint64_t;  // milliseconds

  // nullptr (with *why_off set) when announces are disabled or no route to
  // the group exists; an error for a bad configuration.
  static absl::StatusOr<std::unique_ptr<ServerAnnouncer>> Create(const RegistrarConfig& config,
                                                                 std::string* why_off);
  ~ServerAnnouncer();

  int fd() const { return fd_; }
  void OnReadable(Tick now);
  void OnTimer(Tick now);

  uint64_t announces_sent() const { return sent_; }
  uint64_t announces_heard() const { return heard_; }
  size_t registrars_heard() const { return others_.size(); }

 private:
  ServerAnnouncer(const RegistrarConfig& config, int fd);

  RegistrarConfig config_;
  int fd_;
  std::vector<uint8_t> message_;
  absl::flat_hash_map<uint32_t, Tick> others_;  // server ID -> last heard
  Tick next_ = 0;
  uint64_t sent_ = 0;
  uint64_t heard_ = 0;
};

}  // namespace rspd::control
