// `traversion demo`: generates an incident (a scenario of
// include/traversion/scenario.h) into a store, then writes its postmortem:
// the timeline, the state just before the failure, the root cause with its
// evidence, the pattern — each answered by a TimeQL statement that is
// printed with it, so that the reader can run it again.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/types/span.h"
#include "cli/common.h"
#include "cli/flags.h"
#include "cli/query_output.h"
#include "traversion/clock.h"
#include "traversion/event.h"
#include "traversion/query.h"
#include "traversion/scenario.h"
#include "traversion/store.h"

namespace traversion::cli {
namespace {

namespace fs = std::filesystem;

constexpr CommandHelp kHelp = {
    "demo",
    "[--store DIR] [--fault KIND] [--topology shop|layered] [--seed N] "
    "[--events N] [--end T]",
    "Generates ten minutes of a multi-service system, ending now, in which\n"
    "one fault is injected, records it into a store, and writes the\n"
    "incident's postmortem: the timeline, the state just before the failure,\n"
    "the root cause with its evidence, and the pattern it matches. Each part\n"
    "is the answer of a TimeQL statement printed above it, which you can run\n"
    "again with `traversion query DIR \"...\"`.\n"
    "\n"
    "By default the system is the shop (web-frontend -> api-gateway ->\n"
    "orders-service -> inventory-service and payments-service, on postgres)\n"
    "and the fault is the classic one: a config change shrinks the payments\n"
    "connection pool, it runs dry, and checkouts fail up the call chain.\n"
    "The faults and topologies are described in docs/scenarios.md.\n"
    "\n"
    "The same options give the same events (relative to --end). An existing\n"
    "store directory is replaced; any other existing, non-empty directory is\n"
    "left alone and the command fails.",
    "  traversion demo\n"
    "  traversion demo --fault retry_storm --topology layered --seed 7\n"
    "  traversion demo --store /tmp/shop --events 50000 --end "
    "2024-01-15T15:50:00Z\n",
};

// Files of an LMDB environment: what replacing a store deletes.
constexpr const char* kStoreFiles[] = {"data.mdb", "lock.mdb"};

// Makes `dir` ready for a fresh store: absent, empty, or a store whose files
// are removed. Refuses anything else.
absl::Status PrepareStoreDir(const std::string& dir) {
  std::error_code ec;
  fs::file_status status = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return absl::InternalError(
        absl::StrFormat("cannot inspect '%s': %s", dir, ec.message()));
  }
  if (!fs::exists(status)) return absl::OkStatus();
  if (!fs::is_directory(status)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "'%s' exists and is not a directory; choose another --store", dir));
  }
  if (fs::exists(fs::path(dir) / "data.mdb", ec)) {
    for (const char* name : kStoreFiles) {
      fs::remove(fs::path(dir) / name, ec);
      if (ec) {
        return absl::PermissionDeniedError(absl::StrFormat(
            "cannot remove the old store in '%s': %s", dir, ec.message()));
      }
    }
    return absl::OkStatus();
  }
  if (!fs::is_empty(dir, ec)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "'%s' exists and is not a Traversion store (no data.mdb); refusing to "
        "replace it; choose another --store",
        dir));
  }
  return absl::OkStatus();
}

// --- counts
// -------------------------------------------------------------------

struct Overview {
  // service -> type -> count
  std::map<std::string, std::map<EventType, uint64_t>> counts;
  uint64_t total = 0;
};

absl::StatusOr<Overview> Survey(const Store& store) {
  Overview overview;
  EventCursor cursor = store.Scan(EventFilter{});
  while (cursor.Next()) {
    const Event& event = cursor.event();
    ++overview.counts[event.service.name][event.effective_type()];
    ++overview.total;
  }
  if (!cursor.status().ok()) return cursor.status();
  return overview;
}

