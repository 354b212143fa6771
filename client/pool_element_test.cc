// File: client/pool_element_test.cc
//
// PoolElement's life against fake registrars on this process's usrsctp
// stack: it hunts past a registrar that is gone, registers, re-registers
// every T4 and after a removal by the registrar, and deregisters on Stop what
// is registered; it stops, and never spins, on what it cannot send; T4
// itself follows RFC 5352 §7.1.

#include "client/pool_element.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/testing/fake_registrar.h"
#include "gtest/gtest.h"

namespace rspd::client {
namespace {

using protocol::AsapType;
using testing::FakeRegistrar;
using Kind = PoolElement::Event::Kind;

constexpr absl::Duration kWait = absl::Seconds(10);

// A PE's events as they come, with their time; tests wait for them. Declared
// before the PE it listens to (the PE's destructor still reports).
class EventLog {
 public:
  PoolElement::EventFn Callback() {
    return [this](const PoolElement::Event& e) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back({e, absl::Now()});
      cv_.notify_all();
    };
  }
  // Waits until `count` events of `kind` came; the time of the last one.
  absl::StatusOr<absl::Time> Await(Kind kind, size_t count, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    absl::Time when;
    const bool came = cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] {
      size_t seen = 0;
      for (const Logged& l : events_) {
        if (l.event.kind == kind && ++seen == count) {
          when = l.when;
          return true;
        }
      }
      return false;
    });
    if (!came)
      return absl::DeadlineExceededError(absl::StrCat("no event ", static_cast<int>(kind)));
    return when;
  }
  size_t Count(Kind kind) {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<size_t>(std::count_if(
        events_.begin(), events_.end(), [&](const Logged& l) { return l.event.kind == kind; }));
  }
  std::string Text(Kind kind) {  // the last one's
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
      if (it->event.kind == kind) return it->event.text;
    }
    return "";
  }

 private:
  struct Logged {
    PoolElement::Event event;
    absl::Time when;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Logged> events_;
};

protocol::PoolElement Spec(uint32_t pe_id, int32_t lifetime = protocol::kInfiniteLifetime,
                           uint16_t port = 7100) {
  protocol::PoolElement spec;
  spec.id = pe_id;
  spec.user.port = port;
  spec.registration_life = lifetime;
  spec.user.addresses.push_back(protocol::IpAddress::V4(0x7f000001));
  spec.policy.type = protocol::PolicyType::kRoundRobin;
  return spec;
}

// A fake registrar, and options that make it the PE's only one.
class PoolElementAtFakeRegistrarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(StartSctp().ok());
    auto registrar = FakeRegistrar::Start();
    ASSERT_TRUE(registrar.ok()) << registrar.status();
    registrar_ = std::move(*registrar);
    options_.registrars = {registrar_->address()};
  }

  std::unique_ptr<FakeRegistrar> registrar_;
  PoolElement::Options options_;
};

TEST(ReregistrationIntervalTest, FollowsT4) {
  EXPECT_EQ(ReregistrationInterval(30), absl::Seconds(15));    // half, below 40 s
  EXPECT_EQ(ReregistrationInterval(300), absl::Seconds(280));  // lifetime - 20 s
  EXPECT_EQ(ReregistrationInterval(3600), absl::Minutes(10));  // at most 10 min
  EXPECT_EQ(ReregistrationInterval(-1), absl::Minutes(10));    // infinite
}

// RFC 5352 §2.2.1: a PE's addresses are the association's; over UDP
// encapsulation the registrar sees the local address toward it.
TEST(PoolElementTest, LocalAddressTowardALoopbackRegistrarIsLoopback) {
  RegistrarAddress registrar;
  registrar.host = "127.0.0.1";
  absl::StatusOr<protocol::IpAddress> local = LocalAddressToward(registrar);
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(*local, protocol::IpAddress::V4(0x7f000001));
  registrar.host = "registrar.example";
  EXPECT_EQ(LocalAddressToward(registrar).status().code(), absl::StatusCode::kInvalidArgument);
}

