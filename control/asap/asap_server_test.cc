// File: control/asap/asap_server_test.cc
//
// The registrar's ASAP procedures (RFC 5352 §3) against a real handlespace,
// with the transport replaced by a list of sent messages. Every test runs
// with the shard inline and with two shards on lcores of their own.

#include "control/asap/asap_server.h"

#include <map>
#include <vector>

#include "gtest/gtest.h"

namespace rspd::control {
namespace {

using protocol::AsapType;
using protocol::Cause;
using protocol::Message;

constexpr uint32_t kServerId = 0x5e5e5e5e;
const protocol::IpAddress kLoopback = protocol::IpAddress::V4(0x7f000001);

using dataplane::OverloadMonitor;
using dataplane::ShardExecutor;

ShardExecutor::Options Lcores(int lcores) {
  ShardExecutor::Options options;
  options.lcores = lcores;
  return options;
}

class AsapServerTest : public ::testing::TestWithParam<int>,
                       public dataplane::MessageSender,
                       public dataplane::AddressedSender {
 protected:
  AsapServerTest() : shards_(Lcores(GetParam())) {
    config_.server_id = kServerId;
    config_.keep_alive_interval = absl::Seconds(5);
    config_.keep_alive_timeout = absl::Seconds(5);
    MakeServer();
  }
  // A server with config_ (tests change it first).
  void MakeServer() {
    server_ = std::make_unique<AsapServer>(config_, &shards_, this, &overload_, this);
  }
  // dataplane::AddressedSender: records where the server calls.
  bool SendTo(const protocol::IpAddress& ip, uint16_t udp_port, uint16_t local_port,
              uint16_t remote_port, uint32_t ppid, absl::Span<const uint8_t> bytes) override {
    EXPECT_EQ(local_port, config_.asap_port);
    EXPECT_EQ(ppid, protocol::kAsapPpid);
    called_.push_back(
        {ip, udp_port, remote_port, std::vector<uint8_t>(bytes.begin(), bytes.end())});
    return true;
  }
  // dataplane::MessageSender: records what the server sends.
  bool Send(const AssocRef& to, uint16_t local_port, uint32_t ppid,
            absl::Span<const uint8_t> bytes) override {
    EXPECT_EQ(local_port, config_.asap_port);
    EXPECT_EQ(ppid, protocol::kAsapPpid);
    sent_.push_back({to, std::vector<uint8_t>(bytes.begin(), bytes.end())});
    return send_ok_;
  }
  // A message as the registrar hands it over: decoded, or not.
  void Receive(AssocRef from, protocol::IpAddress source, const std::vector<uint8_t>& bytes,
               uint16_t remote_port = 5000, uint16_t remote_udp_port = 9899) {
    dataplane::InboundMessage in;
    in.from = from;
    in.local_port = config_.asap_port;
    in.remote_port = remote_port;
    in.remote_udp_port = remote_udp_port;
    in.remote_ip = source;
    in.ppid = protocol::kAsapPpid;
    in.data = bytes;
    Message m;
    protocol::DecodeError error;
    if (protocol::DecodeMessage(protocol::Protocol::kAsap, bytes, &m, &error)) {
      server_->OnMessage(in, m, now_);
    } else {
      server_->OnUndecodable(in, error);
    }
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

  // Waits until the shards have answered everything and the replies are out.
  void Settle() {
    do {
      server_->CollectAnswers(now_);
    } while (server_->in_flight() != 0);
  }
  void Take(const std::vector<uint8_t>& bytes, AssocRef from = {nullptr, 1},
            protocol::IpAddress source = kLoopback) {
    Receive(from, source, bytes);
    Settle();
  }
  void Tick() {
    server_->OnTimer(now_);
    Settle();
  }
  // Delivers a message and returns the decoded answer (the last one sent).
  Message Deliver(const std::vector<uint8_t>& bytes, AssocRef from = {nullptr, 1}) {
    size_t before = sent_.size();
    Take(bytes, from);
    EXPECT_GT(sent_.size(), before) << "no answer";
    return Last();
  }
  // The handlespace, read between settled steps (the shards are idle then).
  const handlespace::PoolTable& TableOf(const std::string& pool) {
    return shards_.shard(shards_.ShardFor(pool)).table();
  }
  uint32_t Find(const std::string& pool, uint32_t id) { return TableOf(pool).Find(pool, id); }
  size_t ElementCount() {
    size_t n = 0;
    for (uint32_t k = 0; k < shards_.shard_count(); ++k)
      n += shards_.shard(k).table().element_count();
    return n;
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
  OverloadMonitor overload_;
  ShardExecutor shards_;
  std::unique_ptr<AsapServer> server_;
  std::vector<std::pair<AssocRef, std::vector<uint8_t>>> sent_;
  struct Called {
    protocol::IpAddress ip;
    uint16_t udp_port;
    uint16_t sctp_port;
    std::vector<uint8_t> bytes;
  };
  std::vector<Called> called_;
  std::vector<uint8_t> last_bytes_;
  std::vector<protocol::IpAddress> addresses_;
  bool send_ok_ = true;
  handlespace::Tick now_ = 1000;
};

TEST_P(AsapServerTest, RegistrationIsAcceptedAndMakesUsTheHome) {
  // RFC 5352 §3.1 rules 1 and 4.
  Message reply =
      Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  EXPECT_EQ(reply.type, static_cast<uint8_t>(AsapType::kRegistrationResponse));
  EXPECT_EQ(reply.flags & protocol::kFlagRegistrationReject, 0);
  EXPECT_EQ(reply.pe_id, 1u);
  EXPECT_FALSE(reply.has_error);
  uint32_t slot = Find("echo", 1);
  ASSERT_NE(slot, handlespace::kNoSlot);
  protocol::PoolElement pe = TableOf("echo").GetElement(slot);
  EXPECT_EQ(pe.home, kServerId);
  EXPECT_EQ(pe.asap.port, 5000);
  EXPECT_EQ(server_->stats().registrations.load(), 1u);
}

TEST_P(AsapServerTest, InconsistentPolicyIsRejectedWithThePoolsPolicy) {
  // RFC 5352 §3.1 rule 2, cause 0x5 carrying the pool's policy.
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kLeastUsed, {5})));
  Message reply =
      Deliver(Registration("echo", 2, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  EXPECT_EQ(reply.flags & protocol::kFlagRegistrationReject, protocol::kFlagRegistrationReject);
  ASSERT_EQ(FirstCause(reply), Cause::kInconsistentPoolingPolicy);
  auto info = reply.error_causes.front().info;
  ASSERT_EQ(info.size(), 12u);  // Policy TLV: LU with its load
  EXPECT_EQ(protocol::Load32(info.data() + 4), 0x40000001u);
  EXPECT_EQ(Find("echo", 2), handlespace::kNoSlot);
  EXPECT_EQ(server_->stats().registrations_rejected.load(), 1u);
}

TEST_P(AsapServerTest, InconsistentTransportIsRejected) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  Message reply =
      Deliver(Registration("echo", 2, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), 30,
                           protocol::ParamType::kTcpTransport));
  EXPECT_EQ(FirstCause(reply), Cause::kInconsistentTransportType);
}

TEST_P(AsapServerTest, MultiHomedPeListingTheSourceAddressIsAccepted) {
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
  EXPECT_EQ(TableOf("multi").GetElement(Find("multi", 9)).user.addresses.size, 2);
}

TEST_P(AsapServerTest, AddressesOutsideTheAssociationAreRejected) {
  // RFC 5352 §2.2.1: the PE's addresses must be the association's.
  Message reply =
      Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), 30,
                           protocol::ParamType::kSctpTransport, 0x0a000001));
  EXPECT_EQ(FirstCause(reply), Cause::kInvalidValues);
  EXPECT_EQ(ElementCount(), 0u);
}

