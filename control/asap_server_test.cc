// The registrar's ASAP procedures (RFC 5352 §3) against a real handlespace,
// with the transport replaced by a list of sent messages.

#include "control/asap_server.h"

#include <vector>

#include "gtest/gtest.h"

namespace rspd::control {
namespace {

using protocol::AsapType;
using protocol::Cause;
using protocol::Message;

constexpr uint32_t kServerId = 0x5e5e5e5e;
const handlespace::IpAddress kLoopback = handlespace::IpAddress::V4(0x7f000001);

class AsapServerTest : public ::testing::Test {
 protected:
  AsapServerTest() {
    config_.server_id = kServerId;
    config_.keep_alive_interval = absl::Seconds(5);
    config_.keep_alive_timeout = absl::Seconds(5);
    server_ = std::make_unique<AsapServer>(
        config_, std::vector<handlespace::HandlespaceShard*>{&shard_},
        [this](const AssocRef& to, absl::Span<const uint8_t> bytes) {
          sent_.push_back({to, std::vector<uint8_t>(bytes.begin(), bytes.end())});
          return send_ok_;
        });
  }

  std::vector<uint8_t> Registration(
      const std::string& pool, uint32_t id, protocol::Policy policy, int32_t life = 30,
      protocol::ParamType transport = protocol::ParamType::kSctpTransport,
      uint32_t address = 0x7f000001) {
    addresses_ = {protocol::IpAddress::V4(address)};
    Message m;
    m.type = static_cast<uint8_t>(AsapType::kRegistration);
    m.has_pool_handle = true;
    m.pool_handle = pool;
    m.has_pool_element = true;
    m.pool_element.pe_id = id;
    m.pool_element.registration_life = life;
    m.pool_element.user_transport.type = transport;
    m.pool_element.user_transport.port = 7000;
    m.pool_element.user_transport.addresses =
        protocol::ParamList<protocol::IpAddress>(absl::MakeConstSpan(addresses_));
    m.pool_element.policy = policy;
    return protocol::EncodeMessageToVector(m);
  }
  std::vector<uint8_t> Simple(AsapType type, const std::string& pool, uint32_t id = 0,
                              bool with_id = true) {
    Message m;
    m.type = static_cast<uint8_t>(type);
    m.has_pool_handle = true;
    m.pool_handle = pool;
    m.has_pe_id = with_id;
    m.pe_id = id;
    return protocol::EncodeMessageToVector(m);
  }

  // Delivers a message and returns the decoded answer (the last one sent).
  Message Deliver(const std::vector<uint8_t>& bytes, AssocRef from = {nullptr, 1}) {
    size_t before = sent_.size();
    server_->OnMessage(from, kLoopback, 5000, bytes, now_);
    EXPECT_GT(sent_.size(), before) << "no answer";
    return Last();
  }
  Message Last() {
    Message m;
    protocol::DecodeError error;
    last_bytes_ = sent_.back().second;
    EXPECT_TRUE(protocol::DecodeMessage(protocol::Protocol::kAsap, last_bytes_, &m, &error))
        << error.reason;
    return m;
  }
  static Cause FirstCause(const Message& m) {
    return m.has_error ? m.error_causes.front().code : handlespace::kNoError;
  }

  RegistrarConfig config_;
  handlespace::HandlespaceShard shard_{0, {}};
  const handlespace::PoolTable& table_ = shard_.table();
  std::unique_ptr<AsapServer> server_;
  std::vector<std::pair<AssocRef, std::vector<uint8_t>>> sent_;
  std::vector<uint8_t> last_bytes_;
  std::vector<protocol::IpAddress> addresses_;
  bool send_ok_ = true;
  handlespace::Tick now_ = 1000;
};

TEST_F(AsapServerTest, RegistrationIsAcceptedAndMakesUsTheHome) {
  // RFC 5352 §3.1 rules 1 and 4.
  Message reply =
      Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  EXPECT_EQ(reply.type, static_cast<uint8_t>(AsapType::kRegistrationResponse));
  EXPECT_EQ(reply.flags & protocol::kFlagRegistrationReject, 0);
  EXPECT_EQ(reply.pe_id, 1u);
  EXPECT_FALSE(reply.has_error);
  uint32_t slot = table_.Find("echo", 1);
  ASSERT_NE(slot, handlespace::kNoSlot);
  handlespace::PoolElementInfo pe = table_.GetElement(slot);
  EXPECT_EQ(pe.home, kServerId);
  EXPECT_EQ(pe.asap.port, 5000);
  EXPECT_EQ(server_->stats().registrations.load(), 1u);
}

TEST_F(AsapServerTest, InconsistentPolicyIsRejectedWithThePoolsPolicy) {
  // RFC 5352 §3.1 rule 2, cause 0x5 carrying the pool's policy.
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kLeastUsed, {5})));
  Message reply =
      Deliver(Registration("echo", 2, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  EXPECT_EQ(reply.flags & protocol::kFlagRegistrationReject, protocol::kFlagRegistrationReject);
  ASSERT_EQ(FirstCause(reply), Cause::kInconsistentPoolingPolicy);
  auto info = reply.error_causes.front().info;
  ASSERT_EQ(info.size(), 12u);  // Policy TLV: LU with its load
  EXPECT_EQ(protocol::Load32(info.data() + 4), 0x40000001u);
  EXPECT_EQ(table_.Find("echo", 2), handlespace::kNoSlot);
  EXPECT_EQ(server_->stats().registrations_rejected.load(), 1u);
}

TEST_F(AsapServerTest, InconsistentTransportIsRejected) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  Message reply =
      Deliver(Registration("echo", 2, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), 30,
                           protocol::ParamType::kTcpTransport));
  EXPECT_EQ(FirstCause(reply), Cause::kInconsistentTransportType);
}

