// Read-side latencies on large stores: trace by id on a 10 M-event store,
// one entity as of an instant and STATE AT over 100 k entities with 10 M
// revisions; plus a filtered time-range scan for information.
//
// The stores are built once (SyncMode::kNoSync, then one Sync) from the same
// deterministic workloads as the ingest benchmark, in --cache_dir. A store is
// reused by later runs only if its marker file says it is complete and was
// built by this workload version for this store format version. Latencies
// are measured per call with a steady clock and reported as percentiles:
// Google Benchmark's mean would hide the tail.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "bench_util.h"
#include "benchmark/benchmark.h"
#include "traversion/store.h"
#include "workload.h"

namespace traversion::bench {
namespace {

struct QuerySize {
  uint64_t trace_events;
  size_t entities;
  uint64_t revisions;
  int64_t lookups;
  int64_t state_at_queries;
};

QuerySize Size() {
  if (Flags().quick) return {100'000, 1'000, 100'000, 2'000, 5};
  return {10'000'000, 100'000, 10'000'000, 20'000, 10};
}

constexpr size_t kBuildBatch = 1000;  // as the ingest benchmark and the flusher
constexpr uint64_t kEntitySpacingNs = 1'000'000;  // 1 ms between revisions
// Generous upper bounds of store bytes per event, for the free-space check.
constexpr uint64_t kTraceBytesPerEvent = 1200;
constexpr uint64_t kEntityBytesPerRevision = 800;

std::string Gib(uint64_t bytes) {
  return absl::StrFormat("%.1f GiB", static_cast<double>(bytes) / (1 << 30));
}

// Reads a file once so the page cache holds it: every lookup figure is for a
// warm store (the machine has RAM for all of it), not for the disk.
void WarmPageCache(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  std::vector<char> buf(1 << 20);
  while (read(fd, buf.data(), buf.size()) > 0) {
  }
  close(fd);
}

// One open Store per directory per process (Store::Open refuses a second).
std::map<std::string, std::unique_ptr<Store>>& OpenStores() {
  static auto* stores = new std::map<std::string, std::unique_ptr<Store>>();
  return *stores;
}

absl::StatusOr<Store*> OpenStore(const std::string& path, SyncMode sync) {
  auto& stores = OpenStores();
  if (auto it = stores.find(path); it != stores.end()) return it->second.get();
  StoreOptions options;
  options.sync = sync;
  options.initial_map_size = uint64_t{32} << 30;
  auto store = Store::Open(path, options);
  if (!store.ok()) return store.status();
  Store* raw = store->get();
  stores[path] = std::move(*store);
  return raw;
}

void CloseStore(const std::string& path) { OpenStores().erase(path); }

absl::StatusOr<uint32_t> StoreFormatVersion() {
  TempDir probe("format-probe");
  auto store = Store::Open(probe.path() + "/store");
  if (!store.ok()) return store.status();
  auto stats = (*store)->Stats();
  if (!stats.ok()) return stats.status();
  return stats->format_version;
}

// A built store and what the workload that filled it says about its data.
struct BuiltStore {
  std::string path;  // the store directory
  std::string error;
  uint64_t events = 0;
  uint64_t traces = 0;
  uint64_t last_ns = 0;
};

// Builds (or finds in the cache) a store filled by `fill`, which writes
// through the store and returns the marker text describing the data.
// Deletes cached stores of other workload or format versions: they can never
// be reused, and each holds gigabytes.
void RemoveStaleCaches(const std::string& current) {
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(Flags().cache_dir, ec)) {
    const std::string name = entry.path().filename().string();
    int workload = 0, format = 0;
    if (name != current &&
        std::sscanf(name.c_str(), "w%d-f%d", &workload, &format) == 2) {
      std::fprintf(stderr, "removing stale cache %s\n", entry.path().c_str());
      RemoveTree(entry.path().string());
    }
  }
}

// `key` names the store in the summary (trace_store, entity_store): its
// size is reported always, its build rate when it was built by this run.
template <typename Fill>
BuiltStore BuildOrReuse(const std::string& name, const std::string& key,
                        uint64_t expected_events, uint64_t bytes_per_event,
                        Fill fill) {
  BuiltStore built;
  auto format = StoreFormatVersion();
  if (!format.ok()) {
    built.error = std::string(format.status().ToString());
    return built;
  }
  std::string dir = absl::StrFormat("%s/w%d-f%d/%s", Flags().cache_dir,
                                    kWorkloadVersion, *format, name);
  built.path = dir + "/store";
  std::string marker_path = dir + "/complete";
  std::string marker = ReadFileOrEmpty(marker_path);
  uint64_t events = 0, traces = 0, last_ns = 0;
  if (std::sscanf(marker.c_str(), "events=%lu traces=%lu last_ns=%lu", &events,
                  &traces, &last_ns) == 3 &&
      events == expected_events) {
    auto store = OpenStore(built.path, SyncMode::kNoSync);
    if (store.ok()) {
      auto stats = (*store)->Stats();
      if (stats.ok() && stats->events == expected_events) {
        std::fprintf(stderr, "reusing %s (%lu events)\n", dir.c_str(), events);
        Report(key + ".bytes_per_event",
               static_cast<double>(FileSize(built.path + "/data.mdb")) /
                   static_cast<double>(events));
        built.events = events;
        built.traces = traces;
        built.last_ns = last_ns;
        return built;
      }
    }
    CloseStore(built.path);
    std::fprintf(stderr, "cached %s is not valid; rebuilding\n", dir.c_str());
  }
  RemoveTree(dir);
  RemoveStaleCaches(absl::StrFormat("w%d-f%d", kWorkloadVersion, *format));
  if (!MakeDirs(dir)) {
    built.error = "cannot create " + dir;
    return built;
  }
  uint64_t need = expected_events * bytes_per_event;
  uint64_t have = FreeBytes(dir);
  if (have < need) {
    built.error = absl::StrCat("not enough disk space for ", dir, ": need ",
                               Gib(need), ", have ", Gib(have));
    RemoveTree(dir);
    return built;
  }
  std::fprintf(stderr, "building %s (%lu events; %s free)\n", dir.c_str(),
               expected_events, Gib(have).c_str());
  auto store = OpenStore(built.path, SyncMode::kNoSync);
  if (!store.ok()) {
    built.error = std::string(store.status().ToString());
    return built;
  }
  const auto start = SteadyClock::now();
  const uint64_t written_before = WrittenBytes();
  std::string error = fill(**store, &built);
  if (error.empty()) {
    if (absl::Status s = (*store)->Sync(); !s.ok()) error = s.ToString();
  }
  if (!error.empty()) {
    built.error = error;
    CloseStore(built.path);
    RemoveTree(dir);
    return built;
  }
  const double seconds = SecondsSince(start);
  const double n = static_cast<double>(built.events);
  std::fprintf(stderr, "built %s in %.1f s (%.0f events/s, kNoSync)\n",
               dir.c_str(), seconds, n / seconds);
  Report(key + ".build_events_per_s", n / seconds);
  Report(key + ".build_pwrite_bytes_per_event",
         static_cast<double>(WrittenBytes() - written_before) / n);
  Report(key + ".bytes_per_event",
         static_cast<double>(FileSize(built.path + "/data.mdb")) / n);
  WriteFile(marker_path,
            absl::StrFormat("events=%d traces=%d last_ns=%d\n", built.events,
                            built.traces, built.last_ns));
  return built;
}

template <typename Workload>
std::string FillFrom(Workload& workload, Store& store, uint64_t total) {
  std::vector<Event> events;
  uint64_t done = 0;
  uint64_t next_progress = total / 10;
  const auto start = SteadyClock::now();
  while (done < total) {
    workload.Next(std::min<uint64_t>(kBuildBatch, total - done), &events);
    auto result = store.Write(absl::MakeConstSpan(events));
    if (!result.ok()) return std::string(result.status().ToString());
    done += events.size();
    if (done >= next_progress) {
      std::fprintf(stderr, "  %lu / %lu events, %.0f s\n", done, total,
                   SecondsSince(start));
      next_progress += total / 10;
    }
  }
  return "";
}

const BuiltStore& TraceStore() {
  static const BuiltStore* built = [] {
    const uint64_t total = Size().trace_events;
    auto* result = new BuiltStore(BuildOrReuse(
        absl::StrCat("traces-", total), "trace_store", total,
        kTraceBytesPerEvent, [total](Store& store, BuiltStore* out) {
          ServiceWorkload workload(/*seed=*/1234);
          std::string error = FillFrom(workload, store, total);
          out->events = workload.events();
          out->traces = workload.traces();
          out->last_ns = workload.last_time_ns();
          return error;
        }));
    if (result->error.empty()) WarmPageCache(result->path + "/data.mdb");
    return result;
  }();
  return *built;
}

const BuiltStore& EntityStore() {
  static const BuiltStore* built = [] {
    const QuerySize size = Size();
    auto* result = new BuiltStore(BuildOrReuse(
        absl::StrCat("entities-", size.entities, "-", size.revisions),
        "entity_store", size.revisions, kEntityBytesPerRevision,
        [size](Store& store, BuiltStore* out) {
          EntityWorkload workload(size.entities, kEntitySpacingNs);
          std::string error = FillFrom(workload, store, size.revisions);
          out->events = workload.events();
          out->last_ns = workload.last_time_ns();
          return error;
        }));
    if (result->error.empty()) WarmPageCache(result->path + "/data.mdb");
    return result;
  }();
  return *built;
}

// Resolves a built store to an open Store, or skips the benchmark.
Store* Require(benchmark::State& state, const BuiltStore& built) {
  if (!built.error.empty()) {
    state.SkipWithError(built.error.c_str());
    return nullptr;
  }
  auto store = OpenStore(built.path, SyncMode::kNoSync);
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return nullptr;
  }
  return *store;
}