std::string CountsTable(const Overview& overview) {
  std::vector<EventType> types;
  for (const auto& [service, by_type] : overview.counts) {
    for (const auto& [type, count] : by_type) {
      if (std::find(types.begin(), types.end(), type) == types.end()) {
        types.push_back(type);
      }
    }
  }
  std::sort(types.begin(), types.end());
  size_t service_width = 7;
  for (const auto& [service, by_type] : overview.counts) {
    service_width = std::max(service_width, DisplayWidth(service));
  }
  std::vector<size_t> widths;
  std::string out = absl::StrCat("  ", PadRight("SERVICE", service_width));
  for (EventType type : types) {
    absl::string_view name = EventTypeName(type);
    widths.push_back(std::max<size_t>(name.size(), 7));
    absl::StrAppend(&out, "  ", absl::StrFormat("%*s", widths.back(), name));
  }
  absl::StrAppend(&out, "    total\n");
  std::map<EventType, uint64_t> column_totals;
  for (const auto& [service, by_type] : overview.counts) {
    absl::StrAppend(&out, "  ", PadRight(service, service_width));
    uint64_t row_total = 0;
    for (size_t i = 0; i < types.size(); ++i) {
      auto it = by_type.find(types[i]);
      uint64_t count = it == by_type.end() ? 0 : it->second;
      row_total += count;
      column_totals[types[i]] += count;
      absl::StrAppend(&out, "  ",
                      absl::StrFormat("%*s", widths[i],
                                      count == 0 ? "-" : WithThousands(count)));
    }
    absl::StrAppend(&out, absl::StrFormat("  %7s\n", WithThousands(row_total)));
  }
  absl::StrAppend(&out, "  ", PadRight("all", service_width));
  for (size_t i = 0; i < types.size(); ++i) {
    absl::StrAppend(&out, "  ",
                    absl::StrFormat("%*s", widths[i],
                                    WithThousands(column_totals[types[i]])));
  }
  absl::StrAppend(&out,
                  absl::StrFormat("  %7s\n", WithThousands(overview.total)));
  return out;
}

// --- the postmortem
// ------------------------------------------------------------

// Writes what the demo prints, as it goes.
class Printer {
 public:
  explicit Printer(std::string dir) : dir_(std::move(dir)) {}