TEST_F(AsapServerTest, MultiHomedPeListingTheSourceAddressIsAccepted) {
  // A PE bound to several addresses (as RSPLIB PEs are) lists the one the
  // registrar sees among others.
  addresses_ = {protocol::IpAddress::V4(0x0a000001), protocol::IpAddress::V4(0x7f000001)};
  Message m;
  m.type = static_cast<uint8_t>(AsapType::kRegistration);
  m.has_pool_handle = true;
  m.pool_handle = "multi";
  m.has_pool_element = true;
  m.pool_element.pe_id = 9;
  m.pool_element.registration_life = 30;
  m.pool_element.user_transport.port = 7000;
  m.pool_element.user_transport.addresses =
      protocol::ParamList<protocol::IpAddress>(absl::MakeConstSpan(addresses_));
  m.pool_element.policy = protocol::Policy::Of(protocol::PolicyType::kRoundRobin);
  EXPECT_FALSE(Deliver(protocol::EncodeMessageToVector(m)).has_error);
  EXPECT_EQ(table_.GetElement(table_.Find("multi", 9)).user.addresses.size, 2);
}

TEST_F(AsapServerTest, AddressesOutsideTheAssociationAreRejected) {
  // RFC 5352 §2.2.1: the PE's addresses must be the association's.
  Message reply =
      Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), 30,
                           protocol::ParamType::kSctpTransport, 0x0a000001));
  EXPECT_EQ(FirstCause(reply), Cause::kInvalidValues);
  EXPECT_EQ(table_.element_count(), 0u);
}

TEST_F(AsapServerTest, DeregistrationRemovesOnlyFromItsOwnAssociation) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  // RFC 5355 §2.1-2.4: no deregistration by proxy.
  Message denied = Deliver(Simple(AsapType::kDeregistration, "echo", 1), {nullptr, 99});
  EXPECT_EQ(FirstCause(denied), Cause::kRejectedDueToSecurity);
  EXPECT_NE(table_.Find("echo", 1), handlespace::kNoSlot);
  Message ok = Deliver(Simple(AsapType::kDeregistration, "echo", 1));
  EXPECT_EQ(ok.type, static_cast<uint8_t>(AsapType::kDeregistrationResponse));
  EXPECT_FALSE(ok.has_error);
  EXPECT_EQ(table_.element_count(), 0u);
  // RFC 5352 §3.2: an unknown PE is answered with success.
  EXPECT_FALSE(Deliver(Simple(AsapType::kDeregistration, "echo", 42)).has_error);
}

TEST_F(AsapServerTest, ResolutionFollowsThePolicyAndHonoursTheItemCount) {
  for (uint32_t id = 1; id <= 5; ++id) {
    Deliver(
        Registration("lu", id, protocol::Policy::Of(protocol::PolicyType::kLeastUsed, {100 - id})));
  }
  Message hr;
  hr.type = static_cast<uint8_t>(AsapType::kHandleResolution);
  hr.has_pool_handle = true;
  hr.pool_handle = "lu";
  hr.has_handle_resolution_items = true;
  hr.handle_resolution_items = 2;
  Message reply = Deliver(protocol::EncodeMessageToVector(hr));
  EXPECT_EQ(reply.type, static_cast<uint8_t>(AsapType::kHandleResolutionResponse));
  ASSERT_TRUE(reply.has_policy);  // RFC 5352 §2.2.6: not RR, so present
  EXPECT_EQ(reply.policy.kind(), protocol::PolicyType::kLeastUsed);
  ASSERT_EQ(reply.pool_elements.size(), 2u);
  std::vector<uint32_t> ids;
  for (const auto& pe : reply.pool_elements) ids.push_back(pe.pe_id);
  EXPECT_EQ(ids, (std::vector<uint32_t>{5, 4}));  // lowest loads first (RFC 5356 §5.1)
  // Without the option, the configured maximum (3).
  hr.has_handle_resolution_items = false;
  EXPECT_EQ(Deliver(protocol::EncodeMessageToVector(hr)).pool_elements.size(), 3u);
}

