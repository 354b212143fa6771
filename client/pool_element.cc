#include "client/pool_element.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/sctp_association.h"
#include "dataplane/net/endpoint.h"

namespace rspd::client {
namespace {

// How often the PE thread looks at its association and the announces:
// often enough to notice a lost registrar quickly (RFC 5352 §3.7).
constexpr absl::Duration kTick = absl::Milliseconds(100);
// How long a PE waits before trying again at a busy registrar.
constexpr absl::Duration kBusyRetry = absl::Seconds(1);

PoolElement::Event Note(PoolElement::Event::Kind kind, std::string text) {
  PoolElement::Event event;
  event.kind = kind;
  event.text = std::move(text);
  return event;
}

}  // namespace

absl::Duration ReregistrationInterval(int32_t lifetime) {
  if (lifetime < 0) return absl::Minutes(10);
  const absl::Duration life = absl::Seconds(lifetime);
  const absl::Duration t4 = life > absl::Seconds(40) ? life - absl::Seconds(20) : life / 2;
  return std::min(t4, absl::Minutes(10));
}

PoolElement::PoolElement(std::string pool, std::vector<protocol::PoolElement> pes, Options options,
                         EventFn on_event)
    : pool_(std::move(pool)),
      pes_(std::move(pes)),
      options_(std::move(options)),
      on_event_(std::move(on_event)),
      hunt_(options_.registrars, options_.hunt),
      registered_(pes_.size(), false),
      queued_(pes_.size(), false),
      reregister_at_(pes_.size(), absl::InfiniteFuture()),
      hunt_backoff_(options_.hunt.t5) {
  for (size_t i = 0; i < pes_.size(); ++i) index_.emplace(pes_[i].id, i);
}

absl::StatusOr<protocol::IpAddress> LocalAddressToward(const RegistrarAddress& registrar) {
  const std::optional<dataplane::Endpoint> to =
      dataplane::Endpoint::Parse(registrar.host, registrar.udp_port);
  if (!to) return absl::InvalidArgumentError(absl::StrCat("not an IP address: ", registrar.host));
  absl::StatusOr<dataplane::Endpoint> local = dataplane::LocalEndpointToward(*to);
  if (!local.ok()) return local.status();
  return local->ip();
}

namespace {

// The address of a PE given without one (PoolElement::Start).
absl::StatusOr<protocol::IpAddress> DefaultAddress(const PoolElement::Options& options) {
  if (!options.registrars.empty()) return LocalAddressToward(options.registrars.front());
  const std::optional<dataplane::Endpoint> local =
      dataplane::Endpoint::Parse(options.announce_interface, 0);
  if (!local) {
    return absl::InvalidArgumentError(
        absl::StrCat("announce interface: not an IP address: '", options.announce_interface, "'"));
  }
  return local->ip();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PoolElement>> PoolElement::Start(
    std::string pool, std::vector<protocol::PoolElement> pes, Options options, EventFn on_event) {
  if (absl::Status s = CheckPoolHandle(pool); !s.ok()) return s;
  if (pes.empty()) return absl::InvalidArgumentError("no pool element to register");
  absl::flat_hash_set<uint32_t> ids;
  for (const protocol::PoolElement& p : pes) {
    // RFC 5352 §3.1 R2.2, §3.2 D2: the PE id names the registration.
    if (!ids.insert(p.id).second) {
      return absl::InvalidArgumentError(absl::StrFormat("pe_id=0x%08x is given twice", p.id));
    }
    // RFC 5354 §3.10: seconds, or -1 for infinite. 0 would make T4 zero
    // (a re-registration every tick).
    if (p.registration_life != protocol::kInfiniteLifetime && p.registration_life < 1) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "pe_id=0x%08x: registration life %d s; it must be -1 (infinite) or at least 1 s", p.id,
          p.registration_life));
    }
  }
  if (options.hunt.t5 <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "T5-Serverhunt is ", absl::FormatDuration(options.hunt.t5), "; it must be more than 0"));
  }
  if (options.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("the request timeout is ",
                                                   absl::FormatDuration(options.request_timeout),
                                                   "; it must be more than 0"));
  }
  if (options.registrars.empty() && options.announce_group.empty()) {
    return absl::InvalidArgumentError("no registrar: give a list or an announce group");
  }
  std::optional<protocol::IpAddress> default_address;
  for (protocol::PoolElement& p : pes) {
    if (p.user.addresses.size != 0) continue;
    if (!default_address) {
      absl::StatusOr<protocol::IpAddress> a = DefaultAddress(options);
      if (!a.ok()) return a.status();
      default_address = *a;
    }
    p.user.addresses.push_back(*default_address);
  }
  std::unique_ptr<PoolElement> pe(
      new PoolElement(std::move(pool), std::move(pes), std::move(options), std::move(on_event)));
  if (!pe->options_.announce_group.empty()) {
    absl::StatusOr<AnnounceGroup> group = ParseAnnounceGroup(pe->options_.announce_group);
    if (!group.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad announce group '", pe->options_.announce_group, "': ", group.status().message()));
    }
    PoolElement* self = pe.get();
    auto listener =
        AnnounceListener::Start(group->address, group->port, pe->options_.announce_interface,
                                protocol::kSctpUdpEncapsulationPort, [self](RegistrarAddress r) {
                                  // RFC 5355 §2.12: whoever announced it, it is called over TLS
                                  // when the PE runs secure, and must prove itself there.
                                  if (self->options_.announced_tls != nullptr) {
                                    r.tls = self->options_.announced_tls;
                                    if (r.sctp_port == protocol::kAsapPort)
                                      r.sctp_port = protocol::kAsapTlsPort;
                                  }
                                  std::lock_guard<std::mutex> lock(self->mu_);
                                  self->announced_.push_back(std::move(r));
                                });
    if (!listener.ok()) return listener.status();
    pe->listener_ = std::move(*listener);
  }
  pe->thread_ = std::thread(&PoolElement::Run, pe.get());
  return pe;
}

