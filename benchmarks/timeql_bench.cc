// TimeQL on the large query stores: a filtered TIMELINE scan (events
// examined per second), STATE AT over 100 k entities, and TRACE through
// TimeQL against Store::GetTrace on the same traces (the overhead of
// parsing, planning and building rows).
//
// The stores are the ones traversion_bench_query builds in --cache_dir
// (benchmarks/run runs it first); this binary only reads them, found by the
// marker file that binary writes.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench_util.h"
#include "benchmark/benchmark.h"
#include "traversion/query.h"
#include "traversion/store.h"
#include "workload.h"

namespace traversion::bench {
namespace {

struct Cached {
  std::string path;
  uint64_t events = 0, traces = 0, last_ns = 0;
  std::unique_ptr<Store> store;
  std::string error;
};

uint64_t FormatVersion() {
  TempDir probe("format-probe");
  auto store = Store::Open(probe.path() + "/store");
  if (!store.ok()) return 0;
  auto stats = (*store)->Stats();
  return stats.ok() ? stats->format_version : 0;
}

// Opens the store `name` that traversion_bench_query left in the cache.
Cached& Open(const std::string& name) {
  static auto* opened = new std::map<std::string, Cached>();
  auto it = opened->find(name);
  if (it != opened->end()) return it->second;
  Cached& c = (*opened)[name];
  const std::string dir =
      absl::StrFormat("%s/w%d-f%d/%s", Flags().cache_dir, kWorkloadVersion,
                      FormatVersion(), name);
  const std::string marker = ReadFileOrEmpty(dir + "/complete");
  if (std::sscanf(marker.c_str(), "events=%lu traces=%lu last_ns=%lu",
                  &c.events, &c.traces, &c.last_ns) != 3) {
    c.error = "no complete store at " + dir +
              " (run traversion_bench_query with the same --cache_dir first)";
    return c;
  }
  StoreOptions options;
  options.initial_map_size = uint64_t{32} << 30;
  options.sync = SyncMode::kNoSync;
  auto store = Store::Open(dir + "/store", options);
  if (!store.ok()) {
    c.error = std::string(store.status().ToString());
    return c;
  }
  c.store = std::move(*store);
  return c;
}

std::string TraceStoreName() {
  return absl::StrCat("traces-", Flags().quick ? 100'000 : 10'000'000);
}
std::string EntityStoreName() {
  return Flags().quick ? "entities-1000-100000" : "entities-100000-10000000";
}

bool Drain(Result& result, benchmark::State& state) {
  while (result.Next()) benchmark::DoNotOptimize(result.row());
  if (!result.status().ok()) {
    state.SkipWithError(result.status().ToString().c_str());
    return false;
  }
  return true;
}

void BM_TimelineScan(benchmark::State& state) {
  Cached& c = Open(TraceStoreName());
  if (!c.error.empty()) return state.SkipWithError(c.error.c_str());
  // As BM_FilteredScan: the middle tenth of the time range, WARN and above.
  const uint64_t span = c.last_ns - kWorkloadStartNs;
  const uint64_t from = kWorkloadStartNs + span / 2;
  const std::string q =
      absl::StrCat("TIMELINE FROM ", from, " TO ", from + span / 10,
                   " WHERE severity >= 'warn'");
  double seconds = 0;
  uint64_t examined = 0;
  QueryOptions options;
  options.max_rows = 0;
  for (auto _ : state) {
    const auto start = SteadyClock::now();
    auto result = Query(*c.store, q, options);
    if (!result.ok())
      return state.SkipWithError(result.status().ToString().c_str());
    if (!Drain(*result, state)) return;
    seconds += SecondsSince(start);
    examined += result->stats().events_examined;
  }
  const double rate = static_cast<double>(examined) / seconds;
  state.counters["examined_per_s"] = rate;
  Report("timeql.scan_events_per_s", rate);
}

void BM_StateAt(benchmark::State& state) {
  Cached& c = Open(EntityStoreName());
  if (!c.error.empty()) return state.SkipWithError(c.error.c_str());
  const size_t entities = Flags().quick ? 1000 : 100'000;
  EntityWorkload shape(entities, 1'000'000);
  const uint64_t from = shape.all_created_ns();
  const uint64_t span = c.last_ns - from + 1;
  Rng rng(55);
  std::vector<double> millis;
  uint64_t rows = 0;
  for (int i = 0; i < 2; ++i) {  // warm the map, as BM_StateAt
    auto r =
        Query(*c.store, absl::StrCat("STATE AT ", from + rng.Uniform(span)));
    if (r.ok()) Drain(*r, state);
  }
  for (auto _ : state) {
    const std::string q = absl::StrCat("STATE AT ", from + rng.Uniform(span));
    const auto start = SteadyClock::now();
    auto result = Query(*c.store, q);
    if (!result.ok())
      return state.SkipWithError(result.status().ToString().c_str());
    if (!Drain(*result, state)) return;
    millis.push_back(MicrosSince(start) / 1000.0);
    rows = result->stats().rows;
  }
  const double p50 = Percentile(millis, 50);
  state.counters["p50_ms"] = p50;
  state.counters["rows"] = static_cast<double>(rows);
  Report("timeql.state_at_100k_ms", p50);
}

void BM_TraceOverhead(benchmark::State& state) {
  Cached& c = Open(TraceStoreName());
  if (!c.error.empty()) return state.SkipWithError(c.error.c_str());
  Rng rng(99);
  std::vector<TraceId> ids;
  for (int64_t i = 0; i < state.max_iterations; ++i) {
    ids.push_back(WorkloadTraceId(rng.Uniform(c.traces)));
  }
  // Warm both paths over the same traces, then alternate them per trace so
  // both see the same cache state.
  for (const TraceId& id : ids) benchmark::DoNotOptimize(c.store->GetTrace(id));
  std::vector<double> direct, timeql;
  size_t i = 0;
  for (auto _ : state) {
    const TraceId& id = ids[i++ % ids.size()];
    auto start = SteadyClock::now();
    auto trace = c.store->GetTrace(id);
    direct.push_back(MicrosSince(start));
    if (!trace.ok())
      return state.SkipWithError(trace.status().ToString().c_str());
    const std::string q = absl::StrCat("TRACE '", ToHex(id), "'");
    start = SteadyClock::now();
    auto result = Query(*c.store, q);
    if (!result.ok())
      return state.SkipWithError(result.status().ToString().c_str());
    if (!Drain(*result, state)) return;
    timeql.push_back(MicrosSince(start));
    if (result->stats().rows != trace->size()) {
      return state.SkipWithError("TRACE returned another number of events");
    }
  }
  const double d = Percentile(direct, 50);
  const double t = Percentile(timeql, 50);
  state.counters["direct_p50_us"] = d;
  state.counters["timeql_p50_us"] = t;
  Report("timeql.trace_p50_us", t);
  Report("timeql.trace_direct_p50_us", d);
  Report("timeql.trace_overhead_pct", 100.0 * (t / d - 1));
}

}  // namespace
}  // namespace traversion::bench

int main(int argc, char** argv) {
  using namespace traversion::bench;
  ParseBenchFlags(&argc, argv);
  const bool quick = Flags().quick;
  benchmark::RegisterBenchmark("BM_TimelineScan", BM_TimelineScan)
      ->Iterations(3)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_StateAt", BM_StateAt)
      ->Iterations(quick ? 5 : 10)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_TraceOverhead", BM_TraceOverhead)
      ->Iterations(quick ? 2000 : 20000)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
