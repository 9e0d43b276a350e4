// The Recorder end to end: every kind of event, trace context, the flush
// barrier, draining at shutdown, per-thread order, backpressure policies
// with exact accounting, sampling, truncation, PII masking and its key.
#include "traversion/recorder.h"

#include <sys/stat.h>

#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include "gtest/gtest.h"
#include "recorder/recorder_internal.h"
#include "recorder_test_util.h"
#include "support/test_support.h"
#include "traversion/event_codec.h"

namespace traversion {
namespace {

using testing::AllEvents;
using testing::CountEvents;
using testing::CreateOrDie;
using testing::IntAttribute;
using testing::kDroppedEventName;
using testing::PlainOptions;
using testing::ScratchStore;

const Event* FindByName(const std::vector<Event>& events,
                        absl::string_view name) {
  for (const Event& e : events) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

template <typename T>
const Event* FindPayload(const std::vector<Event>& events) {
  for (const Event& e : events) {
    if (std::holds_alternative<T>(e.payload)) return &e;
  }
  return nullptr;
}

TEST(RecorderTest, RecordsEveryKindOfEvent) {
  ScratchStore store;
  ManualClock clock(1'700'000'000'000'000'000);
  RecorderOptions options = PlainOptions();
  options.clock = &clock;
  options.service.instance = "i-1";
  auto recorder = CreateOrDie(store.get(), options);
  ASSERT_NE(recorder, nullptr);

  SpanContext server_context;
  {
    Span server = recorder->StartSpan("GET /orders/{id}", SpanKind::kServer);
    server_context = server.context();
    server.SetHttp("GET", "/orders/{id}", 200);
    server.SetHttpUrl("/orders/42");
    server.SetAttribute("order.id", 42);
    server.SetAttribute("cache.hit", false);
    clock.Advance(1000);
    recorder->Log(Severity::kInfo, "loading order",
                  {{"order.id", 42}, {"ratio", 0.5}, {"who", "svc"}});
    {
      Span db = recorder->StartSpan("SELECT orders", SpanKind::kClient);
      db.SetDb("postgresql", "SELECT", "SELECT * FROM orders WHERE id = $1");
      db.SetPeerService("orders-db");
      clock.Advance(500);
    }
    ErrorInfo info;
    info.type = "PoolTimeout";
    info.message = "no connection";
    info.stacktrace = "at f()\nat g()";
    info.handled = false;
    recorder->Error(info, {{"pool", "orders"}});
    recorder->Exception(std::runtime_error("boom"));
    server.SetStatus(SpanStatus::kError, "failed");
    clock.Advance(2000);
  }
  recorder->Gauge("pool.in_use", 20, {{"pool", "orders"}}, "{connection}");
  recorder->Counter("requests", 1);
  recorder->Histogram("latency", 0.25, {}, "s");
  const double bounds[] = {0.1, 1};
  const uint64_t counts[] = {3, 4, 5};
  recorder->HistogramBuckets("latency.snapshot", bounds, counts, 7.5, 12);
  recorder->EntityState("orders-db/pool", "connection_pool",
                        {{"in_use", "20"}, {"max", "20"}});
  recorder->Custom("deploy.finished", {{"version", "1.2.3"}}, Severity::kWarn);
  ASSERT_TRUE(recorder->Flush().ok());

  const std::vector<Event> events = AllEvents(*store.get());
  // 2 spans, a log, 2 errors, 4 metric samples, an entity, a custom event.
  ASSERT_EQ(events.size(), 11u);
  for (const Event& e : events) {
    EXPECT_EQ(e.service.name, "test-service");
    EXPECT_EQ(e.service.instance, "i-1");
    EXPECT_EQ(e.source, "sdk");
  }

  const Event* server = FindByName(events, "GET /orders/{id}");
  ASSERT_NE(server, nullptr);
  ASSERT_NE(server->span(), nullptr);
  EXPECT_EQ(server->span()->kind, SpanKind::kServer);
  EXPECT_EQ(server->span()->duration_ns, 3500u);
  EXPECT_EQ(server->span()->status, SpanStatus::kError);
  EXPECT_EQ(server->span()->status_message, "failed");
  ASSERT_TRUE(server->span()->http.has_value());
  EXPECT_EQ(server->span()->http->method, "GET");
  EXPECT_EQ(server->span()->http->route, "/orders/{id}");
  EXPECT_EQ(server->span()->http->url, "/orders/42");
  EXPECT_EQ(server->span()->http->status_code, 200);
  EXPECT_EQ(IntAttribute(*server, "order.id"), 42);
  EXPECT_EQ(server->trace.trace_id, server_context.trace_id);
  EXPECT_EQ(server->trace.span_id, server_context.span_id);
  EXPECT_FALSE(server->trace.has_parent());

  const Event* db = FindByName(events, "SELECT orders");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->trace.trace_id, server_context.trace_id);
  EXPECT_EQ(db->trace.parent_span_id, server_context.span_id);
  ASSERT_TRUE(db->span()->db.has_value());
  EXPECT_EQ(db->span()->db->system, "postgresql");
  EXPECT_EQ(db->span()->db->statement, "SELECT * FROM orders WHERE id = $1");
  EXPECT_EQ(db->span()->peer_service, "orders-db");
  EXPECT_EQ(db->span()->duration_ns, 500u);

  const Event* log = FindPayload<LogData>(events);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log()->body, "loading order");
  EXPECT_EQ(log->severity, Severity::kInfo);
  EXPECT_EQ(log->trace.trace_id, server_context.trace_id);
  EXPECT_EQ(log->trace.span_id, server_context.span_id);
  ASSERT_EQ(log->attributes.size(), 3u);
  EXPECT_EQ(std::get<double>(log->attributes[1].value), 0.5);
  EXPECT_EQ(std::get<std::string>(log->attributes[2].value), "svc");

