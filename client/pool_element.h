// File: client/pool_element.h
//
// A pool element in a handful of calls (RFC 5352 §3): Start finds a home
// registrar (server hunt, §3.6, over a static list and/or registrars heard in
// announces), registers the PEs there (§3.1), re-registers them every T4
// (§7.1), hunts again and re-registers when the home is lost (§3.7), follows
// an H=1 keep-alive to the registrar that took the PEs over (§3.4 KA2.4), and
// Stop deregisters them (§3.2). It runs on a thread of its own; what happens
// is reported through a callback (on that thread).
//
// A rejected registration is not retried unchanged (§3.1): the PE then stops
// and failure() says why.
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
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/announce_listener.h"
#include "client/asap_session.h"
#include "client/server_hunt.h"

namespace rspd::client {

// T4-reregistration (RFC 5352 §7.1): min(10 min, lifetime - 20 s); half the
// lifetime when that is shorter than 20 s; 10 min for an infinite lifetime.
absl::Duration ReregistrationInterval(int32_t lifetime);

class PoolElement {
 public:
  struct Options {
    std::vector<RegistrarAddress> registrars;  // may be empty with announces
    // Also learn registrars from ASAP_SERVER_ANNOUNCEs on GROUP[:PORT]
    // (ParseAnnounceGroup); empty: none. `announce_interface` is the local
    // address whose interface hears them.
    std::string announce_group;
    std::string announce_interface = "127.0.0.1";
    ServerHunt::Options hunt;
    bool reregister = true;  // false: let the lifetime run out
  };
  struct Event {
    enum class Kind {
      kHuntRound,       // a server hunt found a home (text: the round)
      kHuntFailed,      // a round found none; the next waits T5
      kRegistered,      // the PEs are registered at a new home (once per home)
      kHomeChanged,     // an H=1 keep-alive made `home` the home registrar
      kLostRegistrar,   // the home's association is down; hunting again
      kRegisterFailed,  // a (re-)registration failed: busy registrar (retried there after
                        // 1 s) or no answer (hunting again)
      kRejected,        // a registration was rejected; the PE stopped
      kDeregistered,    // Stop deregistered `pe_id`
      kDeregisterFailed,
    };
    Kind kind;
    std::string text;  // what to log: the PE, registrar or cause it is about
  };
  using EventFn = std::function<void(const Event&)>;

  // Fails at once on a bad announce group or listener; everything after
  // that (hunting, registering) happens on the PE's thread.
  static absl::StatusOr<std::unique_ptr<PoolElement>> Start(std::string pool,
                                                            std::vector<PoolElementSpec> pes,
                                                            Options options, EventFn on_event);
  ~PoolElement();  // Stop()
  PoolElement(const PoolElement&) = delete;
  PoolElement& operator=(const PoolElement&) = delete;

  // Stops re-registering (cancelling a server hunt round in progress) and
  // deregisters every PE at the home, if it is reachable. OK if every PE was deregistered; the
  // first error otherwise. Idempotent.
  absl::Status Stop();
  // Set once a registration was rejected: the PE thread has stopped.
  bool failed() const;
  absl::Status failure() const;

 private:
  PoolElement(std::string pool, std::vector<PoolElementSpec> pes, Options options,
              EventFn on_event);
  void Run();
  absl::Status Deregister();
  void Emit(Event event) const;

  const std::string pool_;
  const std::vector<PoolElementSpec> pes_;
  const Options options_;
  const EventFn on_event_;
  ServerHunt hunt_;
  std::unique_ptr<AnnounceListener> listener_;
  std::unique_ptr<AsapSession> session_;  // the home; the PE thread's while it runs

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
