#include "control/pe_convert.h"

namespace rspd::control {
namespace {

using handlespace::PolicyInfo;
using protocol::PolicyType;

// Where each wire value of a policy goes (RFC 5356 §4-5, RSPLIB structs).
enum Field { kWeight, kLoad, kDegradation, kDpf, kDistance, kNone };

struct Layout {
  Field fields[4];
  int count;
};

Layout LayoutOf(PolicyType type) {
  switch (type) {
    case PolicyType::kRoundRobin:
    case PolicyType::kRandom:
      return {{kNone}, 0};
    case PolicyType::kWeightedRoundRobin:
    case PolicyType::kWeightedRandom:
    case PolicyType::kPriority:  // the priority lives in the weight field
      return {{kWeight}, 1};
    case PolicyType::kLeastUsed:
    case PolicyType::kRandomizedLeastUsed:
      return {{kLoad}, 1};
    case PolicyType::kWeightedRandomWithDpf:
      return {{kWeight, kDpf, kDistance}, 3};
    case PolicyType::kLeastUsedWithDpf:
      return {{kLoad, kDpf, kDistance}, 3};
    case PolicyType::kLeastUsedWithDegradationWithDpf:
    case PolicyType::kPriorityLeastUsedWithDpf:
    case PolicyType::kPriorityLeastUsedWithDegradationWithDpf:
      return {{kLoad, kDegradation, kDpf, kDistance}, 4};
    default:  // LUD, PLU and RSPLIB's degradation variants
      return {{kLoad, kDegradation}, 2};
  }
}

uint32_t* FieldOf(PolicyInfo& p, Field f) {
  switch (f) {
    case kWeight:
      return &p.weight;
    case kLoad:
      return &p.load;
    case kDegradation:
      return &p.load_degradation;
    case kDpf:
      return &p.dpf;
    case kDistance:
      return &p.distance;
    case kNone:
      break;
  }
  return nullptr;
}

}  // namespace

protocol::Cause PoolElementFromWire(const protocol::PoolElement& wire,
                                    handlespace::PoolElementInfo* out) {
  *out = handlespace::PoolElementInfo();
  out->id = wire.pe_id;
  out->home = wire.home_registrar;
  out->registration_life = wire.registration_life;
  const protocol::Transport& user = wire.user_transport;
  if (user.type == protocol::ParamType::kOpaqueTransport) {
    return protocol::Cause::kInvalidValues;
  }
  out->user.type = user.type;
  out->user.port = user.port;
  out->user.dccp_service_code = user.dccp_service_code;
  out->user.use = user.type == protocol::ParamType::kSctpTransport
                      ? static_cast<protocol::TransportUse>(user.transport_use)
                      : protocol::TransportUse::kDataOnly;
  for (const protocol::IpAddress& a : user.addresses) {
    if (!out->user.addresses.push_back(a)) return protocol::Cause::kLackOfResources;
  }
  if (wire.has_asap_transport) {
    out->asap.port = wire.asap_transport.port;
    for (const protocol::IpAddress& a : wire.asap_transport.addresses) {
      if (!out->asap.addresses.push_back(a)) {
        return protocol::Cause::kLackOfResources;
      }
    }
  }
  out->policy.type = wire.policy.kind();
  Layout layout = LayoutOf(out->policy.type);
  for (int i = 0; i < layout.count && i < wire.policy.value_count; ++i) {
    *FieldOf(out->policy, layout.fields[i]) = wire.policy.values[i];
  }
  return handlespace::kNoError;
}

protocol::Policy PolicyToWire(const handlespace::PolicyInfo& policy) {
  protocol::Policy p;
  p.type = static_cast<uint32_t>(policy.type);
  Layout layout = LayoutOf(policy.type);
  PolicyInfo copy = policy;
  for (int i = 0; i < layout.count; ++i) {
    p.values[i] = *FieldOf(copy, layout.fields[i]);
  }
  p.value_count = static_cast<uint8_t>(layout.count);
  return p;
}

void EncodeUserTransport(protocol::Writer& w, const handlespace::UserTransport& transport,
                         protocol::ParamType type) {
  size_t p = protocol::BeginTransport(w, type, transport.port, static_cast<uint16_t>(transport.use),
                                      transport.dccp_service_code);
  for (size_t i = 0; i < transport.addresses.size; ++i) {
    protocol::EncodeAddress(w, transport.addresses.items[i]);
  }
  w.EndTlv(p);
}

void EncodePoolElementInfo(protocol::Writer& w, const handlespace::PoolElementInfo& info) {
  size_t p = protocol::BeginPoolElement(w, info.id, info.home, info.registration_life);
  EncodeUserTransport(w, info.user, info.user.type);
  protocol::EncodePolicy(w, PolicyToWire(info.policy));
  if (info.asap.addresses.size > 0) {
    size_t t =
        protocol::BeginTransport(w, protocol::ParamType::kSctpTransport, info.asap.port, 0, 0);
    for (size_t i = 0; i < info.asap.addresses.size; ++i) {
      protocol::EncodeAddress(w, info.asap.addresses.items[i]);
    }
    w.EndTlv(t);
  }
  w.EndTlv(p);
}

}  // namespace rspd::control
