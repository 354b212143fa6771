#include "protocol/describe.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace rspd::protocol {
namespace {

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, static_cast<char>(c)));
    } else if (c < 0x20 || c >= 0x7f) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", c));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return out;
}

std::string Quoted(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, absl::StrFormat("\\x%02x", c));
    }
  }
  out.push_back('"');
  return out;
}

std::string Hex(absl::Span<const uint8_t> bytes) {
  std::string out;
  for (uint8_t b : bytes) absl::StrAppend(&out, absl::Hex(b, absl::kZeroPad2));
  return out;
}

std::vector<std::string> Addresses(const TransportView& t) {
  std::vector<std::string> out;
  for (const IpAddress& a : t.addresses) out.push_back(a.ToString());
  return out;
}

std::string TransportText(const TransportView& t) {
  if (t.type == ParamType::kOpaqueTransport) {
    return absl::StrCat(
        "opaque:",
        Quoted(absl::string_view(reinterpret_cast<const char*>(t.opaque.data()), t.opaque.size())));
  }
  std::string out =
      absl::StrCat(TransportName(t.type), ":", t.port, "[", absl::StrJoin(Addresses(t), ","), "]");
  if (t.type == ParamType::kSctpTransport && t.transport_use == 1) {
    absl::StrAppend(&out, "+control");
  }
  if (t.type == ParamType::kDccpTransport) {
    absl::StrAppend(&out, absl::StrFormat("/sc=0x%08x", t.dccp_service_code));
  }
  return out;
}

std::string TransportJson(const TransportView& t) {
  std::string out = absl::StrCat("{\"transport\":\"", TransportName(t.type), "\"");
  if (t.type == ParamType::kOpaqueTransport) {
    absl::StrAppend(&out, ",\"opaque\":\"", Hex(t.opaque), "\"}");
    return out;
  }
  std::vector<std::string> quoted;
  for (const std::string& a : Addresses(t)) quoted.push_back(absl::StrCat("\"", a, "\""));
  absl::StrAppend(
      &out, ",\"port\":", t.port, ",\"addresses\":[", absl::StrJoin(quoted, ","), "]",
      ",\"transport_use\":\"",
      t.type == ParamType::kSctpTransport && t.transport_use == 1 ? "data+control" : "data", "\"");
  if (t.type == ParamType::kDccpTransport) {
    absl::StrAppend(&out, ",\"service_code\":", t.dccp_service_code);
  }
  out.push_back('}');
  return out;
}

std::string PolicyText(const Policy& p) {
  std::vector<std::string> values;
  for (size_t i = 0; i < p.value_count; ++i) {
    values.push_back(absl::StrFormat("0x%08x", p.values[i]));
  }
  return absl::StrFormat("\"%s\"(0x%08x)[%s]", PolicyTypeName(p.type), p.type,
                         absl::StrJoin(values, ","));
}

std::string PolicyJson(const Policy& p) {
  std::vector<std::string> values;
  for (size_t i = 0; i < p.value_count; ++i) values.push_back(absl::StrCat(p.values[i]));
  return absl::StrCat("\"policy\":", JsonString(PolicyTypeName(p.type)),
                      ",\"policy_type\":", p.type, ",\"policy_values\":[",
                      absl::StrJoin(values, ","), "]");
}

std::string PeText(const PoolElementView& e) {
  std::string out = absl::StrFormat("pe{id=0x%08x home=0x%08x life=%d user=%s policy=%s", e.pe_id,
                                    e.home_registrar, e.registration_life,
                                    TransportText(e.user_transport), PolicyText(e.policy));
  if (e.has_asap_transport) absl::StrAppend(&out, " asap=", TransportText(e.asap_transport));
  out.push_back('}');
  return out;
}

std::string CausesText(const ParamList<ErrorCause>& causes) {
  std::vector<std::string> out;
  for (const ErrorCause& c : causes) {
    out.push_back(absl::StrFormat("\"%s\"(%d)%s", CauseName(c.code), static_cast<int>(c.code),
                                  c.info.empty() ? "" : absl::StrCat("[", Hex(c.info), "]")));
  }
  return absl::StrJoin(out, ",");
}

