// File: client/sctp_association.h
//
// SCTP for applications, over usrsctp with UDP encapsulation (RFC 6951): the
// process-wide stack, an outgoing association (PU to PE) and a one-to-many
// endpoint that accepts associations (a PE's service) and starts them from its
// own port (a PE's or PU's ASAP endpoint, which registrars can also reach:
// RFC 5353 §3.5.2). Messages carry their PPID (ASAP 11 for control, anything
// else for data, RFC 5352 §3.8). A message usrsctp delivers in pieces (one
// larger than a receive) is joined before it is handed on, up to
// kMaxMessageSize: a peer that sends a larger one is aborted. Callbacks run
// on usrsctp's receive thread.
//
// Example:
//   StartSctp(7000);  // a PE serves SCTP port 7000 over UDP port 7000
//   auto server = SctpServer::Listen(7000, on_message, on_event);
//   auto a = SctpAssociation::Connect("127.0.0.1", 7000, 7000, absl::Seconds(3));
//   (*a)->Send(0, bytes);
//   auto reply = (*a)->Receive(absl::Seconds(1));
//   auto id = (*server)->Connect("127.0.0.1", 3863, 9899);  // on_event says when it is up

#pragma once

#include <sys/socket.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "dataplane/tls/tls_channel.h"
#include "dataplane/usrsctp/message_assembler.h"

struct socket;

namespace rspd::client {

// Starts usrsctp for this process with UDP encapsulation on `udp_port` (0: a
// free port). Later calls are no-ops when compatible; asking for a specific
// port after the stack started on another is FailedPrecondition.
absl::Status StartSctp(uint16_t udp_port = 0);
// The UDP port the stack encapsulates on (0 before StartSctp).
uint16_t SctpUdpPort();
// An association to UDP port 0 is native SCTP (IP protocol 132): usrsctp
// sends it on its raw sockets, which it has only as root. Several processes
// with raw sockets in one network namespace each see every SCTP packet, so
// the first native association turns off answers to out-of-the-blue packets
// (usrsctp's sctp_blackhole=2) for the process: the packet was another's.
void PrepareNativeSctp();

// The largest message received: an ASAP message's length field is 16 bits
// (RFC 5354 §4), and the library holds data messages to the same limit.
inline constexpr size_t kMaxMessageSize = 0xffff;

// Rule of this library (docs/decisions.md): a PE's service listens for SCTP
// over UDP on the UDP port equal to its SCTP port, so that a PU knows where to
// send from the PE's registered transport alone.

class SctpAssociation {
 public:
  struct Received {
    uint32_t ppid = 0;
    std::vector<uint8_t> data;
  };
  // Called on usrsctp's thread for each message; returning true consumes it
  // (it is not queued for Receive).
  using Handler = std::function<bool(uint32_t ppid, absl::Span<const uint8_t> data)>;

  static absl::StatusOr<std::unique_ptr<SctpAssociation>> Connect(const std::string& host,
                                                                  uint16_t sctp_port,
                                                                  uint16_t udp_port,
                                                                  absl::Duration timeout,
                                                                  Handler handler = nullptr);
  ~SctpAssociation();
  SctpAssociation(const SctpAssociation&) = delete;
  SctpAssociation& operator=(const SctpAssociation&) = delete;

  absl::Status Send(uint32_t ppid, absl::Span<const uint8_t> message);
  // The next message not consumed by the handler. DeadlineExceeded after
  // `timeout`, Unavailable once the association is gone.
  absl::StatusOr<Received> Receive(absl::Duration timeout);
  bool connected() const;

  // For usrsctp's receive callback only.
  void OnReceive(const void* data, size_t length, uint32_t assoc, uint16_t stream, uint32_t ppid,
                 int flags);

 private:
  SctpAssociation() = default;