TEST_P(AsapServerTest, DeregistrationRemovesOnlyFromItsOwnAssociation) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  // RFC 5355 §2.1-2.4: no deregistration by proxy.
  Message denied = Deliver(Simple(AsapType::kDeregistration, "echo", 1), {nullptr, 99});
  EXPECT_EQ(FirstCause(denied), Cause::kRejectedDueToSecurity);
  EXPECT_NE(Find("echo", 1), handlespace::kNoSlot);
  Message ok = Deliver(Simple(AsapType::kDeregistration, "echo", 1));
  EXPECT_EQ(ok.type, static_cast<uint8_t>(AsapType::kDeregistrationResponse));
  EXPECT_FALSE(ok.has_error);
  EXPECT_EQ(ElementCount(), 0u);
  // RFC 5352 §3.2: an unknown PE is answered with success.
  EXPECT_FALSE(Deliver(Simple(AsapType::kDeregistration, "echo", 42)).has_error);
}

TEST_P(AsapServerTest, ResolutionFollowsThePolicyAndHonoursTheItemCount) {
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
  ASSERT_TRUE(reply.has_policy);  // RFC 5352 §2.2.6
  EXPECT_EQ(reply.policy.kind(), protocol::PolicyType::kLeastUsed);
  ASSERT_EQ(reply.pool_elements.size(), 2u);
  std::vector<uint32_t> ids;
  for (const auto& pe : reply.pool_elements) ids.push_back(pe.pe_id);
  EXPECT_EQ(ids, (std::vector<uint32_t>{5, 4}));  // lowest loads first (RFC 5356 §5.1)
  // Without the option, the configured maximum (3).
  hr.has_handle_resolution_items = false;
  EXPECT_EQ(Deliver(protocol::EncodeMessageToVector(hr)).pool_elements.size(), 3u);
}

