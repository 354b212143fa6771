#include "tools/snmp/mib_rows.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "protocol/policy_table.h"

namespace rspd::tools::snmp {
namespace {

using Json = nlohmann::json;

constexpr uint32_t kMaxUint32 = std::numeric_limits<uint32_t>::max();

// Parses without exceptions: a discarded value for anything malformed.
Json Parse(absl::string_view text) {
  return Json::parse(text.begin(), text.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
}

// The member `key` of `object` as an unsigned 32-bit number; false when it
// is missing, not a number, negative or too large.
bool GetUint32(const Json& object, const char* key, uint32_t* out) {
  auto it = object.find(key);
  if (it == object.end()) return false;
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    if (v > kMaxUint32) return false;
    *out = static_cast<uint32_t>(v);
    return true;
  }
  if (it->is_number_integer()) {
    int64_t v = it->get<int64_t>();
    if (v < 0 || v > kMaxUint32) return false;
    *out = static_cast<uint32_t>(v);
    return true;
  }
  return false;
}

// A duration member in `unit_ms` milliseconds as TimeTicks (hundredths of a
// second), clamped to 0..2^32-1; false when missing or not a number.
bool GetTicks(const Json& object, const char* key, double unit_ms, uint32_t* out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return false;
  double ticks = it->get<double>() * unit_ms / 10.0;
  if (!std::isfinite(ticks) || ticks <= 0) {
    *out = 0;
  } else {
    *out = ticks >= kMaxUint32 ? kMaxUint32 : static_cast<uint32_t>(ticks);
  }
  return true;
}

bool GetString(const Json& object, const char* key, std::string* out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

// The handle bytes of a pool object: handle_hex (always written), else the
// printable `handle`.
bool GetHandle(const Json& object, std::string* handle, std::string* hex) {
  std::string text;
  if (GetString(object, "handle_hex", &text) && text.size() % 2 == 0 &&
      std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(c) != 0; })) {
    *handle = absl::HexStringToBytes(text);
    *hex = text;
    return true;
  }
  if (GetString(object, "handle", &text)) {
    *handle = text;
    *hex = absl::BytesToHexString(text);
    return true;
  }
  return false;
}

// RFC 5354 §3.3-3.6: the transports' IP protocol numbers; 0 (the range's
// floor, "none") for one rspd calls unknown.
uint32_t ProtocolNumber(absl::string_view name) {
  if (name == "sctp") return 132;
  if (name == "tcp") return 6;
  if (name == "udp") return 17;
  if (name == "dccp") return 33;
  return 0;
}

// Appends the addresses of `object[key]`; counts the ones that are not
// IPv4 or IPv6 text in `*skipped`.
void GetAddresses(const Json& object, const char* key, std::vector<InetAddress>* out,
                  size_t* skipped) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_array()) return;
  for (const Json& a : *it) {
    InetAddress address;
    if (a.is_string() && ParseInetAddress(a.get<std::string>(), &address)) {
      out->push_back(std::move(address));
    } else {
      ++*skipped;
    }
  }
}

// The policy row rspd names ("Round Robin": protocol::PolicyTypeName).
const protocol::PolicyRow* PolicyByName(absl::string_view name) {
  for (const protocol::PolicyRow& row : protocol::PolicyTable()) {
    if (name == row.name) return &row;
  }
  return nullptr;
}

