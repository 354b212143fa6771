// `rspctl status`, `pools`, `pool` and `peers --management`: rspd's live
// state from its management interface (docs/management.md), as tables for
// an operator or (--json) the document as rspd sent it, on one line. The
// formatting functions of rspctl_views.h, and `top`'s screen, are here;
// `top`'s terminal loop is in rspctl_top.cc.
//
// Exit status 0, 1 when rspd cannot be reached or answers with an error
// (its {"error": ...} text is printed), 2 for a bad command line.

#include "tools/rspctl_views.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/asap_session.h"
#include "control/management/http_client.h"
#include "protocol/address.h"
#include "protocol/policy_table.h"
#include "tools/rspctl_commands.h"
#include "tools/rspctl_flags.h"

ABSL_FLAG(std::string, management, "",
          "status, pools, pool, top: HOST:PORT of rspd's management interface (rspd "
          "--management_address; docs/management.md); empty: 127.0.0.1:9911, the example "
          "configuration's. peers: given, read /api/peers there instead of asking over ENRP");
ABSL_FLAG(std::string, sort, "handle",
          "pools: order by handle (bytes), elements (most PEs first) or busiest (most "
          "registrations plus resolutions first)");
ABSL_FLAG(int64_t, limit, 0,
          "pools: at most this many pools; pool: at most this many PEs; 0 to 100000 (0: rspd's "
          "default, 1000)");
ABSL_FLAG(std::string, handle_hex, "",
          "pool: the pool handle as hex bytes (for a handle that is not printable), e.g. 0x0001ff");

namespace rspd::tools {
namespace {

using Json = nlohmann::json;

constexpr char kDefaultManagement[] = "127.0.0.1:9911";
// docs/management.md: `limit` is at most 100000.
constexpr int64_t kMaxLimit = 100000;
// RFC 5351 §2 leaves a handle's length open; rspd takes 1 to 255 bytes.
constexpr size_t kMaxHandleBytes = 255;

// Reads the fields of one JSON object, remembering the first one that is
// missing or of the wrong type; later reads then return zero values. A
// document from the network is untrusted: nothing here throws or asserts.
class Fields {
 public:
  Fields(const Json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object_.is_object()) Invalid("", "is not an object");
  }

