// File: client/asap_session.h
//
// The ASAP library for pool elements and pool users (RFC 5352 §3): an ASAP
// endpoint (one SCTP port, over usrsctp with UDP encapsulation, RFC 6951, so
// that plain processes need no kernel SCTP and no DPDK) with an association to
// its home registrar. Requests go to the home registrar and wait for their
// answer up to a timeout (T1, T2, T3 of RFC 5352 §7.1).
//
// A PE registers (and re-registers to refresh its lifetime or load),
// deregisters, and has registrar keep-alives answered for it automatically
// (RFC 5352 §3.4 KA2: always ACK, on the association the keep-alive came on).
// The registrations are indexed by pool handle and PE identifier, so that a
// keep-alive, a registration and a deregistration cost the same with 50,000
// PEs on the association as with one. A registrar that removes a registration
// on its own says so with an ASAP_DEREGISTRATION_RESPONSE nobody asked for
// (RFC 5352 §2.2.4, §3.2); the session records it (TakeRemovedRegistrations)
// and stops answering keep-alives for that PE.
// Registrars may also start associations to the endpoint's port, which they
// know as the PE's ASAP transport (§3.1 rule 4): a registrar that took over
// the PE's home sends an H=1 keep-alive that way (RFC 5353 §3.5.2), and the
// PE's later requests go over that association (§3.4 KA2.4). A PU resolves
// pool handles.
//
// Example:
//   auto session = AsapSession::Connect({"127.0.0.1", 9899}, absl::Seconds(5));
//   protocol::PoolElement pe;  // id, transport, policy...
//   absl::Status s = (*session)->Register("echo", pe);
//   auto pes = (*session)->Resolve("echo", 3);
//   for (const RemovedRegistration& r : (*session)->TakeRemovedRegistrations()) ...

#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client/sctp_association.h"
#include "dataplane/tls/tls_context.h"
#include "protocol/codec.h"
#include "protocol/pool_element.h"

namespace rspd::client {

struct RegistrarAddress {
  std::string host = "127.0.0.1";
  uint16_t udp_port = 9899;   // the registrar's encapsulation port; 0: native SCTP
  uint16_t sctp_port = 3863;  // ASAP (3864 for ASAP over TLS)
  // A TLS client context: ASAP over TLS to this registrar (RFC 5352 §9),
  // which must then prove itself by the context's authorities or PSK
  // (docs/security.md). Null: plaintext.
  std::shared_ptr<const dataplane::tls::TlsContext> tls;
};

// Parses "HOST", "HOST:PORT" or "[V6]:PORT" (PORT: the UDP encapsulation
// port; 0 for native SCTP, IP protocol 132, which needs raw sockets: root),
// each optionally followed by "/ASAP_PORT" (the SCTP port, 3863 if not
// given): e.g. "127.0.0.1:19001/3864".
absl::StatusOr<RegistrarAddress> ParseRegistrarAddress(const std::string& text);
// The inverse: "HOST:PORT", or "[V6]:PORT" for an IPv6 host, with
// "/ASAP_PORT" when it is not 3863.
std::string FormatRegistrarAddress(const RegistrarAddress& registrar);

// OK for a pool handle this library sends: 1 to protocol::kMaxPoolHandleSize
// (255) bytes, the registrar's limit. InvalidArgument naming the limit and
// the length given otherwise.
absl::Status CheckPoolHandle(absl::string_view pool);

struct Resolution {
  uint32_t overall_policy = static_cast<uint32_t>(protocol::PolicyType::kRoundRobin);
  // The PEs a record can hold (protocol::OwnedElements).
  std::vector<protocol::PoolElement> elements;
};

// A registration the registrar removed on its own: its keep-alive went
// unanswered, PUs reported the PE unreachable, or its lifetime ran out
// (RFC 5352 §2.2.4, §3.2, §3.4, §3.5).
struct RemovedRegistration {
  std::string pool;
  uint32_t pe_id = 0;
};

// RFC 5352 §3.6 SH1: an ASAP endpoint tries at most this many registrars at
// once ("MUST NOT establish more than three associations").
inline constexpr size_t kMaxHuntAssociations = 3;

class AsapSession {
 public:
  // How a registrar fared in Connect.
  enum class Attempt {
    kNotTried,
    kHome,     // its association came up first
    kAborted,  // still being set up when another came up or `timeout` ran out
    kFailed,   // the association could not be established
  };

  // Starts usrsctp (StartSctp) if needed and connects. Fails with
  // Unavailable when no association comes up within `timeout`.
  static absl::StatusOr<std::unique_ptr<AsapSession>> Connect(const RegistrarAddress& registrar,
                                                              absl::Duration timeout);
  // One server hunt round (RFC 5352 §3.6 SH1-SH4, SH6) over `registrars` in
  // order: tries up to kMaxHuntAssociations at once and each failed one is
  // replaced by the next; the first association that comes up within
  // `timeout` (T5) makes its registrar home, the others are aborted.
  // `attempts` (optional) gets each registrar's outcome. Setting `*cancel`
  // (optional) ends the round early, as if T5 had expired.
  static absl::StatusOr<std::unique_ptr<AsapSession>> Connect(
      absl::Span<const RegistrarAddress> registrars, absl::Duration timeout,
      std::vector<Attempt>* attempts = nullptr, const std::atomic<bool>* cancel = nullptr);
  ~AsapSession();
  AsapSession(const AsapSession&) = delete;
  AsapSession& operator=(const AsapSession&) = delete;

