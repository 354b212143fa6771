// File: client/pool_element.h
//
// A pool element in a handful of calls (RFC 5352 §3): Start finds a home
// registrar (server hunt, §3.6, over a static list and/or registrars heard in
// announces), registers the PEs there (§3.1), re-registers them every T4
// (§7.1), registers a PE again at once when the registrar says it removed it
// (an unasked ASAP_DEREGISTRATION_RESPONSE, §2.2.4), hunts again and
// re-registers when the home is lost (§3.7), follows an H=1 keep-alive to the
// registrar that took the PEs over (§3.4 KA2.4), and Stop deregisters the PEs
// that are registered (§3.2). It runs on a thread of its own, which looks at
// Stop between any two requests; what happens is reported through a callback
// (on that thread).
//
// It never spins. A rejected registration is not retried unchanged (§3.1),
// nor is one that cannot be sent (InvalidArgument): the PE then stops and
// failure() says why. A busy registrar is asked again after a second; after a
// home at which the PEs could not all be registered, the next server hunt
// waits T5, doubled up to RETRAN-MAX while that goes on (§3.6 SH5). Losing a
// home that worked starts a hunt at once (§3.6).
//
// Example:
//   PoolElement::Options options;
//   options.registrars = *ParseRegistrarList("10.0.0.1,10.0.0.2");
//   auto pe = PoolElement::Start("echo", {spec}, options,
//                                [](const PoolElement::Event& e) { puts(e.text.c_str()); });
//   ...
//   absl::Status deregistered = (*pe)->Stop();

#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/announce_listener.h"
#include "client/asap_session.h"
#include "client/server_hunt.h"
#include "dataplane/tls/tls_context.h"

namespace rspd::client {

// T4-reregistration (RFC 5352 §7.1), per PE from its own last registration:
// min(10 min, lifetime - 20 s); half the
// lifetime when that is shorter than 20 s; 10 min for an infinite lifetime.
absl::Duration ReregistrationInterval(int32_t lifetime);

// The address a registrar sees as the source of our packets: the local
// address the kernel sends from toward `registrar`. RFC 5352 §2.2.1: a PE's
// addresses must be the association's, and over UDP encapsulation the
// registrar sees this one (docs/decisions.md). Unavailable without a route.
absl::StatusOr<protocol::IpAddress> LocalAddressToward(const RegistrarAddress& registrar);

class PoolElement {
 public:
  struct Options {
    std::vector<RegistrarAddress> registrars;  // may be empty with announces
    // Also learn registrars from ASAP_SERVER_ANNOUNCEs on GROUP[:PORT]
    // (ParseAnnounceGroup); empty: none. `announce_interface` is the local
    // address whose interface hears them.
    std::string announce_group;
    std::string announce_interface = "127.0.0.1";
    // ASAP over TLS to registrars learned from announces (docs/security.md):
    // announces are plaintext and anyone may send one, so an announced
    // registrar is called over TLS and must prove itself like a configured
    // one; an announced ASAP port 3863 becomes 3864 (asap-sctp-tls). Null:
    // plaintext. Configured registrars carry their own.
    std::shared_ptr<const dataplane::tls::TlsContext> announced_tls;
    ServerHunt::Options hunt;  // t5 must be > 0
    // false: let the lifetime run out, and leave a PE the registrar removed
    // out of the pool.
    bool reregister = true;
    // How long a registration or deregistration waits for its answer (T2,
    // T3 of RFC 5352 §7.1, shorter than the RFC's 30 s to hunt sooner).
    absl::Duration request_timeout = absl::Seconds(5);
  };
  struct Event {
    enum class Kind {
      kHuntRound,           // a server hunt found a home (text: the round)
      kHuntFailed,          // a round found none; the next waits T5
      kRegistered,          // a PE is registered at a new home (once per PE and home, and
                            // again after kRemovedByRegistrar)
      kHomeChanged,         // an H=1 keep-alive made `home` the home registrar
      kLostRegistrar,       // the home's association is down; hunting again
      kRegisterFailed,      // a (re-)registration failed: busy registrar (retried there after
                            // 1 s) or no answer (hunting again, after T5 if the home never
                            // worked)
      kRemovedByRegistrar,  // the registrar removed a PE on its own; registering it again
                            // unless Options::reregister is false
      kRejected,            // a registration was rejected or cannot be sent; the PE stopped
                            // (failed() is true by then)
      kDeregistered,        // Stop deregistered `pe_id`
      kDeregisterFailed,
    };
    Kind kind;
    std::string text;  // what to log: the PE, registrar or cause it is about
  };
  using EventFn = std::function<void(const Event&)>;

