// File: tools/load_requests.cc

#include "tools/load_requests.h"

#include "protocol/codec.h"

namespace rspd::tools {

std::vector<uint8_t> ResolutionRequest(const std::string& pool, uint32_t items) {
  protocol::Message m;
  m.type = static_cast<uint8_t>(protocol::AsapType::kHandleResolution);
  m.has_pool_handle = true;
  m.pool_handle = pool;
  m.has_handle_resolution_items = true;
  m.handle_resolution_items = items;
  return protocol::EncodeMessageToVector(m);
}

std::vector<uint8_t> RegistrationRequest(const std::string& pool, uint32_t pe_id,
                                         const protocol::IpAddress& address) {
  const protocol::IpAddress addresses[1] = {address};
  protocol::Message m;
  m.type = static_cast<uint8_t>(protocol::AsapType::kRegistration);
  m.has_pool_handle = true;
  m.pool_handle = pool;
  m.has_pool_element = true;
  m.pool_element.pe_id = pe_id;
  m.pool_element.registration_life = 300;
  m.pool_element.user_transport.port = static_cast<uint16_t>(20000 + pe_id % 40000);
  m.pool_element.user_transport.addresses = protocol::ParamList<protocol::IpAddress>(addresses);
  m.pool_element.policy = protocol::Policy::Of(protocol::PolicyType::kRoundRobin);
  return protocol::EncodeMessageToVector(m);
}

}  // namespace rspd::tools