TEST_P(AsapServerTest, RoundRobinAnswersCarryTheOverallPolicyToo) {
  // RFC 5352 §2.2.6 lets a Round Robin answer leave the policy out; RSPLIB
  // 3.4.4's PU rejects such an answer, so rspd always sends it.
  Deliver(Registration("rr", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  Message reply = Deliver(Simple(AsapType::kHandleResolution, "rr", 0, false));
  ASSERT_EQ(reply.pool_elements.size(), 1u);
  ASSERT_TRUE(reply.has_policy);
  EXPECT_EQ(reply.policy.kind(), protocol::PolicyType::kRoundRobin);
}

TEST_P(AsapServerTest, UnknownPoolIsAnsweredWithItsCause) {
  Message reply = Deliver(Simple(AsapType::kHandleResolution, "nope", 0, false));
  EXPECT_EQ(FirstCause(reply), Cause::kUnknownPoolHandle);  // RFC 5352 §3.3
  EXPECT_EQ(server_->stats().resolutions_unknown_pool.load(), 1u);
}

TEST_P(AsapServerTest, KeepAliveTimeoutRemovesThePe) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  sent_.clear();
  now_ += 8000;  // past the jittered interval (at most 7.5 s)
  Tick();
  ASSERT_EQ(sent_.size(), 1u);
  Message ka = Last();
  EXPECT_EQ(ka.type, static_cast<uint8_t>(AsapType::kEndpointKeepAlive));
  EXPECT_EQ(ka.server_id, kServerId);
  now_ += 5100;  // no ACK within the timeout
  Tick();
  EXPECT_EQ(ElementCount(), 0u);
  EXPECT_EQ(server_->stats().removed_by_keep_alive.load(), 1u);
}

TEST_P(AsapServerTest, KeepAliveAckKeepsThePe) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  for (int round = 0; round < 3; ++round) {
    now_ += 8000;
    Tick();
    Take(Simple(AsapType::kEndpointKeepAliveAck, "echo", 1));
  }
  now_ += 1000;
  Tick();
  EXPECT_EQ(ElementCount(), 1u);
  EXPECT_EQ(server_->stats().keep_alive_acks.load(), 3u);
}

TEST_P(AsapServerTest, UnreachableReportsFromDistinctAddressesRemoveAtTheThreshold) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  auto report = Simple(AsapType::kEndpointUnreachable, "echo", 1);
  Take(report, {nullptr, 7}, protocol::IpAddress::V4(0x0a000001));
  // RFC 5352 §3.5: an immediate keep-alive probe goes to the PE.
  EXPECT_EQ(Last().type, static_cast<uint8_t>(AsapType::kEndpointKeepAlive));
  Take(report, {nullptr, 8}, protocol::IpAddress::V4(0x0a000002));
  EXPECT_EQ(ElementCount(), 1u);
  sent_.clear();
  // MAX-BAD-PE-REPORT = 3 distinct reporters.
  Take(report, {nullptr, 9}, protocol::IpAddress::V4(0x0a000003));
  EXPECT_EQ(ElementCount(), 0u);
  EXPECT_EQ(server_->stats().removed_by_unreachable.load(), 1u);
  // The PE is not told: it would come straight back.
  EXPECT_TRUE(sent_.empty());
}

TEST_P(AsapServerTest, ReportsFromOneAddressOverManyAssociationsNeverRemoveALivePe) {
  // RFC 5355 §2.13: one host counts once, however many associations it opens.
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  const auto reporter = protocol::IpAddress::V4(0x0a000009);
  auto report = Simple(AsapType::kEndpointUnreachable, "echo", 1);
  for (uint32_t round = 0; round < 20; ++round) {
    for (uint32_t assoc = 100; assoc < 115; ++assoc) Take(report, {nullptr, assoc}, reporter);
    // The PE answers the probe.
    Take(Simple(AsapType::kEndpointKeepAliveAck, "echo", 1));
    now_ += 1000;
    Tick();
  }
  EXPECT_EQ(ElementCount(), 1u);
  EXPECT_GE(server_->stats().unreachable_reports_repeated.load(), 1u);
  EXPECT_GE(server_->stats().unreachable_reports_rate_limited.load(), 1u);
  EXPECT_EQ(server_->stats().removed_by_unreachable.load(), 0u);
}

