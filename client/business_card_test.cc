// File: client/business_card_test.cc
//
// ASAP_BUSINESS_CARD (RFC 5352 §2.2.13, §3.9): the pool's other PEs, in the
// resolution's order, with all their addresses; the PE itself left out.

#include "client/business_card.h"

#include "gtest/gtest.h"
#include "protocol/codec.h"

namespace rspd::client {
namespace {

protocol::PoolElement Element(uint32_t pe_id, std::vector<protocol::IpAddress> addresses) {
  protocol::PoolElement e;
  e.id = pe_id;
  e.home = 0x2a;
  e.registration_life = 30;
  e.user.port = static_cast<uint16_t>(7000 + pe_id);
  for (const protocol::IpAddress& a : addresses) e.user.addresses.push_back(a);
  e.asap.port = 5000;
  e.asap.addresses.push_back(protocol::IpAddress::V4(0x0a0000ff));
  e.policy.type = protocol::PolicyType::kRoundRobin;
  return e;
}

TEST(BusinessCardTest, ListsTheOtherPesInOrderWithAllTheirAddresses) {
  Resolution others;
  const protocol::IpAddress a = protocol::IpAddress::V4(0x0a000001);
  const protocol::IpAddress b = protocol::IpAddress::V4(0x0a000002);
  others.elements = {Element(3, {a, b}), Element(1, {a}), Element(2, {b}), Element(4, {})};
  std::optional<std::vector<uint8_t>> card = EncodeBusinessCard("echo", others, 1);
  ASSERT_TRUE(card.has_value());
  protocol::Message m;
  protocol::DecodeError error;
  ASSERT_TRUE(protocol::DecodeMessage(protocol::Protocol::kAsap, *card, &m, &error));
  EXPECT_EQ(m.type, static_cast<uint8_t>(protocol::AsapType::kBusinessCard));
  EXPECT_EQ(m.pool_handle, "echo");
  std::vector<uint32_t> ids;
  std::vector<size_t> address_counts;
  for (const protocol::PoolElementView& pe : m.pool_elements) {
    ids.push_back(pe.pe_id);
    address_counts.push_back(pe.user_transport.addresses.size());
    EXPECT_FALSE(pe.has_asap_transport);  // a PU reaches a PE on its user transport
  }
  // PE 1 is the card's owner; PE 4 has no address to fail over to.
  EXPECT_EQ(ids, (std::vector<uint32_t>{3, 2}));
  EXPECT_EQ(address_counts, (std::vector<size_t>{2, 1}));
}

TEST(BusinessCardTest, NoCardWithoutAnotherPe) {
  Resolution others;
  others.elements = {Element(1, {protocol::IpAddress::V4(0x7f000001)})};
  EXPECT_FALSE(EncodeBusinessCard("echo", others, 1).has_value());
}

}  // namespace
}  // namespace rspd::client
