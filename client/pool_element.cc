#include "client/pool_element.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/sctp_association.h"

namespace rspd::client {
namespace {

// How often the PE thread looks at its association and the announces:
// often enough to notice a lost registrar quickly (RFC 5352 §3.7).
constexpr absl::Duration kTick = absl::Milliseconds(100);
// How long one request waits for its answer (T2 registration, T3
// deregistration, RFC 5352 §7.1).
constexpr absl::Duration kRequestTimeout = absl::Seconds(5);
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

PoolElement::PoolElement(std::string pool, std::vector<PoolElementSpec> pes, Options options,
                         EventFn on_event)
    : pool_(std::move(pool)),
      pes_(std::move(pes)),
      options_(std::move(options)),
      on_event_(std::move(on_event)),
      hunt_(options_.registrars, options_.hunt) {}

absl::StatusOr<std::unique_ptr<PoolElement>> PoolElement::Start(std::string pool,
                                                                std::vector<PoolElementSpec> pes,
                                                                Options options, EventFn on_event) {
  if (pes.empty()) return absl::InvalidArgumentError("no pool element to register");
  if (options.registrars.empty() && options.announce_group.empty()) {
    return absl::InvalidArgumentError("no registrar: give a list or an announce group");
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
    auto listener = AnnounceListener::Start(
        group->address, group->port, pe->options_.announce_interface,
        protocol::kSctpUdpEncapsulationPort, [self](const RegistrarAddress& r) {
          std::lock_guard<std::mutex> lock(self->mu_);
          self->announced_.push_back(r);
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

void PoolElement::Run() {
  // T4 of the PE with the shortest lifetime (-1, infinite, is the longest).
  absl::Duration t4 = absl::InfiniteDuration();
  for (const PoolElementSpec& p : pes_) {
    if (options_.reregister) t4 = std::min(t4, ReregistrationInterval(p.registration_life));
  }
  absl::Time next_registration = absl::InfinitePast();
  absl::Time next_hunt = absl::InfinitePast();
  bool reported = false;
  uint32_t home = 0;  // the server ID an H=1 keep-alive named, once one did
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, absl::ToChronoNanoseconds(kTick), [this] { return stopping_; });
    if (stopping_) break;
    const absl::Time now = absl::Now();
    for (const RegistrarAddress& r : announced_) hunt_.Heard(r, now);
    announced_.clear();
    lock.unlock();
    if (session_ != nullptr && !session_->connected()) {
      const std::string lost = home != 0 ? absl::StrFormat("0x%08x", home) : hunt_.current();
      Emit(Note(Event::Kind::kLostRegistrar, absl::StrCat("lost registrar ", lost, "; hunting")));
      session_.reset();
      home = 0;
    }
    if (session_ == nullptr && now >= next_hunt) {
      absl::StatusOr<std::unique_ptr<AsapSession>> found = hunt_.Hunt(now, &cancel_);
      if (found.ok()) {
        session_ = std::move(*found);
        Emit(Note(Event::Kind::kHuntRound,
                  absl::StrFormat("server hunt: %s; ASAP endpoint SCTP port %u over UDP port %u",
                                  hunt_.LastRoundText(), session_->local_port(), SctpUdpPort())));
        next_registration = now;  // register at the new home at once (§3.1 rule 4)
        reported = false;
      } else if (!cancel_.load(std::memory_order_relaxed)) {
        Emit(Note(Event::Kind::kHuntFailed, std::string(found.status().message())));
        next_hunt = absl::Now() + hunt_.t5();  // SH5: wait, then a new round
      }
    }
    if (session_ != nullptr) {
      // RFC 5352 §3.4 KA2.4: a registrar that took over (H=1 keep-alive, RFC
      // 5353 §3.5.2) is home now; the session's next re-registration and the
      // deregistration go to it.
      if (const uint32_t h = session_->home_registrar(); h != home) {
        home = h;
        Emit(Note(Event::Kind::kHomeChanged, absl::StrFormat("home registrar now 0x%08x", h)));
      }
    }
    if (session_ != nullptr && now >= next_registration) {
      absl::Status status;
      for (const PoolElementSpec& p : pes_) {
        status = session_->Register(pool_, p, kRequestTimeout);
        if (!status.ok()) break;
      }
      if (absl::IsFailedPrecondition(status)) {
        // RFC 5352 §3.1: a rejection must not be retried unchanged.
        Emit(Note(Event::Kind::kRejected, std::string(status.message())));
        lock.lock();
        failure_ = status;
        break;
      }
      if (absl::IsResourceExhausted(status)) {
        // The registrar is busy (Lack of Resources): same home, a bit later.
        Emit(Note(Event::Kind::kRegisterFailed, std::string(status.message())));
        next_registration = now + kBusyRetry;
      } else if (!status.ok()) {
        Emit(Note(Event::Kind::kRegisterFailed, std::string(status.message())));
        session_.reset();
      } else {
        if (!reported) {
          for (const PoolElementSpec& p : pes_) {
            Emit(Note(Event::Kind::kRegistered,
                      absl::StrFormat("registered pe_id=0x%08x pool=%s registrar=%s", p.pe_id,
                                      pool_, hunt_.current())));
          }
          reported = true;
        }
        next_registration = now + t4;
      }
    }
    lock.lock();
  }
}

absl::Status PoolElement::Deregister() {
  absl::Status result;
  for (const PoolElementSpec& p : pes_) {
    if (session_ == nullptr || !session_->connected()) {
      return result.ok() ? absl::UnavailableError("no registrar to deregister at") : result;
    }
    absl::Status status = session_->Deregister(pool_, p.pe_id, kRequestTimeout);
    if (!status.ok()) {
      Emit(
          Note(Event::Kind::kDeregisterFailed, absl::StrCat("deregistration: ", status.message())));
      if (result.ok()) result = status;
      continue;
    }
    Emit(Note(Event::Kind::kDeregistered, absl::StrFormat("deregistered pe_id=0x%08x", p.pe_id)));
  }
  return result;
}

absl::Status PoolElement::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return stop_status_;
    stopping_ = true;
  }
  cancel_.store(true, std::memory_order_relaxed);  // ends a server hunt round in progress
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
