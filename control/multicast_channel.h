// File: control/multicast_channel.h
//
// A UDP multicast channel of the registrar: one socket that is a member of
// a group on the interface of --bind_address and sends to it, for the ASAP
// server announces (RFC 5352 §3.6) and ENRP's multicast PRESENCE
// (docs/enrp.md). The group's family must be the bind address's; the channel
// is on only where a route to the group exists (otherwise `why_off` says why
// and no channel is made).
//
// Example:
//   std::string why_off;
//   auto channel = MulticastChannel::Open("239.0.0.51", 9901, "127.0.0.1", 1,
//   "enrp_multicast_group", &why_off); if (channel.ok() && *channel != nullptr)
//   (*channel)->Send(bytes);

#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "protocol/address.h"

namespace rspd::control {

class MulticastChannel {
 public:
  // nullptr (with *why_off set) when `group` is empty, of another family than
  // `bind_address`, or has no route; InvalidArgument naming `flag` when the
  // group is not a multicast address.
  static absl::StatusOr<std::unique_ptr<MulticastChannel>> Open(const std::string& group,
                                                                uint16_t port,
                                                                const std::string& bind_address,
                                                                int ttl, const char* flag,
                                                                std::string* why_off);
  ~MulticastChannel();
  MulticastChannel(const MulticastChannel&) = delete;
  MulticastChannel& operator=(const MulticastChannel&) = delete;

  int fd() const { return fd_; }
  // Sends one datagram to the group; false if the kernel refused it.
  bool Send(absl::Span<const uint8_t> datagram) const;
  // Reads one datagram (non-blocking) into `buffer`; its size, 0 if none.
  // `from` gets the sender's address.
  size_t Receive(absl::Span<uint8_t> buffer, protocol::IpAddress* from) const;

 private:
  explicit MulticastChannel(int fd) : fd_(fd) {}
  int fd_;
  sockaddr_storage group_{};  // destination: group and port (IPv6: with scope)
  socklen_t group_length_ = 0;
};

}  // namespace rspd::control
