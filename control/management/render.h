// File: control/management/render.h
//
// The management interface's documents (docs/management.md): OpenMetrics
// 1.0 text for Prometheus, and JSON for rspctl and the SNMP subagent, from
// the plain snapshots of snapshot.h. Pure functions: no I/O, no clock.
//
// Example:
//   std::string text = RenderOpenMetrics(status);   // ends with "# EOF\n"
//   std::string json = RenderPoolsJson(pools, PoolOrder::kBusiest, 10);

#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "control/management/snapshot.h"

namespace rspd::control::management {

inline constexpr char kOpenMetricsType[] =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
inline constexpr char kJsonType[] = "application/json";

enum class PoolOrder { kHandle, kElements, kBusiest };
// "handle", "elements" or "busiest".
std::optional<PoolOrder> ParsePoolOrder(absl::string_view text);

std::string RenderOpenMetrics(const StatusSnapshot& status);
std::string RenderStatusJson(const StatusSnapshot& status);
// Sorts `pools` in place and keeps the first `limit`.
std::string RenderPoolsJson(PoolsSnapshot& pools, PoolOrder order, size_t limit);
std::string RenderPoolJson(const PoolSnapshot& pool);
std::string RenderPeersJson(const PeersSnapshot& peers);
// {"error": message}.
std::string RenderErrorJson(absl::string_view message);

// A pool handle as text when it is printable ASCII, else nullopt.
std::optional<std::string> PrintableHandle(absl::string_view handle);

}  // namespace rspd::control::management
