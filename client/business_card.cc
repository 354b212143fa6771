#include "client/business_card.h"

#include "protocol/codec.h"

namespace rspd::client {

std::optional<std::vector<uint8_t>> EncodeBusinessCard(const std::string& pool,
                                                       const Resolution& others,
                                                       uint32_t own_pe_id) {
  std::vector<protocol::PoolElement> elements;  // they point into `others`
  for (const ResolvedElement& e : others.elements) {
    if (e.pe_id == own_pe_id || e.addresses.empty()) continue;
    protocol::PoolElement pe;
    pe.pe_id = e.pe_id;
    pe.home_registrar = e.home_registrar;
    pe.registration_life = e.registration_life;
    pe.user_transport.type = e.transport;
    pe.user_transport.port = e.port;
    pe.user_transport.transport_use = e.transport_use;
    pe.user_transport.addresses =
        protocol::ParamList<protocol::IpAddress>(absl::MakeConstSpan(e.addresses));
    pe.policy = e.policy;
    elements.push_back(pe);
  }
  if (elements.empty()) return std::nullopt;
  protocol::Message card;
  card.type = static_cast<uint8_t>(protocol::AsapType::kBusinessCard);
  card.has_pool_handle = true;
  card.pool_handle = pool;
  card.pool_elements = protocol::ParamList<protocol::PoolElement>(absl::MakeConstSpan(elements));
  return protocol::EncodeMessageToVector(card);
}

}  // namespace rspd::client