PoolElement::~PoolElement() { (void)Stop(); }

void PoolElement::Emit(Event event) const {
  if (on_event_) on_event_(event);
}

bool PoolElement::failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !failure_.ok();
}

absl::Status PoolElement::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

void PoolElement::Queue(size_t index) {
  if (queued_[index]) return;
  queued_[index] = true;
  due_.push_back(index);
}

void PoolElement::DropSession(absl::Time now) {
  session_.reset();
  home_id_ = 0;
  registered_.assign(pes_.size(), false);
  queued_.assign(pes_.size(), false);
  due_.clear();
  round_queued_ = false;
  reregister_heap_.clear();
  reregister_at_.assign(pes_.size(), absl::InfiniteFuture());
  next_attempt_ = absl::InfinitePast();
  if (home_worked_) {
    // RFC 5352 §3.6: a PE that fails to communicate with its home MUST find
    // a new one; the last home served, so no time is lost.
    next_hunt_ = now;
  } else {
    // A registrar that takes associations but not these registrations:
    // hunting again at once would only reach it again. T5, doubled while it
    // goes on, capped at RETRAN-MAX (§3.6 SH5.1).
    next_hunt_ = now + hunt_backoff_;
    hunt_backoff_ = std::min(hunt_backoff_ * 2, options_.hunt.retran_max);
  }
  home_worked_ = false;
}

