// The recording path: latency of one record call, allocations, heap held,
// end-to-end durable throughput, and our ring against a std::mutex +
// std::deque queue and moodycamel::ConcurrentQueue doing the same work.
//
// Method, latency: each record call is timed alone with the TSC
// (`lfence; rdtsc` before, `rdtscp; lfence` after); the median cost of an
// empty timed pair is subtracted, and ticks become nanoseconds by a
// calibration against steady_clock over the whole run. Calls are paced
// (a spin between calls) at a rate the flusher sustains, so the figures are
// those of accepted events with the flusher running, not of drops; the
// fraction dropped is reported too. The record call is a log line of 21
// bytes with two attributes inside a span context, the common case.
//
// Method, queue comparison: the same producer work — timestamp, trace
// context, a log slot with the same body and attributes — handed to a
// consumer thread that reads every event, through (a) our Ring, written in
// place; (b) std::mutex + std::deque<Slot> bounded to the same capacity,
// the consumer swapping out everything queued under the lock; (c)
// moodycamel::ConcurrentQueue<Slot> with a producer token, preallocated to
// the same capacity, try_enqueue / try_dequeue_bulk. Producers run flat out
// for a fixed time; the consumer drains in batches and sleeps 50 us when it
// finds nothing (as the flusher does, rather than polling); throughput is
// events delivered to the consumer per second, and the ratio is ours /
// theirs.
#include <malloc.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "benchmark/benchmark.h"
#include "concurrentqueue/concurrentqueue.h"
#include "recorder/ring.h"
#include "recorder/slot.h"
#include "support/counting_new.h"
#include "traversion/recorder.h"
#include "traversion/store.h"

