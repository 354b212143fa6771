// The PE side of a registrar takeover (RFC 5353 §3.5.2, RFC 5352 §3.4): a
// registrar other than the PE's home starts an association to the PE's ASAP
// transport address and sends ENDPOINT_KEEP_ALIVE. The PE ACKs it there
// (KA2.3); with H=1 the sender becomes home (KA2.4), so re-registrations and
// the deregistration go over that association. Both registrars are fakes on
// this process's usrsctp stack.
#include "client/asap_session.h"

#include "client/testing/fake_registrar.h"
#include "gtest/gtest.h"

namespace rspd::client {
namespace {

using protocol::AsapType;
using testing::FakeRegistrar;

constexpr absl::Duration kWait = absl::Seconds(5);
constexpr uint32_t kPeId = 0x42;
constexpr uint32_t kTakerId = 0xbeef;

PoolElementSpec Pe() {
  PoolElementSpec pe;
  pe.pe_id = kPeId;
  pe.port = 7000;
  pe.addresses = {protocol::IpAddress::V4(0x7f000001)};
  pe.policy = protocol::Policy::Of(protocol::PolicyType::kRoundRobin);
  return pe;
}

// A PE registered at `home_`; `taker_` has an association to the PE's ASAP
// endpoint, started from its side.
class TakeoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(StartSctp().ok());
    auto home = FakeRegistrar::Start();
    auto taker = FakeRegistrar::Start();
    ASSERT_TRUE(home.ok() && taker.ok());
    home_ = std::move(*home);
    taker_ = std::move(*taker);
    auto session = AsapSession::Connect(home_->address(), kWait);
    ASSERT_TRUE(session.ok()) << session.status();
    session_ = std::move(*session);
    ASSERT_TRUE(session_->Register("pool", Pe(), kWait).ok());
    auto registered = home_->Await(AsapType::kRegistration, kWait);
    ASSERT_TRUE(registered.ok()) << registered.status();
    home_assoc_ = *registered;
    auto assoc = taker_->ConnectTo(session_->local_port(), SctpUdpPort(), kWait);
    ASSERT_TRUE(assoc.ok()) << assoc.status();
    taker_assoc_ = *assoc;
  }

  std::unique_ptr<FakeRegistrar> home_;
  std::unique_ptr<FakeRegistrar> taker_;
  std::unique_ptr<AsapSession> session_;  // last: closed before the registrars
  uint32_t home_assoc_ = 0;
  uint32_t taker_assoc_ = 0;
};

// RFC 5352 §3.4 KA2.3, KA2.4; RFC 5353 §3.5.2.
TEST_F(TakeoverTest, HomeKeepAliveMovesRequestsToTheTakersAssociation) {
  ASSERT_TRUE(taker_->SendKeepAlive(taker_assoc_, "pool", kPeId, /*home=*/true, kTakerId).ok());
  auto ack = taker_->Await(AsapType::kEndpointKeepAliveAck, kWait);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(*ack, taker_assoc_);
  EXPECT_EQ(session_->home_registrar(), kTakerId);
  EXPECT_TRUE(session_->connected());

  // The next re-registration (T4) and the deregistration go to the new home.
  ASSERT_TRUE(session_->Register("pool", Pe(), kWait).ok());
  auto registration = taker_->Await(AsapType::kRegistration, kWait);
  ASSERT_TRUE(registration.ok()) << registration.status();
  EXPECT_EQ(*registration, taker_assoc_);
  ASSERT_TRUE(session_->Deregister("pool", kPeId, kWait).ok());
  auto deregistration = taker_->Await(AsapType::kDeregistration, kWait);
  ASSERT_TRUE(deregistration.ok()) << deregistration.status();
  EXPECT_EQ(*deregistration, taker_assoc_);
  EXPECT_FALSE(home_->Await(AsapType::kRegistration, absl::ZeroDuration()).ok());
  EXPECT_FALSE(home_->Await(AsapType::kDeregistration, absl::ZeroDuration()).ok());
}

// RFC 5352 §3.4 KA2: without H the keep-alive is answered, and the home stays.
TEST_F(TakeoverTest, KeepAliveWithoutHomeFlagIsAnsweredAndKeepsTheHome) {
  ASSERT_TRUE(taker_->SendKeepAlive(taker_assoc_, "pool", kPeId, /*home=*/false, kTakerId).ok());
  auto ack = taker_->Await(AsapType::kEndpointKeepAliveAck, kWait);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(*ack, taker_assoc_);
  EXPECT_EQ(session_->home_registrar(), 0u);

  ASSERT_TRUE(session_->Register("pool", Pe(), kWait).ok());
  auto registration = home_->Await(AsapType::kRegistration, kWait);
  ASSERT_TRUE(registration.ok()) << registration.status();
  EXPECT_EQ(*registration, home_assoc_);
  EXPECT_FALSE(taker_->Await(AsapType::kRegistration, absl::ZeroDuration()).ok());
}

// RFC 5352 §3.4 KA1: a keep-alive for a pool the PE is not in is dropped
// silently, H=1 or not. The valid keep-alive sent after it on the same
// association is answered, so the first was handled by then.
TEST_F(TakeoverTest, HomeKeepAliveForAnotherPoolIsDiscarded) {
  ASSERT_TRUE(taker_->SendKeepAlive(taker_assoc_, "other", kPeId, /*home=*/true, kTakerId).ok());
  ASSERT_TRUE(taker_->SendKeepAlive(taker_assoc_, "pool", kPeId, /*home=*/false, kTakerId).ok());
  ASSERT_TRUE(taker_->Await(AsapType::kEndpointKeepAliveAck, kWait).ok());
  EXPECT_FALSE(taker_->Await(AsapType::kEndpointKeepAliveAck, absl::ZeroDuration()).ok());
  EXPECT_EQ(session_->home_registrar(), 0u);
}

// RFC 5352 §3.4 KA2.4: H=1 naming the current home changes nothing, even on
// another association.
TEST_F(TakeoverTest, HomeKeepAliveNamingTheCurrentHomeKeepsItsAssociation) {
  ASSERT_TRUE(taker_->SendKeepAlive(taker_assoc_, "pool", kPeId, /*home=*/true, kTakerId).ok());
  ASSERT_TRUE(taker_->Await(AsapType::kEndpointKeepAliveAck, kWait).ok());
  ASSERT_TRUE(home_->SendKeepAlive(home_assoc_, "pool", kPeId, /*home=*/true, kTakerId).ok());
  auto ack = home_->Await(AsapType::kEndpointKeepAliveAck, kWait);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(*ack, home_assoc_);

  ASSERT_TRUE(session_->Register("pool", Pe(), kWait).ok());
  auto registration = taker_->Await(AsapType::kRegistration, kWait);
  ASSERT_TRUE(registration.ok()) << registration.status();
  EXPECT_EQ(*registration, taker_assoc_);
}

}  // namespace
}  // namespace rspd::client
