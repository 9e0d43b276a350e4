// TimeQL front end: microseconds to lex and parse one statement (the seed
// examples, a typical mix), and to parse and print a large one.
// Reports timeql.parse_us (the mean over the seed statements) and
// timeql.parse_large_us.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench_util.h"
#include "timeql/parser.h"
#include "timeql/printer.h"

namespace traversion::bench {
namespace {

const std::vector<std::string>& SeedStatements() {
  static const auto* statements = new std::vector<std::string>{
      "STATE AT '2024-01-15 15:47:23' WHERE service = 'api-gateway'",
      "TIMELINE FROM '10 minutes ago' TO 'now' WHERE type = 'error'",
      "TRAVERSE FROM event_id = 'abc-123'\nFOLLOWING causality\nUNTIL "
      "error_occurred = true",
      "TRAVERSE FROM event_id FOLLOWING backward UNTIL error_occurred = true",
      "MATCH PATTERN\nWHERE cpu > 80%\nFOLLOWED BY memory > 90%\nWITHIN 5 "
      "minutes\nIN LAST 30 days",
      "COMPARE '2024-01-15 15:45:00' WITH '2024-01-15 15:50:00' FOR cpu, "
      "memory, errorRate",
      "PREDICT NEXT 5 minutes FROM 'now'",
      "EVENTS service, COUNT(*) AS n, P99(duration) AS p99 IN LAST 1 hour "
      "WHERE type = 'span' AND attributes['http.route'] LIKE '/api/%' GROUP "
      "BY service ORDER BY p99 DESC LIMIT 10",
  };
  return *statements;
}

// A 2 KiB-ish WHERE clause: 60 conditions joined by AND and OR.
std::string LargeStatement() {
  std::string text = "EVENTS WHERE ";
  for (int i = 0; i < 60; ++i) {
    if (i > 0) text += i % 3 == 0 ? " OR " : " AND ";
    absl::StrAppend(&text, "(attributes['k", i, "'] = 'value-", i,
                    "' OR duration > ", i, "ms)");
  }
  return text;
}

void BM_ParseSeeds(benchmark::State& state) {
  const std::vector<std::string>& statements = SeedStatements();
  int64_t parsed = 0;
  const auto start = SteadyClock::now();
  for (auto _ : state) {
    for (const std::string& text : statements) {
      auto statement = timeql::Parse(text);
      if (!statement.ok()) {
        state.SkipWithError(std::string(statement.status().message()).c_str());
        return;
      }
      benchmark::DoNotOptimize(statement);
      ++parsed;
    }
  }
  const double micros = MicrosSince(start);
  state.SetItemsProcessed(parsed);
  Report("timeql.parse_us", micros / static_cast<double>(parsed));
}

void BM_ParsePrintLarge(benchmark::State& state) {
  const std::string text = LargeStatement();
  int64_t done = 0;
  const auto start = SteadyClock::now();
  for (auto _ : state) {
    auto statement = timeql::Parse(text);
    if (!statement.ok()) {
      state.SkipWithError(std::string(statement.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(timeql::Print(*statement));
    ++done;
  }
  const double micros = MicrosSince(start);
  state.SetBytesProcessed(done * static_cast<int64_t>(text.size()));
  Report("timeql.parse_large_us", micros / static_cast<double>(done));
}

}  // namespace
}  // namespace traversion::bench

int main(int argc, char** argv) {
  using namespace traversion::bench;
  ParseBenchFlags(&argc, argv);
  const bool quick = Flags().quick;
  benchmark::RegisterBenchmark("BM_ParseSeeds", BM_ParseSeeds)
      ->Iterations(quick ? 200 : 20000)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_ParsePrintLarge", BM_ParsePrintLarge)
      ->Iterations(quick ? 50 : 2000)
      ->UseRealTime();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