// A PE given without addresses gets a default one; with announces only, the
// announce interface's, which must then be an address.
TEST(PoolElementTest, RefusesAPeWithoutAddressesWhenNoDefaultExists) {
  protocol::PoolElement spec = Spec(1, 30, 7000);
  spec.user.addresses = protocol::AddressList();
  PoolElement::Options options;
  options.announce_group = "224.0.1.185";
  options.announce_interface = "not-an-address";
  auto pe = PoolElement::Start("pool", {spec}, options, nullptr);
  ASSERT_FALSE(pe.ok());
  EXPECT_EQ(pe.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(pe.status().message().find("announce interface"), absl::string_view::npos)
      << pe.status();
}

TEST(PoolElementTest, RegistersReRegistersAtT4AndDeregistersOnStop) {
  ASSERT_TRUE(StartSctp().ok());
  auto registrar = FakeRegistrar::Start();
  ASSERT_TRUE(registrar.ok()) << registrar.status();
  const protocol::PoolElement spec = Spec(0x51, 2, 7051);  // T4 = 1 s
  PoolElement::Options options;
  // The first registrar listed does not exist: the hunt goes past it.
  RegistrarAddress gone = (*registrar)->address();
  gone.sctp_port = static_cast<uint16_t>(gone.sctp_port + 1);
  options.registrars = {gone, (*registrar)->address()};
  std::mutex mu;
  std::vector<PoolElement::Event::Kind> events;
  auto pe = PoolElement::Start("pe-test", {spec}, options, [&](const PoolElement::Event& e) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(e.kind);
  });
  ASSERT_TRUE(pe.ok()) << pe.status();
  // The registration, then the T4 re-registration, on one association.
  auto first = (*registrar)->Await(AsapType::kRegistration, kWait);
  ASSERT_TRUE(first.ok()) << first.status();
  auto again = (*registrar)->Await(AsapType::kRegistration, kWait);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *first);
  EXPECT_TRUE((*pe)->Stop().ok());
  EXPECT_TRUE((*registrar)->Await(AsapType::kDeregistration, kWait).ok());
  EXPECT_FALSE((*pe)->failed());
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front(), PoolElement::Event::Kind::kHuntRound);
  EXPECT_EQ(events[1], PoolElement::Event::Kind::kRegistered);
  EXPECT_EQ(events.back(), PoolElement::Event::Kind::kDeregistered);
}

// RFC 5352 §7.1: T4 runs per PE from its own registration, so a PE with a
// long lifetime is not re-registered at the pace of one with a short one
// (and a long round cannot let the first PEs' lifetimes run out).
TEST(PoolElementTest, EachPeIsReRegisteredAtItsOwnT4) {
  ASSERT_TRUE(StartSctp().ok());
  auto registrar = FakeRegistrar::Start();
  ASSERT_TRUE(registrar.ok()) << registrar.status();
  const protocol::PoolElement fast = Spec(0x61, 2, 7061);   // T4 = 1 s
  const protocol::PoolElement slow = Spec(0x62, 60, 7062);  // T4 = 40 s
  PoolElement::Options options;
  options.registrars = {(*registrar)->address()};
  auto pe = PoolElement::Start("t4-test", {fast, slow}, options, nullptr);
  ASSERT_TRUE(pe.ok()) << pe.status();
  std::set<uint32_t> first;
  for (int i = 0; i < 2; ++i) {
    auto r = (*registrar)->AwaitMessage(AsapType::kRegistration, kWait);
    ASSERT_TRUE(r.ok()) << r.status();
    first.insert(r->pe_id);
  }
  EXPECT_EQ(first, (std::set<uint32_t>{0x61, 0x62}));
  // The next three re-registrations, about a second apart, are all the
  // fast PE's.
  for (int i = 0; i < 3; ++i) {
    auto r = (*registrar)->AwaitMessage(AsapType::kRegistration, kWait);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->pe_id, 0x61u) << "re-registration " << i;
  }
  EXPECT_TRUE((*pe)->Stop().ok());
}

TEST(PoolElementTest, RetriesABusyRegistrarInsteadOfGivingUp) {
  ASSERT_TRUE(StartSctp().ok());
  auto registrar = FakeRegistrar::Start();
  ASSERT_TRUE(registrar.ok()) << registrar.status();
  (*registrar)->AnswerBusy(2);  // Lack of Resources twice
  const protocol::PoolElement spec = Spec(0x52, 30, 7052);
  PoolElement::Options options;
  options.registrars = {(*registrar)->address()};
  std::mutex mu;
  std::vector<PoolElement::Event::Kind> events;
  auto pe = PoolElement::Start("busy", {spec}, options, [&](const PoolElement::Event& e) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(e.kind);
  });
  ASSERT_TRUE(pe.ok()) << pe.status();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*registrar)->Await(AsapType::kRegistration, kWait).ok()) << "attempt " << i;
  }
  EXPECT_TRUE((*pe)->Stop().ok());
  EXPECT_FALSE((*pe)->failed());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(std::count(events.begin(), events.end(), PoolElement::Event::Kind::kRegisterFailed), 2);
  EXPECT_EQ(std::count(events.begin(), events.end(), PoolElement::Event::Kind::kRegistered), 1);
}