  std::vector<const Event*> errors;
  for (const Event& e : events) {
    if (e.error() != nullptr) errors.push_back(&e);
  }
  ASSERT_EQ(errors.size(), 2u);
  std::map<std::string, const ErrorData*> by_type;
  for (const Event* e : errors) {
    EXPECT_EQ(e->severity, Severity::kError);
    EXPECT_EQ(e->trace.span_id, server_context.span_id);
    by_type[e->error()->exception_type] = e->error();
  }
  ASSERT_TRUE(by_type.count("PoolTimeout"));
  EXPECT_EQ(by_type["PoolTimeout"]->message, "no connection");
  EXPECT_EQ(by_type["PoolTimeout"]->stacktrace, "at f()\nat g()");
  EXPECT_FALSE(by_type["PoolTimeout"]->handled);
  ASSERT_TRUE(by_type.count("std::runtime_error"));
  EXPECT_EQ(by_type["std::runtime_error"]->message, "boom");
  EXPECT_TRUE(by_type["std::runtime_error"]->handled);

  const Event* gauge = FindByName(events, "pool.in_use");
  ASSERT_NE(gauge, nullptr);
  EXPECT_EQ(gauge->metric()->kind, MetricKind::kGauge);
  EXPECT_EQ(gauge->metric()->value, 20);
  EXPECT_EQ(gauge->metric()->unit, "{connection}");
  EXPECT_FALSE(gauge->trace.has_trace());
  EXPECT_EQ(FindByName(events, "requests")->metric()->kind,
            MetricKind::kCounter);
  const MetricData* histogram = FindByName(events, "latency")->metric();
  EXPECT_EQ(histogram->kind, MetricKind::kHistogram);
  EXPECT_EQ(histogram->count, 1u);
  EXPECT_EQ(histogram->sum, 0.25);
  const MetricData* snapshot = FindByName(events, "latency.snapshot")->metric();
  EXPECT_EQ(snapshot->bucket_bounds, std::vector<double>({0.1, 1}));
  EXPECT_EQ(snapshot->bucket_counts, std::vector<uint64_t>({3, 4, 5}));
  EXPECT_EQ(snapshot->count, 12u);