TEST_P(AsapServerTest, ReportsDecayOutsideTheWindow) {
  config_.unreachable_report_window = absl::Seconds(10);
  MakeServer();
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  auto report = Simple(AsapType::kEndpointUnreachable, "echo", 1);
  for (uint32_t i = 1; i <= 6; ++i) {
    // Two distinct reporters in any 10 s window, never three.
    Take(report, {nullptr, 10 + i}, protocol::IpAddress::V4(0x0a000000 + i));
    Take(Simple(AsapType::kEndpointKeepAliveAck, "echo", 1));
    now_ += 6000;
    Tick();
    Take(Simple(AsapType::kEndpointKeepAliveAck, "echo", 1));
  }
  EXPECT_EQ(ElementCount(), 1u);
}

TEST_P(AsapServerTest, ADeadPeGoesAtTheFirstReportWhoseProbeFails) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  send_ok_ = false;  // the PE's association cannot carry the probe
  Take(Simple(AsapType::kEndpointUnreachable, "echo", 1), {nullptr, 7},
       protocol::IpAddress::V4(0x0a000001));
  EXPECT_EQ(ElementCount(), 0u);
  EXPECT_EQ(server_->stats().removed_by_keep_alive.load(), 1u);
}

TEST_P(AsapServerTest, AnUnansweredProbeRemovesAtTheKeepAliveTimeout) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  Take(Simple(AsapType::kEndpointUnreachable, "echo", 1), {nullptr, 7},
       protocol::IpAddress::V4(0x0a000001));
  now_ += 5100;
  Tick();
  EXPECT_EQ(ElementCount(), 0u);
  EXPECT_EQ(server_->stats().removed_by_keep_alive.load(), 1u);
}

TEST_P(AsapServerTest, LifetimeExpiryRemovesAndTellsThePe) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), 2));
  sent_.clear();
  now_ += 2100;
  Tick();
  EXPECT_EQ(ElementCount(), 0u);
  ASSERT_FALSE(sent_.empty());
  EXPECT_EQ(sent_.front().second[0], static_cast<uint8_t>(AsapType::kDeregistrationResponse));
  EXPECT_EQ(server_->stats().removed_by_lifetime.load(), 1u);
}

TEST_P(AsapServerTest, AssociationLossRemovesItsPes) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  Deliver(Registration("echo", 2, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)),
          {nullptr, 2});
  server_->OnAssociationDown({nullptr, 1}, now_);
  Settle();
  EXPECT_EQ(ElementCount(), 1u);
  EXPECT_NE(Find("echo", 2), handlespace::kNoSlot);
}

TEST_P(AsapServerTest, BadInputIsAnsweredWithTheRfcErrorAndCounted) {
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
  EXPECT_EQ(ElementCount(), 1u);
  EXPECT_EQ(TableOf("echo").GetElement(Find("echo", 1)).home, kServerId);
}

TEST_P(AsapServerTest, DeregistrationRightBehindItsRegistrationSucceeds) {
  // Both reach the server before the shard has answered the registration:
  // the session does not exist yet, but the PE is ours.
  Receive({nullptr, 1}, kLoopback,
          Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  Receive({nullptr, 1}, kLoopback, Simple(AsapType::kDeregistration, "echo", 1));
  Settle();
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[0].second[0], static_cast<uint8_t>(AsapType::kRegistrationResponse));
  Message dereg = Last();
  EXPECT_EQ(dereg.type, static_cast<uint8_t>(AsapType::kDeregistrationResponse));
  EXPECT_FALSE(dereg.has_error);
  EXPECT_EQ(ElementCount(), 0u);
  EXPECT_EQ(server_->stats().removed_by_deregistration.load(), 1u);
}

TEST_P(AsapServerTest, ReRegistrationBehindARemovalLeavesThePeRegistered) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  now_ += 8000;
  Tick();  // keep-alive out
  now_ += 5100;
  // The keep-alive timed out (removal submitted) and, before the shard
  // answered, the PE re-registered: it ends registered, with a session.
  server_->OnTimer(now_);
  Receive({nullptr, 1}, kLoopback,
          Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  Settle();
  EXPECT_EQ(server_->stats().removed_by_keep_alive.load(), 1u);
  EXPECT_FALSE(Last().has_error);
  EXPECT_NE(Find("echo", 1), handlespace::kNoSlot);
  sent_.clear();
  now_ += 8000;
  Tick();  // the new session gets its keep-alives
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(Last().type, static_cast<uint8_t>(AsapType::kEndpointKeepAlive));
}