TEST(PoolElementTest, StopCancelsAServerHuntInProgress) {
  ASSERT_TRUE(StartSctp().ok());
  // A registrar that never answers: a UDP socket nobody reads.
  const int silent = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(silent, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const protocol::PoolElement spec = Spec(0x53, 30, 0);
  PoolElement::Options options;
  options.registrars = {{"127.0.0.1", ntohs(address.sin_port), protocol::kAsapPort, nullptr}};
  options.hunt.t5 = absl::Hours(1);  // far beyond the test's timeout
  std::atomic<int> hunt_failures{0};
  auto pe = PoolElement::Start("silent", {spec}, options, [&](const PoolElement::Event& e) {
    if (e.kind == PoolElement::Event::Kind::kHuntFailed) ++hunt_failures;
  });
  ASSERT_TRUE(pe.ok()) << pe.status();
  // The hunt is under way once its INIT arrives.
  timeval wait{10, 0};
  ASSERT_EQ(setsockopt(silent, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait)), 0);
  char init[2048];
  ASSERT_GT(recv(silent, init, sizeof(init), 0), 0) << "no INIT from the hunt";
  // Stop returns (instead of waiting out T5) and reports that nothing was
  // registered; the cancelled round is not reported as a failed hunt.
  EXPECT_EQ((*pe)->Stop().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(hunt_failures.load(), 0);
  close(silent);
}

// RFC 5352 §2.2.4, §3.1: a registrar that removed a PE on its own says so
// with an ASAP_DEREGISTRATION_RESPONSE nobody asked for. The PE registers
// again at once: with an infinite lifetime T4 is ten minutes away.
TEST_F(PoolElementAtFakeRegistrarTest, RegistersAgainAtOnceWhenTheRegistrarRemovesThePe) {
  EventLog log;
  auto pe = PoolElement::Start("removed", {Spec(0x61)}, options_, log.Callback());
  ASSERT_TRUE(pe.ok()) << pe.status();
  auto first = registrar_->AwaitMessage(AsapType::kRegistration, kWait);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(log.Await(Kind::kRegistered, 1, kWait).ok());
  ASSERT_TRUE(registrar_->SendRemovalNotice(first->assoc, "removed", 0x61).ok());
  auto again = registrar_->AwaitMessage(AsapType::kRegistration, kWait);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->pe_id, 0x61u);
  ASSERT_TRUE(log.Await(Kind::kRegistered, 2, kWait).ok());
  EXPECT_EQ(log.Text(Kind::kRemovedByRegistrar),
            "registrar removed pe_id=0x00000061; registering again");
  EXPECT_TRUE((*pe)->Stop().ok());
  EXPECT_EQ(registrar_->Count(AsapType::kDeregistration), 1u);
}

// RFC 5352 §3.4 KA2.4: a registrar takes the PE over (an H-bit keep-alive on
// an association it starts) while a registration waits at the old home,
// which has stopped answering. The registration goes to the new home when
// it times out; the PE does not hunt (which would only reach the old home).
TEST_F(PoolElementAtFakeRegistrarTest,
       ARequestTheOldHomeLeftUnansweredGoesToTheRegistrarThatTookOver) {
  constexpr uint32_t kTakerId = 0x77;
  auto taker = FakeRegistrar::Start();
  ASSERT_TRUE(taker.ok()) << taker.status();
  options_.request_timeout = absl::Seconds(2);
  EventLog log;
  // A 2 s lifetime: re-registered every second (T4).
  auto pe = PoolElement::Start("taken", {Spec(0x68, 2)}, options_, log.Callback());
  ASSERT_TRUE(pe.ok()) << pe.status();
  auto first = registrar_->AwaitMessage(AsapType::kRegistration, kWait);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_NE(first->remote_port, 0);
  ASSERT_TRUE(log.Await(Kind::kRegistered, 1, kWait).ok());
  // The old home leaves the re-registration unanswered.
  registrar_->IgnoreRegistrations(1);
  ASSERT_TRUE(registrar_->Await(AsapType::kRegistration, kWait).ok());
  auto assoc = (*taker)->ConnectTo(first->remote_port, SctpUdpPort(), kWait);
  ASSERT_TRUE(assoc.ok()) << assoc.status();
  ASSERT_TRUE((*taker)->SendKeepAlive(*assoc, "taken", 0x68, /*home=*/true, kTakerId).ok());
  auto again = (*taker)->AwaitMessage(AsapType::kRegistration, kWait);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->pe_id, 0x68u);
  EXPECT_EQ(again->assoc, *assoc);
  EXPECT_EQ(log.Text(Kind::kRegisterFailed),
            "no ASAP_REGISTRATION_RESPONSE within 2s; again at the new home 0x00000077");
  EXPECT_EQ(log.Count(Kind::kHuntRound), 1u);
  EXPECT_TRUE((*pe)->Stop().ok());
}