PoolElement::Pass PoolElement::RegisterDue() {
  while (!due_.empty()) {
    if (cancel_.load(std::memory_order_relaxed)) return Pass::kStopped;  // Stop()
    const size_t i = due_.front();
    const protocol::PoolElement& p = pes_[i];
    const uint32_t home_before = session_->home_registrar();
    absl::Status status = session_->Register(pool_, p, options_.request_timeout);
    if (status.ok()) {
      due_.pop_front();
      queued_[i] = false;
      if (options_.reregister) {
        // RFC 5352 §7.1: T4 runs from this registration.
        reregister_at_[i] = absl::Now() + ReregistrationInterval(p.registration_life);
        reregister_heap_.emplace_back(reregister_at_[i], i);
        std::push_heap(reregister_heap_.begin(), reregister_heap_.end(), std::greater<>());
      }
      if (!registered_[i]) {
        registered_[i] = true;
        Emit(Note(Event::Kind::kRegistered,
                  absl::StrFormat("registered pe_id=0x%08x pool=%s registrar=%s", p.id, pool_,
                                  hunt_.current())));
      }
      continue;
    }
    if (absl::IsFailedPrecondition(status) || absl::IsInvalidArgument(status)) {
      // RFC 5352 §3.1: a rejection must not be retried unchanged; nor can a
      // request that cannot be sent, or that the registrar could not read.
      // failed() holds by the time the event is reported.
      {
        std::lock_guard<std::mutex> lock(mu_);
        failure_ = status;
      }
      Emit(Note(Event::Kind::kRejected,
                absl::StrFormat("pe_id=0x%08x: %s", p.id, status.message())));
      return Pass::kStopped;
    }
    if (absl::IsResourceExhausted(status)) {
      // The registrar is busy (Lack of Resources): same home, a bit later,
      // from this PE on.
      Emit(Note(Event::Kind::kRegisterFailed, std::string(status.message())));
      next_attempt_ = absl::Now() + kBusyRetry;
      return Pass::kLater;
    }
    // RFC 5352 §3.4 KA2.4: a registrar took the PE over (H-bit keep-alive)
    // while the request waited at the old home, which is why it got no
    // answer: it goes to the new home, with no hunt.
    if (session_->home_registrar() != home_before && session_->home_registrar() != 0) {
      Emit(Note(Event::Kind::kRegisterFailed,
                absl::StrFormat("%s; again at the new home 0x%08x", status.message(),
                                session_->home_registrar())));
      continue;
    }
    // RFC 5352 §3.1: no answer within T2 (or the association is gone): hunt
    // for another home.
    const absl::Time now = absl::Now();
    DropSession(now);
    Emit(Note(
        Event::Kind::kRegisterFailed,
        absl::StrCat(
            status.message(), "; hunting again",
            next_hunt_ > now ? absl::StrCat(" in ", absl::FormatDuration(next_hunt_ - now)) : "")));
    return Pass::kLater;
  }
  return Pass::kDone;
}

