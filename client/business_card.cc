// File: client/business_card.cc

#include "client/business_card.h"

#include "protocol/codec.h"
#include "protocol/pool_element_codec.h"

namespace rspd::client {

std::optional<std::vector<uint8_t>> EncodeBusinessCard(const std::string& pool,
                                                       const Resolution& others,
                                                       uint32_t own_pe_id) {
  // A PU reaches a PE on its user transport (RFC 5352 §3.9): the card lists
  // that, without the ASAP transport.
  std::vector<protocol::PoolElement> owned;
  for (protocol::PoolElement e : others.elements) {
    if (e.id == own_pe_id || e.user.addresses.size == 0) continue;
    e.asap = protocol::AsapTransport();
    owned.push_back(e);
  }
  if (owned.empty()) return std::nullopt;
  std::vector<protocol::PoolElementView> elements;  // views into `owned`
  for (const protocol::PoolElement& e : owned) elements.push_back(protocol::ViewOf(e));
  protocol::Message card;
  card.type = static_cast<uint8_t>(protocol::AsapType::kBusinessCard);
  card.has_pool_handle = true;
  card.pool_handle = pool;
  card.pool_elements =
      protocol::ParamList<protocol::PoolElementView>(absl::MakeConstSpan(elements));
  return protocol::EncodeMessageToVector(card);
}

}  // namespace rspd::client