TEST_P(AsapServerTest, ReRegistrationAheadOfARemovalWins) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  now_ += 8000;
  Tick();  // keep-alive out
  now_ += 5100;
  // The re-registration reaches the shard first, the keep-alive timeout's
  // removal (decided before the re-registration was answered) second. The
  // PE's newer word wins: it is registered again behind the removal, and
  // answered once that is done.
  sent_.clear();
  Receive({nullptr, 2}, kLoopback,
          Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  server_->OnTimer(now_);
  Settle();
  EXPECT_EQ(server_->stats().removed_by_keep_alive.load(), 1u);
  // The removal's notice went to the old association, the answer to the new.
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[0].first, (AssocRef{nullptr, 1}));
  EXPECT_EQ(sent_[0].second[0], static_cast<uint8_t>(AsapType::kDeregistrationResponse));
  EXPECT_EQ(Last().type, static_cast<uint8_t>(AsapType::kRegistrationResponse));
  EXPECT_FALSE(Last().has_error);
  EXPECT_NE(Find("echo", 1), handlespace::kNoSlot);
  sent_.clear();
  now_ += 8000;
  Tick();  // the session is the new association's
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(Last().type, static_cast<uint8_t>(AsapType::kEndpointKeepAlive));
  EXPECT_EQ(sent_.back().first, (AssocRef{nullptr, 2}));
}

TEST_P(AsapServerTest, DeregistrationRightBehindAReRegistrationIsFinal) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  Receive({nullptr, 1}, kLoopback,
          Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  Receive({nullptr, 1}, kLoopback, Simple(AsapType::kDeregistration, "echo", 1));
  Settle();
  EXPECT_EQ(Find("echo", 1), handlespace::kNoSlot);
  EXPECT_FALSE(Last().has_error);
  sent_.clear();
  now_ += 8000;
  Tick();
  EXPECT_TRUE(sent_.empty()) << "keep-alive to a PE that deregistered";
}

TEST_P(AsapServerTest, AKeepAliveTimeoutRemovalTellsThePe) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  now_ += 8000;
  Tick();
  sent_.clear();
  now_ += 5100;
  Tick();
  EXPECT_EQ(ElementCount(), 0u);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].second[0], static_cast<uint8_t>(AsapType::kDeregistrationResponse));
  // Its late ACK is answered the same way: it registers again.
  sent_.clear();
  Take(Simple(AsapType::kEndpointKeepAliveAck, "echo", 1));
  ASSERT_EQ(sent_.size(), 1u);
  Message notice = Last();
  EXPECT_EQ(notice.type, static_cast<uint8_t>(AsapType::kDeregistrationResponse));
  EXPECT_EQ(notice.pool_handle, "echo");
  EXPECT_EQ(notice.pe_id, 1u);
  EXPECT_EQ(server_->stats().keep_alive_acks_unknown.load(), 1u);
  EXPECT_EQ(server_->stats().removal_notices_sent.load(), 2u);
}

// docs/limits.md, "Overload": what the registrar may have failed to hear
// is not taken for a dead PE.
TEST_P(AsapServerTest, OverloadDefersKeepAliveRemovals) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  now_ += 8000;
  Tick();  // the keep-alive goes out
  now_ += 1000;
  overload_.Raise(OverloadMonitor::kKernelDrops, now_);
  sent_.clear();
  now_ += 4100;
  Tick();  // the ACK is due, but input was dropped since the keep-alive
  EXPECT_EQ(ElementCount(), 1u);
  EXPECT_EQ(server_->stats().keep_alive_removals_deferred.load(), 1u);
  // A new probe, with a fresh timeout, within the next keep-alive interval.
  EXPECT_TRUE(sent_.empty());
  now_ += 5001;
  Tick();
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(Last().type, static_cast<uint8_t>(AsapType::kEndpointKeepAlive));
  // The late ACK arrives: the PE stays.
  Take(Simple(AsapType::kEndpointKeepAliveAck, "echo", 1));
  now_ += 5100;
  Tick();
  EXPECT_EQ(ElementCount(), 1u);
  // A calm registrar that hears nothing removes it.
  now_ += 8000;
  Tick();
  now_ += 5100;
  Tick();
  EXPECT_EQ(ElementCount(), 0u);
  EXPECT_EQ(server_->stats().removed_by_keep_alive.load(), 1u);
}

TEST_P(AsapServerTest, OverloadDefersLifetimeExpiry) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), 2));
  now_ += 2100;
  overload_.Raise(OverloadMonitor::kBacklog, now_);
  Tick();
  EXPECT_EQ(ElementCount(), 1u);
  EXPECT_GE(server_->stats().expiries_deferred.load(), 1u);
  // A keep-alive timeout (5 s) of calm later, the lifetime takes its course.
  now_ += 5100;
  Tick();
  EXPECT_EQ(ElementCount(), 0u);
  EXPECT_EQ(server_->stats().removed_by_lifetime.load(), 1u);
}