void PoolElement::Run() {
  absl::Time next_round = absl::InfiniteFuture();  // a new home: every PE
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, absl::ToChronoNanoseconds(kTick), [this] { return stopping_; });
    if (stopping_) break;
    const absl::Time now = absl::Now();
    for (const RegistrarAddress& r : announced_) hunt_.Heard(r, now);
    announced_.clear();
    lock.unlock();
    if (session_ != nullptr && !session_->connected()) {
      const std::string lost =
          home_id_ != 0 ? absl::StrFormat("0x%08x", home_id_) : hunt_.current();
      DropSession(now);
      Emit(Note(Event::Kind::kLostRegistrar, absl::StrCat("lost registrar ", lost, "; hunting")));
    }
    if (session_ == nullptr && now >= next_hunt_) {
      absl::StatusOr<std::unique_ptr<AsapSession>> found = hunt_.Hunt(now, &cancel_);
      if (found.ok()) {
        session_ = std::move(*found);
        Emit(Note(Event::Kind::kHuntRound,
                  absl::StrFormat("server hunt: %s; ASAP endpoint SCTP port %u over UDP port %u",
                                  hunt_.LastRoundText(), session_->local_port(), SctpUdpPort())));
        next_round = now;  // register at the new home at once (§3.1 rule 4)
      } else if (!cancel_.load(std::memory_order_relaxed)) {
        Emit(Note(Event::Kind::kHuntFailed, std::string(found.status().message())));
        next_hunt_ = absl::Now() + hunt_.t5();  // SH5: wait, then a new round
      }
    }
    if (session_ != nullptr) {
      // RFC 5352 §3.4 KA2.4: a registrar that took over (H=1 keep-alive, RFC
      // 5353 §3.5.2) is home now; the session's next re-registration and the
      // deregistration go to it.
      if (const uint32_t h = session_->home_registrar(); h != home_id_) {
        home_id_ = h;
        Emit(Note(Event::Kind::kHomeChanged, absl::StrFormat("home registrar now 0x%08x", h)));
      }
      // RFC 5352 §2.2.4: the registrar removed a PE on its own (lifetime,
      // keep-alives, unreachable reports). A PE that means to stay registers
      // again now, not at T4, which may be ten minutes away
      // (docs/decisions.md).
      for (const RemovedRegistration& r : session_->TakeRemovedRegistrations()) {
        auto it = index_.find(r.pe_id);
        if (r.pool != pool_ || it == index_.end() || !registered_[it->second]) continue;
        registered_[it->second] = false;
        if (options_.reregister) {
          Emit(Note(Event::Kind::kRemovedByRegistrar,
                    absl::StrFormat("registrar removed pe_id=0x%08x; registering again", r.pe_id)));
          Queue(it->second);
        } else {
          Emit(Note(Event::Kind::kRemovedByRegistrar,
                    absl::StrFormat("registrar removed pe_id=0x%08x; not registering again "
                                    "(re-registration is off)",
                                    r.pe_id)));
        }
      }
    }
    if (session_ != nullptr && now >= next_round) {
      // A new home: every PE, in order (§3.1 rule 4).
      for (size_t i = 0; i < pes_.size(); ++i) Queue(i);
      round_queued_ = true;
      next_round = absl::InfiniteFuture();
    }
    // T4 (RFC 5352 §7.1): the PEs whose own re-registration is due.
    while (session_ != nullptr && !reregister_heap_.empty() &&
           reregister_heap_.front().first <= now) {
      const auto [at, i] = reregister_heap_.front();
      std::pop_heap(reregister_heap_.begin(), reregister_heap_.end(), std::greater<>());
      reregister_heap_.pop_back();
      if (at == reregister_at_[i]) Queue(i);  // else stale: registered again since
    }
    if (session_ != nullptr && !due_.empty() && now >= next_attempt_) {
      const Pass pass = RegisterDue();
      if (pass == Pass::kStopped) return;
      if (pass == Pass::kDone && round_queued_) {
        // Every PE is registered at the new home: it works.
        round_queued_ = false;
        home_worked_ = true;
        hunt_backoff_ = options_.hunt.t5;
      }
    }
    if (session_ == nullptr) next_round = absl::InfiniteFuture();
    lock.lock();
  }
}

absl::Status PoolElement::Deregister() {
  const absl::Status unreachable = absl::UnavailableError("no registrar to deregister at");
  if (session_ == nullptr || !session_->connected()) return unreachable;
  absl::Status result;
  for (size_t i = 0; i < pes_.size(); ++i) {
    // Only what is registered: a PE that was rejected, not reached yet, or
    // removed by the registrar is not in the pool (RFC 5352 §3.2).
    if (!registered_[i]) continue;
    if (!session_->connected()) return result.ok() ? unreachable : result;
    const protocol::PoolElement& p = pes_[i];
    absl::Status status = session_->Deregister(pool_, p.id, options_.request_timeout);
    if (!status.ok()) {
      Emit(
          Note(Event::Kind::kDeregisterFailed, absl::StrCat("deregistration: ", status.message())));
      if (result.ok()) result = status;
      continue;
    }
    registered_[i] = false;
    Emit(Note(Event::Kind::kDeregistered, absl::StrFormat("deregistered pe_id=0x%08x", p.id)));
  }
  return result;
}

absl::Status PoolElement::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return stop_status_;
    stopping_ = true;
  }
  // Ends a server hunt round, or a registration pass, in progress.
  cancel_.store(true, std::memory_order_relaxed);
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  listener_.reset();
  // After a rejection too: the PEs registered before the rejected one are
  // still in the pool.
  absl::Status status = Deregister();
  if (failed()) status = failure();
  session_.reset();
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  stop_status_ = status;
  return status;
}

}  // namespace rspd::client