// Calls made before measuring. The page cache already holds the store
// (WarmPageCache), but the first touch of each page through the store's own
// memory map still costs a minor page fault (~1 µs, 16 pages mapped at a
// time); a service that keeps its store open has long paid those. Ten times
// the measured calls maps nearly every page the measured calls can touch, so
// the figures are for that steady state.
int64_t WarmupCalls(const benchmark::State& state) {
  return 10 * static_cast<int64_t>(state.max_iterations);
}

// --- trace by id
// ---------------------------------------------------------------

void BM_TraceLookup(benchmark::State& state) {
  const BuiltStore& built = TraceStore();
  Store* store = Require(state, built);
  if (store == nullptr) return;
  Rng rng(99);
  for (int64_t i = 0; i < WarmupCalls(state); ++i) {
    benchmark::DoNotOptimize(
        store->GetTrace(WorkloadTraceId(rng.Uniform(built.traces))));
  }
  std::vector<double> micros;
  micros.reserve(static_cast<size_t>(state.max_iterations));
  uint64_t found = 0;
  for (auto _ : state) {
    const TraceId id = WorkloadTraceId(rng.Uniform(built.traces));
    const auto start = SteadyClock::now();
    auto trace = store->GetTrace(id);
    micros.push_back(MicrosSince(start));
    if (!trace.ok() || trace->empty()) {
      state.SkipWithError(trace.ok() ? "GetTrace found no events for a trace "
                                       "the workload wrote"
                                     : trace.status().ToString().c_str());
      return;
    }
    found += trace->size();
  }
  const double events_per_trace =
      static_cast<double>(found) / static_cast<double>(micros.size());
  const double p50 = Percentile(micros, 50);
  const double p99 = Percentile(micros, 99);
  state.counters["p50_us"] = p50;
  state.counters["p99_us"] = p99;
  state.counters["events_per_trace"] = events_per_trace;
  Report("trace_lookup.p50_us", p50);
  Report("trace_lookup.p99_us", p99);
  Report("trace_lookup.events_per_trace", events_per_trace);
  Report("trace_lookup.store_events", static_cast<double>(built.events));
}

