// AsapSession against fake registrars on this process's usrsctp stack:
// - what it refuses to send (pool handles over the registrar's limit,
//   messages over the 16-bit length field) and that it sends nothing then;
// - keep-alives (RFC 5352 §3.4 KA1, KA2) and removal notices: an
//   ASAP_DEREGISTRATION_RESPONSE nobody asked for (§2.2.4) is recorded,
//   whether it comes before a request or while one is in flight;
// - the PE side of a registrar takeover (RFC 5353 §3.5.2): a registrar other
//   than the PE's home starts an association to the PE's ASAP transport
//   address and sends ENDPOINT_KEEP_ALIVE. The PE ACKs it there (KA2.3);
//   with H=1 the sender becomes home (KA2.4), so re-registrations and the
//   deregistration go over that association.
#include "client/asap_session.h"

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

constexpr absl::Duration kWait = absl::Seconds(5);
constexpr uint32_t kPeId = 0x42;
constexpr uint32_t kTakerId = 0xbeef;

protocol::PoolElement Pe(uint32_t pe_id = kPeId) {
  protocol::PoolElement pe;
  pe.id = pe_id;
  pe.registration_life = 30;
  pe.user.port = 7000;
  pe.user.addresses.push_back(protocol::IpAddress::V4(0x7f000001));
  pe.policy.type = protocol::PolicyType::kRoundRobin;
  return pe;
}

bool Mentions(const absl::Status& status, const std::string& text) {
  return std::string(status.message()).find(text) != std::string::npos;
}

// A session with a fake registrar, nothing registered yet.
class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(StartSctp().ok());
    auto registrar = FakeRegistrar::Start();
    ASSERT_TRUE(registrar.ok()) << registrar.status();
    registrar_ = std::move(*registrar);
    auto session = AsapSession::Connect(registrar_->address(), kWait);
    ASSERT_TRUE(session.ok()) << session.status();
    session_ = std::move(*session);
  }

  // Registers `ids` in `pool` and returns the association they came on.
  uint32_t RegisterAll(const std::string& pool, std::initializer_list<uint32_t> ids) {
    uint32_t assoc = 0;
    for (uint32_t id : ids) {
      EXPECT_TRUE(session_->Register(pool, Pe(id), kWait).ok());
      auto registered = registrar_->Await(AsapType::kRegistration, kWait);
      EXPECT_TRUE(registered.ok()) << registered.status();
      assoc = registered.value_or(0);
    }
    return assoc;
  }

  std::unique_ptr<FakeRegistrar> registrar_;
  std::unique_ptr<AsapSession> session_;  // last: closed before the registrar
};

// The registrar takes pool handles of 1 to 255 bytes (protocol/types.h);
// RFC 5354 §3.9 sets no bound of its own. Every request checks first, names
// the limit and the length, and sends nothing.
TEST_F(SessionTest, PoolHandleOutsideTheRegistrarsLimitIsRefusedBeforeSending) {
  const std::string too_long(protocol::kMaxPoolHandleSize + 1, 'p');
  for (const std::string& pool : {too_long, std::string()}) {
    const std::string length = absl::StrCat(pool.size(), " bytes");
    for (const absl::Status& status :
         {session_->Register(pool, Pe(), kWait), session_->Deregister(pool, kPeId, kWait),
          session_->Resolve(pool, 1, kWait).status(), session_->ReportUnreachable(pool, kPeId)}) {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
      EXPECT_TRUE(Mentions(status, length)) << status;
      EXPECT_TRUE(Mentions(status, "1 to 255 bytes")) << status;
    }
  }
  EXPECT_FALSE(CheckPoolHandle(too_long).ok());
  EXPECT_TRUE(CheckPoolHandle(std::string(protocol::kMaxPoolHandleSize, 'p')).ok());
  // The longest handle allowed goes out; nothing before it did.
  EXPECT_FALSE(registrar_->Await(AsapType::kRegistration, absl::ZeroDuration()).ok());
  EXPECT_FALSE(registrar_->Await(AsapType::kDeregistration, absl::ZeroDuration()).ok());
  EXPECT_TRUE(session_->Register(std::string(protocol::kMaxPoolHandleSize, 'p'), Pe(), kWait).ok());
  EXPECT_TRUE(registrar_->Await(AsapType::kRegistration, kWait).ok());
}

