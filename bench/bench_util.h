// File: bench/bench_util.h
//
// Helpers shared by the benchmarks: smoke mode (set by the rspd_benchmark
// macro's test, RSPD_BENCH_SMOKE=1) shrinks workloads so that every benchmark
// runs briefly in `bazel test`; peak RSS for the memory figures.

#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <cstdlib>

namespace rspd::bench {

inline bool SmokeMode() {
  const char* value = std::getenv("RSPD_BENCH_SMOKE");
  return value != nullptr && value[0] == '1';
}

// `full` in a measurement run, `smoke` under the smoke test.
inline int64_t Scale(int64_t full, int64_t smoke) { return SmokeMode() ? smoke : full; }

// Peak resident set size of this process so far, in bytes.
inline int64_t PeakRssBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

}  // namespace rspd::bench
