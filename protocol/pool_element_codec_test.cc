#include "protocol/pool_element_codec.h"

#include <vector>

#include "gtest/gtest.h"
#include "protocol/testing/samples.h"

namespace rspd::protocol {
namespace {

// Every registration sample (every policy type, every user transport but
// opaque) survives view -> owned -> wire unchanged.
TEST(PoolElementCodecTest, EveryPolicyAndTransportRoundTrips) {
  int converted = 0;
  for (const auto& sample : testing::AllSamples()) {
    if (sample.name.rfind("asap_registration_", 0) != 0 ||
        sample.name.find("response") != std::string::npos) {
      continue;
    }
    SCOPED_TRACE(sample.name);
    Message m;
    DecodeError error;
    ASSERT_TRUE(DecodeMessage(sample.protocol, sample.bytes, &m, &error));
    PoolElement info;
    Cause cause = PoolElementFromView(m.pool_element, &info);
    if (m.pool_element.user_transport.type == ParamType::kOpaqueTransport) {
      EXPECT_EQ(cause, Cause::kInvalidValues);
      continue;
    }
    ASSERT_EQ(cause, kNoError);
    std::vector<uint8_t> a(512), b(512);
    Writer wa(absl::MakeSpan(a)), wb(absl::MakeSpan(b));
    EncodePoolElement(wa, m.pool_element);
    EncodePoolElement(wb, info);
    a.resize(wa.size());
    b.resize(wb.size());
    EXPECT_EQ(a, b);
    ++converted;
  }
  EXPECT_EQ(converted, 16 + 4);  // every policy in SCTP, plus TCP, UDP, UDP-Lite and DCCP
}

// Pool Elements as registrars send them (handle resolution responses, ENRP
// updates): with the ASAP transport, IPv4 and IPv6.
TEST(PoolElementCodecTest, ResolvedElementsWithAsapTransportRoundTrip) {
  int converted = 0;
  for (const auto& sample : testing::AllSamples()) {
    Message m;
    DecodeError error;
    ASSERT_TRUE(DecodeMessage(sample.protocol, sample.bytes, &m, &error));
    for (const PoolElementView& pe : m.pool_elements) {
      if (!pe.has_asap_transport || pe.user_transport.type == ParamType::kOpaqueTransport) {
        continue;
      }
      SCOPED_TRACE(sample.name);
      PoolElement info;
      ASSERT_EQ(PoolElementFromView(pe, &info), kNoError);
      std::vector<uint8_t> a(1024), b(1024);
      Writer wa(absl::MakeSpan(a)), wb(absl::MakeSpan(b));
      EncodePoolElement(wa, pe);
      EncodePoolElement(wb, info);
      a.resize(wa.size());
      b.resize(wb.size());
      EXPECT_EQ(a, b);
      ++converted;
    }
  }
  EXPECT_GT(converted, 0);
}

TEST(PoolElementCodecTest, PriorityAndDpfFieldsLandWhereTheHandlespaceReadsThem) {
  PoolElementView pe;
  pe.user_transport.addresses = {};
  pe.policy = Policy::Of(PolicyType::kPriority, {7});
  PoolElement info;
  ASSERT_EQ(PoolElementFromView(pe, &info), kNoError);
  EXPECT_EQ(info.policy.weight, 7u);
  pe.policy = Policy::Of(PolicyType::kLeastUsedWithDegradationWithDpf, {1, 2, 3, 4});
  ASSERT_EQ(PoolElementFromView(pe, &info), kNoError);
  EXPECT_EQ(info.policy.load, 1u);
  EXPECT_EQ(info.policy.load_degradation, 2u);
  EXPECT_EQ(info.policy.dpf, 3u);
  EXPECT_EQ(info.policy.distance, 4u);
}

// RFC 5352 §3.1 rule 5: more addresses than a PE record holds is Lack of
// Resources, not a silently shortened list.
TEST(PoolElementCodecTest, MoreAddressesThanARecordHoldsIsLackOfResources) {
  std::vector<IpAddress> addresses(kMaxTransportAddresses + 1, IpAddress::V4(0x0a000001));
  PoolElementView pe;
  pe.user_transport.addresses = ParamList<IpAddress>(absl::MakeConstSpan(addresses));
  PoolElement info;
  EXPECT_EQ(PoolElementFromView(pe, &info), Cause::kLackOfResources);
  addresses.pop_back();
  pe.user_transport.addresses = ParamList<IpAddress>(absl::MakeConstSpan(addresses));
  EXPECT_EQ(PoolElementFromView(pe, &info), kNoError);
}

// RFC 5356 §4-5: each policy's values go on the wire in its row's order, and
// a normalized record keeps exactly those.
TEST(PoolElementCodecTest, EveryPolicyKeepsExactlyItsTableValues) {
  for (const PolicyRow& row : PolicyTable()) {
    SCOPED_TRACE(row.name);
    PolicyInfo info;
    info.type = row.type;
    info.weight = 1;
    info.load = 2;
    info.load_degradation = 3;
    info.dpf = 4;
    info.distance = 5;
    const Policy wire = PolicyToWire(info);
    ASSERT_EQ(wire.value_count, row.value_count);
    for (size_t i = 0; i < row.value_count; ++i) {
      EXPECT_EQ(wire.values[i], info.at(row.values[i]));
    }
    EXPECT_EQ(PolicyFromWire(wire), info.Normalized());
  }
}

}  // namespace
}  // namespace rspd::protocol