  // An unsigned integer (a count, an ID).
  uint64_t Count(const char* key) {
    const Json* v = Get(key, false);
    if (v == nullptr) return 0;
    // A non-negative integer parsed or built as signed is fine too.
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0)) {
      Invalid(key, "is not an unsigned integer");
      return 0;
    }
    return v->get<uint64_t>();
  }
  // A server or PE ID: 32 bits (docs/management.md).
  uint32_t Id(const char* key) {
    const uint64_t v = Count(key);
    if (v > UINT32_MAX) {
      Invalid(key, "is not a 32-bit ID");
      return 0;
    }
    return static_cast<uint32_t>(v);
  }
  // An unsigned integer, or nullopt when missing or null.
  std::optional<uint64_t> OptionalCount(const char* key) {
    const Json* v = Get(key, true);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return Count(key);
  }
  double Number(const char* key) {
    const Json* v = Get(key, false);
    if (v == nullptr) return 0;
    if (!v->is_number()) {
      Invalid(key, "is not a number");
      return 0;
    }
    return v->get<double>();
  }
  bool Bool(const char* key) {
    const Json* v = Get(key, false);
    if (v == nullptr) return false;
    if (!v->is_boolean()) {
      Invalid(key, "is not true or false");
      return false;
    }
    return v->get<bool>();
  }
  std::string String(const char* key) {
    const Json* v = Get(key, false);
    if (v == nullptr) return "";
    if (!v->is_string()) {
      Invalid(key, "is not a string");
      return "";
    }
    return v->get<std::string>();
  }
  // A string, or nullopt when missing or null.
  std::optional<std::string> OptionalString(const char* key) {
    const Json* v = Get(key, true);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return String(key);
  }
  // An object or an array member; null (and the error noted) otherwise.
  const Json* Object(const char* key) { return Typed(key, &Json::is_object, "is not an object"); }
  const Json* Array(const char* key) { return Typed(key, &Json::is_array, "is not an array"); }
  // Missing is fine; present, it must be an object.
  const Json* OptionalObject(const char* key) {
    return Get(key, true) == nullptr ? nullptr : Object(key);
  }

  // Where a member's fields are: "pools[2]".
  std::string Where(const char* key, size_t index) const {
    return absl::StrCat(where_.empty() ? "" : absl::StrCat(where_, "."), key, "[", index, "]");
  }
  std::string Where(const char* key) const {
    return absl::StrCat(where_.empty() ? "" : absl::StrCat(where_, "."), key);
  }

  // Notes that `key` is wrong (the first such note is kept).
  void Invalid(absl::string_view key, absl::string_view what) {
    if (!ok()) return;
    std::string name = key.empty() ? where_ : Where(std::string(key).c_str());
    if (name.empty()) name = "the document";
    error_ = absl::StrCat(name, " ", what);
  }

  bool ok() const { return error_.empty(); }
  absl::Status status() const {
    if (ok()) return absl::OkStatus();
    return absl::DataLossError(absl::StrCat("malformed answer from rspd: ", error_));
  }

 private:
  const Json* Get(const char* key, bool optional) {
    if (!ok()) return nullptr;
    const auto it = object_.find(key);
    if (it == object_.end()) {
      if (!optional) Invalid(key, "is missing");
      return nullptr;
    }
    return &*it;
  }
  const Json* Typed(const char* key, bool (Json::*is)() const noexcept, const char* what) {
    const Json* v = Get(key, false);
    if (v == nullptr) return nullptr;
    if (!(v->*is)()) {
      Invalid(key, what);
      return nullptr;
    }
    return v;
  }
  const Json& object_;
  const std::string where_;
  std::string error_;
};

// Columns two spaces apart; `right` columns right-aligned (numbers), the
// last column never padded.
std::string Table(const std::vector<std::string>& header, const std::vector<bool>& right,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  const auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  std::string out;
  const auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      if (i > 0) line += "  ";
      const size_t pad = width[i] - row[i].size();
      if (right[i]) line.append(pad, ' ');
      line += row[i];
      if (!right[i] && i + 1 < row.size()) line.append(pad, ' ');
    }
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
  };
  emit(header);
  for (const auto& row : rows) emit(row);
  return out;
}

// `name  value` lines, the values in one column.
std::string Attributes(const std::vector<std::pair<std::string, std::string>>& lines) {
  size_t width = 0;
  for (const auto& [name, value] : lines) width = std::max(width, name.size());
  std::string out;
  for (const auto& [name, value] : lines) {
    absl::StrAppend(&out, name, std::string(width - name.size() + 2, ' '), value, "\n");
  }
  return out;
}

std::string Hex32(uint32_t id) { return absl::StrFormat("0x%08x", id); }
std::string YesNo(bool b) { return b ? "yes" : "no"; }
std::string Rate(double per_second) { return absl::StrFormat("%.1f", per_second); }

// 1d 02:03:04, or 02:03:04 under a day.
std::string Uptime(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const uint64_t s = static_cast<uint64_t>(seconds);
  const std::string clock =
      absl::StrFormat("%02u:%02u:%02u", (s / 3600) % 24, (s / 60) % 60, s % 60);
  return s >= 86400 ? absl::StrCat(s / 86400, "d ", clock) : clock;
}