// RFC 5352 §3.4 KA1, KA2.2: a keep-alive naming a PE is answered for that PE;
// one naming none, once for each PE of its pool (and not for other pools).
TEST_F(SessionTest, KeepAliveWithoutPeIdIsAnsweredForEachPeOfItsPool) {
  RegisterAll("pool", {1, 2});
  const uint32_t assoc = RegisterAll("other", {3});
  ASSERT_TRUE(registrar_->SendKeepAlive(assoc, "pool", std::nullopt, false, 0).ok());
  std::set<uint32_t> acked;
  for (int i = 0; i < 2; ++i) {
    auto ack = registrar_->AwaitMessage(AsapType::kEndpointKeepAliveAck, kWait);
    ASSERT_TRUE(ack.ok()) << ack.status();
    acked.insert(ack->pe_id);
  }
  EXPECT_EQ(acked, (std::set<uint32_t>{1, 2}));
  ASSERT_TRUE(registrar_->SendKeepAlive(assoc, "other", 3, false, 0).ok());
  auto ack = registrar_->AwaitMessage(AsapType::kEndpointKeepAliveAck, kWait);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->pe_id, 3u);
  EXPECT_FALSE(registrar_->Await(AsapType::kEndpointKeepAliveAck, absl::ZeroDuration()).ok());
}

// RFC 5352 §2.2.4, §3.2: a DEREGISTRATION_RESPONSE the PE did not ask for
// says the registrar removed that PE. It is recorded, that PE's keep-alives
// go unanswered from then on (KA1), and the next request does not drop the
// record (it never waits in the request inbox).
TEST_F(SessionTest, UnsolicitedDeregistrationResponseIsRecordedAsARemoval) {
  const uint32_t assoc = RegisterAll("pool", {1, 2});
  ASSERT_TRUE(registrar_->SendRemovalNotice(assoc, "pool", 1).ok());
  ASSERT_TRUE(registrar_->SendRemovalNotice(assoc, "pool", 7).ok());   // never registered
  ASSERT_TRUE(registrar_->SendRemovalNotice(assoc, "other", 2).ok());  // another pool
  // One association, in order: once PE 2's keep-alive is answered, PE 1's
  // (sent before it) and the notices were handled.
  ASSERT_TRUE(registrar_->SendKeepAlive(assoc, "pool", 1, false, 0).ok());
  ASSERT_TRUE(registrar_->SendKeepAlive(assoc, "pool", 2, false, 0).ok());
  auto ack = registrar_->AwaitMessage(AsapType::kEndpointKeepAliveAck, kWait);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->pe_id, 2u);
  EXPECT_FALSE(registrar_->Await(AsapType::kEndpointKeepAliveAck, absl::ZeroDuration()).ok());

  ASSERT_TRUE(session_->Register("pool", Pe(2), kWait).ok());  // a request after the notice
  std::vector<RemovedRegistration> removed = session_->TakeRemovedRegistrations();
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].pool, "pool");
  EXPECT_EQ(removed[0].pe_id, 1u);
  EXPECT_TRUE(session_->TakeRemovedRegistrations().empty());
}

// The notice may arrive while another request waits for its answer: it is
// recorded, and the request still gets its own answer.
TEST_F(SessionTest, RemovalNoticeArrivingDuringARequestIsRecorded) {
  RegisterAll("pool", {1, 2});
  registrar_->SendRemovalNoticeBeforeNextAnswer("pool", 1);
  ASSERT_TRUE(session_->Register("pool", Pe(2), kWait).ok());
  std::vector<RemovedRegistration> removed = session_->TakeRemovedRegistrations();
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].pe_id, 1u);
}

// RFC 5352 §3.2: the answer to the PE's own deregistration is that, not a
// removal by the registrar; a notice for the PE being deregistered, on its
// association, counts as the answer.
TEST_F(SessionTest, AnswerToADeregistrationIsNotARemoval) {
  RegisterAll("pool", {1, 2});
  ASSERT_TRUE(session_->Deregister("pool", 1, kWait).ok());
  registrar_->SendRemovalNoticeBeforeNextAnswer("pool", 2);
  ASSERT_TRUE(session_->Deregister("pool", 2, kWait).ok());
  EXPECT_TRUE(session_->TakeRemovedRegistrations().empty());
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
