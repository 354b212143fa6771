// File: bench/handlespace_bench.cc
//
// Handlespace throughput and memory, on one core, -c opt:
//   bazel run -c opt //bench:handlespace_bench -- --benchmark_repetitions=5
//     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
// (results and analysis: bench/RESULTS.md, section Handlespace).
// The workload: pool p has handle "pool%06u"; PE i of
// each pool has ID (uint32)((i+1)*2654435761); registration interleaves pools
// (for i < N, for p < P; g = i*P + p); each PE has one IPv4 SCTP user
// transport (10.x.y.z from g, port 20000 + g%40000) and one ASAP transport
// (same address, port 30000); home PR 0x1; Round Robin with weight 1, or Least
// Used with load (uint32)(g*0x9E3779B1). Registration arms the PE's lifetime
// timer. 1,000,000 resolutions, pool = r % P, 1 and 3 items (selection only,
// no encoding). Re-registration: same parameters (RR) or load
// (g+7)*0x9E3779B1 (LU). Deregistration in registration order. Scenarios
// 1000 pools x 1000 PEs and 10 pools x 100,000 PEs, each RR and LU.
//
// Each benchmark iteration is one full pass over the workload (1M
// operations); per-operation figures are the `time_per_op` counter, rates are
// items_per_second.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "benchmark/benchmark.h"
#include "handlespace/pool_table.h"