// The name of a pool's member object, from its handle fields.
std::string NameOf(Fields& f) {
  const std::optional<std::string> handle = f.OptionalString("handle");
  const std::string hex = f.String("handle_hex");
  if (!f.ok()) return "";
  if (handle.has_value() && !handle->empty()) {
    const bool printable =
        std::all_of(handle->begin(), handle->end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
    if (printable) return *handle;
  }
  return absl::StrCat("0x", hex);
}

// HOST:PORT joined by commas ("10.0.0.1:7,[2001:db8::1]:7"); the port alone
// (":7") without addresses.
std::string Endpoints(Fields& f, uint64_t port) {
  const Json* list = f.Array("addresses");
  if (list == nullptr) return "";
  std::vector<std::string> out;
  for (const Json& a : *list) {
    if (!a.is_string()) {
      f.Invalid("addresses", "holds something that is not a string");
      return "";
    }
    out.push_back(protocol::JoinHostPort(a.get<std::string>(), static_cast<uint16_t>(port)));
  }
  if (out.empty()) return absl::StrCat(":", port);
  return absl::StrJoin(out, ",");
}

// RFC 5356's policy name and the values that policy carries, from the
// policy table: "Weighted Round Robin weight=5".
std::string PolicyText(Fields& p) {
  const std::string type = p.String("type");
  if (!p.ok()) return "";
  const protocol::PolicyRow* row = nullptr;
  for (const protocol::PolicyRow& r : protocol::PolicyTable()) {
    if (type == r.name) row = &r;
  }
  std::string out = type;
  if (row == nullptr) return out;
  for (size_t i = 0; i < row->value_count; ++i) {
    using F = protocol::PolicyField;
    const char* label = "";
    const char* key = "";
    switch (row->values[i]) {
      case F::kWeight:
        label = key = "weight";
        break;
      case F::kPriority:  // shares the record's weight (policy_table.h)
        label = "priority";
        key = "weight";
        break;
      case F::kLoad:
        label = key = "load";
        break;
      case F::kLoadDegradation:
        label = key = "load_degradation";
        break;
      case F::kDpf:
        label = key = "dpf";
        break;
      case F::kDistance:
        label = key = "distance";
        break;
    }
    absl::StrAppend(&out, " ", label, "=", p.Count(key));
  }
  return out;
}

// A pool's counts, shared by `pools` and `top`.
struct PoolRow {
  std::string name;
  std::string handle_hex;
  std::string policy;
  uint64_t elements = 0;
  uint64_t owned = 0;
  uint64_t registrations = 0;
  uint64_t resolutions = 0;
};

absl::StatusOr<std::vector<PoolRow>> ReadPools(const Json& doc, uint64_t* total, bool* truncated) {
  Fields f(doc, "");
  *total = f.Count("total");
  *truncated = f.Bool("truncated");
  const Json* pools = f.Array("pools");
  if (!f.ok()) return f.status();
  std::vector<PoolRow> rows;
  for (size_t i = 0; i < pools->size(); ++i) {
    Fields p((*pools)[i], f.Where("pools", i));
    PoolRow row;
    row.name = NameOf(p);
    row.handle_hex = p.String("handle_hex");
    row.policy = p.String("policy");
    row.elements = p.Count("elements");
    row.owned = p.Count("owned");
    row.registrations = p.Count("registrations");
    row.resolutions = p.Count("resolutions");
    if (!p.ok()) return p.status();
    rows.push_back(std::move(row));
  }
  return rows;
}

int Fail(absl::string_view command, const absl::Status& status) {
  if (absl::IsInvalidArgument(status)) return UsageError(command, status);
  fprintf(stderr, "rspctl %s: %s\n", std::string(command).c_str(),
          std::string(status.message()).c_str());
  return 1;
}

// The document at `path`, printed raw with --json or through `format`.
int Show(absl::string_view command, const std::string& path,
         absl::StatusOr<std::string> (*format)(const Json&)) {
  absl::StatusOr<Json> doc = FetchJson(ManagementAddress(), path, kManagementTimeout);
  if (!doc.ok()) return Fail(command, doc.status());
  if (absl::GetFlag(FLAGS_json)) {
    printf("%s\n", doc->dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
    return 0;
  }
  absl::StatusOr<std::string> text = format(*doc);
  if (!text.ok()) return Fail(command, text.status());
  fputs(text->c_str(), stdout);
  return 0;
}

absl::Status NoArguments(const std::vector<std::string>& args) {
  if (args.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", args[0], "'"));
}

// ?limit=N, or nothing for rspd's default.
absl::StatusOr<std::string> LimitQuery() {
  const int64_t limit = absl::GetFlag(FLAGS_limit);
  if (absl::Status s = CheckRange("--limit", limit, 0, kMaxLimit); !s.ok()) return s;
  return limit == 0 ? std::string() : absl::StrCat("&limit=", limit);
}

int RunStatus(const std::vector<std::string>& args) {
  constexpr absl::string_view kCommand = "status";
  if (absl::Status s = NoArguments(args); !s.ok()) return UsageError(kCommand, s);
  return Show(kCommand, "/api/status", FormatStatus);
}

int RunPools(const std::vector<std::string>& args) {
  constexpr absl::string_view kCommand = "pools";
  if (absl::Status s = NoArguments(args); !s.ok()) return UsageError(kCommand, s);
  const std::string sort = absl::GetFlag(FLAGS_sort);
  if (sort != "handle" && sort != "elements" && sort != "busiest") {
    return UsageError(kCommand,
                      absl::InvalidArgumentError(absl::StrCat(
                          "--sort must be handle, elements or busiest; got '", sort, "'")));
  }
  absl::StatusOr<std::string> limit = LimitQuery();
  if (!limit.ok()) return UsageError(kCommand, limit.status());
  return Show(kCommand, absl::StrCat("/api/pools?sort=", sort, *limit), FormatPools);
}

int RunPool(const std::vector<std::string>& args) {
  constexpr absl::string_view kCommand = "pool";
  std::string hex = absl::GetFlag(FLAGS_handle_hex);
  if (args.size() > 1) {
    return UsageError(
        kCommand, absl::InvalidArgumentError(absl::StrCat("unexpected argument '", args[1], "'")));
  }
  if (args.empty() == hex.empty()) {
    return UsageError(kCommand, absl::InvalidArgumentError(
                                    "give the pool's handle (rspctl pool NAME) or --handle_hex"));
  }
  absl::StatusOr<std::string> limit = LimitQuery();
  if (!limit.ok()) return UsageError(kCommand, limit.status());
  std::string query;
  if (!args.empty()) {
    if (absl::Status s = client::CheckPoolHandle(args[0]); !s.ok()) return UsageError(kCommand, s);
    query = absl::StrCat("handle=", PercentEncode(args[0]));
  } else {
    if (absl::StartsWith(hex, "0x") || absl::StartsWith(hex, "0X")) hex = hex.substr(2);
    const bool is_hex =
        std::all_of(hex.begin(), hex.end(), [](char c) { return absl::ascii_isxdigit(c); });
    if (!is_hex || hex.empty() || hex.size() % 2 != 0 || hex.size() / 2 > kMaxHandleBytes) {
      return UsageError(kCommand, absl::InvalidArgumentError(absl::StrCat(
                                      "--handle_hex must be 1 to ", kMaxHandleBytes,
                                      " bytes as pairs of hex digits (e.g. 0x0001ff); got '",
                                      absl::GetFlag(FLAGS_handle_hex), "'")));
    }
    query = absl::StrCat("handle_hex=", absl::AsciiStrToLower(hex));
  }
  return Show(kCommand, absl::StrCat("/api/pool?", query, *limit), FormatPool);
}

// With --management, the peers as the management interface lists them;
// without, the ENRP view of rspctl_enrp.cc, unchanged.
int RunPeers(const std::vector<std::string>& args) {
  constexpr absl::string_view kCommand = "peers";
  if (absl::GetFlag(FLAGS_management).empty()) return kPeersCommand.run(args);
  if (absl::Status s = NoArguments(args); !s.ok()) return UsageError(kCommand, s);
  return Show(kCommand, "/api/peers", FormatPeers);
}

}  // namespace

std::string ManagementAddress() {
  const std::string address = absl::GetFlag(FLAGS_management);
  return address.empty() ? kDefaultManagement : address;
}

absl::StatusOr<Json> FetchJson(absl::string_view address, absl::string_view path,
                               absl::Duration timeout) {
  absl::StatusOr<control::management::HttpResponse> response =
      control::management::HttpGet(address, path, timeout);
  if (!response.ok()) {
    if (absl::IsInvalidArgument(response.status())) {
      return absl::InvalidArgumentError(
          absl::StrCat("--management: ", response.status().message()));
    }
    if (absl::IsUnavailable(response.status())) {
      return absl::UnavailableError(
          absl::StrCat(response.status().message(),
                       " (is rspd running with --management_address=", address, "?)"));
    }
    return response.status();
  }
  Json doc = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (response->status < 200 || response->status > 299) {
    std::string error;
    if (doc.is_object() && doc.contains("error") && doc["error"].is_string()) {
      error = doc["error"].get<std::string>();
    } else {
      error = std::string(absl::StripAsciiWhitespace(response->body.substr(0, 200)));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("rspd answered HTTP ", response->status, ": ", error));
  }
  if (doc.is_discarded()) {
    return absl::DataLossError(
        absl::StrCat("the answer from ", address, path, " is not JSON (is that rspd?)"));
  }
  return doc;
}

std::string PercentEncode(absl::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

absl::StatusOr<std::string> PoolName(const Json& pool) {
  Fields f(pool, "");
  std::string name = NameOf(f);
  if (!f.ok()) return f.status();
  return name;
}

absl::StatusOr<std::string> FormatStatus(const Json& doc) {
  Fields f(doc, "");
  std::vector<std::pair<std::string, std::string>> lines;
  lines.emplace_back("server ID", Hex32(f.Id("server_id")));
  lines.emplace_back("version", f.String("version"));
  lines.emplace_back("uptime", Uptime(f.Number("uptime_seconds")));
  lines.emplace_back("secure", YesNo(f.Bool("secure")));
  lines.emplace_back("ready", YesNo(f.Bool("ready")));
  lines.emplace_back("io", f.String("io"));
  lines.emplace_back("peers", absl::StrCat(f.Count("peers")));
  lines.emplace_back("pools", absl::StrCat(f.Count("pools")));
  const uint64_t pes = f.Count("pool_elements");
  lines.emplace_back("PEs", absl::StrCat(pes, " (", f.Count("owned_pool_elements"), " owned)"));
  lines.emplace_back("associations", absl::StrCat(f.Count("associations")));
  lines.emplace_back("sessions", absl::StrCat(f.Count("asap_sessions")));
  const Json* rates = f.Object("rates");
  if (!f.ok()) return f.status();
  Fields r(*rates, "rates");
  lines.emplace_back("per second",
                     absl::StrCat(Rate(r.Number("registrations_per_second")), " registrations, ",
                                  Rate(r.Number("resolutions_per_second")), " resolutions, ",
                                  Rate(r.Number("asap_messages_per_second")), " ASAP messages, ",
                                  Rate(r.Number("enrp_messages_per_second")), " ENRP messages"));
  if (!r.ok()) return r.status();
  return Attributes(lines);
}

absl::StatusOr<std::string> FormatPools(const Json& doc) {
  uint64_t total = 0;
  bool truncated = false;
  absl::StatusOr<std::vector<PoolRow>> pools = ReadPools(doc, &total, &truncated);
  if (!pools.ok()) return pools.status();
  if (pools->empty() && !truncated) return std::string("no pools\n");
  std::vector<std::vector<std::string>> rows;
  for (const PoolRow& p : *pools) {
    rows.push_back({p.name, p.policy, absl::StrCat(p.elements), absl::StrCat(p.owned),
                    absl::StrCat(p.registrations), absl::StrCat(p.resolutions)});
  }
  std::string out = Table({"HANDLE", "POLICY", "PES", "OWNED", "REGISTRATIONS", "RESOLUTIONS"},
                          {false, false, true, true, true, true}, rows);
  if (truncated) {
    absl::StrAppend(&out, "(", pools->size(), " of ", total,
                    " pools shown; --limit shows more, up to ", kMaxLimit, ")\n");
  }
  return out;
}

absl::StatusOr<std::string> FormatPool(const Json& doc) {
  Fields f(doc, "");
  const std::string name = NameOf(f);
  const std::string hex = f.String("handle_hex");
  const std::string policy = f.String("policy");
  const uint64_t total = f.Count("elements_total");
  const std::optional<uint64_t> owned = f.OptionalCount("owned");
  const uint64_t registrations = f.Count("registrations");
  const uint64_t resolutions = f.Count("resolutions");
  const bool truncated = f.Bool("truncated");
  const Json* elements = f.Array("elements");
  if (!f.ok()) return f.status();

  std::vector<std::vector<std::string>> rows;
  uint64_t owned_shown = 0;
  for (size_t i = 0; i < elements->size(); ++i) {
    const std::string where = f.Where("elements", i);
    Fields e((*elements)[i], where);
    const uint32_t id = e.Id("id");
    const uint32_t home = e.Id("home");
    const bool own = e.Bool("owned");
    const std::optional<uint64_t> expires = e.OptionalCount("expires_in_ms");
    const Json* policy_json = e.Object("policy");
    const Json* selection = e.OptionalObject("selection");
    const std::optional<uint64_t> rank = e.OptionalCount("selection_rank");
    const Json* user = e.Object("user_transport");
    const Json* asap = e.Object("asap_transport");
    if (!e.ok()) return e.status();
    owned_shown += own ? 1 : 0;

    Fields p(*policy_json, absl::StrCat(where, ".policy"));
    const std::string policy_text = PolicyText(p);
    if (!p.ok()) return p.status();

    // The selection state: whether the policy picks it next, and its load
    // degradation (RFC 5356 §4.2.2, §5; rspd's selection order, or an older
    // rspd's rank).
    std::string next = "-";
    std::string degradation = "-";
    if (selection != nullptr) {
      Fields s(*selection, absl::StrCat(where, ".selection"));
      next = s.Bool("next") ? "yes" : "no";
      degradation = absl::StrCat(s.Count("degradation"));
      if (!s.ok()) return s.status();
    } else if (rank.has_value()) {
      next = *rank == 0 ? "yes" : "no";
    }

    Fields u(*user, absl::StrCat(where, ".user_transport"));
    const std::string protocol = u.String("protocol");
    const uint64_t user_port = u.Count("port");
    const std::string user_endpoints = Endpoints(u, user_port);
    if (!u.ok()) return u.status();
    Fields a(*asap, absl::StrCat(where, ".asap_transport"));
    const uint64_t asap_port = a.Count("port");
    const std::optional<uint64_t> udp_port = a.OptionalCount("udp_port");
    const std::string asap_endpoints = Endpoints(a, asap_port);
    if (!a.ok()) return a.status();

    rows.push_back({Hex32(id), Hex32(home) + (own ? "*" : " "), policy_text, next, degradation,
                    expires.has_value() ? absl::StrFormat("%.1fs", *expires / 1000.0) : "-",
                    absl::StrCat(protocol, ":", user_endpoints),
                    absl::StrCat(asap_endpoints, udp_port.has_value() && *udp_port != 0
                                                     ? absl::StrCat(" udp ", *udp_port)
                                                     : "")});
  }
  std::vector<std::pair<std::string, std::string>> lines;
  lines.emplace_back(
      "pool", name == absl::StrCat("0x", hex) ? name : absl::StrCat(name, " (hex ", hex, ")"));
  lines.emplace_back("policy", policy);
  lines.emplace_back("PEs", absl::StrCat(total, " (", owned.has_value() ? *owned : owned_shown,
                                         " owned by this registrar)"));
  lines.emplace_back("registrations", absl::StrCat(registrations));
  lines.emplace_back("resolutions", absl::StrCat(resolutions));
  std::string out = Attributes(lines);
  if (!rows.empty()) {
    absl::StrAppend(&out, "\n",
                    Table({"ID", "HOME (*: OURS)", "POLICY", "NEXT", "DEGRADATION", "EXPIRES IN",
                           "USER TRANSPORT", "ASAP TRANSPORT"},
                          {false, false, false, false, true, true, false, false}, rows));
  }
  if (truncated) {
    absl::StrAppend(&out, "(", rows.size(), " of ", total, " PEs shown; --limit shows more, up to ",
                    kMaxLimit, ")\n");
  }
  return out;
}

absl::StatusOr<std::string> FormatPeers(const Json& doc) {
  Fields f(doc, "");
  const Json* peers = f.Array("peers");
  if (!f.ok()) return f.status();
  if (peers->empty()) return std::string("no peers\n");
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < peers->size(); ++i) {
    Fields p((*peers)[i], f.Where("peers", i));
    rows.push_back({Hex32(p.Id("server_id")), p.String("address"), p.String("state"),
                    absl::StrFormat("%.1fs ago", p.Count("last_heard_ms") / 1000.0),
                    absl::StrCat(p.Count("pool_elements"))});
    if (!p.ok()) return p.status();
  }
  return Table({"SERVER ID", "ADDRESS", "STATE", "LAST HEARD", "PES"},
               {false, false, false, true, true}, rows);
}

absl::StatusOr<std::string> TopView::Render(const Json& status, const Json& pools_doc,
                                            absl::Time now, int rows, int columns) {
  Fields s(status, "");
  const uint32_t server_id = s.Id("server_id");
  const std::string version = s.String("version");
  const double uptime = s.Number("uptime_seconds");
  const bool ready = s.Bool("ready");
  const bool secure = s.Bool("secure");
  const std::string io = s.String("io");
  const uint64_t pool_count = s.Count("pools");
  const uint64_t pes = s.Count("pool_elements");
  const uint64_t owned = s.Count("owned_pool_elements");
  const uint64_t peers = s.Count("peers");
  const uint64_t associations = s.Count("associations");
  const uint64_t sessions = s.Count("asap_sessions");
  const Json* rates = s.Object("rates");
  if (!s.ok()) return s.status();
  Fields r(*rates, "rates");
  const double registrations = r.Number("registrations_per_second");
  const double resolutions = r.Number("resolutions_per_second");
  const double asap = r.Number("asap_messages_per_second");
  const double enrp = r.Number("enrp_messages_per_second");
  if (!r.ok()) return r.status();
  uint64_t total = 0;
  bool truncated = false;
  absl::StatusOr<std::vector<PoolRow>> pools = ReadPools(pools_doc, &total, &truncated);
  if (!pools.ok()) return pools.status();

  // Per pool: the rate since the previous refresh, when there was one and
  // the pool was in it.
  const double elapsed =
      previous_time_.has_value() ? absl::ToDoubleSeconds(now - *previous_time_) : 0;
  struct Line {
    const PoolRow* pool;
    std::optional<double> registrations;
    std::optional<double> resolutions;
  };
  std::vector<Line> lines;
  std::map<std::string, Counts> current;
  for (const PoolRow& p : *pools) {
    current[p.handle_hex] = {p.registrations, p.resolutions};
    Line line{&p, std::nullopt, std::nullopt};
    const auto before = previous_.find(p.handle_hex);
    if (elapsed > 0 && before != previous_.end()) {
      // A pool deleted and created again in between counts from zero.
      const auto delta = [](uint64_t now_count, uint64_t then) {
        return static_cast<double>(now_count >= then ? now_count - then : now_count);
      };
      line.registrations = delta(p.registrations, before->second.registrations) / elapsed;
      line.resolutions = delta(p.resolutions, before->second.resolutions) / elapsed;
    }
    lines.push_back(line);
  }
  // Busiest now first; pools without a rate after those with one, in the
  // server's (cumulative) order.
  std::stable_sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
    const double rate_a = a.registrations.has_value() ? *a.registrations + *a.resolutions : -1;
    const double rate_b = b.registrations.has_value() ? *b.registrations + *b.resolutions : -1;
    return rate_a > rate_b;
  });
  previous_ = std::move(current);
  previous_time_ = now;

  std::vector<std::string> out;
  out.push_back(absl::StrFormat("rspd %s  server ID 0x%08x  up %s  %s  io %s  %s", version,
                                server_id, Uptime(uptime), ready ? "ready" : "NOT READY", io,
                                secure ? "secure" : "plaintext"));
  out.push_back(
      absl::StrFormat("pools %u  PEs %u (%u owned)  peers %u  associations %u  sessions %u",
                      pool_count, pes, owned, peers, associations, sessions));
  out.push_back(absl::StrFormat(
      "per second: %s registrations  %s resolutions  %s ASAP messages  %s ENRP messages",
      Rate(registrations), Rate(resolutions), Rate(asap), Rate(enrp)));
  out.push_back(
      truncated
          ? absl::StrFormat("the %u busiest of %u pools, by their rate now:", pools->size(), total)
          : "");
  std::vector<std::vector<std::string>> table;
  const auto per_second = [](const std::optional<double>& rate) {
    return rate.has_value() ? Rate(*rate) : std::string("-");
  };
  for (const Line& l : lines) {
    // Long handles are cut so that the numbers stay on the screen.
    std::string name = l.pool->name;
    if (name.size() > 32) name = name.substr(0, 29) + "...";
    table.push_back({name, absl::StrCat(l.pool->elements), absl::StrCat(l.pool->owned),
                     per_second(l.registrations), per_second(l.resolutions),
                     absl::StrCat(l.pool->registrations), absl::StrCat(l.pool->resolutions),
                     l.pool->policy});
  }
  const std::string text =
      Table({"POOL", "PES", "OWNED", "REG/S", "RES/S", "REGISTRATIONS", "RESOLUTIONS", "POLICY"},
            {false, true, true, true, true, true, true, false}, table);
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    out.emplace_back(line);
  }
  if (lines.empty()) out.push_back("(no pools)");
  std::string screen;
  const size_t max_lines = static_cast<size_t>(std::max(rows, kHeaderLines));
  for (size_t i = 0; i < out.size() && i < max_lines; ++i) {
    absl::StrAppend(&screen, out[i].substr(0, static_cast<size_t>(std::max(columns, 1))), "\n");
  }
  return screen;
}

const Command kStatusCommand = {
    "status",
    "rspd's state: uptime, server ID, pools, PEs, peers, rates ([--management=HOST:PORT] "
    "[--json]; from the management interface)",
    RunStatus};
const Command kPoolsCommand = {
    "pools",
    "the pools with their PEs and traffic ([--sort=handle|elements|busiest] [--limit=N] "
    "[--json]; management interface)",
    RunPools};
const Command kPoolCommand = {
    "pool",
    "one pool and its PEs: rspctl pool NAME, or --handle_hex=HEX ([--limit=N] [--json]; "
    "management interface)",
    RunPool};
const Command kManagementPeersCommand = {
    "peers",
    "the registrar's ENRP peers, what each owns and its checksum, over ENRP (--registrar, "
    "[--json]); with --management=HOST:PORT from the management interface instead (state, last "
    "heard, PEs)",
    RunPeers};

}  // namespace rspd::tools