TEST_F(AsapServerTest, UnknownPoolIsAnsweredWithItsCause) {
  Message reply = Deliver(Simple(AsapType::kHandleResolution, "nope", 0, false));
  EXPECT_EQ(FirstCause(reply), Cause::kUnknownPoolHandle);  // RFC 5352 §3.3
  EXPECT_EQ(server_->stats().resolutions_unknown_pool.load(), 1u);
}

TEST_F(AsapServerTest, KeepAliveTimeoutRemovesThePe) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  sent_.clear();
  now_ += 8000;  // past the jittered interval (at most 7.5 s)
  server_->OnTimer(now_);
  ASSERT_EQ(sent_.size(), 1u);
  Message ka = Last();
  EXPECT_EQ(ka.type, static_cast<uint8_t>(AsapType::kEndpointKeepAlive));
  EXPECT_EQ(ka.server_id, kServerId);
  now_ += 5100;  // no ACK within the timeout
  server_->OnTimer(now_);
  EXPECT_EQ(table_.element_count(), 0u);
  EXPECT_EQ(server_->stats().removed_by_keep_alive.load(), 1u);
}

TEST_F(AsapServerTest, KeepAliveAckKeepsThePe) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  for (int round = 0; round < 3; ++round) {
    now_ += 8000;
    server_->OnTimer(now_);
    server_->OnMessage({nullptr, 1}, kLoopback, 5000,
                       Simple(AsapType::kEndpointKeepAliveAck, "echo", 1), now_);
  }
  now_ += 1000;
  server_->OnTimer(now_);
  EXPECT_EQ(table_.element_count(), 1u);
  EXPECT_EQ(server_->stats().keep_alive_acks.load(), 3u);
}

TEST_F(AsapServerTest, UnreachableReportsRemoveAtTheThreshold) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  auto report = Simple(AsapType::kEndpointUnreachable, "echo", 1);
  server_->OnMessage({nullptr, 7}, kLoopback, 6000, report, now_);
  // RFC 5352 §3.5: an immediate keep-alive probe goes to the PE.
  EXPECT_EQ(Last().type, static_cast<uint8_t>(AsapType::kEndpointKeepAlive));
  server_->OnMessage({nullptr, 7}, kLoopback, 6000, report, now_);
  EXPECT_EQ(table_.element_count(), 1u);
  server_->OnMessage({nullptr, 7}, kLoopback, 6000, report, now_);  // MAX-BAD-PE-REPORT = 3
  EXPECT_EQ(table_.element_count(), 0u);
  EXPECT_EQ(server_->stats().removed_by_unreachable.load(), 1u);
}

TEST_F(AsapServerTest, LifetimeExpiryRemovesAndTellsThePe) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), 2));
  sent_.clear();
  now_ += 2100;
  server_->OnTimer(now_);
  EXPECT_EQ(table_.element_count(), 0u);
  ASSERT_FALSE(sent_.empty());
  EXPECT_EQ(sent_.front().second[0], static_cast<uint8_t>(AsapType::kDeregistrationResponse));
  EXPECT_EQ(server_->stats().removed_by_lifetime.load(), 1u);
}

TEST_F(AsapServerTest, AssociationLossRemovesItsPes) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  Deliver(Registration("echo", 2, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)),
          {nullptr, 2});
  server_->OnAssociationDown({nullptr, 1}, now_);
  EXPECT_EQ(table_.element_count(), 1u);
  EXPECT_NE(table_.Find("echo", 2), handlespace::kNoSlot);
}

TEST_F(AsapServerTest, BadInputIsAnsweredWithTheRfcErrorAndCounted) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  // Unknown message type with report bits 01 (RFC 5354 §4).
  Message error = Deliver({0x4f, 0, 0, 4});
  EXPECT_EQ(error.type, static_cast<uint8_t>(AsapType::kError));
  EXPECT_EQ(FirstCause(error), Cause::kUnrecognizedMessage);
  // A Pool Element parameter with a bad length.
  std::vector<uint8_t> bad =
      Registration("echo", 3, protocol::Policy::Of(protocol::PolicyType::kRoundRobin));
  bad[14] = 0xff;
  error = Deliver(bad);
  EXPECT_EQ(error.type, static_cast<uint8_t>(AsapType::kError));
  // A message only PEs take (a registration response) is refused.
  error = Deliver(Simple(AsapType::kRegistrationResponse, "echo", 1));
  EXPECT_EQ(FirstCause(error), Cause::kUnrecognizedMessage);
  EXPECT_EQ(server_->stats().malformed_messages.load(), 2u);
  EXPECT_EQ(server_->stats().unsupported_messages.load(), 1u);
  // Nothing was lost or corrupted.
  EXPECT_EQ(table_.element_count(), 1u);
  EXPECT_EQ(table_.GetElement(table_.Find("echo", 1)).home, kServerId);
}

}  // namespace
}  // namespace rspd::control