// One element of /api/pool; false (skip it) without a valid id or policy.
bool ParseElement(const Json& e, ElementRow* row, size_t* skipped) {
  if (!e.is_object() || !GetUint32(e, "id", &row->id) || row->id == 0) return false;
  // RFC 5525: rserpoolENRPHomeENRPServer is 1..2^32-1; rspd always knows it.
  if (!GetUint32(e, "home", &row->home) || row->home == 0) return false;
  auto policy = e.find("policy");
  if (policy == e.end() || !policy->is_object()) return false;
  std::string policy_name;
  if (!GetString(*policy, "type", &policy_name)) return false;
  const protocol::PolicyRow* policy_row = PolicyByName(policy_name);
  if (policy_row == nullptr) return false;
  row->policy_id = static_cast<uint32_t>(policy_row->type);
  row->policy_description = policy_row->name;
  // A value the policy does not carry is 0 in rspd's JSON, and 0 here.
  GetUint32(*policy, "weight", &row->policy_weight);
  GetUint32(*policy, "load", &row->policy_load);
  GetUint32(*policy, "load_degradation", &row->policy_load_degradation);
  GetTicks(e, "registration_life_ms", 1.0, &row->registration_life_ticks);

  auto user = e.find("user_transport");
  if (user != e.end() && user->is_object()) {
    std::string text;
    if (GetString(*user, "protocol", &text)) row->user_protocol = ProtocolNumber(text);
    uint32_t port = 0;
    if (GetUint32(*user, "port", &port) && port <= 65535) row->user_port = port;
    // RFC 5354 §3.3: Transport Use, data only (0) or data plus control (1).
    if (GetString(*user, "use", &text)) row->user_use = text == "data_only" ? 0 : 1;
    GetAddresses(*user, "addresses", &row->user_addresses, skipped);
  }
  auto asap = e.find("asap_transport");
  if (asap != e.end() && asap->is_object()) {
    uint32_t port = 0;
    if (GetUint32(*asap, "port", &port) && port <= 65535) row->asap_port = port;
    GetAddresses(*asap, "addresses", &row->asap_addresses, skipped);
  }
  return true;
}

// "HOST:PORT" or "[V6]:PORT" (docs/management.md, /api/peers).
bool SplitHostPort(absl::string_view text, std::string* host, uint32_t* port) {
  size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) return false;
  absl::string_view h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  uint32_t p = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &p) || p > 65535) return false;
  *host = std::string(h);
  *port = p;
  return true;
}

}  // namespace

bool ParseInetAddress(absl::string_view text, InetAddress* out) {
  // inet_pton reads up to a NUL: text with one inside is not an address.
  if (text.size() > 64 || text.find('\0') != absl::string_view::npos) return false;
  std::string s(text);
  unsigned char buffer[16];
  if (inet_pton(AF_INET, s.c_str(), buffer) == 1) {
    out->type = kInetAddressIpv4;
    out->octets.assign(reinterpret_cast<const char*>(buffer), 4);
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), buffer) == 1) {
    out->type = kInetAddressIpv6;
    out->octets.assign(reinterpret_cast<const char*>(buffer), 16);
    return true;
  }
  return false;
}

absl::StatusOr<std::vector<PoolRef>> ParsePoolList(absl::string_view json, bool* truncated,
                                                   size_t* skipped) {
  Json j = Parse(json);
  if (!j.is_object() || !j.contains("pools") || !j["pools"].is_array()) {
    return absl::InvalidArgumentError("/api/pools: not an object with a \"pools\" array");
  }
  auto t = j.find("truncated");
  if (t != j.end() && t->is_boolean() && t->get<bool>()) *truncated = true;
  std::vector<PoolRef> pools;
  for (const Json& p : j["pools"]) {
    PoolRef ref;
    if (p.is_object() && GetHandle(p, &ref.handle, &ref.handle_hex)) {
      pools.push_back(std::move(ref));
    } else {
      ++*skipped;
    }
  }
  return pools;
}

SnapshotBuilder::SnapshotBuilder(size_t max_pool_elements)
    : max_pool_elements_(max_pool_elements) {}

absl::Status SnapshotBuilder::SetStatus(absl::string_view json) {
  Json j = Parse(json);
  ServerRow row;
  if (!j.is_object() || !GetUint32(j, "server_id", &row.server_id) || row.server_id == 0) {
    return absl::InvalidArgumentError("/api/status: not an object with a server_id of 1..2^32-1");
  }
  GetTicks(j, "uptime_seconds", 1000.0, &row.uptime_ticks);
  std::string version = "unknown";
  GetString(j, "version", &version);
  // RFC 5525 leaves the text to the operator ("its location and a contact
  // address"); rspd has no such setting, so it names the software.
  row.description = absl::StrFormat("rspd %s, server ID 0x%08x", version, row.server_id);
  if (row.description.size() > 255) row.description.resize(255);  // SIZE (0..255)
  snapshot_.server = std::move(row);
  snapshot_.has_server = true;
  return absl::OkStatus();
}