// Options::reregister false: the PE lets its registration go, so one the
// registrar removed stays out, and Stop has nothing to deregister.
TEST_F(PoolElementAtFakeRegistrarTest, LeavesARemovedPeOutWithoutReregistration) {
  options_.reregister = false;
  EventLog log;
  auto pe = PoolElement::Start("removed", {Spec(0x62), Spec(0x63)}, options_, log.Callback());
  ASSERT_TRUE(pe.ok()) << pe.status();
  ASSERT_TRUE(log.Await(Kind::kRegistered, 2, kWait).ok());
  auto assoc = registrar_->Await(AsapType::kRegistration, kWait);
  ASSERT_TRUE(assoc.ok()) << assoc.status();
  ASSERT_TRUE(registrar_->Await(AsapType::kRegistration, kWait).ok());
  ASSERT_TRUE(registrar_->SendRemovalNotice(*assoc, "removed", 0x62).ok());
  ASSERT_TRUE(log.Await(Kind::kRemovedByRegistrar, 1, kWait).ok());
  // The PE thread handles notices a tick at a time, and registers what is
  // due in the tick that took the notice. Once the second notice, sent after
  // the first was reported, is reported too, that tick is over.
  ASSERT_TRUE(registrar_->SendRemovalNotice(*assoc, "removed", 0x63).ok());
  ASSERT_TRUE(log.Await(Kind::kRemovedByRegistrar, 2, kWait).ok());
  EXPECT_TRUE((*pe)->Stop().ok());
  EXPECT_EQ(registrar_->Count(AsapType::kRegistration), 0u);
  EXPECT_EQ(registrar_->Count(AsapType::kDeregistration), 0u);
  EXPECT_EQ(log.Count(Kind::kRegistered), 2u);
  EXPECT_EQ(log.Count(Kind::kDeregistered), 0u);
  EXPECT_EQ(log.Text(Kind::kRemovedByRegistrar),
            "registrar removed pe_id=0x00000063; not registering again (re-registration is off)");
}

// RFC 5352 §3.1: a rejected registration is not retried, and the PE stops;
// Stop then deregisters the PE registered before it, and not the rejected one.
TEST_F(PoolElementAtFakeRegistrarTest, DeregistersOnlyWhatIsRegisteredAfterARejection) {
  registrar_->RejectRegistrationsOf(0x65);
  EventLog log;
  auto pe = PoolElement::Start("rejects", {Spec(0x64), Spec(0x65)}, options_, log.Callback());
  ASSERT_TRUE(pe.ok()) << pe.status();
  ASSERT_TRUE(log.Await(Kind::kRejected, 1, kWait).ok());
  EXPECT_EQ((*pe)->Stop().code(), absl::StatusCode::kFailedPrecondition);
  auto deregistered = registrar_->AwaitMessage(AsapType::kDeregistration, kWait);
  ASSERT_TRUE(deregistered.ok()) << deregistered.status();
  EXPECT_EQ(deregistered->pe_id, 0x64u);
  EXPECT_EQ(registrar_->Count(AsapType::kDeregistration), 0u);
  EXPECT_EQ(log.Count(Kind::kDeregistered), 1u);
  EXPECT_EQ(registrar_->Count(AsapType::kRegistration), 2u);  // each once
}