namespace rspd::handlespace {
namespace {

constexpr RegistrarId kHome = 0x1;
constexpr RegistrarId kPeer = 0x2;
constexpr Tick kNow = 1000;
constexpr Tick kLifetimeTicks = 30000;  // 30 s registration life at 1 ms ticks

struct Scenario {
  uint32_t pools;
  uint32_t per_pool;
  bool least_used;
  // Operations per burst: 1 = one at a time; 32 = as HandlespaceShard::ProcessBurst
  // runs them (a prefetch pass over the burst, then the operations).
  uint32_t burst;
};

Scenario Get(const benchmark::State& state, int burst_arg) {
  const bool big_pools = state.range(0) != 0;
  return Scenario{
      static_cast<uint32_t>(big_pools ? bench::Scale(10, 2) : bench::Scale(1000, 4)),
      static_cast<uint32_t>(big_pools ? bench::Scale(100000, 16) : bench::Scale(1000, 8)),
      state.range(1) != 0, burst_arg < 0 ? 1u : static_cast<uint32_t>(state.range(burst_arg))};
}

uint32_t PeId(uint32_t i) { return static_cast<uint32_t>((uint64_t{i} + 1) * 2654435761u); }

// Calls op(i, p, hint) for every PE in registration order (for i < N, for
// p < P), in bursts of s.burst. With bursts > 1, prefetch passes run over
// each burst first, as in HandlespaceShard::ProcessBurst: the index bucket (which
// also yields the pool hint), then the record, then the selection entry.
// With burst 1 the hint is kNoSlot.
template <typename Op>
void ForEachPe(const Scenario& s, const PoolTable& table, const std::vector<std::string>& handles,
               Op op) {
  uint32_t i = 0;
  uint32_t p = 0;
  uint32_t hints[64];
  uint32_t slots[64];
  const uint64_t total = uint64_t{s.pools} * s.per_pool;
  for (uint64_t done = 0; done < total;) {
    const uint64_t n = std::min<uint64_t>(std::min<uint32_t>(s.burst, 64), total - done);
    if (s.burst > 1) {
      uint32_t pi = i;
      uint32_t pp = p;
      for (uint64_t k = 0; k < n; ++k) {
        hints[k] = table.PrefetchElement(handles[pp], PeId(pi));
        if (++pp == s.pools) {
          pp = 0;
          ++pi;
        }
      }
      pi = i;
      pp = p;
      for (uint64_t k = 0; k < n; ++k) {
        slots[k] = table.PrefetchSlot(hints[k], PeId(pi));
        if (++pp == s.pools) {
          pp = 0;
          ++pi;
        }
      }
      for (uint64_t k = 0; k < n; ++k) {
        table.PrefetchSelection(hints[k], slots[k]);
      }
    }
    for (uint64_t k = 0; k < n; ++k) {
      op(i, p, s.burst > 1 ? hints[k] : kNoSlot);
      if (++p == s.pools) {
        p = 0;
        ++i;
      }
    }
    done += n;
  }
}

std::vector<std::string> Handles(uint32_t pools) {
  std::vector<std::string> handles;
  char buf[32];
  for (uint32_t p = 0; p < pools; ++p) {
    std::snprintf(buf, sizeof(buf), "pool%06u", p);
    handles.emplace_back(buf);
  }
  return handles;
}

protocol::PoolElement MakePe(uint32_t i, uint32_t g, bool least_used, uint32_t load_offset,
                             RegistrarId home) {
  protocol::PoolElement pe;
  pe.id = PeId(i);
  pe.home = home;
  pe.registration_life = 30;
  pe.user.type = ParamType::kSctpTransport;
  pe.user.use = TransportUse::kDataOnly;
  pe.user.port = static_cast<uint16_t>(20000 + g % 40000);
  const protocol::IpAddress address = protocol::IpAddress::V4(0x0a000000u | (g & 0xffffff));
  pe.user.addresses.push_back(address);
  pe.asap.port = 30000;
  pe.asap.addresses.push_back(address);
  if (least_used) {
    pe.policy.type = PolicyType::kLeastUsed;
    pe.policy.load = static_cast<uint32_t>((uint64_t{g} + load_offset) * 0x9E3779B1u);
  } else {
    pe.policy.type = PolicyType::kRoundRobin;
    pe.policy.weight = 1;
  }
  return pe;
}

// Registers the whole workload; returns false on any rejection.
bool Populate(PoolTable& table, const Scenario& s, const std::vector<std::string>& handles,
              uint32_t load_offset = 0, RegistrarId home = kHome) {
  bool ok = true;
  ForEachPe(s, table, handles, [&](uint32_t i, uint32_t p, uint32_t hint) {
    const uint32_t g = i * s.pools + p;
    const RegisterResult r = table.Register(
        handles[p], MakePe(i, g, s.least_used, load_offset, home), kNow + kLifetimeTicks, hint);
    ok &= r.cause == kNoError;
  });
  return ok;
}

// A shard is sized for its configured capacity before it serves (no
// allocation in the shard loop, docs/style.md), so every table here is reserved for
// the scenario's PE count outside the timed region.
std::unique_ptr<PoolTable> NewTable(const Scenario& s) {
  auto table = std::make_unique<PoolTable>();
  table->Reserve(size_t{s.pools} * s.per_pool);
  return table;
}

int64_t CurrentRssBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0;
  int64_t resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

void SetOpCounters(benchmark::State& state, int64_t ops_per_iteration) {
  state.SetItemsProcessed(state.iterations() * ops_per_iteration);
  // Seconds per operation (printed with an SI prefix: "290n" = 290 ns).
  state.counters["time_per_op"] =
      benchmark::Counter(static_cast<double>(state.iterations() * ops_per_iteration),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Handlespace_Register(benchmark::State& state) {
  const Scenario s = Get(state, 2);
  const auto handles = Handles(s.pools);
  const int64_t n = int64_t{s.pools} * s.per_pool;
  double bytes_per_pe = 0;
  double rss_per_pe = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const int64_t rss_before = CurrentRssBytes();
    auto table = NewTable(s);
    state.ResumeTiming();
    if (!Populate(*table, s, handles)) {
      state.SkipWithError("registration rejected");
      break;
    }
    state.PauseTiming();
    bytes_per_pe = static_cast<double>(table->MemoryBytes()) / static_cast<double>(n);
    rss_per_pe = static_cast<double>(CurrentRssBytes() - rss_before) / static_cast<double>(n);
    table.reset();
    state.ResumeTiming();
  }
  SetOpCounters(state, n);
  state.counters["bytes_per_pe"] = bytes_per_pe;
  state.counters["rss_bytes_per_pe"] = rss_per_pe;
  state.counters["peak_rss_MB"] = static_cast<double>(bench::PeakRssBytes()) / (1 << 20);
}

// As BM_Handlespace_Register, but the table starts empty and grows (no
// Reserve): the cost of a shard that was not sized for its load.
void BM_Handlespace_RegisterGrow(benchmark::State& state) {
  const Scenario s = Get(state, 2);
  const auto handles = Handles(s.pools);
  const int64_t n = int64_t{s.pools} * s.per_pool;
  double bytes_per_pe = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto table = std::make_unique<PoolTable>();
    state.ResumeTiming();
    if (!Populate(*table, s, handles)) {
      state.SkipWithError("registration rejected");
      break;
    }
    state.PauseTiming();
    bytes_per_pe = static_cast<double>(table->MemoryBytes()) / static_cast<double>(n);
    table.reset();
    state.ResumeTiming();
  }
  SetOpCounters(state, n);
  state.counters["bytes_per_pe"] = bytes_per_pe;
}

void BM_Handlespace_ReRegister(benchmark::State& state) {
  const Scenario s = Get(state, 2);
  const auto handles = Handles(s.pools);
  const int64_t n = int64_t{s.pools} * s.per_pool;
  auto owned = NewTable(s);
  PoolTable& table = *owned;
  if (!Populate(table, s, handles)) {
    state.SkipWithError("registration rejected");
    return;
  }
  for (auto _ : state) {
    // RR: same parameters; LU: new load (g+7)*0x9E3779B1.
    if (!Populate(table, s, handles, s.least_used ? 7 : 0)) {
      state.SkipWithError("re-registration rejected");
      break;
    }
  }
  SetOpCounters(state, n);
}

void BM_Handlespace_Deregister(benchmark::State& state) {
  const Scenario s = Get(state, 2);
  const auto handles = Handles(s.pools);
  const int64_t n = int64_t{s.pools} * s.per_pool;
  for (auto _ : state) {
    state.PauseTiming();
    auto table = NewTable(s);
    if (!Populate(*table, s, handles)) {
      state.SkipWithError("registration rejected");
      break;
    }
    state.ResumeTiming();
    ForEachPe(s, *table, handles, [&](uint32_t i, uint32_t p, uint32_t hint) {
      const bool ok = table->Deregister(handles[p], PeId(i), nullptr, hint);
      benchmark::DoNotOptimize(ok);
    });
    state.PauseTiming();
    if (table->element_count() != 0) {
      state.SkipWithError("deregistration left PEs");
    }
    table.reset();
    state.ResumeTiming();
  }
  SetOpCounters(state, n);
}

void BM_Handlespace_Resolve(benchmark::State& state) {
  const Scenario s = Get(state, 3);
  const uint32_t items = static_cast<uint32_t>(state.range(2));
  const auto handles = Handles(s.pools);
  const int64_t resolutions = bench::Scale(1000000, 1000);
  auto owned = NewTable(s);
  PoolTable& table = *owned;
  if (!Populate(table, s, handles)) {
    state.SkipWithError("registration rejected");
    return;
  }
  Prng rng(1);
  uint32_t out[kMaxResolutionItems];
  const ResolveOptions options{items, 0};
  uint32_t hints[64];
  for (auto _ : state) {
    uint32_t p = 0;  // r % P, without a division per resolution
    for (int64_t r = 0; r < resolutions;) {
      const int64_t n = std::min<int64_t>(std::min<uint32_t>(s.burst, 64), resolutions - r);
      if (s.burst > 1) {
        uint32_t pp = p;
        for (int64_t k = 0; k < n; ++k) {
          hints[k] = table.PrefetchPool(handles[pp]);
          pp = pp + 1 == s.pools ? 0 : pp + 1;
        }
        if (items > 1) {
          for (int64_t k = 0; k < n; ++k) {
            table.PrefetchPoolDeeper(hints[k]);
          }
        }
      }
      for (int64_t k = 0; k < n; ++k) {
        size_t count = 0;
        const Cause c =
            table.Resolve(handles[p], options, rng, out, &count, s.burst > 1 ? hints[k] : kNoSlot);
        benchmark::DoNotOptimize(c);
        benchmark::DoNotOptimize(out[0]);
        p = p + 1 == s.pools ? 0 : p + 1;
      }
      r += n;
    }
  }
  SetOpCounters(state, resolutions);
}

// Resolutions while loads keep changing: every 8th resolution is preceded by
// a Least Used re-registration of one PE with a new load (the
// "dynamic loads"); only resolutions are counted as items, the
// re-registrations are part of the time.
void BM_Handlespace_ResolveDynamic(benchmark::State& state) {
  Scenario s = Get(state, -1);
  s.least_used = true;
  const uint32_t items = static_cast<uint32_t>(state.range(2));
  const auto handles = Handles(s.pools);
  const int64_t resolutions = bench::Scale(1000000, 1000);
  auto owned = NewTable(s);
  PoolTable& table = *owned;
  if (!Populate(table, s, handles)) {
    state.SkipWithError("registration rejected");
    return;
  }
  Prng rng(1);
  uint32_t out[kMaxResolutionItems];
  const ResolveOptions options{items, 0};
  uint64_t update = 0;
  for (auto _ : state) {
    uint32_t p = 0;
    for (int64_t r = 0; r < resolutions; ++r, p = p + 1 == s.pools ? 0 : p + 1) {
      if ((r & 7) == 0) {
        const uint32_t i = static_cast<uint32_t>(++update % s.per_pool);
        const uint32_t g = i * s.pools + p;
        table.Register(handles[p], MakePe(i, g, true, static_cast<uint32_t>(update), kHome),
                       kNow + kLifetimeTicks);
      }
      size_t count = 0;
      const Cause c = table.Resolve(handles[p], options, rng, out, &count);
      benchmark::DoNotOptimize(c);
      benchmark::DoNotOptimize(out[0]);
    }
  }
  SetOpCounters(state, resolutions);
}

// RFC 5353 §3.5.2 takeover: all PEs owned by the failed PR 0x2 re-home to us
// (0x1), checksums moved; then both checksums are read.
void BM_Handlespace_TakeOver(benchmark::State& state) {
  const Scenario s = Get(state, -1);
  const auto handles = Handles(s.pools);
  const int64_t n = int64_t{s.pools} * s.per_pool;
  for (auto _ : state) {
    state.PauseTiming();
    auto table = NewTable(s);
    if (!Populate(*table, s, handles, 0, kPeer)) {
      state.SkipWithError("registration rejected");
      break;
    }
    state.ResumeTiming();
    const size_t moved = table->TakeOver(kPeer, kHome);
    const uint16_t mine = table->Checksum(kHome);
    const uint16_t theirs = table->Checksum(kPeer);
    benchmark::DoNotOptimize(mine);
    benchmark::DoNotOptimize(theirs);
    state.PauseTiming();
    if (static_cast<int64_t>(moved) != n) {
      state.SkipWithError("takeover incomplete");
    }
    table.reset();
    state.ResumeTiming();
  }
  SetOpCounters(state, n);
}

// RFC 5353 §3.2.3 handle table: every PE once, in chunks of 128 (RSPLIB's
// max elements per HANDLE_TABLE_RESPONSE), each PE read out in full
// (protocol::PoolElement, as an encoder needs it) with its pool handle.
void BM_Handlespace_IterateChunks(benchmark::State& state) {
  const Scenario s = Get(state, -1);
  const auto handles = Handles(s.pools);
  const int64_t n = int64_t{s.pools} * s.per_pool;
  auto owned = NewTable(s);
  PoolTable& table = *owned;
  if (!Populate(table, s, handles)) {
    state.SkipWithError("registration rejected");
    return;
  }
  std::vector<uint32_t> chunk;
  chunk.reserve(128);
  for (auto _ : state) {
    uint32_t cursor = 0;
    int64_t seen = 0;
    uint64_t sum = 0;
    do {
      chunk.clear();
      cursor = table.IterateChunk(cursor, 128, &chunk);
      for (uint32_t slot : chunk) {
        const protocol::PoolElement pe = table.GetElement(slot);
        sum += pe.id + pe.user.port + table.pool_handle(slot).size();
      }
      seen += static_cast<int64_t>(chunk.size());
    } while (cursor != kIterationDone);
    benchmark::DoNotOptimize(sum);
    if (seen != n) {
      state.SkipWithError("iteration incomplete");
      break;
    }
  }
  SetOpCounters(state, n);
}

// Args: {big_pools (0: 1000 x 1000, 1: 10 x 100,000), least_used}.
void Scenarios(benchmark::internal::Benchmark* b) {
  b->ArgNames({"big_pools", "lu"});
  for (int big : {0, 1}) {
    for (int lu : {0, 1}) {
      b->Args({big, lu});
    }
  }
  b->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
}

// Args: {big_pools, least_used, burst}.
void BurstScenarios(benchmark::internal::Benchmark* b) {
  b->ArgNames({"big_pools", "lu", "burst"});
  for (int burst : {1, 32}) {
    for (int big : {0, 1}) {
      for (int lu : {0, 1}) {
        b->Args({big, lu, burst});
      }
    }
  }
  b->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
}

// Args: {big_pools, least_used, items, burst}.
void ResolveScenarios(benchmark::internal::Benchmark* b) {
  b->ArgNames({"big_pools", "lu", "items", "burst"});
  for (int burst : {1, 32}) {
    for (int big : {0, 1}) {
      for (int lu : {0, 1}) {
        for (int items : {1, 3}) {
          b->Args({big, lu, items, burst});
        }
      }
    }
  }
  b->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
}

void DynamicScenarios(benchmark::internal::Benchmark* b) {
  b->ArgNames({"big_pools", "lu", "items"});
  for (int big : {0, 1}) {
    for (int items : {1, 3}) {
      b->Args({big, 1, items});
    }
  }
  b->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
}

BENCHMARK(BM_Handlespace_Register)->Apply(BurstScenarios);
BENCHMARK(BM_Handlespace_RegisterGrow)
    ->ArgNames({"big_pools", "lu", "burst"})
    ->Args({0, 0, 32})
    ->Args({0, 1, 32})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK(BM_Handlespace_ReRegister)->Apply(BurstScenarios);
BENCHMARK(BM_Handlespace_Deregister)->Apply(BurstScenarios);
BENCHMARK(BM_Handlespace_Resolve)->Apply(ResolveScenarios);
BENCHMARK(BM_Handlespace_ResolveDynamic)->Apply(DynamicScenarios);
BENCHMARK(BM_Handlespace_TakeOver)->Apply(Scenarios);
BENCHMARK(BM_Handlespace_IterateChunks)->Apply(Scenarios);

}  // namespace
}  // namespace rspd::handlespace
