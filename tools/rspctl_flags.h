// File: tools/rspctl_flags.h
//
// rspctl checks its flags at the edge, before anything is sent: a value
// outside its range is one line on stderr naming the flag and the range, and
// exit status 2 (kUsageError). Numeric flags are 64-bit signed so that a
// negative or too large value reaches these checks (absl's own parser would
// refuse it without naming the range).
//
// Example:
//   if (absl::Status s = CheckRange("--items", items, 0, 128); !s.ok()) {
//     return UsageError("resolve", s);
//   }

#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rspd::tools {

// rspctl's exit status for a bad command line.
inline constexpr int kUsageError = 2;
inline constexpr int64_t kMaxPort = 65535;
inline constexpr int64_t kMaxUint32 = 4294967295;

// "rspctl COMMAND: MESSAGE" on stderr; returns kUsageError.
int UsageError(absl::string_view command, const absl::Status& status);

// InvalidArgument "FLAG must be MIN to MAX; got VALUE" unless MIN <= value <= MAX.
absl::Status CheckRange(absl::string_view flag, int64_t value, int64_t min, int64_t max);
// --pool: given, and a pool handle the registrar takes (1 to 255 bytes).
absl::Status CheckPoolFlag(const std::string& pool);
// A duration flag that must be more than zero.
absl::Status CheckPositive(absl::string_view flag, absl::Duration value);

}  // namespace rspd::tools
