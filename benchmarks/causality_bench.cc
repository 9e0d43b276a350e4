// The causality engine on a large window: root cause over 1 M events
// (target: at most 1 s) and the causal graph's construction rate.
//
// The store: ServiceWorkload's mesh (10 services, traces of 3-7 spans,
// logs, errors, gauges), 1.5 M events: the first 0.5 M are the baseline,
// the next 1 M the window analysed. --quick: 100x fewer.
//
// Summary keys:
//   rca.window_1m_events_s    CausalityEngine::FindRootCause over the 1 M
//                             window (read, statistics, ranking, patterns),
//                             seconds, median of 3
//   rca.window_events_per_s   the same as a rate
//   causality.edges_per_s     CausalityEngine::BuildGraph: edges of all four
//                             kinds built per second over the same window
//   causality.edges_per_event edges per event of the window
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "bench_util.h"
#include "traversion/causality.h"
#include "traversion/store.h"
#include "workload.h"

namespace traversion::bench {
namespace {

struct Fixture {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<Store> store;
  TimeRange baseline;
  TimeRange window;
  uint64_t window_events = 0;
};

Fixture& Data() {
  static Fixture* f = [] {
    auto* fx = new Fixture;
    fx->dir = std::make_unique<TempDir>("causality");
    StoreOptions options;
    options.sync = SyncMode::kNoSync;
    auto store = Store::Open(fx->dir->path() + "/store", options);
    if (!store.ok()) {
      std::fprintf(stderr, "causality_bench: %s\n",
                   store.status().ToString().c_str());
      std::exit(1);
    }
    fx->store = std::move(*store);
    const size_t scale = Flags().quick ? 100 : 1;
    const size_t baseline_events = 500'000 / scale;
    const size_t window_events = 1'000'000 / scale;
    ServiceWorkload workload(7);
    std::vector<Event> batch;
    uint64_t first_ns = 0;
    size_t written = 0;
    while (written < baseline_events + window_events) {
      workload.Next(1000, &batch);
      if (first_ns == 0) first_ns = batch.front().time_ns;
      if (written == baseline_events) {
        fx->baseline = {first_ns, batch.front().time_ns};
        fx->window.from_ns = batch.front().time_ns;
      }
      auto w = fx->store->Write(batch);
      if (!w.ok()) {
        std::fprintf(stderr, "causality_bench: write: %s\n",
                     w.status().ToString().c_str());
        std::exit(1);
      }
      written += batch.size();
    }
    fx->window.to_ns = workload.last_time_ns() + 1;
    fx->window_events = window_events;
    return fx;
  }();
  return *f;
}

void BM_RootCauseWindow(benchmark::State& state) {
  Fixture& fx = Data();
  CausalityOptions options;
  options.baseline.push_back(fx.baseline);
  CausalityEngine engine(options);
  std::vector<double> seconds;
  size_t candidates = 0;
  for (auto _ : state) {
    auto start = SteadyClock::now();
    auto report =
        engine.FindRootCause(*fx.store, fx.window.from_ns, fx.window.to_ns);
    seconds.push_back(SecondsSince(start));
    if (!report.ok()) {
      state.SkipWithError(report.status().ToString().c_str());
      return;
    }
    candidates = report->candidates.size();
    benchmark::DoNotOptimize(report);
  }
  double median = Percentile(seconds, 50);
  // The figure is for a 1 M-event window; --quick scales it back up so the
  // key keeps its meaning (and says it is an extrapolation in the log).
  double scale = 1'000'000.0 / static_cast<double>(fx.window_events);
  state.counters["candidates"] = static_cast<double>(candidates);
  state.counters["window_events"] = static_cast<double>(fx.window_events);
  Report("rca.window_1m_events_s", median * scale);
  Report("rca.window_events_per_s",
         static_cast<double>(fx.window_events) / median);
}

void BM_BuildGraph(benchmark::State& state) {
  Fixture& fx = Data();
  CausalityEngine engine;
  std::vector<double> rates;
  double per_event = 0;
  for (auto _ : state) {
    auto start = SteadyClock::now();
    auto graph =
        engine.BuildGraph(*fx.store, fx.window.from_ns, fx.window.to_ns);
    double s = SecondsSince(start);
    if (!graph.ok()) {
      state.SkipWithError(graph.status().ToString().c_str());
      return;
    }
    rates.push_back(static_cast<double>(graph->edges.size()) / s);
    per_event = static_cast<double>(graph->edges.size()) /
                static_cast<double>(graph->events.size());
    for (int k = 0; k < 4; ++k) {
      state.counters[std::string(EdgeKindName(static_cast<EdgeKind>(k)))] =
          static_cast<double>(graph->edges_by_kind[k]);
    }
  }
  Report("causality.edges_per_s", Percentile(rates, 50));
  Report("causality.edges_per_event", per_event);
}

}  // namespace
}  // namespace traversion::bench

int main(int argc, char** argv) {
  using namespace traversion::bench;
  ParseBenchFlags(&argc, argv);
  benchmark::RegisterBenchmark("BM_RootCauseWindow", BM_RootCauseWindow)
      ->Iterations(3)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_BuildGraph", BM_BuildGraph)
      ->Iterations(3)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