size_t SnapshotBuilder::remaining() const {
  return max_pool_elements_ - std::min(max_pool_elements_, snapshot_.pool_elements);
}

absl::Status SnapshotBuilder::AddPool(absl::string_view json) {
  Json j = Parse(json);
  PoolRow pool;
  std::string hex;
  if (!j.is_object() || !GetHandle(j, &pool.handle, &hex)) {
    return absl::InvalidArgumentError("/api/pool: not an object with a handle");
  }
  auto t = j.find("truncated");
  if (t != j.end() && t->is_boolean() && t->get<bool>()) snapshot_.truncated = true;
  auto elements = j.find("elements");
  if (elements != j.end() && elements->is_array()) {
    for (const Json& e : *elements) {
      if (remaining() == 0) {
        snapshot_.truncated = true;
        break;
      }
      ElementRow row;
      if (ParseElement(e, &row, &snapshot_.skipped)) {
        pool.elements.push_back(std::move(row));
        ++snapshot_.pool_elements;
      } else {
        ++snapshot_.skipped;
      }
    }
  }
  snapshot_.pools.push_back(std::move(pool));
  return absl::OkStatus();
}

absl::Status SnapshotBuilder::SetPeers(absl::string_view json) {
  Json j = Parse(json);
  if (!j.is_object() || !j.contains("peers") || !j["peers"].is_array()) {
    return absl::InvalidArgumentError("/api/peers: not an object with a \"peers\" array");
  }
  snapshot_.peers.clear();
  for (const Json& p : j["peers"]) {
    PeerRow row;
    if (!p.is_object() || !GetUint32(p, "server_id", &row.server_id) || row.server_id == 0) {
      ++snapshot_.skipped;
      continue;
    }
    GetTicks(p, "last_heard_ms", 1.0, &row.last_heard_ticks);
    std::string address, host;
    if (GetString(p, "address", &address)) {
      InetAddress inet;
      if (SplitHostPort(address, &host, &row.port) && ParseInetAddress(host, &inet)) {
        row.addresses.push_back(std::move(inet));
      } else {
        ++snapshot_.skipped;
      }
    }
    snapshot_.peers.push_back(std::move(row));
  }
  return absl::OkStatus();
}

MibSnapshot SnapshotBuilder::Finish() && {
  MibSnapshot s = std::move(snapshot_);
  std::stable_sort(s.pools.begin(), s.pools.end(),
                   [](const PoolRow& a, const PoolRow& b) { return a.handle < b.handle; });
  // The same pool twice (an answer repeated) would give two rows one key.
  s.pools.erase(std::unique(s.pools.begin(), s.pools.end(),
                            [&s](const PoolRow& a, const PoolRow& b) {
                              if (a.handle != b.handle) return false;
                              s.pool_elements -= b.elements.size();
                              ++s.skipped;
                              return true;
                            }),
                s.pools.end());
  uint32_t pool_index = 0;
  for (PoolRow& pool : s.pools) {
    pool.index = ++pool_index;
    std::stable_sort(pool.elements.begin(), pool.elements.end(),
                     [](const ElementRow& a, const ElementRow& b) { return a.id < b.id; });
    uint32_t element_index = 0;
    for (ElementRow& e : pool.elements) e.index = ++element_index;
  }
  std::stable_sort(s.peers.begin(), s.peers.end(),
                   [](const PeerRow& a, const PeerRow& b) { return a.server_id < b.server_id; });
  uint32_t peer_index = 0;
  for (PeerRow& p : s.peers) p.index = ++peer_index;
  return s;
}

}  // namespace rspd::tools::snmp
