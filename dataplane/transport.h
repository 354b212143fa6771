// File: dataplane/transport.h
//
// What the protocol logic (control/) sees of the transport: associations by
// reference, whole messages in, messages out through one narrow interface.
// No socket, usrsctp or sockaddr: the I/O loop (io_loop.h) turns SCTP
// deliveries into InboundMessages and implements MessageSender
// (docs/architecture.md, "The path of a request").
//
// Example:
//   void OnMessage(const InboundMessage& m) {
//     sender->Send(m.from, m.local_port, protocol::kAsapPpid, reply);
//   }

#pragma once

#include <cstdint>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "protocol/address.h"

namespace rspd::dataplane {

// One SCTP association: the transport's peer (a remote encapsulation
// endpoint) and the association's identifier there. Opaque to the protocol
// logic; valid until the association goes down.
struct AssocRef {
  const void* peer = nullptr;
  uint32_t assoc = 0;
  friend bool operator==(const AssocRef& a, const AssocRef& b) {
    return a.peer == b.peer && a.assoc == b.assoc;
  }
  friend bool operator!=(const AssocRef& a, const AssocRef& b) { return !(a == b); }
  template <typename H>
  friend H AbslHashValue(H h, const AssocRef& a) {
    return H::combine(std::move(h), a.peer, a.assoc);
  }
};

// A whole user message received on an association (partial deliveries
// already reassembled). `data` is valid during the call only.
struct InboundMessage {
  AssocRef from;
  uint16_t local_port = 0;   // our SCTP port it arrived on (ASAP, ENRP)
  uint16_t remote_port = 0;  // the sender's SCTP port
  // The sender's address as the registrar sees it (the packets' source),
  // and the UDP port its SCTP packets come from (RFC 6951 §5.1).
  protocol::IpAddress remote_ip;
  uint16_t remote_udp_port = 0;
  uint32_t ppid = 0;
  absl::Span<const uint8_t> data;
  // Whether it came over TLS (a secure port, tls_associations.h), and the
  // identity the peer proved there: its certificate's name or its PSK
  // identity; empty if it proved none (a PU may connect so). Valid during
  // the call only, like `data`.
  bool secure = false;
  absl::string_view peer_identity;
};

// Sends messages on associations: the one interface the protocol logic
// hands its replies to.
class MessageSender {
 public:
  // Sends `message` with `ppid` on an association accepted on `local_port`.
  // False if the association is gone or the stack refused it (counted by the
  // transport).
  virtual bool Send(const AssocRef& to, uint16_t local_port, uint32_t ppid,
                    absl::Span<const uint8_t> message) = 0;

 protected:
  ~MessageSender() = default;
};

// Sends messages to transport addresses rather than on associations: a
// registrar calls its ENRP peers (RFC 5353 §3.2) and the PEs it took over
// (RFC 5353 §3.5.2) so. The association is set up if there is none; the
// answers arrive on it as any message does.
class AddressedSender {
 public:
  // Sends `message` with `ppid` from our `local_port` to `remote_port` of
  // the SCTP-over-UDP endpoint `ip`:`udp_port` (RFC 6951). False if it
  // cannot be sent (counted by the transport).
  virtual bool SendTo(const protocol::IpAddress& ip, uint16_t udp_port, uint16_t local_port,
                      uint16_t remote_port, uint32_t ppid, absl::Span<const uint8_t> message) = 0;

 protected:
  ~AddressedSender() = default;
};

}  // namespace rspd::dataplane