// --- filtered time-range scan (information)
// -------------------------------------

void BM_FilteredScan(benchmark::State& state) {
  const BuiltStore& built = TraceStore();
  Store* store = Require(state, built);
  if (store == nullptr) return;
  // The middle tenth of the store's time range: a postmortem window.
  const uint64_t span = built.last_ns - kWorkloadStartNs;
  EventFilter filter;
  filter.from_ns = kWorkloadStartNs + span / 2;
  filter.to_ns = filter.from_ns + span / 10;
  filter.min_severity = Severity::kWarn;
  uint64_t examined = 0;
  uint64_t matched = 0;
  double timed_s = 0;
  for (auto _ : state) {
    const auto start = SteadyClock::now();
    EventCursor cursor = store->Scan(filter);
    while (cursor.Next()) ++matched;
    timed_s += SecondsSince(start);
    if (!cursor.status().ok()) {
      state.SkipWithError(cursor.status().ToString().c_str());
      return;
    }
    examined += cursor.examined();
  }
  const double rate = static_cast<double>(examined) / timed_s;
  state.counters["examined_per_s"] = rate;
  state.counters["matched"] = static_cast<double>(matched);
  Report("scan.events_per_s", rate);
}

// --- entities
// -------------------------------------------------------------------

void BM_EntityAsOf(benchmark::State& state) {
  const BuiltStore& built = EntityStore();
  Store* store = Require(state, built);
  if (store == nullptr) return;
  const QuerySize size = Size();
  EntityWorkload shape(size.entities, kEntitySpacingNs);
  const uint64_t from = shape.all_created_ns();
  const uint64_t span = built.last_ns - from + 1;
  Rng rng(77);
  auto lookup = [&](std::optional<EntityRevision>* out) {
    const std::string name =
        EntityWorkload::EntityName(rng.Uniform(size.entities));
    const uint64_t time_ns = from + rng.Uniform(span);
    const auto start = SteadyClock::now();
    auto result = store->EntityAsOf(name, time_ns);
    const double micros = MicrosSince(start);
    if (result.ok()) *out = std::move(*result);
    return result.ok() ? micros : -1.0;
  };
  std::optional<EntityRevision> revision;
  for (int64_t i = 0; i < WarmupCalls(state); ++i) lookup(&revision);
  std::vector<double> micros;
  micros.reserve(static_cast<size_t>(state.max_iterations));
  for (auto _ : state) {
    const double us = lookup(&revision);
    if (us < 0 || !revision.has_value()) {
      state.SkipWithError(
          "EntityAsOf failed or found nothing for an entity "
          "that exists at that time");
      return;
    }
    micros.push_back(us);
  }
  const double p50 = Percentile(micros, 50);
  const double p99 = Percentile(micros, 99);
  state.counters["p50_us"] = p50;
  state.counters["p99_us"] = p99;
  Report("entity_asof.p50_us", p50);
  Report("entity_asof.p99_us", p99);
}