  auto pool = store->EntityAsOf("orders-db/pool", clock.NowNanos());
  ASSERT_TRUE(pool.ok()) << pool.status();
  ASSERT_TRUE(pool->has_value());
  EXPECT_EQ((*pool)->entity_type, "connection_pool");
  EXPECT_EQ((*pool)->fields.size(), 2u);

  const Event* custom = FindByName(events, "deploy.finished");
  ASSERT_NE(custom, nullptr);
  EXPECT_EQ(custom->effective_type(), EventType::kCustom);
  EXPECT_EQ(custom->severity, Severity::kWarn);

  auto trace = store->GetTrace(server_context.trace_id);
  ASSERT_TRUE(trace.ok());
  EXPECT_EQ(trace->size(), 5u);  // 2 spans, a log, 2 errors

  const RecorderStats stats = recorder->stats();
  EXPECT_EQ(stats.recorded, 11u);
  EXPECT_EQ(stats.stored, 11u);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.rings, 1u);
}

// Without an injected clock the record path may stamp events with the TSC;
// the flusher must turn that into wall-clock time and span durations.
TEST(RecorderTest, RealClockTimesAreWallClockTimes) {
  ScratchStore store;
  auto recorder = CreateOrDie(store.get(), PlainOptions());
  const uint64_t before = Clock::Real()->NowNanos();
  {
    Span span = recorder->StartSpan("sleep");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    recorder->Log(Severity::kInfo, "inside");
  }
  ASSERT_TRUE(recorder->Flush().ok());
  const uint64_t after = Clock::Real()->NowNanos();
  const std::vector<Event> events = AllEvents(*store.get());
  ASSERT_EQ(events.size(), 2u);
  // Slack for the conversion's anchor and rate (a 1 ms calibration at
  // worst): a millisecond either way.
  constexpr uint64_t kSlack = 1'000'000;
  for (const Event& e : events) {
    EXPECT_GE(e.time_ns + kSlack, before);
    EXPECT_LE(e.time_ns, after + kSlack);
  }
  const Event* span = FindByName(events, "sleep");
  ASSERT_NE(span, nullptr);
  // It lasted at least the sleep (less the rate's error).
  EXPECT_GE(span->span()->duration_ns, 19'000'000u);
  EXPECT_LE(span->span()->duration_ns, after - before + kSlack);
  const Event* log = FindPayload<LogData>(events);
  ASSERT_NE(log, nullptr);
  EXPECT_GE(log->time_ns + kSlack, span->time_ns + 20'000'000);
}