TEST_P(AsapServerTest, AnAssociationRegistersAtMostItsCap) {
  config_.max_pes_per_association = 3;
  MakeServer();
  for (uint32_t id = 1; id <= 4; ++id) {
    Deliver(Registration("echo", id, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  }
  EXPECT_EQ(FirstCause(Last()), Cause::kLackOfResources);
  EXPECT_EQ(ElementCount(), 3u);
  EXPECT_EQ(server_->stats().registrations_refused_association_cap.load(), 1u);
  // Re-registrations of its PEs are never refused; another association may
  // register more.
  EXPECT_FALSE(
      Deliver(Registration("echo", 2, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)))
          .has_error);
  EXPECT_FALSE(
      Deliver(Registration("echo", 4, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)),
              {nullptr, 2})
          .has_error);
  // A deregistration frees its place.
  Deliver(Simple(AsapType::kDeregistration, "echo", 1));
  EXPECT_FALSE(
      Deliver(Registration("echo", 5, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)))
          .has_error);
}

TEST_P(AsapServerTest, ResolutionsAndRegistrationsAreRateLimitedPerAssociation) {
  config_.max_resolutions_per_second = 10;
  config_.max_registrations_per_second = 10;
  MakeServer();
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)));
  int busy = 0;
  for (int i = 0; i < 30; ++i) {
    busy += FirstCause(Deliver(Simple(AsapType::kHandleResolution, "echo", 0, false))) ==
            Cause::kLackOfResources;
  }
  EXPECT_EQ(busy, 20);
  EXPECT_EQ(server_->stats().resolutions_rate_limited.load(), 20u);
  // Another association has a bucket of its own; a second later there is more.
  EXPECT_EQ(Deliver(Simple(AsapType::kHandleResolution, "echo", 0, false), {nullptr, 2})
                .pool_elements.size(),
            1u);
  now_ += 1000;
  EXPECT_EQ(Deliver(Simple(AsapType::kHandleResolution, "echo", 0, false)).pool_elements.size(),
            1u);
  int refused = 0;
  for (uint32_t id = 10; id < 30; ++id) {
    refused += FirstCause(Deliver(Registration(
                   "echo", id, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)))) ==
               Cause::kLackOfResources;
  }
  EXPECT_EQ(refused, 10);  // the bucket holds a second's worth
  EXPECT_EQ(server_->stats().registrations_rate_limited.load(), 10u);
}

TEST_P(AsapServerTest, ARegistrationAnsweredAfterItsAssociationWentDownIsRemoved) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1),
          {nullptr, 1});
  // Association 2 registers a PE and goes down before the shard answers.
  Receive({nullptr, 2}, kLoopback,
          Registration("echo", 7, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  server_->OnAssociationDown({nullptr, 2}, now_);
  Settle();
  EXPECT_EQ(Find("echo", 7), handlespace::kNoSlot);
  EXPECT_EQ(server_->stats().removed_by_association_loss.load(), 1u);
  EXPECT_EQ(server_->session_count(), 1u);
  // A contender whose association goes down gives up; the holder keeps it.
  Receive({nullptr, 3}, kLoopback,
          Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  server_->OnAssociationDown({nullptr, 3}, now_);
  Settle();
  now_ += 1100;
  Tick();
  EXPECT_NE(Find("echo", 1), handlespace::kNoSlot);
  EXPECT_EQ(server_->stats().registrations_refused_pe_id_in_use.load(), 1u);
  server_->OnAssociationDown({nullptr, 1}, now_);
  Settle();
  EXPECT_EQ(ElementCount(), 0u);
  EXPECT_EQ(server_->stats().removed_by_association_loss.load(), 2u);
}

// RFC 5352 §3.1 rule 3, RFC 5355 §2.3: a PE ID held by a live association
// cannot be taken over from another one.
TEST_P(AsapServerTest, AnotherAssociationCannotTakeALivePeOver) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1),
          {nullptr, 1});
  sent_.clear();
  Take(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1),
       {nullptr, 2});
  // The holder is probed, the contender waits.
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].first, (AssocRef{nullptr, 1}));
  EXPECT_EQ(Last().type, static_cast<uint8_t>(AsapType::kEndpointKeepAlive));
  Take(Simple(AsapType::kEndpointKeepAliveAck, "echo", 1), {nullptr, 1});
  Message refused = Last();
  EXPECT_EQ(sent_.back().first, (AssocRef{nullptr, 2}));
  EXPECT_EQ(refused.type, static_cast<uint8_t>(AsapType::kRegistrationResponse));
  EXPECT_EQ(FirstCause(refused), Cause::kNonUniquePeIdentifier);
  EXPECT_EQ(server_->stats().registrations_refused_pe_id_in_use.load(), 1u);
  // The PE is still the holder's: the contender cannot deregister it.
  EXPECT_EQ(FirstCause(Deliver(Simple(AsapType::kDeregistration, "echo", 1), {nullptr, 2})),
            Cause::kRejectedDueToSecurity);
  EXPECT_EQ(ElementCount(), 1u);
}