  // Every request first checks what it would send: a pool handle outside
  // CheckPoolHandle, or a message longer than protocol::kMaxMessageSize
  // (65,535 bytes, RFC 5354 §4), is InvalidArgument and nothing is sent.
  // Unavailable or DeadlineExceeded mean the home registrar is lost or did
  // not answer (RFC 5352 §3.7): hunt for another.

  // RFC 5352 §3.1: register or re-register (same PE id). A rejection returns
  // FailedPrecondition naming the RFC cause; ResourceExhausted when the
  // registrar was busy (Lack of Resources), which is worth a retry;
  // InvalidArgument when the registrar could not read the request
  // (ASAP_ERROR). On success keep-alives for the PE are answered until it is
  // deregistered or the registrar removes it.
  absl::Status Register(const std::string& pool, const protocol::PoolElement& pe,
                        absl::Duration timeout = absl::Seconds(30));
  // RFC 5352 §3.2. The PE's keep-alives go unanswered from the call on,
  // unless no answer comes (then the registrar may still have it).
  absl::Status Deregister(const std::string& pool, uint32_t pe_id,
                          absl::Duration timeout = absl::Seconds(30));
  // RFC 5352 §3.3; `items` > 0 asks for that many (RSPLIB's option). NotFound
  // for an unknown pool.
  absl::StatusOr<Resolution> Resolve(const std::string& pool, uint32_t items = 0,
                                     absl::Duration timeout = absl::Seconds(15));
  // RFC 5352 §3.5: tells the registrar that a PE did not answer.
  absl::Status ReportUnreachable(const std::string& pool, uint32_t pe_id);

  // The registrations the registrar removed on its own since the last call,
  // oldest first: each came as an ASAP_DEREGISTRATION_RESPONSE that did not
  // answer the Deregister in flight on its association (RFC 5352 §2.2.4),
  // naming a registration of this session and carrying no error. Such a
  // notice is recorded whenever it arrives, during another request too.
  std::vector<RemovedRegistration> TakeRemovedRegistrations();

  // Whether the association to the home registrar is up.
  bool connected() const;
  // The registrar that last became home with an H=1 keep-alive (0: none).
  uint32_t home_registrar() const;
  // The endpoint's SCTP port: the source port of its associations, where
  // registrars reach it (over the UDP port of SctpUdpPort()).
  uint16_t local_port() const { return endpoint_->port(); }

 private:
  struct Inbound {
    uint32_t assoc = 0;
    std::vector<uint8_t> data;
  };

  AsapSession() = default;
  // An association of the endpoint Connect started for registrar `slot`
  // (usrsctp numbers associations per endpoint).
  static uint64_t Key(size_t slot, uint32_t assoc) {
    return (static_cast<uint64_t>(slot) << 32) | assoc;
  }
  // The request in flight (Transact), so that OnMessage can tell its answer
  // from a notice.
  struct InFlight {
    bool active = false;
    uint32_t assoc = 0;
    protocol::AsapType reply = protocol::AsapType::kError;
    std::string pool;
    std::optional<uint32_t> pe_id;
  };

  // usrsctp's thread: keep-alives are answered, removal notices recorded,
  // other ASAP messages queued.
  void OnMessage(size_t slot, uint32_t assoc, uint32_t ppid, absl::Span<const uint8_t> data);
  void OnEvent(size_t slot, uint32_t assoc, bool up);
  void HandleKeepAlive(size_t slot, uint32_t assoc, absl::Span<const uint8_t> data);
  // A DEREGISTRATION_RESPONSE: true if it was a removal notice (recorded) or
  // meaningless (dropped); false if it answers the Deregister in flight.
  bool HandleDeregistrationResponse(size_t slot, uint32_t assoc, absl::Span<const uint8_t> data);
  // Sends `request` to the home registrar and waits for a message of type
  // `reply` matching `pool` (and `pe_id`, when given and the reply names
  // one) on the same association. Answers that arrived before the request (a
  // late one to a request that timed out) are dropped first; removal notices
  // never wait in the inbox, so none is lost that way.
  absl::StatusOr<std::vector<uint8_t>> Transact(const protocol::Message& request,
                                                protocol::AsapType reply, const std::string& pool,
                                                std::optional<uint32_t> pe_id,
                                                absl::Duration timeout);
  absl::StatusOr<std::vector<uint8_t>> AwaitReply(uint32_t assoc, protocol::AsapType reply,
                                                  const std::string& pool,
                                                  std::optional<uint32_t> pe_id,
                                                  absl::Duration timeout);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::set<uint64_t> up_;    // Key()s of the associations that are up
  std::set<uint64_t> down_;  // Key()s of the associations that went down during Connect
  bool hunting_ = false;     // in Connect
  size_t home_slot_ = 0;     // the endpoint that Connect kept
  uint32_t home_assoc_ = 0;  // its association to the home registrar
  uint32_t home_ = 0;
  std::deque<Inbound> inbox_;  // answers on the kept endpoint
  InFlight in_flight_;
  // The registrations whose keep-alives are answered: pool handle -> PE ids
  // (RFC 5352 §3.4 KA1 matches the pool, KA2.2 names the PE; a keep-alive
  // without a PE id is answered once per PE of its pool).
  absl::flat_hash_map<std::string, absl::flat_hash_set<uint32_t>> registered_;
  // Removal notices not taken yet; each was in registered_, so there are
  // never more than the session registered.
  std::vector<RemovedRegistration> removed_;
  std::mutex request_mu_;  // one request in flight
  // Last: closed first, so that no callback runs on a half-destroyed session.
  std::unique_ptr<SctpServer> endpoint_;
};

}  // namespace rspd::client