TEST(RecorderTest, SpanScopesSetAndRestoreTheThreadContext) {
  ScratchStore store;
  auto recorder = CreateOrDie(store.get(), PlainOptions());
  EXPECT_FALSE(Recorder::CurrentContext().valid());
  SpanContext outer_context;
  {
    Span outer = recorder->StartSpan("outer");
    outer_context = outer.context();
    EXPECT_TRUE(outer_context.valid());
    EXPECT_TRUE(outer_context.sampled());
    EXPECT_EQ(Recorder::CurrentContext(), outer_context);
    {
      Span inner = recorder->StartSpan("inner");
      EXPECT_EQ(inner.context().trace_id, outer_context.trace_id);
      EXPECT_NE(inner.context().span_id, outer_context.span_id);
      EXPECT_EQ(Recorder::CurrentContext(), inner.context());
    }
    EXPECT_EQ(Recorder::CurrentContext(), outer_context);
    // A detached span (explicit parent, not current) leaves the context.
    Span detached = recorder->StartSpan("detached", outer_context,
                                        SpanKind::kProducer, false);
    EXPECT_EQ(Recorder::CurrentContext(), outer_context);
    // Ending it on another thread is fine.
    std::thread([&] { detached.End(); }).join();
    EXPECT_FALSE(detached.recording());
    EXPECT_EQ(Recorder::CurrentContext(), outer_context);
  }
  EXPECT_FALSE(Recorder::CurrentContext().valid());

  // A context from a traceparent header, then a ContextScope for async work.
  auto remote = ParseTraceparent(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(remote.has_value());
  SpanContext handler_context;
  {
    Span handler = recorder->StartSpan("handle", *remote, SpanKind::kServer,
                                       /*make_current=*/true);
    handler_context = handler.context();
    EXPECT_EQ(Recorder::CurrentContext(), handler_context);
  }
  std::thread([&] {
    ContextScope scope(handler_context);
    recorder->Log(Severity::kInfo, "continuation");
  }).join();
  ASSERT_TRUE(recorder->Flush().ok());

  const std::vector<Event> events = AllEvents(*store.get());
  const Event* handle = FindByName(events, "handle");
  ASSERT_NE(handle, nullptr);
  EXPECT_EQ(handle->trace.trace_id, remote->trace_id);
  EXPECT_EQ(handle->trace.parent_span_id, remote->span_id);
  const Event* detached = FindByName(events, "detached");
  ASSERT_NE(detached, nullptr);
  EXPECT_EQ(detached->trace.parent_span_id, outer_context.span_id);
  const Event* continuation = FindPayload<LogData>(events);
  ASSERT_NE(continuation, nullptr);
  EXPECT_EQ(continuation->trace.trace_id, remote->trace_id);
  EXPECT_EQ(continuation->trace.span_id, handler_context.span_id);
}

TEST(RecorderTest, MovedSpanIsRecordedOnce) {
  ScratchStore store;
  auto recorder = CreateOrDie(store.get(), PlainOptions());
  {
    Span a = recorder->StartSpan("moved");
    a.SetAttribute("k", "v");
    Span b = std::move(a);
    EXPECT_FALSE(a.recording());  // NOLINT(bugprone-use-after-move)
    Span c;
    c = std::move(b);
    EXPECT_TRUE(c.recording());
  }
  ASSERT_TRUE(recorder->Flush().ok());
  const std::vector<Event> events = AllEvents(*store.get());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].name, "moved");
  ASSERT_EQ(events[0].attributes.size(), 1u);
}

TEST(RecorderTest, CurrentExceptionRecordsWhatIsBeingHandled) {
  ScratchStore store;
  auto recorder = CreateOrDie(store.get(), PlainOptions());
  try {
    throw std::out_of_range("index 7");
  } catch (...) {
    recorder->CurrentException(/*handled=*/false);
  }
  try {
    throw 42;
  } catch (...) {
    recorder->CurrentException();
  }
  recorder->CurrentException();  // nothing being handled: nothing recorded
  ASSERT_TRUE(recorder->Flush().ok());
  std::set<std::string> types;
  for (const Event& e : AllEvents(*store.get())) {
    types.insert(e.error()->exception_type);
  }
  EXPECT_EQ(types, std::set<std::string>({"std::out_of_range", "unknown"}));
}

TEST(RecorderTest, FlushIsABarrierForEveryThread) {
  ScratchStore store;
  RecorderOptions options = PlainOptions();
  // A long interval: only Flush() makes the flusher write in time.
  options.flush_interval = absl::Hours(1);
  auto recorder = CreateOrDie(store.get(), options);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1000;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kPerThread; ++i) {
          recorder->Log(Severity::kInfo, "x", {{"i", i}});
        }
      });
    }
    for (std::thread& t : threads) t.join();
    ASSERT_TRUE(recorder->Flush().ok());
    EXPECT_EQ(CountEvents(*store.get()).user_events,
              static_cast<uint64_t>((round + 1) * kThreads * kPerThread));
  }
}

