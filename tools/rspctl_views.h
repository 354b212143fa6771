// File: tools/rspctl_views.h
//
// rspctl's live views: `status`, `pools`, `pool`, `peers --management` and
// `top` read rspd's management interface (HTTP JSON, docs/management.md)
// rather than speaking ASAP or ENRP. What the registrar reports is RFC 5351's
// handlespace: pools (RFC 5351 §2), their PEs with their home registrar and
// selection policy (RFC 5356), and the registrar's ENRP peers (RFC 5353).
//
// The formatting is pure: each function takes the parsed JSON document and
// returns the text to print, or DataLoss naming the first field that is
// missing or of the wrong type (the commands print that and exit 1; nothing
// a server sends can crash them). Fields the views do not know are ignored
// (docs/management.md: fields are added, never renamed).
//
// Example:
//   absl::StatusOr<nlohmann::json> doc = FetchJson("127.0.0.1:9911", "/api/status", kTimeout);
//   absl::StatusOr<std::string> text = FormatStatus(*doc);
//   // server ID     0x1e60332e
//   // version       0.1.0 ...

#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

// HOST:PORT of rspd's management interface (defined in rspctl_views.cc).
ABSL_DECLARE_FLAG(std::string, management);

namespace rspd::tools {

// How long a view waits for one answer. The server itself answers 503
// after 2 s when the registrar does not (docs/management.md); 5 s leaves
// room for that answer and for a loaded machine.
inline constexpr absl::Duration kManagementTimeout = absl::Seconds(5);

// --management, or 127.0.0.1:9911 (the example configuration's address,
// tools/rspd.example.toml) when it is empty.
std::string ManagementAddress();

// GETs `path` from the management interface at `address` and parses the
// answer. InvalidArgument for a bad address (a usage error), Unavailable
// when nothing answers (with a hint to start rspd with
// --management_address), FailedPrecondition "rspd answered HTTP CODE: ERROR"
// for a 4xx/5xx answer (ERROR from its {"error": ...}), DataLoss for an
// answer that is not JSON.
absl::StatusOr<nlohmann::json> FetchJson(absl::string_view address, absl::string_view path,
                                         absl::Duration timeout);

// "?handle=NAME" percent-encoded (RFC 3986 §2.1: all but the unreserved
// characters), for /api/pool.
std::string PercentEncode(absl::string_view text);

// A pool as the views show it: its handle when the server gave it as text
// (printable ASCII), else 0x and its bytes in hex.
absl::StatusOr<std::string> PoolName(const nlohmann::json& pool);

// /api/status: one `name  value` line each.
absl::StatusOr<std::string> FormatStatus(const nlohmann::json& status);
// /api/pools: a table, and a line saying how many were left out when
// `truncated`.
absl::StatusOr<std::string> FormatPools(const nlohmann::json& pools);
// /api/pool: the pool's attributes, then a table of its PEs (own PEs marked
// with * after their home), and a line when `truncated`.
absl::StatusOr<std::string> FormatPool(const nlohmann::json& pool);
// /api/peers: a table, or a line saying there are none.
absl::StatusOr<std::string> FormatPeers(const nlohmann::json& peers);

// `rspctl top`'s screen (the terminal loop is in rspctl_top.cc). Keeps each pool's
// cumulative registrations and resolutions from the previous refresh, so
// that a pool's rate is the difference over the time between the two
// refreshes; on the first refresh (or for a pool that was not listed
// before) the rate is unknown and shown as "-".
class TopView {
 public:
  // The screen for one refresh, without the ANSI control sequences: a
  // header from /api/status, then the pools of /api/pools sorted by their
  // rate (registrations plus resolutions per second, most first), at most
  // `rows` lines in all (at least the header), each cut to `columns`
  // characters. `now` is when the documents were read. DataLoss for a
  // malformed document, and nothing is remembered from it.
  absl::StatusOr<std::string> Render(const nlohmann::json& status, const nlohmann::json& pools,
                                     absl::Time now, int rows, int columns);

  // The lines above the pools: three of status, one blank or saying the
  // list is cut, and the table's header.
  static constexpr int kHeaderLines = 5;
  // How many pools fit below the header on a screen of `rows` lines (at
  // least 1): the `limit` to ask /api/pools for.
  static int PoolRows(int rows) { return rows > kHeaderLines + 1 ? rows - kHeaderLines : 1; }

 private:
  struct Counts {
    uint64_t registrations = 0;
    uint64_t resolutions = 0;
  };
  std::optional<absl::Time> previous_time_;
  std::map<std::string, Counts> previous_;  // by handle_hex
};

}  // namespace rspd::tools
