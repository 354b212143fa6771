// File: tools/rspctl_print.cc

#include "tools/rspctl_print.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "protocol/address.h"
#include "protocol/codec.h"
#include "protocol/describe.h"
#include "protocol/policy_table.h"
#include "protocol/pool_element_codec.h"

namespace rspd::tools {

void PrintPoolElement(absl::string_view pool, const protocol::PoolElement& e, bool json,
                      bool name_pool) {
  std::vector<std::string> addresses;  // for JSON
  std::vector<std::string> endpoints;  // ADDRESS:PORT, IPv6 in brackets
  for (const protocol::IpAddress& a : e.user.addresses.span()) {
    addresses.push_back(a.ToString());
    endpoints.push_back(protocol::JoinHostPort(a, e.user.port));
  }
  if (endpoints.empty()) endpoints.push_back(protocol::JoinHostPort("", e.user.port));
  const protocol::Policy policy = protocol::PolicyToWire(e.policy);
  std::vector<std::string> values;
  for (size_t i = 0; i < policy.value_count; ++i) values.push_back(absl::StrCat(policy.values[i]));
  if (json) {
    printf(
        "{\"pool\":\"%s\",\"pe_id\":%u,\"home_registrar\":%u,\"registration_life\":%d,"
        "\"transport\":\"%s\",\"addresses\":[\"%s\"],\"port\":%u,\"transport_use\":\"%s\","
        "\"policy\":\"%s\",\"policy_type\":%u,\"policy_values\":[%s]}\n",
        std::string(pool).c_str(), e.id, e.home, e.registration_life,
        protocol::TransportName(e.user.type), absl::StrJoin(addresses, "\",\"").c_str(),
        e.user.port,
        e.user.use == protocol::TransportUse::kDataPlusControl ? "data+control" : "data",
        protocol::PolicyTypeName(policy.type), policy.type, absl::StrJoin(values, ",").c_str());
  } else {
    printf("%spe_id=0x%08x home=0x%08x %s:%s policy=\"%s\"%s life=%d\n",
           name_pool ? absl::StrCat("pool=", pool, " ").c_str() : "", e.id, e.home,
           protocol::TransportName(e.user.type), absl::StrJoin(endpoints, ",").c_str(),
           protocol::PolicyTypeName(policy.type),
           values.empty() ? "" : absl::StrCat("[", absl::StrJoin(values, ","), "]").c_str(),
           e.registration_life);
  }
}

}  // namespace rspd::tools