  void Text(absl::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  void Section(absl::string_view title) {
    Text(absl::StrCat("\n", title, "\n"));
  }
  // The statement as a command line the reader can paste.
  void Statement(absl::string_view statement) {
    Text(absl::StrCat("  $ traversion query ", dir_, " \"", statement, "\"\n"));
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// Runs `statement` and prints its answer as a table (at most `limit` rows),
// or the error the query returned. The rows come back for the caller to
// use; nullopt when the query failed.
std::optional<std::vector<Row>> RunAndPrint(const Store& store,
                                            absl::string_view statement,
                                            size_t limit, Printer& out) {
  out.Statement(statement);
  absl::StatusOr<Result> result = Query(store, statement);
  if (!result.ok()) {
    // The first line: the rest repeats the statement with a caret.
    absl::string_view message = result.status().message();
    message = message.substr(0, message.find('\n'));
    out.Text(absl::StrCat("    (the query answers: ",
                          absl::StatusCodeToString(result.status().code()),
                          ": ", message, ")\n"));
    return std::nullopt;
  }
  const std::vector<Column> columns = result->columns();
  absl::StatusOr<std::vector<Row>> rows = result->ReadAll();
  if (!rows.ok()) {
    out.Text(
        absl::StrCat("  (the query stopped: ", rows.status().message(), ")\n"));
    return std::nullopt;
  }
  // Size the columns, then print with a two-space indent.
  constexpr size_t kMaxCell = 60;
  std::vector<size_t> widths;
  for (const Column& c : columns) widths.push_back(DisplayWidth(c.name));
  const size_t shown = std::min(limit, rows->size());
  std::vector<std::vector<std::string>> cells;
  for (size_t r = 0; r < shown; ++r) {
    std::vector<std::string> line;
    for (size_t i = 0; i < columns.size(); ++i) {
      std::string cell = Truncate(CellText((*rows)[r][i]), kMaxCell);
      widths[i] = std::max(widths[i], DisplayWidth(cell));
      line.push_back(std::move(cell));
    }
    cells.push_back(std::move(line));
  }
  auto print = [&](const std::vector<std::string>& line) {
    std::string text = "  ";
    for (size_t i = 0; i < line.size(); ++i) {
      const bool right = columns[i].type == ColumnType::kInt64 ||
                         columns[i].type == ColumnType::kDouble ||
                         columns[i].type == ColumnType::kDuration;
      const size_t pad = widths[i] - std::min(widths[i], DisplayWidth(line[i]));
      absl::StrAppend(
          &text, "  ", right ? std::string(pad, ' ') : "", line[i],
          right || i + 1 == line.size() ? "" : std::string(pad, ' '));
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out.Text(absl::StrCat(text, "\n"));
  };
  if (rows->empty()) {
    out.Text("    (no rows)\n");
    return std::move(*rows);
  }
  std::vector<std::string> header, rule;
  for (size_t i = 0; i < columns.size(); ++i) {
    header.push_back(columns[i].name);
    rule.push_back(std::string(widths[i], '-'));
  }
  print(header);
  print(rule);
  for (const auto& line : cells) print(line);
  if (rows->size() > shown) {
    out.Text(absl::StrFormat("    (%d of %d rows)\n", shown, rows->size()));
  }
  return std::move(*rows);
}

// A time as TimeQL reads it, to the millisecond.
std::string Quoted(uint64_t time_ns) {
  return absl::StrCat("'", FormatTimeMs(time_ns), "'");
}

std::string ValueText(const Row& row, size_t column) {
  return column < row.size() ? CellText(row[column]) : std::string();
}

absl::Status Postmortem(const Store& store, const Scenario& scenario,
                        Printer& out) {
  const ScenarioTruth& truth = scenario.truth;
  // The incident as an on-call engineer meets it: the first request that
  // went wrong (the alert), and the window from a little before it to now.
  const uint64_t alert = truth.symptom_start_ns != 0 ? truth.symptom_start_ns
                                                     : truth.fault_start_ns;
  const uint64_t from = std::max(scenario.start_ns, alert - 120'000'000'000);
  const uint64_t to = scenario.end_ns + 1;
  out.Section("Postmortem");
  out.Text(absl::StrFormat(
      "  The first request went wrong at %s. Every answer below is the\n"
      "  output of the TimeQL statement above it; run any of them again as "
      "shown.\n",
      FormatTimeMs(alert)));

  out.Section("1. What changed before it (configs and deployments)");
  RunAndPrint(
      store,
      absl::StrCat("CHANGES BETWEEN ", Quoted(from), " AND ", Quoted(alert),
                   " WHERE entity_type IN ('config', 'deployment')"),
      12, out);

  out.Section(
      "2. How it unfolded: the first error log or exception of each kind, by "
      "service");
  RunAndPrint(store,
              absl::StrCat("EVENTS MIN(time) AS first, service, name, "
                           "COUNT(*) AS events FROM ",
                           Quoted(from), " TO ", Quoted(to),
                           " WHERE severity >= 'error' AND type != 'span' "
                           "GROUP BY service, name ORDER BY first LIMIT 12"),
              12, out);

  // The root cause is asked before it is shown, so that the state of the
  // service it blames can be shown first.
  const std::string root_cause = absl::StrCat(
      "ROOT CAUSE OF WINDOW ", Quoted(from), " TO ", Quoted(to), " LIMIT 3");
  absl::StatusOr<Result> ranked = Query(store, root_cause);
  std::string blamed;
  bool blamed_entity = false;
  std::vector<std::string> evidence;
  if (ranked.ok()) {
    absl::StatusOr<std::vector<Row>> rows = ranked->ReadAll();
    if (rows.ok() && !rows->empty()) {
      // Columns: rank, kind, name, score, explanation, evidence.
      blamed_entity = ValueText((*rows)[0], 1) == "entity";
      blamed = ValueText((*rows)[0], 2);
      if (!blamed_entity) {
        blamed = blamed.substr(0, blamed.find(' '));  // "svc op" -> "svc"
      }
      evidence =
          absl::StrSplit(ValueText((*rows)[0], 5), ' ', absl::SkipEmpty());
    }
  }

  if (!blamed.empty()) {
    out.Section(absl::StrFormat(
        "3. The state of %s (blamed in 4) one second before the first failure",
        blamed));
    RunAndPrint(
        store,
        absl::StrCat("STATE AT ", Quoted(alert - 1'000'000'000),
                     blamed_entity
                         ? absl::StrCat(" WHERE entity = '", blamed, "'")
                         : absl::StrCat(" WHERE service = '", blamed,
                                        "' AND entity_type != 'pod'")),
        16, out);
  } else {
    out.Section("3. The state one second before the first failure");
    RunAndPrint(store,
                absl::StrCat("STATE AT ", Quoted(alert - 1'000'000'000),
                             " WHERE entity_type IN ('config', "
                             "'db_connection_pool')"),
                16, out);
  }

  out.Section("4. The root cause, ranked, with the evidence of the first");
  RunAndPrint(store, root_cause, 3, out);
  if (!evidence.empty()) {
    std::vector<std::string> quoted;
    for (size_t i = 0; i < evidence.size() && i < 6; ++i) {
      quoted.push_back(absl::StrCat("'", evidence[i], "'"));
    }
    RunAndPrint(store,
                absl::StrCat("EVENTS time, service, type, name, message WHERE "
                             "id IN (",
                             absl::StrJoin(quoted, ", "), ") ORDER BY time"),
                6, out);
  }

  out.Section(absl::StrFormat("5. Does the window match the %s pattern?",
                              truth.pattern));
  RunAndPrint(store,
              absl::StrCat("MATCH PATTERN ", truth.pattern, " FROM ",
                           Quoted(from), " TO ", Quoted(to)),
              5, out);

  out.Section("What the generator injected (the ground truth, to compare)");
  out.Text(absl::StrFormat("  fault       %s in %s, from %s\n",
                           FaultKindName(truth.fault), truth.root_cause_service,
                           FormatTimeMs(truth.fault_start_ns)));
  if (!truth.root_cause_entity.empty()) {
    out.Text(absl::StrFormat("  change      %s\n", truth.root_cause_entity));
  }
  if (!truth.resource_entity.empty()) {
    out.Text(absl::StrFormat("  exhausted   %s\n", truth.resource_entity));
  }
  out.Text(absl::StrFormat("  pattern     %s\n", truth.pattern));
  out.Text(absl::StrFormat("  affected    %s\n",
                           absl::StrJoin(truth.affected_services, ", ")));
  std::string line;
  for (absl::string_view word :
       absl::StrSplit(truth.description, ' ', absl::SkipEmpty())) {
    if (!line.empty() && line.size() + 1 + word.size() > 76) {
      out.Text(absl::StrCat("  ", line, "\n"));
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) out.Text(absl::StrCat("  ", line, "\n"));
  for (const std::string& herring : truth.red_herrings) {
    out.Text(absl::StrCat("  red herring ", herring, "\n"));
  }
  return absl::OkStatus();
}

}  // namespace

int RunDemo(absl::Span<const std::string> args) {
  std::string dir = "./traversion-demo";
  uint64_t seed = 1;
  uint64_t events = 20'000;
  uint64_t services = 10;
  std::string end;
  std::string fault_name = "pool_exhaustion";
  std::string topology_name = "shop";
  std::string fault_service;
  FlagSet flags;
  flags.AddString("store", "DIR", &dir,
                  "where to record (default ./traversion-demo)");
  flags.AddString("fault", "KIND", &fault_name,
                  "the fault to inject (default pool_exhaustion):\n"
                  "pool_exhaustion, slow_dependency, dependency_errors,\n"
                  "cpu_contention, memory_leak_oom, retry_storm, bad_deploy");
  flags.AddString("topology", "NAME", &topology_name,
                  "shop (default) or layered: a random call graph");
  flags.AddUint64("services", "N", &services,
                  "layered: how many services (4..40, default 10)");
  flags.AddString("service", "NAME", &fault_service,
                  "the faulty service (default: the fault's usual one in\n"
                  "the shop, one drawn from the seed in a layered graph)");
  flags.AddUint64("seed", "N", &seed, "random seed (default 1)");
  flags.AddUint64(
      "events", "N", &events,
      "about how many events to record (default 20000, at most\n1000000)");
  flags.AddString("end", "T", &end,
                  "the end of the simulated window (default now)");
  if (std::optional<int> exit = ParseCommandLine(kHelp, flags, args)) {
    return *exit;
  }
  // The scenario is built in memory (about 1.6 KiB per event) before it is
  // written; a million events is plenty for a demo.
  if (events > 1'000'000) {
    return UsageError("demo", "--events: at most 1000000");
  }
  if (dir.empty()) return UsageError("demo", "--store: empty directory name");
  ScenarioOptions options;
  std::optional<FaultKind> fault = ParseFaultKind(fault_name);
  if (!fault.has_value()) {
    std::vector<std::string> names;
    for (FaultKind f : AllFaultKinds()) {
      names.push_back(std::string(FaultKindName(f)));
    }
    return UsageError("demo",
                      absl::StrCat("--fault: unknown fault '", fault_name,
                                   "'; one of ", absl::StrJoin(names, ", ")));
  }
  std::optional<TopologyKind> topology = ParseTopologyKind(topology_name);
  if (!topology.has_value()) {
    return UsageError(
        "demo", absl::StrCat("--topology: unknown topology '", topology_name,
                             "'; shop or layered"));
  }
  if (services < 4 || services > 40) {
    return UsageError("demo", "--services: between 4 and 40");
  }
  options.seed = seed;
  options.fault = *fault;
  options.topology = *topology;
  options.services = static_cast<size_t>(services);
  options.fault_service = fault_service;
  options.target_events = static_cast<size_t>(events);
  options.end_ns = Clock::Real()->NowNanos();
  if (!end.empty()) {
    absl::StatusOr<uint64_t> t = ParseTimeArg(end, options.end_ns);
    if (!t.ok()) {
      return UsageError("demo", absl::StrCat("--end: ", t.status().message()));
    }
    options.end_ns = *t;
  }
  if (options.end_ns < options.duration_ns) {
    return UsageError("demo", "--end: must be after 1970-01-01T00:10:00Z");
  }

  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<Scenario> scenario = GenerateScenario(options);
  if (!scenario.ok()) {
    // Options the generator refuses are the user's to fix (--service).
    return UsageError("demo", scenario.status().message());
  }
  if (absl::Status s = PrepareStoreDir(dir); !s.ok()) return Fail("demo", s);
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir);
  if (!store.ok()) {
    return Fail("demo", StoreOpenError(dir, store.status()));
  }
  constexpr size_t kBatch = 4096;
  absl::Span<const Event> all(scenario->events);
  for (size_t i = 0; i < all.size(); i += kBatch) {
    absl::StatusOr<traversion::WriteResult> written =
        (*store)->Write(all.subspan(i, std::min(kBatch, all.size() - i)));
    if (!written.ok()) return Fail("demo", written.status());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();

  absl::StatusOr<Overview> overview = Survey(**store);
  if (!overview.ok()) return Fail("demo", overview.status());
  Printer out(dir);
  out.Text(absl::StrFormat(
      "Recorded %s events from %d services into %s in %.2f s\n"
      "(%s in the %s topology, seed %d; %s to %s)\n",
      WithThousands(overview->total), overview->counts.size(), dir, seconds,
      FaultKindName(options.fault), TopologyKindName(options.topology), seed,
      FormatTimeMs(scenario->start_ns), FormatTimeMs(scenario->end_ns)));
  out.Section("Events by service and type");
  out.Text(CountsTable(*overview));
  if (absl::Status s = Postmortem(**store, *scenario, out); !s.ok()) {
    return Fail("demo", s);
  }
  out.Section("Next");
  out.Text(absl::StrFormat("  traversion events %s --type error\n", dir));
  out.Text(absl::StrFormat(
      "  traversion query %s \"TRAVERSE FROM LAST ERROR FOLLOWING backward\"\n",
      dir));
  out.Text(absl::StrFormat(
      "  traversion query %s \"COMPARE %s WITH %s FOR cpu, memory, "
      "errorRate\"\n",
      dir, Quoted(scenario->truth.fault_start_ns - 60'000'000'000),
      Quoted(scenario->end_ns)));
  out.Text(absl::StrFormat(
      "  traversion query %s \"EVENTS service, COUNT(*), P99(duration) "
      "WHERE type = 'span' GROUP BY service\"\n",
      dir));
  out.Text(absl::StrFormat("  traversion shell %s\n", dir));
  out.Text(absl::StrFormat("  traversion export %s > demo.jsonl\n", dir));
  return kExitOk;
}

}  // namespace traversion::cli