namespace traversion::bench {
namespace {

using recorder_internal::Ring;
using recorder_internal::Slot;
using recorder_internal::SlotKind;
using recorder_internal::SlotWriter;
using recorder_internal::Tag;

constexpr char kBody[] = "GET /orders/42 served";

struct Sizes {
  size_t latency_calls;     // per producer
  double calls_per_second;  // pacing of the latency runs
  size_t e2e_events;
  double queue_seconds;
};

Sizes GetSizes() {
  if (Flags().quick) return {20'000, 100'000, 30'000, 0.1};
  return {400'000, 100'000, 2'000'000, 0.5};
}

// --- TSC timing ------------------------------------------------------------

inline uint64_t TscBegin() {
  _mm_lfence();
  return __rdtsc();
}
inline uint64_t TscEnd() {
  unsigned aux;
  const uint64_t t = __rdtscp(&aux);
  _mm_lfence();
  return t;
}

struct TscCalibration {
  uint64_t tsc0 = TscBegin();
  SteadyClock::time_point t0 = SteadyClock::now();
  double NsPerTick() const {
    const uint64_t tsc1 = TscBegin();
    const double ns =
        std::chrono::duration<double, std::nano>(SteadyClock::now() - t0)
            .count();
    return ns / static_cast<double>(tsc1 - tsc0);
  }
};

uint64_t EmptyPairTicks() {
  std::vector<double> samples(10000);
  for (double& s : samples) {
    const uint64_t a = TscBegin();
    const uint64_t b = TscEnd();
    s = static_cast<double>(b - a);
  }
  return static_cast<uint64_t>(Percentile(samples, 50));
}

void SpinUntil(SteadyClock::time_point t) {
  while (SteadyClock::now() < t) {
  }
}

std::unique_ptr<Store> OpenStore(const std::string& dir, SyncMode sync) {
  StoreOptions options;
  options.sync = sync;
  auto store = Store::Open(dir, options);
  if (!store.ok()) {
    std::fprintf(stderr, "recorder_bench: %s\n",
                 store.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*store);
}

SpanContext BenchContext() {
  SpanContext c;
  for (size_t i = 0; i < c.trace_id.size(); ++i) c.trace_id[i] = i + 1;
  for (size_t i = 0; i < c.span_id.size(); ++i) c.span_id[i] = i + 1;
  c.trace_flags = 1;
  return c;
}

// The measured record call.
inline void RecordOne(Recorder& recorder, int64_t i) {
  recorder.Log(Severity::kInfo, kBody,
               {{"http.route", "/orders/{id}"}, {"order.id", i}});
}

struct LatencyRun {
  std::vector<double> ticks;
  uint64_t allocations = 0;
};

// One producer thread's paced, individually timed calls.
LatencyRun TimedCalls(Recorder& recorder, size_t calls, double rate,
                      uint64_t empty_ticks) {
  LatencyRun run;
  run.ticks.reserve(calls);
  ContextScope scope(BenchContext());
  RecordOne(recorder, 0);  // registers this thread's ring
  const auto gap = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate));
  auto next = SteadyClock::now();
  const uint64_t allocations_before = counting_new::allocations;
  for (size_t i = 0; i < calls; ++i) {
    next += gap;
    SpinUntil(next);
    const uint64_t a = TscBegin();
    RecordOne(recorder, static_cast<int64_t>(i));
    const uint64_t b = TscEnd();
    const uint64_t d = b - a;
    run.ticks.push_back(
        static_cast<double>(d > empty_ticks ? d - empty_ticks : 0));
  }
  run.allocations = counting_new::allocations - allocations_before;
  return run;
}

void BM_RecordLatency(benchmark::State& state) {
  const Sizes sizes = GetSizes();
  const int producers = static_cast<int>(state.range(0));
  const uint64_t empty_ticks = EmptyPairTicks();
  TscCalibration calibration;
  for (auto _ : state) {
    TempDir dir("recorder-latency");
    auto store = OpenStore(dir.path(), SyncMode::kNoSync);
    auto recorder = Recorder::Create(store.get(), RecorderOptions{});
    if (!recorder.ok()) {
      state.SkipWithError(recorder.status().ToString().c_str());
      return;
    }
    std::vector<LatencyRun> runs(producers);
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&, p] {
        runs[p] = TimedCalls(**recorder, sizes.latency_calls,
                             sizes.calls_per_second / producers, empty_ticks);
      });
    }
    for (std::thread& t : threads) t.join();
    if (!(*recorder)->Flush().ok()) state.SkipWithError("Flush failed");
    const RecorderStats stats = (*recorder)->stats();
    std::vector<double> ns;
    uint64_t allocations = 0;
    const double ns_per_tick = calibration.NsPerTick();
    for (const LatencyRun& run : runs) {
      for (double t : run.ticks) ns.push_back(t * ns_per_tick);
      allocations += run.allocations;
    }
    const double calls = static_cast<double>(ns.size());
    const double p50 = Percentile(ns, 50);
    const double p99 = Percentile(ns, 99);
    const double p999 = Percentile(ns, 99.9);
    const double dropped = static_cast<double>(stats.dropped) /
                           static_cast<double>(stats.recorded);
    state.counters["p50_ns"] = p50;
    state.counters["p99_ns"] = p99;
    state.counters["p999_ns"] = p999;
    state.counters["dropped_fraction"] = dropped;
    if (producers == 1) {
      Report("record.p50_ns", p50);
      Report("record.p99_ns", p99);
      Report("record.p999_ns", p999);
      Report("record.allocs_per_event",
             static_cast<double>(allocations) / calls);
      Report("record.dropped_fraction", dropped);
      Report("record.ns_per_tsc_tick", ns_per_tick);
    } else {
      Report("record.p50_ns_2threads", p50);
      Report("record.p99_ns_2threads", p99);
      Report("record.dropped_fraction_2threads", dropped);
    }
  }
}

