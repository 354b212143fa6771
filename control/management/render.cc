#include "control/management/render.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "protocol/policy_table.h"

namespace rspd::control::management {
namespace {

using Json = nlohmann::json;
using handlespace::PoolTable;

constexpr char kPrefix[] = "rspd_";

// OpenMetrics text format: label values escape backslash, quote and newline;
// HELP texts backslash and newline.
std::string EscapeLabel(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// The shortest text that reads back as `value`, with ".0" on integers: the
// canonical form OpenMetrics parsers compare `le` labels in ("0.005", "1.0").
std::string Number(double value) {
  std::string text;
  for (int digits : {15, 17}) {
    text = absl::StrFormat("%.*g", digits, value);
    if (std::strtod(text.c_str(), nullptr) == value) break;
  }
  if (text.find_first_of(".eni") == std::string::npos) text += ".0";
  return text;
}

Json HandleFields(absl::string_view handle) {
  Json j;
  const std::optional<std::string> text = PrintableHandle(handle);
  j["handle"] = text.has_value() ? Json(*text) : Json(nullptr);
  j["handle_hex"] = absl::BytesToHexString(handle);
  return j;
}

const char* TransportName(protocol::ParamType type) {
  switch (type) {
    case protocol::ParamType::kSctpTransport:
      return "sctp";
    case protocol::ParamType::kTcpTransport:
      return "tcp";
    case protocol::ParamType::kUdpTransport:
      return "udp";
    case protocol::ParamType::kDccpTransport:
      return "dccp";
    default:
      return "unknown";
  }
}

Json Addresses(const protocol::AddressList& list) {
  Json out = Json::array();
  for (const protocol::IpAddress& a : list.span()) out.push_back(a.ToString());
  return out;
}

Json PoolJson(const PoolTable::PoolSummary& p) {
  Json j = HandleFields(p.handle);
  j["policy"] = protocol::PolicyTypeName(static_cast<uint32_t>(p.policy));
  j["elements"] = p.elements;
  j["owned"] = p.owned;
  j["registrations"] = p.registrations;
  j["resolutions"] = p.resolutions;
  return j;
}

std::string Dump(const Json& j) {
  // Invalid UTF-8 cannot come from our own strings; replace rather than throw.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace

std::optional<PoolOrder> ParsePoolOrder(absl::string_view text) {
  if (text == "handle") return PoolOrder::kHandle;
  if (text == "elements") return PoolOrder::kElements;
  if (text == "busiest") return PoolOrder::kBusiest;
  return std::nullopt;
}

std::optional<std::string> PrintableHandle(absl::string_view handle) {
  if (handle.empty()) return std::nullopt;
  for (char c : handle) {
    if (c < 0x20 || c > 0x7e) return std::nullopt;
  }
  return std::string(handle);
}

std::string RenderOpenMetrics(const StatusSnapshot& status) {
  std::string out;
  for (const Family& f : status.families) {
    const std::string name = absl::StrCat(kPrefix, f.name);
    absl::StrAppend(&out, "# TYPE ", name, f.type == Family::kCounter ? " counter\n" : " gauge\n");
    if (!f.help.empty()) absl::StrAppend(&out, "# HELP ", name, " ", EscapeHelp(f.help), "\n");
    const char* suffix = f.type == Family::kCounter ? "_total" : "";
    for (const Family::Sample& s : f.samples) {
      if (s.label_name.empty()) {
        absl::StrAppend(&out, name, suffix, " ", s.value, "\n");
      } else {
        absl::StrAppend(&out, name, suffix, "{", s.label_name, "=\"", EscapeLabel(s.label_value),
                        "\"} ", s.value, "\n");
      }
    }
  }
  for (const Histogram& h : status.histograms) {
    const std::string name = absl::StrCat(kPrefix, h.name);
    absl::StrAppend(&out, "# TYPE ", name, " histogram\n");
    absl::StrAppend(&out, "# UNIT ", name, " seconds\n");
    if (!h.help.empty()) absl::StrAppend(&out, "# HELP ", name, " ", EscapeHelp(h.help), "\n");
    for (const auto& [le, count] : h.buckets) {
      absl::StrAppend(&out, name, "_bucket{le=\"", Number(le), "\"} ", count, "\n");
    }
    absl::StrAppend(&out, name, "_bucket{le=\"+Inf\"} ", h.count, "\n");
    absl::StrAppend(&out, name, "_sum ", Number(h.sum), "\n");
    absl::StrAppend(&out, name, "_count ", h.count, "\n");
  }
  absl::StrAppend(&out, "# EOF\n");
  return out;
}

std::string RenderStatusJson(const StatusSnapshot& s) {
  Json j;
  j["version"] = s.version;
  j["server_id"] = s.server_id;
  j["uptime_seconds"] = s.uptime_seconds;
  j["secure"] = s.secure;
  j["ready"] = s.ready;
  j["io"] = s.io;
  j["pools"] = s.pools;
  j["pool_elements"] = s.pool_elements;
  j["owned_pool_elements"] = s.owned_pool_elements;
  j["asap_sessions"] = s.asap_sessions;
  j["associations"] = s.associations;
  j["peers"] = s.peers;
  j["rates"] = {{"asap_messages_per_second", s.rates.asap_messages},
                {"registrations_per_second", s.rates.registrations},
                {"resolutions_per_second", s.rates.resolutions},
                {"enrp_messages_per_second", s.rates.enrp_messages}};
  Json counters = Json::object();
  for (const Family& f : s.families) {
    if (f.samples.size() == 1 && f.samples[0].label_name.empty()) {
      counters[f.name] = f.samples[0].value;
    }
  }
  j["counters"] = std::move(counters);
  return Dump(j);
}

std::string RenderPoolsJson(PoolsSnapshot& snapshot, PoolOrder order, size_t limit) {
  std::vector<PoolTable::PoolSummary>& pools = snapshot.pools;
  const auto by_handle = [](const PoolTable::PoolSummary& a, const PoolTable::PoolSummary& b) {
    return a.handle < b.handle;
  };
  const auto compare = [&](const PoolTable::PoolSummary& a, const PoolTable::PoolSummary& b) {
    switch (order) {
      case PoolOrder::kElements:
        if (a.elements != b.elements) return a.elements > b.elements;
        break;
      case PoolOrder::kBusiest: {
        const uint64_t busy_a = a.registrations + a.resolutions;
        const uint64_t busy_b = b.registrations + b.resolutions;
        if (busy_a != busy_b) return busy_a > busy_b;
        break;
      }
      case PoolOrder::kHandle:
        break;
    }
    return by_handle(a, b);
  };
  const size_t keep = std::min(limit, pools.size());
  std::partial_sort(pools.begin(), pools.begin() + static_cast<std::ptrdiff_t>(keep), pools.end(),
                    compare);
  Json j;
  j["total"] = snapshot.total;
  j["truncated"] = snapshot.truncated || keep < pools.size();
  Json list = Json::array();
  for (size_t i = 0; i < keep; ++i) list.push_back(PoolJson(pools[i]));
  j["pools"] = std::move(list);
  return Dump(j);
}

std::string RenderPoolJson(const PoolSnapshot& p) {
  // The PEs are rendered one by one into the text (a pool may have 100,000:
  // one document tree of them all would take hundreds of megabytes).
  Json head = PoolJson(p.pool);
  head["elements_total"] = p.pool.elements;
  head["truncated"] = p.truncated;
  head["elements"] = Json::array();
  std::string text = head.dump(-1, ' ', false, Json::error_handler_t::replace);
  // The object ends with `"elements":[]}` (keys are sorted; "truncated"
  // follows it): split there and put the PEs in between.
  const std::string marker = "\"elements\":[]";
  const size_t at = text.find(marker) + marker.size() - 1;
  std::string out = text.substr(0, at);
  bool first = true;
  for (const PoolTable::ElementDetail& d : p.elements) {
    const protocol::PoolElement& pe = d.pe;
    Json e;
    e["id"] = pe.id;
    e["home"] = pe.home;
    e["owned"] = pe.home == p.home;
    e["registration_life_ms"] =
        pe.registration_life < 0 ? Json(nullptr) : Json(int64_t{pe.registration_life} * 1000);
    e["expires_in_ms"] = d.expiry == handlespace::kNever
                             ? Json(nullptr)
                             : Json(d.expiry > p.now ? d.expiry - p.now : 0);
    e["policy"] = {{"type", protocol::PolicyTypeName(static_cast<uint32_t>(pe.policy.type))},
                   {"weight", pe.policy.weight},
                   {"load", pe.policy.load},
                   {"load_degradation", pe.policy.load_degradation},
                   {"dpf", pe.policy.dpf},
                   {"distance", pe.policy.distance}};
    e["selection"] = {{"next", d.next}, {"degradation", d.degradation}};
    e["user_transport"] = {
        {"protocol", TransportName(pe.user.type)},
        {"port", pe.user.port},
        {"use",
         pe.user.use == protocol::TransportUse::kDataOnly ? "data_only" : "data_and_control"},
        {"addresses", Addresses(pe.user.addresses)}};
    e["asap_transport"] = {{"port", pe.asap.port},
                           {"udp_port", pe.asap.udp_port},
                           {"addresses", Addresses(pe.asap.addresses)}};
    if (!first) out += ',';
    first = false;
    out += e.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  out += text.substr(at);
  out += '\n';
  return out;
}

std::string RenderPeersJson(const PeersSnapshot& snapshot) {
  Json list = Json::array();
  for (const PeerView& p : snapshot.peers) {
    list.push_back({{"server_id", p.server_id},
                    {"address", p.address},
                    {"state", p.state},
                    {"last_heard_ms", p.last_heard_ms},
                    {"pool_elements", p.pool_elements}});
  }
  Json j;
  j["peers"] = std::move(list);
  return Dump(j);
}

std::string RenderErrorJson(absl::string_view message) {
  Json j;
  j["error"] = std::string(message);
  return Dump(j);
}

}  // namespace rspd::control::management