TEST(RecorderTest, ShutdownDrainsEverything) {
  ScratchStore store;
  RecorderOptions options = PlainOptions();
  options.ring_capacity = 4096;
  auto recorder = CreateOrDie(store.get(), options);
  RecorderInternal::PauseFlusher(*recorder, true);
  for (int i = 0; i < 3000; ++i) recorder->Counter("c", 1);
  EXPECT_EQ(recorder->stats().pending, 3000u);
  ASSERT_TRUE(recorder->Shutdown().ok());
  EXPECT_EQ(CountEvents(*store.get()).user_events, 3000u);
  EXPECT_EQ(recorder->stats().stored, 3000u);

  // After shutdown: refused and counted, never lost silently.
  recorder->Counter("late", 1);
  EXPECT_EQ(recorder->stats().dropped_closed, 1u);
  EXPECT_EQ(recorder->Flush().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(recorder->Shutdown().ok());  // idempotent
  recorder.reset();
  EXPECT_EQ(CountEvents(*store.get()).user_events, 3000u);
}

TEST(RecorderTest, DestructorDrains) {
  ScratchStore store;
  {
    auto recorder = CreateOrDie(store.get(), PlainOptions());
    RecorderInternal::PauseFlusher(*recorder, true);
    for (int i = 0; i < 100; ++i) recorder->Log(Severity::kDebug, "d");
  }
  EXPECT_EQ(CountEvents(*store.get()).user_events, 100u);
}

TEST(RecorderTest, KeepsEachThreadsOrder) {
  ScratchStore store;
  // A clock that never moves: the store orders events of equal time by
  // their id suffix, which the flusher assigns in drain order.
  ManualClock clock(1'700'000'000'000'000'000);
  RecorderOptions options = PlainOptions();
  options.clock = &clock;
  options.ring_capacity = 256;
  options.backpressure = BackpressurePolicy::kBlock;
  options.block_timeout = absl::Seconds(60);
  auto recorder = CreateOrDie(store.get(), options);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        recorder->Log(Severity::kInfo, "seq", {{"thread", t}, {"seq", i}});
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(recorder->Flush().ok());
  std::vector<int64_t> last(kThreads, -1);
  size_t n = 0;
  for (const Event& e : AllEvents(*store.get())) {
    const int64_t t = IntAttribute(e, "thread");
    const int64_t seq = IntAttribute(e, "seq");
    ASSERT_GE(t, 0);
    ASSERT_EQ(seq, last[t] + 1) << "thread " << t;
    last[t] = seq;
    ++n;
  }
  EXPECT_EQ(n, size_t{kThreads} * kPerThread);
}

// A paused flusher and a 64-slot ring make the overflow deterministic.
struct OverloadResult {
  RecorderStats stats;
  std::vector<int64_t> stored_seqs;
  testing::StoreCounts counts;
};

OverloadResult Overload(BackpressurePolicy policy, int calls) {
  ScratchStore store;
  RecorderOptions options = PlainOptions();
  options.ring_capacity = 64;
  options.backpressure = policy;
  options.block_timeout = absl::Microseconds(100);
  auto recorder = CreateOrDie(store.get(), options);
  RecorderInternal::PauseFlusher(*recorder, true);
  for (int i = 0; i < calls; ++i) {
    recorder->Log(Severity::kInfo, "n", {{"seq", i}});
  }
  OverloadResult result;
  RecorderInternal::PauseFlusher(*recorder, false);
  EXPECT_TRUE(recorder->Flush().ok());
  result.stats = recorder->stats();
  for (const Event& e : AllEvents(*store.get())) {
    if (e.name != kDroppedEventName) {
      result.stored_seqs.push_back(IntAttribute(e, "seq"));
    }
  }
  result.counts = CountEvents(*store.get());
  return result;
}

TEST(RecorderTest, DropNewestKeepsTheFirstAndCountsTheRest) {
  const OverloadResult r = Overload(BackpressurePolicy::kDropNewest, 1000);
  EXPECT_EQ(r.stats.recorded, 1000u);
  EXPECT_EQ(r.stats.dropped_newest, 936u);
  EXPECT_EQ(r.stats.dropped, 936u);
  EXPECT_EQ(r.stats.stored, 64u);
  EXPECT_EQ(r.stats.pending, 0u);
  ASSERT_EQ(r.stored_seqs.size(), 64u);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(r.stored_seqs[i], i);
  EXPECT_EQ(r.counts.drop_reports, 1u);
  EXPECT_EQ(r.counts.dropped, 936u);
  EXPECT_EQ(r.stats.drops_reported, 936u);
}

TEST(RecorderTest, DropOldestKeepsTheLast) {
  const OverloadResult r = Overload(BackpressurePolicy::kDropOldest, 1000);
  EXPECT_EQ(r.stats.recorded, 1000u);
  EXPECT_EQ(r.stats.dropped_oldest, 936u);
  EXPECT_EQ(r.stats.dropped, 936u);
  EXPECT_EQ(r.stats.stored, 64u);
  ASSERT_EQ(r.stored_seqs.size(), 64u);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(r.stored_seqs[i], 936 + i);
  EXPECT_EQ(r.counts.dropped, 936u);
}

TEST(RecorderTest, BlockTimesOutAndCounts) {
  const OverloadResult r = Overload(BackpressurePolicy::kBlock, 70);
  EXPECT_EQ(r.stats.recorded, 70u);
  EXPECT_EQ(r.stats.dropped_timeout, 6u);
  EXPECT_EQ(r.stats.stored, 64u);
  EXPECT_EQ(r.counts.dropped, 6u);
}

TEST(RecorderTest, BlockWaitsForTheFlusher) {
  ScratchStore store;
  RecorderOptions options = PlainOptions();
  options.ring_capacity = 64;
  options.backpressure = BackpressurePolicy::kBlock;
  options.block_timeout = absl::Seconds(60);
  auto recorder = CreateOrDie(store.get(), options);
  for (int i = 0; i < 20000; ++i) recorder->Counter("c", 1);
  ASSERT_TRUE(recorder->Flush().ok());
  const RecorderStats stats = recorder->stats();
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.stored, 20000u);
  EXPECT_EQ(CountEvents(*store.get()).user_events, 20000u);
}

