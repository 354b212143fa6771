// File: client/pool_element_test.cc
//
// PoolElement's life against fake registrars on this process's usrsctp
// stack: it hunts past a registrar that is gone, registers, re-registers
// every T4, and deregisters on Stop; T4 itself follows RFC 5352 §7.1.

#include "client/pool_element.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

#include "client/testing/fake_registrar.h"
#include "gtest/gtest.h"

namespace rspd::client {
namespace {

using protocol::AsapType;
using testing::FakeRegistrar;

constexpr absl::Duration kWait = absl::Seconds(10);

TEST(ReregistrationIntervalTest, FollowsT4) {
  EXPECT_EQ(ReregistrationInterval(30), absl::Seconds(15));    // half, below 40 s
  EXPECT_EQ(ReregistrationInterval(300), absl::Seconds(280));  // lifetime - 20 s
  EXPECT_EQ(ReregistrationInterval(3600), absl::Minutes(10));  // at most 10 min
  EXPECT_EQ(ReregistrationInterval(-1), absl::Minutes(10));    // infinite
}

TEST(PoolElementTest, RegistersReRegistersAtT4AndDeregistersOnStop) {
  ASSERT_TRUE(StartSctp().ok());
  auto registrar = FakeRegistrar::Start();
  ASSERT_TRUE(registrar.ok()) << registrar.status();
  PoolElementSpec spec;
  spec.pe_id = 0x51;
  spec.port = 7051;
  spec.registration_life = 2;  // T4 = 1 s
  spec.addresses = {protocol::IpAddress::V4(0x7f000001)};
  spec.policy = protocol::Policy::Of(protocol::PolicyType::kRoundRobin);
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

TEST(PoolElementTest, RetriesABusyRegistrarInsteadOfGivingUp) {
  ASSERT_TRUE(StartSctp().ok());
  auto registrar = FakeRegistrar::Start();
  ASSERT_TRUE(registrar.ok()) << registrar.status();
  (*registrar)->AnswerBusy(2);  // Lack of Resources twice
  PoolElementSpec spec;
  spec.pe_id = 0x52;
  spec.port = 7052;
  spec.addresses = {protocol::IpAddress::V4(0x7f000001)};
  spec.policy = protocol::Policy::Of(protocol::PolicyType::kRoundRobin);
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
  PoolElementSpec spec;
  spec.pe_id = 0x53;
  spec.addresses = {protocol::IpAddress::V4(0x7f000001)};
  PoolElement::Options options;
  options.registrars = {{"127.0.0.1", ntohs(address.sin_port), protocol::kAsapPort}};
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

TEST(PoolElementTest, NeedsARegistrarOrAnnounces) {
  PoolElementSpec spec;
  EXPECT_FALSE(PoolElement::Start("p", {spec}, {}, nullptr).ok());
  PoolElement::Options with_registrar;
  with_registrar.registrars = {RegistrarAddress()};
  EXPECT_FALSE(PoolElement::Start("p", {}, with_registrar, nullptr).ok());  // no PE
}

}  // namespace
}  // namespace rspd::client
