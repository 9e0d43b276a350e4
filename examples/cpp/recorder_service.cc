// recorder_service — a small multi-threaded service instrumented with the
// Recorder, whose history is then read back with the Store API.
//
//   recorder_service /tmp/recorder-service-store
//
// Four worker threads serve simulated "GET /orders/{id}" requests: each is a
// server span with a child database span, a log line, a latency histogram
// sample; one request in 25 fails with a timeout error. A monitor thread
// observes the connection pool's state. An upstream caller's `traceparent`
// header is continued for the first request. Then the program reads its own
// history back: counts by type, the trace of a failed request, the pool's
// state history, and checks that everything recorded was stored.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "traversion/recorder.h"
#include "traversion/store.h"

namespace tv = traversion;

namespace {

constexpr int kWorkers = 4;
constexpr int kRequestsPerWorker = 250;

std::atomic<int> in_use{0};

void HandleRequest(tv::Recorder& recorder, int worker, int n,
                   const tv::SpanContext* upstream) {
  tv::Span server =
      upstream != nullptr
          ? recorder.StartSpan("GET /orders/{id}", *upstream,
                               tv::SpanKind::kServer, /*make_current=*/true)
          : recorder.StartSpan("GET /orders/{id}", tv::SpanKind::kServer);
  const int order = worker * 10000 + n;
  server.SetHttp("GET", "/orders/{id}");
  server.SetAttribute("order.id", order);
  in_use.fetch_add(1);
  const bool fails = n % 25 == 24;
  {
    tv::Span db = recorder.StartSpan("SELECT orders", tv::SpanKind::kClient);
    db.SetDb("postgresql", "SELECT", "SELECT * FROM orders WHERE id = $1");
    db.SetPeerService("orders-db");
    if (fails) db.SetStatus(tv::SpanStatus::kError, "timeout");
  }
  if (fails) {
    recorder.Error("PoolTimeoutError", "no connection within 1000 ms",
                   {{"order.id", order}});
    server.SetHttpStatus(503);
    server.SetStatus(tv::SpanStatus::kError, "dependency failed");
  } else {
    recorder.Log(tv::Severity::kInfo, "order served", {{"order.id", order}});
    server.SetHttpStatus(200);
  }
  recorder.Histogram("http.server.request.duration", 0.001 * (n % 7 + 1),
                     {{"http.route", "/orders/{id}"}}, "s");
  in_use.fetch_sub(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s STORE_DIR\n", argv[0]);
    return 2;
  }
  auto store = tv::Store::Open(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  tv::RecorderOptions options;
  options.service.name = "orders";
  options.service.instance = "orders-1";
  // Every request matters in this example: wait for room rather than drop.
  options.backpressure = tv::BackpressurePolicy::kBlock;
  options.block_timeout = absl::Seconds(10);
  auto recorder = tv::Recorder::Create(store->get(), options);
  if (!recorder.ok()) {
    std::fprintf(stderr, "recorder: %s\n",
                 recorder.status().ToString().c_str());
    return 1;
  }
  tv::Recorder& rec = **recorder;

  // A request that arrived with a traceparent header from an upstream.
  const auto upstream = tv::ParseTraceparent(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

  std::atomic<bool> stop{false};
  // Observes the pool whenever its use changes (at least once, even if the
  // workers are done before this thread first runs).
  std::thread monitor([&] {
    int last = -1;
    do {
      const int now = in_use.load();
      if (now != last) {
        const std::string value = std::to_string(now);
        rec.EntityState("orders-db/pool", "connection_pool",
                        {{"in_use", value}, {"max", "20"}});
        rec.Gauge("db.client.connection.count", now, {}, "{connection}");
        last = now;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    } while (!stop.load());
  });
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      for (int n = 0; n < kRequestsPerWorker; ++n) {
        HandleRequest(rec, w, n,
                      w == 0 && n == 0 && upstream ? &*upstream : nullptr);
      }
    });
  }
  for (std::thread& t : workers) t.join();
  stop.store(true);
  monitor.join();

  // Durable from here on: what was recorded is in the store.
  if (absl::Status s = rec.Flush(); !s.ok()) {
    std::fprintf(stderr, "flush: %s\n", s.ToString().c_str());
    return 1;
  }
  const tv::RecorderStats stats = rec.stats();
  std::printf("recorded %llu events, stored %llu, dropped %llu\n",
              static_cast<unsigned long long>(stats.recorded),
              static_cast<unsigned long long>(stats.stored),
              static_cast<unsigned long long>(stats.dropped));

  // --- read the history back
  // ---------------------------------------------------
  tv::EventFilter mine;
  mine.services = {"orders"};
  uint64_t total = 0, spans = 0, errors = 0;
  tv::EventId failed_error;
  for (tv::EventCursor c = (*store)->Scan(mine); c.Next();) {
    const tv::Event& e = c.event();
    ++total;
    if (e.span() != nullptr) ++spans;
    if (e.error() != nullptr) {
      ++errors;
      if (failed_error.empty()) failed_error = e.id;
    }
  }
  std::printf("store: %llu events of service orders, %llu spans, %llu errors\n",
              static_cast<unsigned long long>(total),
              static_cast<unsigned long long>(spans),
              static_cast<unsigned long long>(errors));

  // The trace of the first failure, span by span.
  auto error = (*store)->GetEvent(failed_error);
  if (!error.ok()) {
    std::fprintf(stderr, "no error found: %s\n",
                 error.status().ToString().c_str());
    return 1;
  }
  auto trace = (*store)->GetTrace(error->trace.trace_id);
  if (!trace.ok()) return 1;
  std::printf("failed trace %s: %zu events\n",
              tv::ToHex(error->trace.trace_id).c_str(), trace->size());
  for (const tv::Event& e : *trace) {
    if (const tv::SpanData* span = e.span()) {
      std::printf("  span %-18s %s %6.1f us%s\n", e.name.c_str(),
                  tv::ToHex(e.trace.span_id).c_str(), span->duration_ns / 1e3,
                  span->status == tv::SpanStatus::kError ? "  ERROR" : "");
    } else if (const tv::ErrorData* err = e.error()) {
      std::printf("  error %s: %s\n", err->exception_type.c_str(),
                  err->message.c_str());
    }
  }

  // The upstream's trace continued here.
  auto continued = (*store)->GetTrace(upstream->trace_id);
  if (continued.ok()) {
    std::printf("upstream trace %s: %zu events\n",
                tv::ToHex(upstream->trace_id).c_str(), continued->size());
  }

  // The pool's state history.
  auto history = (*store)->EntityHistory("orders-db/pool");
  if (!history.ok()) return 1;
  std::printf("orders-db/pool: %zu revisions\n", history->size());

  const uint64_t expected_spans = 2ull * kWorkers * kRequestsPerWorker;
  const uint64_t expected_errors = kWorkers * (kRequestsPerWorker / 25);
  const bool ok = stats.dropped == 0 && stats.stored == stats.recorded &&
                  total == stats.stored && spans == expected_spans &&
                  errors == expected_errors && trace->size() == 4 &&
                  continued.ok() && continued->size() == 4 && !history->empty();
  if (!ok) {
    std::printf("recorder_service: FAILED\n");
    return 1;
  }
  if (absl::Status s = rec.Shutdown(); !s.ok()) return 1;
  std::printf("recorder_service: OK\n");
  return 0;
}