TEST(RecorderTest, SamplingKeepsErroredTracesAndWeighsTheRest) {
  ScratchStore store;
  ManualClock clock(1'700'000'000'000'000'000);
  RecorderOptions options = PlainOptions();
  options.clock = &clock;
  options.ring_capacity = 4096;
  options.sampling.enabled = true;
  options.sampling.high_watermark = 0.1;
  options.sampling.low_watermark = 0.01;
  options.sampling.max_rate = 4;
  options.sampling.cooldown = absl::Hours(1);  // no decay during the test
  auto recorder = CreateOrDie(store.get(), options);

  // Two drains under load (the ring over 10 % full each time) take the
  // rate from 1 to 2 to 4.
  constexpr int kTraces = 300;
  std::set<std::string> errored;
  for (int round = 0; round < 2; ++round) {
    RecorderInternal::PauseFlusher(*recorder, true);
    for (int t = 0; t < kTraces; ++t) {
      Span root = recorder->StartSpan("request", SpanKind::kServer);
      { Span child = recorder->StartSpan("db"); }
      recorder->Log(Severity::kInfo, "step");
      if (t % 50 == 7) {
        // The error comes last: the trace's earlier events are in the same
        // drain, so they are kept too.
        recorder->Error("Timeout", "upstream");
        errored.insert(ToHex(root.context().trace_id));
      }
    }
    recorder->Gauge("queue.depth", 3);       // never sampled
    recorder->Log(Severity::kWarn, "warn");  // never sampled
    RecorderInternal::PauseFlusher(*recorder, false);
    ASSERT_TRUE(recorder->Flush().ok());
  }
  const RecorderStats stats = recorder->stats();
  EXPECT_EQ(stats.sample_rate, 4u);
  EXPECT_GT(stats.sampled_out, 0u);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.recorded, stats.stored + stats.sampled_out);

  std::map<std::string, int> per_trace;
  std::map<std::string, double> rate_of_trace;
  int gauges = 0, warns = 0, errors = 0;
  for (const Event& e : AllEvents(*store.get())) {
    if (e.metric() != nullptr) ++gauges;
    if (e.severity == Severity::kWarn) ++warns;
    if (e.error() != nullptr) ++errors;
    if (!e.trace.has_trace()) continue;
    const std::string trace = ToHex(e.trace.trace_id);
    ++per_trace[trace];
    if (errored.count(trace)) {
      EXPECT_EQ(e.sample_rate, 0) << "an errored trace is not sampled";
    } else {
      EXPECT_TRUE(e.sample_rate == 2 || e.sample_rate == 4) << e.sample_rate;
      rate_of_trace[trace] = e.sample_rate;
    }
  }
  EXPECT_EQ(gauges, 2);
  EXPECT_EQ(warns, 2);
  EXPECT_EQ(errors, static_cast<int>(errored.size()));
  for (const std::string& trace : errored) {
    EXPECT_EQ(per_trace[trace], 4) << "every event of errored trace " << trace;
  }
  // Healthy traces are kept or left out whole.
  for (const auto& [trace, n] : per_trace) {
    if (!errored.count(trace)) {
      EXPECT_EQ(n, 3) << trace;
    }
  }
  // Re-weighting the kept healthy traces estimates the real count.
  double estimate = 0;
  for (const auto& [trace, rate] : rate_of_trace) estimate += rate;
  const double healthy = 2.0 * kTraces - static_cast<double>(errored.size());
  EXPECT_GT(estimate, healthy * 0.6);
  EXPECT_LT(estimate, healthy * 1.4);
}

