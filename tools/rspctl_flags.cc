#include "tools/rspctl_flags.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "client/asap_session.h"

namespace rspd::tools {

int UsageError(absl::string_view command, const absl::Status& status) {
  fprintf(stderr, "rspctl %s: %s\n", std::string(command).c_str(),
          std::string(status.message()).c_str());
  return kUsageError;
}

absl::Status CheckRange(absl::string_view flag, int64_t value, int64_t min, int64_t max) {
  if (value >= min && value <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(flag, " must be ", min, " to ", max, "; got ", value));
}

absl::Status CheckPoolFlag(const std::string& pool) {
  if (pool.empty()) return absl::InvalidArgumentError("--pool is required");
  if (absl::Status s = client::CheckPoolHandle(pool); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--pool: ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status CheckPositive(absl::string_view flag, absl::Duration value) {
  if (value > absl::ZeroDuration()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(flag, " must be more than 0; got ", absl::FormatDuration(value)));
}

}  // namespace rspd::tools
