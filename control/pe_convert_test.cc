#include "control/pe_convert.h"

#include <vector>

#include "gtest/gtest.h"
#include "protocol/testing/samples.h"

namespace rspd::control {
namespace {

// Every registration sample (every policy type, every user transport but
// opaque) survives wire -> handlespace -> wire unchanged.
TEST(PeConvertTest, EveryPolicyAndTransportRoundTrips) {
  int converted = 0;
  for (const auto& sample : protocol::testing::AllSamples()) {
    if (sample.name.rfind("asap_registration_", 0) != 0 ||
        sample.name.find("response") != std::string::npos) {
      continue;
    }
    SCOPED_TRACE(sample.name);
    protocol::Message m;
    protocol::DecodeError error;
    ASSERT_TRUE(protocol::DecodeMessage(sample.protocol, sample.bytes, &m, &error));
    handlespace::PoolElementInfo info;
    protocol::Cause cause = PoolElementFromWire(m.pool_element, &info);
    if (m.pool_element.user_transport.type == protocol::ParamType::kOpaqueTransport) {
      EXPECT_EQ(cause, protocol::Cause::kInvalidValues);
      continue;
    }
    ASSERT_EQ(cause, handlespace::kNoError);
    std::vector<uint8_t> a(512), b(512);
    protocol::Writer wa(absl::MakeSpan(a)), wb(absl::MakeSpan(b));
    protocol::EncodePoolElement(wa, m.pool_element);
    EncodePoolElementInfo(wb, info);
    a.resize(wa.size());
    b.resize(wb.size());
    EXPECT_EQ(a, b);
    ++converted;
  }
  EXPECT_EQ(converted, 16 + 4);  // every policy in SCTP, plus TCP, UDP, UDP-Lite and DCCP
}

// Pool Elements as registrars send them (handle resolution responses, ENRP
// updates): with the ASAP transport, IPv4 and IPv6.
TEST(PeConvertTest, ResolvedElementsWithAsapTransportRoundTrip) {
  int converted = 0;
  for (const auto& sample : protocol::testing::AllSamples()) {
    protocol::Message m;
    protocol::DecodeError error;
    ASSERT_TRUE(protocol::DecodeMessage(sample.protocol, sample.bytes, &m, &error));
    for (const protocol::PoolElement& pe : m.pool_elements) {
      if (!pe.has_asap_transport ||
          pe.user_transport.type == protocol::ParamType::kOpaqueTransport) {
        continue;
      }
      SCOPED_TRACE(sample.name);
      handlespace::PoolElementInfo info;
      ASSERT_EQ(PoolElementFromWire(pe, &info), handlespace::kNoError);
      std::vector<uint8_t> a(1024), b(1024);
      protocol::Writer wa(absl::MakeSpan(a)), wb(absl::MakeSpan(b));
      protocol::EncodePoolElement(wa, pe);
      EncodePoolElementInfo(wb, info);
      a.resize(wa.size());
      b.resize(wb.size());
      EXPECT_EQ(a, b);
      ++converted;
    }
  }
  EXPECT_GT(converted, 0);
}

TEST(PeConvertTest, PriorityAndDpfFieldsLandWhereTheHandlespaceReadsThem) {
  protocol::PoolElement pe;
  pe.user_transport.addresses = {};
  pe.policy = protocol::Policy::Of(protocol::PolicyType::kPriority, {7});
  handlespace::PoolElementInfo info;
  ASSERT_EQ(PoolElementFromWire(pe, &info), handlespace::kNoError);
  EXPECT_EQ(info.policy.weight, 7u);
  pe.policy =
      protocol::Policy::Of(protocol::PolicyType::kLeastUsedWithDegradationWithDpf, {1, 2, 3, 4});
  ASSERT_EQ(PoolElementFromWire(pe, &info), handlespace::kNoError);
  EXPECT_EQ(info.policy.load, 1u);
  EXPECT_EQ(info.policy.load_degradation, 2u);
  EXPECT_EQ(info.policy.dpf, 3u);
  EXPECT_EQ(info.policy.distance, 4u);
}

}  // namespace
}  // namespace rspd::control