// RFC 5352 §3.6 SH5: a home that takes the association but never answers
// the registration is not hunted for again at once (that would reach it
// again, ten times a second): the next hunt waits T5.
TEST_F(PoolElementAtFakeRegistrarTest, HuntsAgainOnlyAfterT5WhenTheHomeNeverAnswered) {
  registrar_->IgnoreRegistrations(1);
  options_.hunt.t5 = absl::Seconds(2);
  options_.request_timeout = absl::Milliseconds(200);
  EventLog log;
  auto pe = PoolElement::Start("hangs", {Spec(0x67)}, options_, log.Callback());
  ASSERT_TRUE(pe.ok()) << pe.status();
  auto failed = log.Await(Kind::kRegisterFailed, 1, kWait);
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(log.Text(Kind::kRegisterFailed),
            "no ASAP_REGISTRATION_RESPONSE within 200ms; hunting again in 2s");
  ASSERT_TRUE(registrar_->Await(AsapType::kRegistration, kWait).ok());  // the ignored one
  ASSERT_TRUE(registrar_->Await(AsapType::kRegistration, kWait).ok());
  EXPECT_GE(absl::Now() - *failed, absl::Seconds(2) - absl::Milliseconds(10));
  ASSERT_TRUE(log.Await(Kind::kRegistered, 1, kWait).ok());
  EXPECT_EQ(log.Count(Kind::kHuntRound), 2u);
  EXPECT_TRUE((*pe)->Stop().ok());
}

// Stop is seen between two registrations: a PE with many registrations to
// make stops within one of them, and deregisters exactly those it made.
TEST_F(PoolElementAtFakeRegistrarTest, StopEndsARegistrationPassAndDeregistersWhatItRegistered) {
  constexpr uint32_t kCount = 10000;  // far more than can register before Stop is seen
  std::vector<protocol::PoolElement> specs;
  for (uint32_t i = 0; i < kCount; ++i) specs.push_back(Spec(0x10000 + i));
  EventLog log;
  auto pe = PoolElement::Start("many", specs, options_, log.Callback());
  ASSERT_TRUE(pe.ok()) << pe.status();
  ASSERT_TRUE(log.Await(Kind::kRegistered, 1, kWait).ok());
  EXPECT_TRUE((*pe)->Stop().ok());
  const size_t registered = log.Count(Kind::kRegistered);
  EXPECT_LT(registered, kCount);
  EXPECT_EQ(log.Count(Kind::kDeregistered), registered);
  EXPECT_EQ(registrar_->Count(AsapType::kDeregistration), registered);
}

// What would fail on the wire or make the PE spin is refused at Start.
TEST(PoolElementTest, StartRefusesWhatCannotWork) {
  PoolElement::Options options;
  options.registrars = {RegistrarAddress()};
  auto refused = [&](const std::string& pool, std::vector<protocol::PoolElement> pes,
                     const PoolElement::Options& o, const std::string& why) {
    auto pe = PoolElement::Start(pool, std::move(pes), o, nullptr);
    EXPECT_EQ(pe.status().code(), absl::StatusCode::kInvalidArgument) << why;
    EXPECT_NE(std::string(pe.status().message()).find(why), std::string::npos) << pe.status();
  };
  refused(std::string(256, 'p'), {Spec(1)}, options, "256 bytes; it must be 1 to 255 bytes");
  refused("", {Spec(1)}, options, "0 bytes");
  refused("p", {Spec(1, 0)}, options, "registration life 0 s");
  refused("p", {Spec(1, -5)}, options, "registration life -5 s");
  refused("p", {Spec(1), Spec(1)}, options, "pe_id=0x00000001 is given twice");
  PoolElement::Options no_t5 = options;
  no_t5.hunt.t5 = absl::ZeroDuration();
  refused("p", {Spec(1)}, no_t5, "T5-Serverhunt is 0");
  PoolElement::Options no_timeout = options;
  no_timeout.request_timeout = -absl::Seconds(1);
  refused("p", {Spec(1)}, no_timeout, "the request timeout is -1s");
}

TEST(PoolElementTest, NeedsARegistrarOrAnnounces) {
  protocol::PoolElement spec;
  EXPECT_FALSE(PoolElement::Start("p", {spec}, {}, nullptr).ok());
  PoolElement::Options with_registrar;
  with_registrar.registrars = {RegistrarAddress()};
  EXPECT_FALSE(PoolElement::Start("p", {}, with_registrar, nullptr).ok());  // no PE
}

}  // namespace
}  // namespace rspd::client
