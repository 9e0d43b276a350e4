// PII masking cost: PiiMasker::MaskEvent on typical events with and without
// personal data, and MaskText on typical log lines. The Recorder's flusher
// masks every event, so the clean figure is the cost every event pays.
//
// Summary keys: pii.clean_ns_per_event, pii.mask_ns_per_event,
// pii.clean_ns_per_line, pii.mask_ns_per_line.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_util.h"
#include "traversion/event.h"
#include "traversion/pii.h"

namespace traversion::bench {
namespace {

PiiMasker DefaultMasker() {
  PiiOptions options;
  options.key = "benchmark-key";
  auto masker = PiiMasker::Create(options);
  if (!masker.ok()) std::abort();
  return *std::move(masker);
}

// A server span and a log line as an instrumented HTTP service records them.
std::vector<Event> TypicalEvents(bool with_pii) {
  Event span;
  span.time_ns = 1705333643123456789ULL;
  span.service.name = "checkout";
  span.name = "POST /api/v1/orders";
  span.attributes = {
      {"http.request.method", std::string("POST")},
      {"http.route", std::string("/api/v1/orders")},
      {"user.id", int64_t{48213}},
      {"order.id", std::string("ORD-2024-000123")},
      {"http.request.header.user-agent",
       std::string("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36")},
      {"http.request.header.authorization",
       std::string(with_pii ? "Bearer 0a1b2c3d4e5f6a7b8c9d0e1f" : "")}};
  SpanData s;
  s.kind = SpanKind::kServer;
  s.duration_ns = 35000000;
  s.http = HttpInfo{"POST",
                    "/api/v1/orders",
                    with_pii ? "https://shop.example.com/api/v1/orders?"
                               "email=alice@example.com&page=2"
                             : "https://shop.example.com/api/v1/orders?page=2",
                    201,
                    "10.1.2.3",
                    512,
                    2048};
  s.db = DbInfo{"postgresql", "shop", "INSERT",
                "INSERT INTO orders (id, user_id, total) VALUES ($1, $2, $3)",
                "orders"};
  span.payload = s;

  Event log;
  log.time_ns = 1705333643123456789ULL;
  log.service.name = "checkout";
  log.severity = Severity::kInfo;
  log.attributes = {
      {"trace_id", std::string("4bf92f3577b34da6a3ce929d0e0e4736")},
      {"duration_ms", int64_t{35}}};
  LogData l;
  l.body = with_pii
               ? "2024-01-15T15:47:23.123Z order ORD-2024-000123 created for "
                 "alice@example.com card 4111 1111 1111 1111 total=99.95 "
                 "took 35ms"
               : "2024-01-15T15:47:23.123Z order ORD-2024-000123 created for "
                 "user 48213 request 550e8400-e29b-41d4-a716-446655440000 "
                 "total=99.95 took 35ms";
  l.logger = "checkout.orders";
  log.payload = l;
  return {span, log};
}

constexpr int kBatch = 1024;

// Masks batches of fresh copies; the copies are made outside the timing.
void MaskEvents(benchmark::State& state, bool with_pii, const char* key) {
  const PiiMasker masker = DefaultMasker();
  const std::vector<Event> templates = TypicalEvents(with_pii);
  std::vector<Event> batch;
  double timed_ns = 0;
  int64_t events = 0;
  size_t masked = 0;
  for (auto _ : state) {
    state.PauseTiming();
    batch.clear();
    for (int i = 0; i < kBatch; ++i) batch.push_back(templates[i % 2]);
    state.ResumeTiming();
    const auto start = SteadyClock::now();
    for (Event& e : batch) masked += masker.MaskEvent(&e);
    timed_ns += MicrosSince(start) * 1000;
    events += kBatch;
  }
  benchmark::DoNotOptimize(masked);
  state.SetItemsProcessed(events);
  state.counters["masked_per_event"] =
      static_cast<double>(masked) / static_cast<double>(events);
  Report(key, timed_ns / static_cast<double>(events));
}

void BM_MaskEventClean(benchmark::State& state) {
  MaskEvents(state, false, "pii.clean_ns_per_event");
}
void BM_MaskEventPii(benchmark::State& state) {
  MaskEvents(state, true, "pii.mask_ns_per_event");
}

void MaskLines(benchmark::State& state, bool with_pii, const char* key) {
  const PiiMasker masker = DefaultMasker();
  const std::vector<std::string> lines =
      with_pii
          ? std::vector<
                std::string>{"GET /login?email=bob@example.org 302 in 12ms",
                             "auth ok Authorization: Bearer "
                             "0a1b2c3d4e5f6a7b8c9d0e1f",
                             "charged card 5555555555554444 amount=12.00 "
                             "currency=EUR",
                             "using key sk_live_4eC39HqLyjWDarjtT1zdp7dc for "
                             "tenant 7"}
          : std::vector<std::string>{
                "GET /api/v1/orders/98765?page=2 200 in 35ms bytes=4096",
                "2024-01-15 15:47:23,123 INFO pool main: 12 of 50 in use",
                "span 00f067aa0ba902b7 of trace "
                "4bf92f3577b34da6a3ce929d0e0e4736",
                "retrying order ORD-2024-000123 attempt=2 backoff=200ms"};
  std::vector<std::string> batch;
  double timed_ns = 0;
  int64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    batch.clear();
    for (int i = 0; i < kBatch; ++i) batch.push_back(lines[i % lines.size()]);
    state.ResumeTiming();
    const auto start = SteadyClock::now();
    for (std::string& line : batch) masker.MaskText(&line);
    timed_ns += MicrosSince(start) * 1000;
    n += kBatch;
  }
  state.SetItemsProcessed(n);
  Report(key, timed_ns / static_cast<double>(n));
}

void BM_MaskLineClean(benchmark::State& state) {
  MaskLines(state, false, "pii.clean_ns_per_line");
}
void BM_MaskLinePii(benchmark::State& state) {
  MaskLines(state, true, "pii.mask_ns_per_line");
}

}  // namespace
}  // namespace traversion::bench

int main(int argc, char** argv) {
  using namespace traversion::bench;
  ParseBenchFlags(&argc, argv);
  const int64_t batches = Flags().quick ? 20 : 1000;
  struct Entry {
    const char* name;
    void (*fn)(benchmark::State&);
  };
  for (const Entry& b : {Entry{"BM_MaskEventClean", BM_MaskEventClean},
                         Entry{"BM_MaskEventPii", BM_MaskEventPii},
                         Entry{"BM_MaskLineClean", BM_MaskLineClean},
                         Entry{"BM_MaskLinePii", BM_MaskLinePii}}) {
    benchmark::RegisterBenchmark(b.name, b.fn)
        ->Iterations(batches)
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