  // A PE given without addresses registers the local address toward the
  // first registrar of the list (LocalAddressToward), or with announces only
  // the announce interface's address.
  //
  // Fails at once (InvalidArgument) on a pool handle outside CheckPoolHandle,
  // no PE or two with one PE id, a registration life other than -1
  // (infinite) or at least 1 s, T5 or a request timeout not above zero, a
  // bad announce group; on no default address for a PE without addresses;
  // or on a listener that cannot start. Everything after
  // that (hunting, registering) happens on the PE's thread.
  static absl::StatusOr<std::unique_ptr<PoolElement>> Start(std::string pool,
                                                            std::vector<protocol::PoolElement> pes,
                                                            Options options, EventFn on_event);
  ~PoolElement();  // Stop()
  PoolElement(const PoolElement&) = delete;
  PoolElement& operator=(const PoolElement&) = delete;

  // Stops registering (between two requests, or cancelling a server hunt
  // round in progress) and deregisters, at the home if it is reachable, each
  // PE that is registered there: not one whose registration was rejected or
  // never made, nor one the registrar removed. OK if every one of them was
  // deregistered; the first error otherwise (Unavailable without a home).
  // failure() if the PE had stopped on its own. Idempotent.
  absl::Status Stop();
  // Set once a registration was rejected or could not be sent: the PE thread
  // has stopped.
  bool failed() const;
  absl::Status failure() const;

 private:
  PoolElement(std::string pool, std::vector<protocol::PoolElement> pes, Options options,
              EventFn on_event);
  // What a registration pass left to do.
  enum class Pass { kDone, kLater, kStopped };

  void Run();
  // Registers the PEs in due_ in order, at most until Stop. Sets failure_ and
  // returns kStopped on a rejection.
  Pass RegisterDue();
  // Queues PE `index` for registration (once).
  void Queue(size_t index);
  // Forgets the home; the next hunt waits when it never worked.
  void DropSession(absl::Time now);
  absl::Status Deregister();
  void Emit(Event event) const;

  const std::string pool_;
  const std::vector<protocol::PoolElement> pes_;
  absl::flat_hash_map<uint32_t, size_t> index_;  // PE id -> its place in pes_
  const Options options_;
  const EventFn on_event_;
  ServerHunt hunt_;
  std::unique_ptr<AnnounceListener> listener_;
  std::unique_ptr<AsapSession> session_;  // the home; the PE thread's while it runs

  // The PE thread's while it runs, then Stop's.
  std::vector<bool> registered_;  // per PE: registered at the current home
  std::deque<size_t> due_;        // PEs to register now, in order
  std::vector<bool> queued_;      // per PE: in due_
  bool round_queued_ = false;     // due_ holds a whole new-home round
  // T4 per PE (RFC 5352 §7.1): each PE is re-registered T4 after its own last
  // registration, so that a long round (thousands of PEs at a busy
  // registrar) never lets the first PEs' lifetimes run out. A min-heap of
  // (due time, PE); an entry whose time is not the PE's reregister_at_ is
  // stale and skipped.
  std::vector<std::pair<absl::Time, size_t>> reregister_heap_;
  std::vector<absl::Time> reregister_at_;
  bool home_worked_ = false;                        // every PE was registered at the current home
  absl::Time next_attempt_ = absl::InfinitePast();  // a busy registrar: not before
  absl::Time next_hunt_ = absl::InfinitePast();
  absl::Duration hunt_backoff_;  // wait before hunting after a home that did not work
  uint32_t home_id_ = 0;         // the server ID an H=1 keep-alive named, once one did

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};  // Stop(): cancels a hunt round in progress
  absl::Status failure_;
  std::vector<RegistrarAddress> announced_;  // from the listener's thread
  std::thread thread_;
  bool stopped_ = false;
  absl::Status stop_status_;
};

}  // namespace rspd::client
