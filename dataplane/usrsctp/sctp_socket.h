// File: dataplane/usrsctp/sctp_socket.h
//
// The usrsctp socket calls that the registrar's bridge (dataplane/
// sctp_bridge) and the client library (client/sctp_association) make alike:
// the options every message socket gets, sending a message with its PPID and
// stream (RFC 6458 §5.3.4 sctp_sndinfo), ending an association (SCTP_ABORT,
// RFC 9260 §9.1; SCTP_EOF, §9.2), and reading an SCTP_ASSOC_CHANGE
// notification (RFC 6458 §6.1.1) as up or down.
//
// The package wraps usrsctp for //dataplane and //client; it depends on
// usrsctp and absl only. Stack initialization stays with each user: the
// bridge runs usrsctp without threads over AF_CONN, the library threaded
// over UDP encapsulation (RFC 6951), and they share no setting.
//
// Example:
//   struct socket* s = usrsctp_socket(...);
//   SetMessageOptions(s);
//   SendMessage(s, assoc, protocol::kAsapPpid, 0, bytes);
//   if (auto change = ParseAssocChange(data, length)) ... change->up ...

#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/types/span.h"

struct socket;

namespace rspd::dataplane {

// Every message socket: no Nagle delay (requests and answers are small and
// latency-bound), sctp_rcvinfo with each message (PPID, stream,
// association), and SCTP_ASSOC_CHANGE notifications.
void SetMessageOptions(struct socket* s);

// Closing the socket aborts its associations (SO_LINGER 0: an ABORT goes
// out at once, RFC 9260 §9.1) instead of shutting them down.
void SetAbortOnClose(struct socket* s);

// Sends one message on `assoc` (ignored by a one-to-one socket). False if
// usrsctp refused it; errno says why.
bool SendMessage(struct socket* s, uint32_t assoc, uint32_t ppid, uint16_t stream,
                 absl::Span<const uint8_t> message);
// Starts an association with `to` (non-blocking: COMM_UP tells when it is
// up). False if usrsctp refused.
bool Connect(struct socket* s, const sockaddr* to, socklen_t to_length);
// The remote SCTP port of an association (AF_CONN, IPv4 or IPv6), if it
// has one.
std::optional<uint16_t> RemotePort(struct socket* s, uint32_t assoc);

// Aborts `assoc` (RFC 9260 §9.1).
bool SendAbort(struct socket* s, uint32_t assoc);
// Starts a graceful shutdown of `assoc` (RFC 9260 §9.2).
bool SendShutdown(struct socket* s, uint32_t assoc);

// An SCTP_ASSOC_CHANGE notification that brings an association up or down.
struct AssocChange {
  uint32_t assoc = 0;
  // Up: SCTP_COMM_UP or SCTP_RESTART. Down: SCTP_COMM_LOST,
  // SCTP_SHUTDOWN_COMP or SCTP_CANT_STR_ASSOC.
  bool up = false;
};
// The change a notification (a receive callback's data with
// MSG_NOTIFICATION) reports; nullopt for any other notification.
std::optional<AssocChange> ParseAssocChange(const void* notification, size_t length);

}  // namespace rspd::dataplane
