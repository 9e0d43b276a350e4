// The record path does not allocate: every global operator new of this
// test binary is counted per thread, and after a thread's first call
// (which registers its ring) no record call may allocate.
#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <thread>

#include "gtest/gtest.h"
#include "recorder_test_util.h"
#include "support/counting_new.h"
#include "traversion/recorder.h"
#include "traversion/trace_context.h"

namespace traversion {
namespace {

using testing::CreateOrDie;
using testing::PlainOptions;
using testing::ScratchStore;

// One of every record call.
void RecordEverything(Recorder& r, int i, const std::exception& e) {
  Span span = r.StartSpan("GET /orders/{id}", SpanKind::kServer);
  span.SetHttp("GET", "/orders/{id}", 200);
  span.SetAttribute("order.id", i);
  span.SetAttribute("user.tier", "gold");
  {
    Span child = r.StartSpan("SELECT", span.context(), SpanKind::kClient);
    child.SetDb("postgresql", "SELECT", "SELECT 1");
  }
  r.Log(Severity::kInfo, "loading order",
        {{"order.id", i}, {"ratio", 0.5}, {"cache.hit", true}});
  r.Error("Timeout", "no connection", {{"pool", "orders"}});
  r.Exception(e);
  r.Gauge("pool.in_use", i, {{"pool", "orders"}}, "{connection}");
  r.Counter("requests", 1);
  r.Histogram("latency", 0.001 * i, {}, "s");
  const double bounds[] = {0.1, 1};
  const uint64_t counts[] = {1, 2, 3};
  r.HistogramBuckets("latency.h", bounds, counts, 2.5, 6);
  r.EntityState("orders-db/pool", "connection_pool",
                {{"in_use", "20"}, {"max", "20"}});
  r.Custom("tick", {{"n", i}});
  char header[kTraceparentLength];
  const auto parsed =
      ParseTraceparent(FormatTraceparent(span.context(), header));
  if (parsed.has_value()) {
    ContextScope scope(*parsed);
    r.Log(Severity::kDebug, "in scope");
  }
}

uint64_t AllocationsWhileRecording(Recorder& recorder, int iterations) {
  const std::runtime_error error("boom");  // allocates, before counting
  RecordEverything(recorder, 0, error);    // registers this thread's ring
  const uint64_t before = counting_new::allocations;
  for (int i = 1; i <= iterations; ++i) RecordEverything(recorder, i, error);
  return counting_new::allocations - before;
}

TEST(RecorderAllocTest, CountingAllocatorCounts) {
  const uint64_t before = counting_new::allocations;
  auto* p = new std::string(100, 'x');
  delete p;
  EXPECT_GE(counting_new::allocations - before, 2u);
}

TEST(RecorderAllocTest, RecordCallsDoNotAllocate) {
  ScratchStore store;
  for (BackpressurePolicy policy :
       {BackpressurePolicy::kDropNewest, BackpressurePolicy::kDropOldest,
        BackpressurePolicy::kBlock}) {
    RecorderOptions options = PlainOptions();
    options.backpressure = policy;
    options.ring_capacity = 256;  // wraps many times: steady state
    auto recorder = CreateOrDie(store.get(), options);
    EXPECT_EQ(AllocationsWhileRecording(*recorder, 2000), 0u)
        << "policy " << static_cast<int>(policy);
  }
}

TEST(RecorderAllocTest, RecordCallsDoNotAllocateWithDefaultOptions) {
  ScratchStore store;
  auto recorder = CreateOrDie(store.get(), RecorderOptions{});
  EXPECT_EQ(AllocationsWhileRecording(*recorder, 2000), 0u);
  // And on another thread, after its first call.
  uint64_t other = 1;
  std::thread([&] {
    other = AllocationsWhileRecording(*recorder, 500);
  }).join();
  EXPECT_EQ(other, 0u);
}

TEST(RecorderAllocTest, DroppingDoesNotAllocate) {
  ScratchStore store;
  RecorderOptions options = PlainOptions();
  options.ring_capacity = 64;
  options.flush_interval = absl::Hours(1);
  auto recorder = CreateOrDie(store.get(), options);
  recorder->Counter("first", 1);
  const uint64_t before = counting_new::allocations;
  for (int i = 0; i < 10000; ++i) recorder->Counter("c", 1);
  EXPECT_EQ(counting_new::allocations - before, 0u);
}

}  // namespace
}  // namespace traversion
