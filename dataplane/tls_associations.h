// File: dataplane/tls_associations.h
//
// TLS between the SCTP bridge and the application, for the secure ports
// (ASAP 3864, ENRP 9902: RFC 5352 §8.2, RFC 5353 §5.3): one TlsChannel
// (tls/tls_channel.h) per association on such a port, in the manner of RFC
// 3436. The application sees the same InboundMessages as on a plaintext
// port, marked `secure` and carrying the identity the peer proved, under its
// own name for the service (`logical_port`), and answers with the same
// MessageSender calls: an association here is known to the application by
// an AssocRef that names this layer's record of it, so replies find their
// channel. Messages an application sends before the handshake ends wait in
// the channel.
//
// Roles are fixed by ports, never by who sent the INIT (an INIT collision,
// RFC 9260 §5.2, leaves no "initiator"): on a service's `port` this side is
// the TLS server; on its `client_port` the TLS client. A registrar's own
// associations to its ENRP peers start from the client port (9903 by
// default), so two registrars' associations never collide (messages on an
// association a peer started name the service's port as its remote port:
// that is where the peer is reached; every registrar of a secure scope uses
// the same ENRP TLS port); those to PEs it
// took over (RFC 5353 §3.5.2) start from the ASAP port, where it stays the
// server and the PE is the client (docs/security.md).
//
// A channel that fails (a failed handshake, plaintext, a forged or replayed
// record, a message it cannot frame) aborts its association; every such
// abort is counted. Everything runs on the I/O loop's thread.
//
// Example (inside the I/O loop):
//   TlsAssociations tls(services, bridge, &upcalls);
//   if (tls.OnDeliver(delivery)) return;  // a secure port: handled

#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "dataplane/sctp_bridge.h"
#include "dataplane/tls/tls_channel.h"
#include "dataplane/transport.h"

namespace rspd::dataplane {

// clang-format off
#define RSPD_TLS_STATS(X) \
  X(tls_handshakes, "TLS handshakes completed on secure ports") \
  X(tls_failures, "secure associations aborted: failed handshake, refused record or framing") \
  X(tls_messages_in, "messages decrypted on secure ports") \
  X(tls_messages_out, "messages encrypted on secure ports") \
  X(tls_send_failures, "messages for a gone or failed secure association") \
  X(tls_unknown_associations, "SCTP messages on a secure port with no TLS record of their association") \
  X(tls_handshake_timeouts, "secure associations aborted: no handshake within kHandshakeTimeoutMs of coming up")
// clang-format on

struct TlsStats {
#define RSPD_TLS_STAT_FIELD(name, help) std::atomic<uint64_t> name{0};
  RSPD_TLS_STATS(RSPD_TLS_STAT_FIELD)
#undef RSPD_TLS_STAT_FIELD
  static void Bump(std::atomic<uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  template <typename Fn>
  void ForEach(Fn fn) const {
#define RSPD_TLS_STAT_EXPORT(name, help) fn(#name, help, name.load(std::memory_order_relaxed));
    RSPD_TLS_STATS(RSPD_TLS_STAT_EXPORT)
#undef RSPD_TLS_STAT_EXPORT
  }
};

class TlsAssociations {
 public:
  struct Service {
    uint16_t port = 0;          // we accept on it and are the TLS server
    uint16_t logical_port = 0;  // the application's name for the service
    uint16_t client_port = 0;   // 0, or where our own associations start (TLS client)
    uint32_t ppid = 0;          // the PPID of the application's messages
    const tls::TlsContext* server = nullptr;
    const tls::TlsContext* client = nullptr;  // needed with a client_port
  };
  // Where messages and ends of secure associations go: the I/O loop, which
  // passes them on to the application.
  class Upcalls {
   public:
    virtual void OnSecureMessage(const InboundMessage& message) = 0;
    // Only for associations whose handshake completed.
    virtual void OnSecureDown(const AssocRef& assoc, uint16_t logical_port) = 0;

   protected:
    ~Upcalls() = default;
  };