TEST(RecorderTest, TruncatesAtACharacterBoundaryAndSaysSo) {
  ScratchStore store;
  auto recorder = CreateOrDie(store.get(), PlainOptions());
  std::string body;
  for (int i = 0; i < 400; ++i) body += "\xC3\xA9";  // é, 800 bytes
  recorder->Log(Severity::kInfo, body, {{"after", "left out"}});
  std::string long_key(300, 'k');
  recorder->Custom("keys", {{long_key, 1}});
  ASSERT_TRUE(recorder->Flush().ok());
  const std::vector<Event> events = AllEvents(*store.get());
  ASSERT_EQ(events.size(), 2u);
  const Event* log = FindPayload<LogData>(events);
  ASSERT_NE(log, nullptr);
  EXPECT_LT(log->log()->body.size(), body.size());
  EXPECT_GT(log->log()->body.size(), kSlotArenaBytes - 16);
  EXPECT_TRUE(IsValidUtf8(log->log()->body));
  EXPECT_EQ(body.compare(0, log->log()->body.size(), log->log()->body), 0);
  const AttributeValue* truncated = log->FindAttribute("traversion.truncated");
  ASSERT_NE(truncated, nullptr);
  EXPECT_TRUE(std::get<bool>(*truncated));
  EXPECT_EQ(log->FindAttribute("after"), nullptr);
  const Event* keys = FindByName(events, "keys");
  ASSERT_NE(keys, nullptr);
  EXPECT_EQ(keys->attributes[0].key, std::string(255, 'k'));
  EXPECT_EQ(recorder->stats().truncated, 2u);
}

TEST(RecorderTest, InvalidEventsAreDroppedAndCountedNotTheBatch) {
  ScratchStore store;
  auto recorder = CreateOrDie(store.get(), PlainOptions());
  recorder->Log(Severity::kInfo, "fine");
  recorder->Log(Severity::kInfo, "bad \xff utf-8");
  recorder->EntityState("", "nameless", {});
  recorder->Log(Severity::kInfo, "fine too");
  ASSERT_TRUE(recorder->Flush().ok());
  const RecorderStats stats = recorder->stats();
  EXPECT_EQ(stats.dropped_invalid, 2u);
  EXPECT_EQ(stats.stored, 2u);
  // The report is written with the next batch.
  recorder->Log(Severity::kInfo, "later");
  ASSERT_TRUE(recorder->Flush().ok());
  const testing::StoreCounts counts = CountEvents(*store.get());
  EXPECT_EQ(counts.user_events, 3u);
  EXPECT_EQ(counts.dropped, 2u);
}

