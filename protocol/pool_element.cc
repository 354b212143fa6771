#include "protocol/pool_element.h"

namespace rspd::protocol {

uint32_t& PolicyInfo::at(PolicyField field) {
  switch (field) {
    case PolicyField::kWeight:
    case PolicyField::kPriority:
      return weight;
    case PolicyField::kLoad:
      return load;
    case PolicyField::kLoadDegradation:
      return load_degradation;
    case PolicyField::kDpf:
      return dpf;
    case PolicyField::kDistance:
      break;
  }
  return distance;
}

PolicyInfo PolicyInfo::Normalized() const {
  PolicyInfo out;
  out.type = type;
  if (const PolicyRow* row = FindPolicy(type)) {
    for (size_t i = 0; i < row->value_count; ++i) {
      out.at(row->values[i]) = at(row->values[i]);
    }
  }
  return out;
}

}  // namespace rspd::protocol