  struct socket* socket_ = nullptr;
  Handler handler_;
  // The message in pieces, used under the callbacks' lock. Without I-DATA
  // (RFC 8260, off in usrsctp) an association delivers one message in pieces
  // at a time, so one message's worth is the budget.
  dataplane::MessageAssembler assembler_{{kMaxMessageSize, kMaxMessageSize}};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool connected_ = false;
  bool closed_ = false;
  std::deque<Received> inbox_;
};

// TLS for the associations of an SctpServer.
struct SctpTls {
  std::shared_ptr<const dataplane::tls::TlsContext> context;  // a client context; null: none
  uint32_t ppid = 0;  // what the messages inside TLS are (ASAP: 11)
};

// One SCTP port (one-to-many socket): accepts associations and can start
// them, so that peers see this port as their source. `on_event` reports each
// association up, and down (one that could not be established included).
//
// With TLS (SctpTls), every association of the port runs a TLS client
// connection (dataplane/tls/tls_channel.h, RFC 3436's manner): `on_event`
// says "up" only once its handshake completed, messages are whole ASAP
// messages with `SctpTls::ppid`, and an association whose TLS fails is
// aborted (tls_error() says why). An ASAP endpoint is the TLS client toward
// registrars on both its own associations and those a registrar starts to
// it (docs/security.md).
//
// Closing (the destructor, like SctpAssociation's) shuts every association
// down gracefully and waits a moment for the peers to confirm, then aborts
// what is left: a process that exits right after does not leave its peers
// holding an association until their heartbeats give up.
class SctpServer {
 public:
  using MessageFn = std::function<void(uint32_t assoc, uint32_t ppid, absl::Span<const uint8_t>)>;
  using EventFn = std::function<void(uint32_t assoc, bool up)>;
  // `sctp_port` 0: a free port (see port()). `secure.context` null: no TLS.
  static absl::StatusOr<std::unique_ptr<SctpServer>> Listen(uint16_t sctp_port,
                                                            MessageFn on_message, EventFn on_event,
                                                            SctpTls secure = SctpTls());
  ~SctpServer();
  SctpServer(const SctpServer&) = delete;
  SctpServer& operator=(const SctpServer&) = delete;

  // Starts an association to `host`:`sctp_port`, whose stack encapsulates on
  // UDP port `udp_port`, and returns its id without waiting: `on_event` tells
  // whether it comes up.
  absl::StatusOr<uint32_t> Connect(const std::string& host, uint16_t sctp_port, uint16_t udp_port);
  absl::Status Send(uint32_t assoc, uint32_t ppid, absl::Span<const uint8_t> message);
  uint16_t port() const { return port_; }
  // The peer's SCTP port on an association, if it is up.
  std::optional<uint16_t> RemotePort(uint32_t assoc) const;
  // Why the last association that failed TLS failed (empty if none did).
  std::string tls_error() const;

  // For usrsctp's receive callback only.
  void OnReceive(const void* data, size_t length, uint32_t assoc, uint16_t stream, uint32_t ppid,
                 int flags);

 private:
  SctpServer() = default;
  // TLS (under the callbacks' lock): a new association's channel, a
  // message's bytes, and the channel's output.
  void OnTlsUp(uint32_t assoc);
  void OnTlsData(uint32_t assoc, absl::Span<const uint8_t> bytes);
  // False if the association was aborted (the channel failed, or a piece
  // could not be sent): `channel` may be gone then.
  bool FlushTls(uint32_t assoc, dataplane::tls::TlsChannel& channel);
  struct socket* socket_ = nullptr;
  // Messages in pieces, one per association at a time (see SctpAssociation),
  // used under the callbacks' lock: 1,024 associations' worth, as the
  // registrar's bridge allows (dataplane/sctp_bridge.h).
  dataplane::MessageAssembler assembler_{{kMaxMessageSize, 1024 * kMaxMessageSize}};
  uint16_t port_ = 0;
  MessageFn on_message_;
  EventFn on_event_;
  std::mutex connect_mu_;  // the UDP port of the next association is set per socket
  // Associations up, so that closing can shut each down (see ~SctpServer).
  std::mutex live_mu_;
  std::condition_variable live_cv_;
  std::set<uint32_t> live_;
  // TLS: the channels by association, used under the callbacks' lock.
  SctpTls secure_;
  std::map<uint32_t, std::unique_ptr<dataplane::tls::TlsChannel>> channels_;
  // A lock of its own, taken with no other held: callers of tls_error() may
  // hold theirs (AsapSession's), which its callbacks take after the
  // callbacks' lock.
  mutable std::mutex tls_error_mu_;
  std::string tls_error_;
};

}  // namespace rspd::client