TEST(RecorderTest, ThreadRingsAreReusedAndExtraThreadsShare) {
  ScratchStore store;
  RecorderOptions options = PlainOptions();
  options.ring_capacity = 64;
  options.max_thread_rings = 2;
  options.backpressure = BackpressurePolicy::kBlock;
  options.block_timeout = absl::Seconds(60);
  auto recorder = CreateOrDie(store.get(), options);
  // 40 short-lived threads, one after another.
  for (int t = 0; t < 40; ++t) {
    std::thread([&] {
      for (int i = 0; i < 10; ++i) recorder->Counter("c", 1);
    }).join();
    ASSERT_TRUE(recorder->Flush().ok());  // lets the flusher recycle
  }
  EXPECT_LE(recorder->stats().rings, 2u);
  // 6 threads at once: 2 get rings, the rest share the overflow ring.
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) recorder->Counter("c", 1);
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(recorder->Flush().ok());
  const RecorderStats stats = recorder->stats();
  EXPECT_EQ(stats.rings, 3u);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.stored, 400u + 12000u);
  EXPECT_EQ(CountEvents(*store.get()).user_events, 12400u);
}

TEST(RecorderTest, MasksPiiByDefaultWithAKeyKeptInTheStore) {
  ScratchStore store;
  RecorderOptions options;  // defaults: masking on
  options.service.name = "svc";
  std::string first_body;
  {
    auto recorder = CreateOrDie(store.get(), options);
    recorder->Log(Severity::kInfo, "signup alice@example.com",
                  {{"password", "hunter2"}, {"order.id", "ord-12345"}});
    ASSERT_TRUE(recorder->Flush().ok());
    EXPECT_GE(recorder->stats().masked_values, 2u);
  }
  const std::string key_path = store.path() + "/pii.key";
  struct stat st;
  ASSERT_EQ(stat(key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  {
    auto recorder = CreateOrDie(store.get(), options);
    recorder->Log(Severity::kInfo, "signup alice@example.com");
    ASSERT_TRUE(recorder->Flush().ok());
  }
  std::vector<std::string> bodies;
  for (const Event& e : AllEvents(*store.get())) {
    const std::string& body = e.log()->body;
    EXPECT_EQ(body.find("alice@example.com"), std::string::npos) << body;
    bodies.push_back(body);
    if (const AttributeValue* v = e.FindAttribute("password")) {
      EXPECT_NE(std::get<std::string>(*v), "hunter2");
    }
    if (const AttributeValue* v = e.FindAttribute("order.id")) {
      EXPECT_EQ(std::get<std::string>(*v), "ord-12345");
    }
  }
  ASSERT_EQ(bodies.size(), 2u);
  // Same key across recorders: equal values, equal tokens.
  EXPECT_EQ(bodies[0], bodies[1]);
}

TEST(RecorderTest, RefusesBadOptionsAndReadOnlyStores) {
  ScratchStore store;
  RecorderOptions options = PlainOptions();
  options.ring_capacity = 1000;  // not a power of two
  EXPECT_EQ(Recorder::Create(store.get(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = PlainOptions();
  options.max_thread_rings = 0;
  EXPECT_EQ(Recorder::Create(store.get(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = PlainOptions();
  options.sampling.high_watermark = 0;
  EXPECT_EQ(Recorder::Create(store.get(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Recorder::Create(nullptr, PlainOptions()).status().code(),
            absl::StatusCode::kInvalidArgument);

  const std::string path = store.path();
  store.Close();
  StoreOptions read_only;
  read_only.read_only = true;
  auto reader = Store::Open(path, read_only);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(Recorder::Create(reader->get(), PlainOptions()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RecorderTest, TwoRecordersOnOneThreadKeepTheirOwnRings) {
  ScratchStore a;
  ScratchStore b;
  auto ra = CreateOrDie(a.get(), PlainOptions());
  auto rb = CreateOrDie(b.get(), PlainOptions());
  for (int i = 0; i < 100; ++i) {
    ra->Counter("a", 1);
    rb->Counter("b", 1);
  }
  ASSERT_TRUE(ra->Flush().ok());
  ASSERT_TRUE(rb->Flush().ok());
  for (const Event& e : AllEvents(*a.get())) EXPECT_EQ(e.name, "a");
  for (const Event& e : AllEvents(*b.get())) EXPECT_EQ(e.name, "b");
  EXPECT_EQ(CountEvents(*a.get()).user_events, 100u);
  EXPECT_EQ(CountEvents(*b.get()).user_events, 100u);
}

}  // namespace
}  // namespace traversion
