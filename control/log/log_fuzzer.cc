// libFuzzer target for control/log/log.h: any text as a level spec (the
// --log_level flag, reloaded on SIGHUP) parses or is refused with a message,
// and what parses prints as a canonical spec that parses back to the same
// spec. The input's bytes as a message and a value of a JSON line come out as
// one line of valid JSON holding the same text wherever the input is valid
// UTF-8.

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "control/log/log.h"
#include "nlohmann/json.hpp"

namespace {

void Check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rspd::log::LevelSpec;
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<LevelSpec> spec = rspd::log::ParseLevelSpec(text);
  if (spec.ok()) {
    const std::string canonical = rspd::log::LevelSpecText(*spec);
    absl::StatusOr<LevelSpec> again = rspd::log::ParseLevelSpec(canonical);
    Check(again.ok());
    Check(rspd::log::LevelSpecText(*again) == canonical);
  } else {
    Check(!spec.status().message().empty());
  }

  static const int fd = memfd_create("log_fuzzer", 0);
  static rspd::log::Logger* const logger = [] {
    rspd::log::Logger::Options options;
    options.format = rspd::log::Format::kJson;
    options.fd = fd;
    return new rspd::log::Logger(std::move(options));
  }();
  Check(fd >= 0);
  Check(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
  RSPD_LOG(logger->Get("config"), kError, text).Kv(text, text).Kv("n", size);
  std::string line(2 * 6 * size + 512, '\0');  // at most 6 bytes out for each byte in
  const ssize_t n = pread(fd, line.data(), line.size(), 0);
  Check(n > 0 && line[n - 1] == '\n');
  line.resize(static_cast<size_t>(n) - 1);
  Check(line.find('\n') == std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  Check(!j.is_discarded());
  Check(j["n"] == size);
  if (nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::ignore) ==
          nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) &&
      size <= rspd::log::Line::kMaxValueBytes) {
    Check(j["msg"] == text);
  }
  return 0;
}