std::string CausesJson(const ParamList<ErrorCause>& causes) {
  std::vector<std::string> out;
  for (const ErrorCause& c : causes) {
    out.push_back(absl::StrCat("{\"cause\":", static_cast<int>(c.code), ",\"name\":",
                               JsonString(CauseName(c.code)), ",\"info\":\"", Hex(c.info), "\"}"));
  }
  return absl::StrCat("[", absl::StrJoin(out, ","), "]");
}

std::string ServerText(const ServerInformation& s) {
  return absl::StrFormat("server{id=0x%08x %s}", s.server_id, TransportText(s.transport));
}

std::string ServerJson(const ServerInformation& s) {
  return absl::StrCat("{\"server_id\":", s.server_id, ",\"transport\":", TransportJson(s.transport),
                      "}");
}

bool IsAsap(const Message& m, AsapType t) {
  return m.protocol == Protocol::kAsap && m.type == static_cast<uint8_t>(t);
}
bool IsEnrp(const Message& m, EnrpType t) {
  return m.protocol == Protocol::kEnrp && m.type == static_cast<uint8_t>(t);
}
bool HasServerId(const Message& m) {
  return IsAsap(m, AsapType::kEndpointKeepAlive) || IsAsap(m, AsapType::kServerAnnounce);
}
bool HasTarget(const Message& m) {
  return IsEnrp(m, EnrpType::kInitTakeover) || IsEnrp(m, EnrpType::kInitTakeoverAck) ||
         IsEnrp(m, EnrpType::kTakeoverServer);
}

}  // namespace

const char* TransportName(ParamType type) {
  switch (type) {
    case ParamType::kDccpTransport:
      return "dccp";
    case ParamType::kSctpTransport:
      return "sctp";
    case ParamType::kTcpTransport:
      return "tcp";
    case ParamType::kUdpTransport:
      return "udp";
    case ParamType::kUdpLiteTransport:
      return "udplite";
    case ParamType::kOpaqueTransport:
      return "opaque";
    default:
      return "unknown";
  }
}

std::string PoolElementToJson(const PoolElementView& e) {
  std::string out = absl::StrCat("{\"pe_id\":", e.pe_id, ",\"home_registrar\":", e.home_registrar,
                                 ",\"registration_life\":", e.registration_life);
  std::string user = TransportJson(e.user_transport);
  // Flatten the user transport's fields into the PE object.
  absl::StrAppend(&out, ",", user.substr(1, user.size() - 2), ",", PolicyJson(e.policy));
  if (e.has_asap_transport) {
    absl::StrAppend(&out, ",\"asap_transport\":", TransportJson(e.asap_transport));
  }
  out.push_back('}');
  return out;
}

std::string DescribeMessage(const Message& m) {
  std::vector<std::string> parts = {MessageTypeName(m.protocol, m.type),
                                    absl::StrFormat("flags=0x%02x", m.flags)};
  if (m.protocol == Protocol::kEnrp) {
    parts.push_back(absl::StrFormat("sender=0x%08x receiver=0x%08x", m.sender_id, m.receiver_id));
  }
  if (HasServerId(m)) parts.push_back(absl::StrFormat("server=0x%08x", m.server_id));
  if (HasTarget(m)) parts.push_back(absl::StrFormat("target=0x%08x", m.target_id));
  if (IsEnrp(m, EnrpType::kHandleUpdate)) {
    parts.push_back(m.update_action == UpdateAction::kAddPe ? "action=ADD_PE" : "action=DEL_PE");
  }
  if (m.has_pool_handle) parts.push_back(absl::StrCat("handle=", Quoted(m.pool_handle)));
  if (m.has_pe_id) parts.push_back(absl::StrFormat("pe_id=0x%08x", m.pe_id));
  if (m.has_handle_resolution_items) {
    parts.push_back(absl::StrCat("items=", m.handle_resolution_items));
  }
  if (m.has_policy) parts.push_back(absl::StrCat("policy=", PolicyText(m.policy)));
  if (m.has_pool_element) parts.push_back(PeText(m.pool_element));
  for (const PoolElementView& e : m.pool_elements) parts.push_back(PeText(e));
  for (const PoolEntry& entry : m.pool_entries) {
    parts.push_back(absl::StrCat("pool=", Quoted(entry.pool_handle)));
    for (const PoolElementView& e : entry.elements) parts.push_back(PeText(e));
  }
  if (m.has_checksum) parts.push_back(absl::StrFormat("checksum=0x%04x", m.checksum));
  if (m.has_server_information) parts.push_back(ServerText(m.server_information));
  for (const ServerInformation& s : m.servers) parts.push_back(ServerText(s));
  for (const TransportView& t : m.transports) parts.push_back(TransportText(t));
  if (m.has_cookie) parts.push_back(absl::StrCat("cookie=", Hex(m.cookie)));
  if (m.has_error) parts.push_back(absl::StrCat("error=", CausesText(m.error_causes)));
  if (m.unrecognized.count != 0) {
    parts.push_back(absl::StrCat("unrecognized_params=", m.unrecognized.count));
  }
  return absl::StrJoin(parts, " ");
}

