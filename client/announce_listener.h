// File: client/announce_listener.h
//
// Learns registrars from ASAP_SERVER_ANNOUNCEs (RFC 5352 §3.6): joins the
// announce group and hands each announced registrar to a callback (the
// server hunt adds it to its list). A registrar is reached at the announced
// SCTP transport (or, without one, at the packet's source address and the
// IANA ASAP port), over UDP encapsulation on `udp_port` (announces carry no
// UDP port; docs/decisions.md). Announces are unauthenticated (§9.2): they
// only suggest registrars to try.
//
// Example:
//   auto listener = AnnounceListener::Start("224.0.1.185", 3863, "127.0.0.1", 9899,
//                                           [&](const RegistrarAddress& r) { ... });

#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "client/asap_session.h"

namespace rspd::client {

class AnnounceListener {
 public:
  using Callback = std::function<void(const RegistrarAddress&)>;

  static absl::StatusOr<std::unique_ptr<AnnounceListener>> Start(const std::string& group,
                                                                 uint16_t port,
                                                                 const std::string& interface,
                                                                 uint16_t udp_port,
                                                                 Callback callback);
  ~AnnounceListener();

 private:
  AnnounceListener() = default;
  void Loop();

  int fd_ = -1;
  uint16_t udp_port_ = 0;
  Callback callback_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace rspd::client