void BM_StateAt(benchmark::State& state) {
  const BuiltStore& built = EntityStore();
  Store* store = Require(state, built);
  if (store == nullptr) return;
  const QuerySize size = Size();
  EntityWorkload shape(size.entities, kEntitySpacingNs);
  const uint64_t from = shape.all_created_ns();
  const uint64_t span = built.last_ns - from + 1;
  Rng rng(55);
  for (int i = 0; i < 2; ++i) {  // see WarmupCalls
    benchmark::DoNotOptimize(store->StateAt(from + rng.Uniform(span)));
  }
  std::vector<double> millis;
  size_t entities = 0;
  for (auto _ : state) {
    const uint64_t time_ns = from + rng.Uniform(span);
    const auto start = SteadyClock::now();
    auto result = store->StateAt(time_ns);
    millis.push_back(MicrosSince(start) / 1000.0);
    if (!result.ok()) {
      state.SkipWithError(result.status().ToString().c_str());
      return;
    }
    entities = result->size();
  }
  if (entities != size.entities) {
    std::fprintf(stderr,
                 "warning: StateAt returned %zu entities, expected %zu\n",
                 entities, size.entities);
  }
  const double p50 = Percentile(millis, 50);
  const double max = Percentile(millis, 100);
  state.counters["p50_ms"] = p50;
  state.counters["max_ms"] = max;
  state.counters["entities"] = static_cast<double>(entities);
  Report("state_at_100k.ms", p50);
  Report("state_at.max_ms", max);
  Report("state_at.entities", static_cast<double>(entities));
  Report("state_at.revisions", static_cast<double>(built.events));
}

}  // namespace
}  // namespace traversion::bench

int main(int argc, char** argv) {
  using namespace traversion::bench;
  ParseBenchFlags(&argc, argv);
  const QuerySize size = Size();
  benchmark::RegisterBenchmark("BM_TraceLookup", BM_TraceLookup)
      ->Iterations(size.lookups)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_FilteredScan", BM_FilteredScan)
      ->Iterations(3)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_EntityAsOf", BM_EntityAsOf)
      ->Iterations(size.lookups)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_StateAt", BM_StateAt)
      ->Iterations(size.state_at_queries)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  OpenStores().clear();
  return 0;
}
