#include "protocol/pool_element_codec.h"

namespace rspd::protocol {
namespace {

// Appends the addresses of a wire transport; false if they do not fit.
bool CopyAddresses(const ParamList<IpAddress>& from, AddressList* to) {
  for (const IpAddress& a : from) {
    if (!to->push_back(a)) {
      return false;
    }
  }
  return true;
}

TransportView ViewOfUser(const UserTransport& t, ParamType type) {
  TransportView v;
  v.type = type;
  v.port = t.port;
  v.transport_use = static_cast<uint16_t>(t.use);
  v.dccp_service_code = t.dccp_service_code;
  v.addresses = ParamList<IpAddress>(t.addresses.span());
  return v;
}

}  // namespace

Cause PoolElementFromView(const PoolElementView& view, PoolElement* out) {
  *out = PoolElement();
  out->id = view.pe_id;
  out->home = view.home_registrar;
  out->registration_life = view.registration_life;
  const TransportView& user = view.user_transport;
  if (user.type == ParamType::kOpaqueTransport) {
    return Cause::kInvalidValues;
  }
  out->user.type = user.type;
  out->user.port = user.port;
  out->user.dccp_service_code = user.dccp_service_code;
  // RFC 5354 §3.4: only SCTP has a Transport Use.
  out->user.use = user.type == ParamType::kSctpTransport
                      ? static_cast<TransportUse>(user.transport_use)
                      : TransportUse::kDataOnly;
  if (!CopyAddresses(user.addresses, &out->user.addresses)) {
    return Cause::kLackOfResources;
  }
  if (view.has_asap_transport) {
    out->asap.port = view.asap_transport.port;
    out->asap.udp_port = view.asap_udp_port;
    if (!CopyAddresses(view.asap_transport.addresses, &out->asap.addresses)) {
      return Cause::kLackOfResources;
    }
  }
  out->policy = PolicyFromWire(view.policy);
  return kNoError;
}

PolicyInfo PolicyFromWire(const Policy& wire) {
  PolicyInfo out;
  out.type = wire.kind();
  if (const PolicyRow* row = FindPolicy(wire.type)) {
    for (size_t i = 0; i < row->value_count && i < wire.value_count; ++i) {
      out.at(row->values[i]) = wire.values[i];
    }
  }
  return out;
}

Policy PolicyToWire(const PolicyInfo& policy) {
  Policy out;
  out.type = static_cast<uint32_t>(policy.type);
  if (const PolicyRow* row = FindPolicy(policy.type)) {
    for (size_t i = 0; i < row->value_count; ++i) {
      out.values[i] = policy.at(row->values[i]);
    }
    out.value_count = row->value_count;
  }
  return out;
}

PoolElementView ViewOf(const PoolElement& pe) {
  PoolElementView v;
  v.pe_id = pe.id;
  v.home_registrar = pe.home;
  v.registration_life = pe.registration_life;
  v.user_transport = ViewOfUser(pe.user, pe.user.type);
  v.policy = PolicyToWire(pe.policy);
  // RFC 5352 §3.1 rule 4: the ASAP transport, once the registrar knows it.
  v.has_asap_transport = !pe.asap.addresses.empty();
  v.asap_transport.type = ParamType::kSctpTransport;
  v.asap_transport.port = pe.asap.port;
  v.asap_transport.addresses = ParamList<IpAddress>(pe.asap.addresses.span());
  return v;
}

std::vector<PoolElement> OwnedElements(const ParamList<PoolElementView>& views) {
  std::vector<PoolElement> out;
  out.reserve(views.size());
  for (const PoolElementView& view : views) {
    PoolElement pe;
    if (PoolElementFromView(view, &pe) == kNoError) {
      out.push_back(pe);
    }
  }
  return out;
}

void EncodeUserTransport(Writer& w, const UserTransport& transport, ParamType type) {
  EncodeTransport(w, ViewOfUser(transport, type));
}

void EncodePoolElement(Writer& w, const PoolElement& pe, bool with_udp_port) {
  PoolElementView view = ViewOf(pe);
  if (with_udp_port) view.asap_udp_port = pe.asap.udp_port;
  EncodePoolElement(w, view);
}

}  // namespace rspd::protocol