// Heap in use (arena + mmapped chunks), bytes.
uint64_t HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// Record flat out into a durable store; blocking backpressure so that
// every event is stored. Throughput counts until Flush() returns.
void BM_EndToEnd(benchmark::State& state) {
  const Sizes sizes = GetSizes();
  const bool durable = state.range(0) == 1;
  for (auto _ : state) {
    TempDir dir("recorder-e2e");
    auto store =
        OpenStore(dir.path(), durable ? SyncMode::kDurable : SyncMode::kNoSync);
    sync();
    const uint64_t heap_before = HeapInUse();
    RecorderOptions options;  // defaults, but:
    options.backpressure = BackpressurePolicy::kBlock;
    options.block_timeout = absl::Seconds(60);
    options.sampling.enabled = false;
    auto recorder = Recorder::Create(store.get(), options);
    if (!recorder.ok()) {
      state.SkipWithError(recorder.status().ToString().c_str());
      return;
    }
    std::atomic<bool> done{false};
    std::atomic<uint64_t> heap_peak{0};
    std::thread watcher([&] {
      while (!done.load(std::memory_order_relaxed)) {
        const uint64_t h = HeapInUse();
        if (h > heap_peak.load()) heap_peak.store(h);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
    const auto start = SteadyClock::now();
    {
      ContextScope scope(BenchContext());
      for (size_t i = 0; i < sizes.e2e_events; ++i) {
        RecordOne(**recorder, static_cast<int64_t>(i));
      }
    }
    const absl::Status flushed = (*recorder)->Flush();
    const double seconds = SecondsSince(start);
    done.store(true);
    watcher.join();
    if (!flushed.ok()) state.SkipWithError(flushed.ToString().c_str());
    const RecorderStats stats = (*recorder)->stats();
    const double per_s = static_cast<double>(stats.stored) / seconds;
    state.counters["events_per_s"] = per_s;
    state.counters["dropped"] = static_cast<double>(stats.dropped);
    if (durable) {
      Report("e2e.events_per_s", per_s);
      const uint64_t peak = std::max(heap_peak.load(), HeapInUse());
      Report("record.heap_mb",
             static_cast<double>(peak > heap_before ? peak - heap_before : 0) /
                 (1 << 20));
      Report("record.ring_mb",
             static_cast<double>(stats.ring_bytes) / (1 << 20));
      Report("e2e.batches", static_cast<double>(stats.batches));
    } else {
      Report("e2e.nosync_events_per_s", per_s);
    }
  }
}

// --- the queue comparison ----------------------------------------------------

constexpr size_t kQueueCapacity = 8192;

inline void FillSlot(Slot* slot, int64_t i) {
  static const SpanContext context = BenchContext();
  SlotWriter w(slot);
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  w.Begin(SlotKind::kLog, static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u +
                              static_cast<uint64_t>(ts.tv_nsec));
  slot->trace_id = context.trace_id;
  slot->span_id = context.span_id;
  slot->severity = static_cast<uint8_t>(Severity::kInfo);
  w.Text(Tag::kBody, kBody);
  w.Attribute("http.route", "/orders/{id}");
  w.Attribute("order.id", i);
}

// What every consumer does with an event: read it.
inline uint64_t Consume(const Slot& slot) { return slot.time_ns + slot.used; }

struct QueueResult {
  double delivered_per_s = 0;
};

// Runs `producers` producer threads calling produce(p, i) and one consumer
// calling consume() (returns events taken) for `seconds`.
template <typename Produce, typename ConsumeSome>
QueueResult RunQueue(int producers, double seconds, Produce produce,
                     ConsumeSome consume) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> delivered{0};
  std::thread consumer([&] {
    uint64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const size_t got = consume();
      n += got;
      // Like the flusher, drain in batches: when nothing is queued, wait a
      // little instead of polling the producers' indices.
      if (got == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    delivered.store(n);
  });
  std::vector<std::thread> threads;
  const auto start = SteadyClock::now();
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      int64_t i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int k = 0; k < 64; ++k) produce(p, i++);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (std::thread& t : threads) t.join();
  consumer.join();
  return {static_cast<double>(delivered.load()) / SecondsSince(start)};
}

QueueResult RunOurs(int producers, double seconds) {
  std::vector<std::unique_ptr<Ring>> rings;
  for (int p = 0; p < producers; ++p) {
    rings.push_back(std::make_unique<Ring>(kQueueCapacity, false));
  }
  uint64_t sink = 0;
  QueueResult r = RunQueue(
      producers, seconds,
      [&](int p, int64_t i) {
        Ring& ring = *rings[p];
        Slot* slot = ring.TryReserve();
        if (slot == nullptr) return;  // full: dropped
        FillSlot(slot, i);
        ring.Commit();
      },
      [&]() -> size_t {
        size_t total = 0;
        for (auto& ring : rings) {
          size_t n = 0;
          const uint64_t first = ring->Claim(256, &n);
          for (uint64_t i = first; i < first + n; ++i)
            sink += Consume(ring->At(i));
          ring->Release(first + n);
          total += n;
        }
        return total;
      });
  benchmark::DoNotOptimize(sink);
  return r;
}

QueueResult RunMutexDeque(int producers, double seconds) {
  std::mutex mu;
  std::deque<Slot> queue;
  std::deque<Slot> taken;
  uint64_t sink = 0;
  QueueResult r = RunQueue(
      producers, seconds,
      [&](int, int64_t i) {
        Slot slot;
        FillSlot(&slot, i);
        std::lock_guard<std::mutex> lock(mu);
        if (queue.size() < kQueueCapacity) queue.push_back(slot);
      },
      [&]() -> size_t {
        taken.clear();
        {
          std::lock_guard<std::mutex> lock(mu);
          taken.swap(queue);
        }
        for (const Slot& s : taken) sink += Consume(s);
        return taken.size();
      });
  benchmark::DoNotOptimize(sink);
  return r;
}

QueueResult RunMoodycamel(int producers, double seconds) {
  moodycamel::ConcurrentQueue<Slot> queue(kQueueCapacity * producers, producers,
                                          0);
  std::vector<std::unique_ptr<moodycamel::ProducerToken>> tokens;
  for (int p = 0; p < producers; ++p) {
    tokens.push_back(std::make_unique<moodycamel::ProducerToken>(queue));
  }
  moodycamel::ConsumerToken consumer_token(queue);
  std::vector<Slot> out(256);
  uint64_t sink = 0;
  QueueResult r = RunQueue(
      producers, seconds,
      [&](int p, int64_t i) {
        Slot slot;
        FillSlot(&slot, i);
        queue.try_enqueue(*tokens[p], slot);  // false: full, dropped
      },
      [&]() -> size_t {
        const size_t n =
            queue.try_dequeue_bulk(consumer_token, out.begin(), out.size());
        for (size_t i = 0; i < n; ++i) sink += Consume(out[i]);
        return n;
      });
  benchmark::DoNotOptimize(sink);
  return r;
}

double Median(std::vector<double> v) { return Percentile(v, 50); }

void BM_QueueComparison(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0));
  const double seconds = GetSizes().queue_seconds;
  // Interleaved rounds, median of each: the machine is shared, and a round
  // of one contender alone would catch whatever else ran then.
  const int rounds = Flags().quick ? 1 : 5;
  for (auto _ : state) {
    std::vector<double> ours, mutex, moody;
    for (int r = 0; r < rounds; ++r) {
      ours.push_back(RunOurs(producers, seconds).delivered_per_s);
      mutex.push_back(RunMutexDeque(producers, seconds).delivered_per_s);
      moody.push_back(RunMoodycamel(producers, seconds).delivered_per_s);
    }
    const double o = Median(ours), m = Median(mutex), c = Median(moody);
    state.counters["ours_per_s"] = o;
    state.counters["mutex_deque_per_s"] = m;
    state.counters["moodycamel_per_s"] = c;
    const std::string suffix = producers == 1 ? "" : "_2threads";
    Report("queue.ours_events_per_s" + suffix, o);
    Report("queue.mutex_deque_events_per_s" + suffix, m);
    Report("queue.moodycamel_events_per_s" + suffix, c);
    Report("record.vs_mutex_queue" + suffix, o / m);
    Report("record.vs_moodycamel" + suffix, o / c);
  }
}

}  // namespace
}  // namespace traversion::bench

int main(int argc, char** argv) {
  using namespace traversion::bench;
  ParseBenchFlags(&argc, argv);
  benchmark::RegisterBenchmark("BM_RecordLatency", BM_RecordLatency)
      ->Arg(1)
      ->Arg(2)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_EndToEnd", BM_EndToEnd)
      ->Arg(1)  // durable
      ->Arg(0)  // kNoSync
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_QueueComparison", BM_QueueComparison)
      ->Arg(1)
      ->Arg(2)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