TEST_P(AsapServerTest, ASilentHolderLosesItsPeToTheNewRegistration) {
  // A PE that restarted: its old association lingers, silent.
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1),
          {nullptr, 1});
  sent_.clear();
  Take(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1),
       {nullptr, 2});
  ASSERT_EQ(sent_.size(), 1u);  // only the probe
  now_ += 1100;
  Tick();
  EXPECT_EQ(sent_.back().first, (AssocRef{nullptr, 2}));
  EXPECT_EQ(Last().type, static_cast<uint8_t>(AsapType::kRegistrationResponse));
  EXPECT_FALSE(Last().has_error);
  EXPECT_EQ(server_->stats().registrations_contested.load(), 1u);
  // The PE is the new association's now.
  EXPECT_FALSE(Deliver(Simple(AsapType::kDeregistration, "echo", 1), {nullptr, 2}).has_error);
  EXPECT_EQ(ElementCount(), 0u);
}

// RFC 5352 §3.4 KA2: an ACK counts only on the PE's own association.
TEST_P(AsapServerTest, AKeepAliveAckFromAnotherAssociationDoesNotKeepAPe) {
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1),
          {nullptr, 1});
  // Past the jittered interval (at most 7.5 s) and the timeout (5 s).
  for (int round = 0; round < 6; ++round) {
    now_ += 3000;
    Tick();
    Take(Simple(AsapType::kEndpointKeepAliveAck, "echo", 1), {nullptr, 9});
  }
  EXPECT_EQ(ElementCount(), 0u);
  EXPECT_EQ(server_->stats().removed_by_keep_alive.load(), 1u);
  EXPECT_GE(server_->stats().keep_alive_acks_foreign.load(), 1u);
  EXPECT_EQ(server_->stats().keep_alive_acks.load(), 0u);
}

TEST_P(AsapServerTest, PeersHoldingPesAreKnown) {
  int peer = 0;
  EXPECT_FALSE(server_->HoldsPes(&peer));
  Deliver(Registration("echo", 1, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)),
          {&peer, 1});
  EXPECT_TRUE(server_->HoldsPes(&peer));
  Deliver(Simple(AsapType::kDeregistration, "echo", 1), {&peer, 1});
  EXPECT_FALSE(server_->HoldsPes(&peer));
  Deliver(Registration("echo", 2, protocol::Policy::Of(protocol::PolicyType::kRoundRobin)),
          {&peer, 1});
  server_->OnAssociationDown({&peer, 1}, now_);
  Settle();
  EXPECT_FALSE(server_->HoldsPes(&peer));
  EXPECT_EQ(ElementCount(), 0u);
}

