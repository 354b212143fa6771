// File: client/announce_listener.h
//
// Learns registrars from ASAP_SERVER_ANNOUNCEs (RFC 5352 §3.6): joins the
// announce group (IPv4 or IPv6, RFC 5352 §8.4: 224.0.1.185 or FF0X::133) and
// hands each announced registrar to a callback (the server hunt adds it to
// its list). A registrar is reached at the announced SCTP transport (or,
// without one, at the packet's source address and the IANA ASAP port), over
// UDP encapsulation on `udp_port` (announces carry no UDP port;
// docs/decisions.md). Announces are unauthenticated (§9.2): they only
// suggest registrars to try.
//
// Example:
//   auto group = ParseAnnounceGroup("[ff05::133]:3863");
//   auto listener = AnnounceListener::Start(group->address, group->port, "::1", 9899,
//                                           [&](const RegistrarAddress& r) { ... });

#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "client/asap_session.h"
#include "protocol/types.h"

namespace rspd::client {

// An announce group and UDP port, as `rspctl register --announce_group` takes
// them.
struct AnnounceGroup {
  std::string address;
  uint16_t port = protocol::kAsapPort;  // the asap-udp port (RFC 5352 §8.2; docs/decisions.md)
};

// ParseAnnounceGroup()
//
// Parses "GROUP", "GROUP:PORT" (IPv4), "V6GROUP" or "[V6GROUP]:PORT" (an IPv6
// group with a port needs the brackets: ff05::133:3863 is itself an IPv6
// address). InvalidArgument unless GROUP is an IPv4 or IPv6 multicast address
// and PORT in [1, 65535].
absl::StatusOr<AnnounceGroup> ParseAnnounceGroup(const std::string& text);

class AnnounceListener {
 public:
  using Callback = std::function<void(const RegistrarAddress&)>;

  // Joins `group` (IPv4 or IPv6) on the interface that holds the local
  // address `interface` (either family; "0.0.0.0" or "::" lets the routes
  // choose) and listens on UDP `port`.
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