std::string MessageToJson(const Message& m) {
  std::string out = absl::StrCat("{\"proto\":\"", m.protocol == Protocol::kAsap ? "asap" : "enrp",
                                 "\",\"type\":\"", MessageTypeName(m.protocol, m.type),
                                 "\",\"type_code\":", m.type, ",\"flags\":", m.flags);
  if (m.protocol == Protocol::kEnrp) {
    absl::StrAppend(&out, ",\"sender_id\":", m.sender_id, ",\"receiver_id\":", m.receiver_id);
  }
  if (HasServerId(m)) absl::StrAppend(&out, ",\"server_id\":", m.server_id);
  if (HasTarget(m)) absl::StrAppend(&out, ",\"target_id\":", m.target_id);
  if (IsEnrp(m, EnrpType::kHandleUpdate)) {
    absl::StrAppend(&out, ",\"update_action\":\"",
                    m.update_action == UpdateAction::kAddPe ? "ADD_PE" : "DEL_PE", "\"");
  }
  if (m.has_pool_handle) absl::StrAppend(&out, ",\"pool_handle\":", JsonString(m.pool_handle));
  if (m.has_pe_id) absl::StrAppend(&out, ",\"pe_id\":", m.pe_id);
  if (m.has_handle_resolution_items) {
    absl::StrAppend(&out, ",\"items\":", m.handle_resolution_items);
  }
  if (m.has_policy) absl::StrAppend(&out, ",\"overall_policy\":{", PolicyJson(m.policy), "}");
  if (m.has_pool_element) {
    absl::StrAppend(&out, ",\"pool_element\":", PoolElementToJson(m.pool_element));
  }
  if (!m.pool_elements.empty()) {
    std::vector<std::string> pes;
    for (const PoolElementView& e : m.pool_elements) pes.push_back(PoolElementToJson(e));
    absl::StrAppend(&out, ",\"pool_elements\":[", absl::StrJoin(pes, ","), "]");
  }
  if (!m.pool_entries.empty()) {
    std::vector<std::string> entries;
    for (const PoolEntry& entry : m.pool_entries) {
      std::vector<std::string> pes;
      for (const PoolElementView& e : entry.elements) pes.push_back(PoolElementToJson(e));
      entries.push_back(absl::StrCat("{\"pool_handle\":", JsonString(entry.pool_handle),
                                     ",\"pool_elements\":[", absl::StrJoin(pes, ","), "]}"));
    }
    absl::StrAppend(&out, ",\"pools\":[", absl::StrJoin(entries, ","), "]");
  }
  if (m.has_checksum) absl::StrAppend(&out, ",\"pe_checksum\":", m.checksum);
  if (m.has_server_information) {
    absl::StrAppend(&out, ",\"server_information\":", ServerJson(m.server_information));
  }
  if (!m.servers.empty()) {
    std::vector<std::string> servers;
    for (const ServerInformation& s : m.servers) servers.push_back(ServerJson(s));
    absl::StrAppend(&out, ",\"servers\":[", absl::StrJoin(servers, ","), "]");
  }
  if (!m.transports.empty()) {
    std::vector<std::string> transports;
    for (const TransportView& t : m.transports) transports.push_back(TransportJson(t));
    absl::StrAppend(&out, ",\"transports\":[", absl::StrJoin(transports, ","), "]");
  }
  if (m.has_cookie) absl::StrAppend(&out, ",\"cookie\":\"", Hex(m.cookie), "\"");
  if (m.has_error) absl::StrAppend(&out, ",\"error\":", CausesJson(m.error_causes));
  if (m.unrecognized.count != 0) {
    absl::StrAppend(&out, ",\"unrecognized_params\":", m.unrecognized.count);
  }
  out.push_back('}');
  return out;
}

}  // namespace rspd::protocol