  // `bridge` and `upcalls` must outlive this; so must the services' contexts.
  TlsAssociations(std::vector<Service> services, SctpBridge* bridge, Upcalls* upcalls);
  ~TlsAssociations();
  TlsAssociations(const TlsAssociations&) = delete;
  TlsAssociations& operator=(const TlsAssociations&) = delete;

  // Whether `wire_port` is one of the secure ports (then the bridge's events
  // on it go here, not to the application).
  bool IsSecurePort(uint16_t wire_port) const { return ServiceOf(wire_port) != nullptr; }
  void OnDeliver(const SctpBridge::Delivery& delivery);
  void OnAssociation(SctpBridge::Peer* peer, uint16_t wire_port, uint16_t remote_port,
                     SctpBridge::AssocId assoc, SctpBridge::AssocEvent event);
  void OnPeerClosed(SctpBridge::Peer* peer);

  // Whether the application's AssocRef names a secure association.
  bool Owns(const AssocRef& ref) const { return all_.contains(ref.peer); }
  bool Send(const AssocRef& ref, absl::Span<const uint8_t> message);
  // A message to a transport address on the service the application calls
  // `logical_port`; nullopt if that service is not secure.
  std::optional<bool> SendTo(const Endpoint& to, uint16_t logical_port, uint16_t remote_port,
                             absl::Span<const uint8_t> message);
  // Whether fn(ref) holds for an AssocRef of one of `peer`'s secure
  // associations (the application's priority marks).
  template <typename Fn>
  bool AnyOf(const SctpBridge::Peer* peer, Fn fn) const {
    auto it = by_peer_.find(peer);
    if (it == by_peer_.end()) return false;
    for (const Association* a : it->second) {
      if (fn(static_cast<const void*>(a))) return true;
    }
    return false;
  }
  // Once per turn of the loop. Frees the records of associations that ended
  // kKeepEndedMs ago or more: never while a channel may be on the stack, and
  // not before a reply the application queued elsewhere (the ENRP thread)
  // for an ended association has surely come back, so that no new
  // association gets its AssocRef. Aborts, once a second, associations up
  // for kHandshakeTimeoutMs without a handshake: each holds a TLS connection
  // (tens of KiB) and counts against max_associations.
  void Tick(uint64_t now_ms);
  static constexpr uint64_t kKeepEndedMs = 5000;
  static constexpr uint64_t kHandshakeTimeoutMs = 10000;
  size_t size() const { return all_.size(); }
  const TlsStats& stats() const { return stats_; }

 private:
  struct Association {
    SctpBridge::Peer* peer = nullptr;
    uint16_t wire_port = 0;
    uint16_t remote_port = 0;
    SctpBridge::AssocId assoc = 0;
    bool up = false;        // the SCTP association is up
    bool reported = false;  // the handshake completed: the application knows it
    bool aborted = false;
    uint64_t up_ms = 0;  // when the SCTP association came up
    const Service* service = nullptr;
    std::unique_ptr<tls::TlsChannel> channel;
  };
  using PortsKey = std::tuple<const SctpBridge::Peer*, uint16_t, uint16_t>;  // peer, wire, remote
  using AssocKey = std::tuple<const SctpBridge::Peer*, uint16_t, SctpBridge::AssocId>;

  const Service* ServiceOf(uint16_t wire_port) const;
  Association* Create(SctpBridge::Peer* peer, uint16_t wire_port, uint16_t remote_port,
                      const Service* service);
  void Remove(Association* a);
  // Sends what the channel wrote, once the association is up; aborts the
  // association if the channel failed.
  void Flush(Association* a);

  std::vector<Service> services_;
  SctpBridge* bridge_;
  Upcalls* upcalls_;
  absl::flat_hash_map<const void*, std::unique_ptr<Association>> all_;
  absl::flat_hash_map<PortsKey, Association*> by_ports_;
  absl::flat_hash_map<AssocKey, Association*> by_assoc_;
  absl::flat_hash_map<const SctpBridge::Peer*, std::vector<Association*>> by_peer_;
  std::deque<std::pair<std::unique_ptr<Association>, uint64_t>> ended_;  // and when
  uint64_t now_ms_ = 0;
  uint64_t next_sweep_ms_ = 0;
  TlsStats stats_;
};

}  // namespace rspd::dataplane