TEST_P(AsapServerTest, KeepAliveRoundsVisitOnlyTheSessionsDue) {
  // 200 PEs with jittered rounds: every one is probed once per interval,
  // none twice, whatever the tick.
  for (uint32_t id = 1; id <= 200; ++id) {
    Deliver(Registration("echo", id, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  }
  sent_.clear();
  std::map<uint32_t, int> probes;
  for (int step = 0; step < 75; ++step) {  // 7.5 s: 1.5 intervals, the jitter's maximum
    now_ += 100;
    Tick();
    for (const auto& [to, bytes] : sent_) {
      Message m;
      protocol::DecodeError error;
      ASSERT_TRUE(protocol::DecodeMessage(protocol::Protocol::kAsap, bytes, &m, &error));
      ASSERT_EQ(m.type, static_cast<uint8_t>(AsapType::kEndpointKeepAlive));
      ++probes[m.pe_id];
      Take(Simple(AsapType::kEndpointKeepAliveAck, "echo", m.pe_id));
    }
    sent_.clear();
  }
  EXPECT_EQ(probes.size(), 200u);
  for (const auto& [id, count] : probes) {
    EXPECT_LE(count, 2) << id;  // next round at least 2.5 s after an ACK
  }
  EXPECT_EQ(ElementCount(), 200u);
}

TEST_P(AsapServerTest, KeepAlivesArePaced) {
  // --max_keep_alives_per_second=100: at most 10 at once (a tenth of a
  // second's worth), the others wait for later ticks; none is lost.
  config_.max_keep_alives_per_second = 100;
  server_ = std::make_unique<AsapServer>(config_, &shards_, this);
  for (uint32_t id = 1; id <= 50; ++id) {
    Deliver(Registration("echo", id, protocol::Policy::Of(protocol::PolicyType::kRoundRobin), -1));
  }
  sent_.clear();
  now_ += 8000;  // every keep-alive is due
  Tick();
  EXPECT_EQ(sent_.size(), 10u);
  EXPECT_EQ(server_->stats().keep_alives_deferred.load(), 40u);
  for (int i = 0; i < 4; ++i) {
    now_ += 100;
    Tick();
  }
  EXPECT_EQ(sent_.size(), 50u);
  EXPECT_EQ(server_->stats().keep_alives_sent.load(), 50u);
  EXPECT_EQ(ElementCount(), 50u);
}

TEST(AsapServerBusyTest, FullShardRingsAreAnsweredWithLackOfResources) {
  // A full ring is back-pressure, counted and answered; removals
  // are never refused.
  ShardExecutor::Options options;
  options.lcores = 1;
  options.ring_capacity = 2;
  ShardExecutor shards(options);
  RegistrarConfig config;
  config.server_id = kServerId;
  struct Recorder final : dataplane::MessageSender {
    bool Send(const AssocRef&, uint16_t, uint32_t, absl::Span<const uint8_t> bytes) override {
      sent.emplace_back(bytes.begin(), bytes.end());
      return true;
    }
    std::vector<std::vector<uint8_t>> sent;
  } recorder;
  std::vector<std::vector<uint8_t>>& sent = recorder.sent;
  AsapServer server(config, &shards, &recorder);
  Message hr;
  hr.type = static_cast<uint8_t>(AsapType::kHandleResolution);
  hr.has_pool_handle = true;
  hr.pool_handle = "echo";
  const std::vector<uint8_t> resolution = protocol::EncodeMessageToVector(hr);
  dataplane::InboundMessage in;
  in.from = {nullptr, 1};
  in.remote_ip = kLoopback;
  in.data = resolution;
  for (int i = 0; i < 100; ++i) server.OnMessage(in, hr, 1000);
  do {
    server.CollectAnswers(1000);
  } while (server.in_flight() != 0);
  ASSERT_EQ(sent.size(), 100u);  // every request answered
  size_t busy = 0;
  for (const auto& bytes : sent) {
    Message m;
    protocol::DecodeError error;
    ASSERT_TRUE(protocol::DecodeMessage(protocol::Protocol::kAsap, bytes, &m, &error));
    ASSERT_TRUE(m.has_error);
    busy += m.error_causes.front().code == Cause::kLackOfResources ? 1 : 0;
  }
  EXPECT_GE(busy, 96u);  // at most 4 fit in the two rings
  EXPECT_EQ(server.stats().shards_busy.load(), busy);
}

// RFC 5353 §3.5.2, RFC 5355 §2.3: a PE taken over becomes ours when it
// answers the H-bit keep-alive, from where the keep-alive went. An ACK for it
// from anywhere else (anyone may learn a pool handle and PE ID) is ignored.
TEST_P(AsapServerTest, OnlyTheAdoptedPeItselfCanAnswerItsHBitKeepAlive) {
  protocol::PoolElement pe;
  pe.id = 9;
  pe.registration_life = 30;
  pe.asap.addresses.push_back(kLoopback);
  pe.asap.port = 6000;
  pe.asap.udp_port = 7777;
  server_->Adopt("echo", pe, now_);
  now_ += 1000;  // the keep-alives' pacing refills in a tick, and lets it go in the next
  Tick();
  Tick();
  ASSERT_EQ(called_.size(), 1u);
  EXPECT_EQ(called_[0].sctp_port, 6000);
  EXPECT_EQ(called_[0].udp_port, 7777);
  const std::vector<uint8_t> ack = Simple(AsapType::kEndpointKeepAliveAck, "echo", 9);
  Receive({nullptr, 7}, kLoopback, ack, /*remote_port=*/6001, /*remote_udp_port=*/7777);
  Receive({nullptr, 8}, kLoopback, ack, 6000, 7778);
  Receive({nullptr, 9}, protocol::IpAddress::V4(0x0a000009), ack, 6000, 7777);
  Settle();
  EXPECT_EQ(server_->stats().adoption_acks_foreign.load(), 3u);
  EXPECT_EQ(server_->stats().adoption_acks.load(), 0u);
  EXPECT_EQ(server_->session_count(), 0u);
  Receive({nullptr, 10}, kLoopback, ack, 6000, 7777);
  Settle();
  EXPECT_EQ(server_->stats().adoption_acks.load(), 1u);
  EXPECT_EQ(server_->session_count(), 1u);
}

INSTANTIATE_TEST_SUITE_P(InlineAndOnLcores, AsapServerTest, ::testing::Values(0, 2),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param == 0 ? std::string("Inline")
                                                  : "Lcores" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace rspd::control
