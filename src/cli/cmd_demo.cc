// `traversion demo`: records a generated multi-service workload into a
// store, then shows what is in it, using the store's own queries.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/types/span.h"
#include "cli/common.h"
#include "cli/demo_workload.h"
#include "cli/event_text.h"
#include "cli/flags.h"
#include "traversion/clock.h"
#include "traversion/event.h"
#include "traversion/store.h"

namespace traversion::cli {
namespace {

namespace fs = std::filesystem;

constexpr CommandHelp kHelp = {
    "demo",
    "[--store DIR] [--seed N] [--events N] [--end T]",
    "Records ten minutes of a generated shop, ending now, into a store and\n"
    "shows what is in it. Five services (web-frontend -> api-gateway ->\n"
    "orders-service -> inventory-service and payments-service, on postgres)\n"
    "produce traces of nested spans with logs, errors with stack traces,\n"
    "gauges every 5 s, and entity states: connection pools, a config, the\n"
    "deployments, cache nodes. Halfway through, a config change shrinks the\n"
    "payments connection pool; as its active count grows it saturates and\n"
    "checkouts start failing.\n"
    "\n"
    "The same seed gives the same events (relative to --end). An existing\n"
    "store directory is replaced; any other existing, non-empty directory is\n"
    "left alone and the command fails.",
    "  traversion demo\n"
    "  traversion demo --store /tmp/shop --seed 7 --events 50000\n"
    "  traversion demo --end 2024-01-15T15:50:00Z\n",
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

std::string Section(absl::string_view title) {
  return absl::StrCat("\n", title, "\n");
}

// --- counts
// -------------------------------------------------------------------

struct Overview {
  // service -> type -> count
  std::map<std::string, std::map<EventType, uint64_t>> counts;
  uint64_t total = 0;
  std::optional<TraceId> slowest_trace;
  uint64_t slowest_ns = 0;
};

absl::StatusOr<Overview> Survey(const Store& store) {
  Overview overview;
  EventCursor cursor = store.Scan(EventFilter{});
  while (cursor.Next()) {
    const Event& event = cursor.event();
    ++overview.counts[event.service.name][event.effective_type()];
    ++overview.total;
    const SpanData* span = event.span();
    if (span != nullptr && !event.trace.has_parent() &&
        span->duration_ns > overview.slowest_ns) {
      overview.slowest_ns = span->duration_ns;
      overview.slowest_trace = event.trace.trace_id;
    }
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

// --- the slowest trace as a tree
// ------------------------------------------------

struct SpanNode {
  const Event* span = nullptr;
  std::vector<const Event*> notes;  // logs and errors inside the span
  std::vector<SpanNode*> children;
};

// "+41.2ms" from the start of the trace.
std::string Offset(uint64_t ns) {
  return ns == 0 ? std::string("+0") : absl::StrCat("+", FormatDuration(ns));
}

std::string FirstLine(absl::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

void PrintTree(const SpanNode& node, uint64_t trace_start, size_t depth,
               size_t left_width, std::string* out) {
  const Event& span = *node.span;
  std::string left =
      absl::StrCat(std::string(2 * depth, ' '), span.service.name);
  absl::StrAppendFormat(
      out, "  %9s  %s  %s  %s\n", Offset(span.time_ns - trace_start),
      PadRight(left, left_width), PadRight(Truncate(span.name, 24), 24),
      Truncate(SpanOutcome(*span.span()), 60));
  // Notes and child spans, interleaved in time order.
  struct Item {
    uint64_t time_ns;
    const Event* note;      // a log or error, or
    const SpanNode* child;  // a child span
  };
  std::vector<Item> items;
  for (const Event* note : node.notes) {
    items.push_back({note->time_ns, note, nullptr});
  }
  for (const SpanNode* child : node.children) {
    items.push_back({child->span->time_ns, nullptr, child});
  }
  std::stable_sort(
      items.begin(), items.end(),
      [](const Item& a, const Item& b) { return a.time_ns < b.time_ns; });
  for (const Item& item : items) {
    if (item.child != nullptr) {
      PrintTree(*item.child, trace_start, depth + 1, left_width, out);
      continue;
    }
    const Event& note = *item.note;
    std::string marker = note.error() != nullptr
                             ? "! error"
                             : absl::StrCat("· ", SeverityLabel(note.severity));
    absl::StrAppendFormat(
        out, "  %9s  %s%s %s\n", Offset(note.time_ns - trace_start),
        std::string(2 * (depth + 1), ' '), PadRight(marker, 7),
        Truncate(FirstLine(EventDetail(note)), 100));
  }
}

absl::StatusOr<std::string> TraceTree(const Store& store,
                                      const TraceId& trace_id) {
  absl::StatusOr<std::vector<Event>> events = store.GetTrace(trace_id);
  if (!events.ok()) return events.status();
  absl::flat_hash_map<SpanId, SpanNode> nodes;
  for (const Event& event : *events) {
    if (event.span() != nullptr) nodes[event.trace.span_id].span = &event;
  }
  std::vector<SpanNode*> roots;
  for (const Event& event : *events) {
    auto it = nodes.find(event.trace.span_id);
    if (event.span() == nullptr) {
      if (it != nodes.end()) it->second.notes.push_back(&event);
      continue;
    }
    SpanNode* node = &it->second;
    auto parent = event.trace.has_parent()
                      ? nodes.find(event.trace.parent_span_id)
                      : nodes.end();
    if (parent != nodes.end()) {
      parent->second.children.push_back(node);
    } else {
      roots.push_back(node);
    }
  }
  if (roots.empty()) return std::string("  (no spans)\n");
  // Width of "indent + service" over the tree, so the names line up.
  size_t left_width = 0;
  std::vector<std::pair<const SpanNode*, size_t>> stack;
  for (const SpanNode* root : roots) stack.push_back({root, 0});
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    left_width = std::max(left_width,
                          2 * depth + DisplayWidth(node->span->service.name));
    for (const SpanNode* child : node->children) {
      stack.push_back({child, depth + 1});
    }
  }
  std::string out;
  const uint64_t start = (*events)[0].time_ns;
  for (const SpanNode* root : roots) {
    PrintTree(*root, start, 0, left_width, &out);
  }
  return out;
}

// --- entities
// -------------------------------------------------------------------

std::string FieldsText(const std::vector<EntityField>& fields) {
  std::vector<std::string> parts;
  for (const EntityField& field : fields) {
    parts.push_back(absl::StrCat(field.name, "=", field.value));
  }
  return absl::StrJoin(parts, " ");
}

// One line per changed field (a single line for added and removed ones).
std::vector<std::string> ChangeLines(const EntityChange& change) {
  if (change.kind == ChangeKind::kAdded && change.after.has_value()) {
    return {FieldsText(change.after->fields)};
  }
  if (change.kind == ChangeKind::kRemoved) {
    if (!change.before.has_value()) return {""};
    return {absl::StrCat("was ", FieldsText(change.before->fields))};
  }
  std::vector<std::string> lines;
  for (const FieldChange& field : change.fields) {
    lines.push_back(absl::StrFormat("%s: %s -> %s", field.name,
                                    field.before.value_or("(none)"),
                                    field.after.value_or("(none)")));
  }
  if (lines.empty()) lines.push_back("");
  return lines;
}

// "4 -> 5 -> 6 ..." for one field over an entity's history, consecutive
// repeats collapsed.
absl::StatusOr<std::string> FieldHistory(const Store& store,
                                         absl::string_view entity,
                                         absl::string_view field,
                                         size_t* revisions) {
  absl::StatusOr<std::vector<EntityRevision>> history =
      store.EntityHistory(entity);
  if (!history.ok()) return history.status();
  *revisions = history->size();
  std::vector<std::string> values;
  for (const EntityRevision& revision : *history) {
    for (const EntityField& f : revision.fields) {
      if (f.name == field && (values.empty() || values.back() != f.value)) {
        values.push_back(f.value);
      }
    }
  }
  return absl::StrJoin(values, " -> ");
}

absl::Status Report(const Store& store, const demo::DemoWorkload& workload,
                    const std::string& dir, double seconds, uint64_t seed) {
  absl::StatusOr<Overview> overview = Survey(store);
  if (!overview.ok()) return overview.status();
  std::string out = absl::StrFormat(
      "Recorded %s events from %d services into %s in %.2f s\n"
      "(a simulated shop, %s to %s, seed %d)\n",
      WithThousands(overview->total), overview->counts.size(), dir, seconds,
      FormatTimeMs(workload.start_ns), FormatTimeMs(workload.end_ns), seed);

  absl::StrAppend(&out, Section("Events by service and type"),
                  CountsTable(*overview));

  if (overview->slowest_trace.has_value()) {
    absl::StatusOr<std::string> tree =
        TraceTree(store, *overview->slowest_trace);
    if (!tree.ok()) return tree.status();
    absl::StrAppend(
        &out,
        Section(absl::StrFormat("Slowest trace %s (%s)",
                                ToHex(*overview->slowest_trace),
                                FormatDuration(overview->slowest_ns))),
        *tree);
  }

  EventFilter errors;
  errors.types = {EventType::kError};
  errors.newest_first = true;
  errors.limit = 5;
  EventCursor cursor = store.Scan(errors);
  absl::StrAppend(&out, Section("Latest errors"));
  size_t shown = 0;
  while (cursor.Next()) {
    const Event& event = cursor.event();
    absl::StrAppendFormat(&out, "  %s  %s  %s\n", FormatTimeMs(event.time_ns),
                          PadRight(event.service.name, 17),
                          Truncate(FirstLine(EventDetail(event)), 90));
    ++shown;
  }
  if (!cursor.status().ok()) return cursor.status();
  if (shown == 0) absl::StrAppend(&out, "  (none)\n");

  absl::StatusOr<std::vector<EntityRevision>> state =
      store.StateAt(workload.end_ns);
  if (!state.ok()) return state.status();
  absl::StrAppend(&out,
                  Section(absl::StrFormat("Entity states at %s (StateAt)",
                                          FormatTimeMs(workload.end_ns))));
  size_t entity_width = 6;
  for (const EntityRevision& revision : *state) {
    entity_width = std::max(entity_width, DisplayWidth(revision.entity));
  }
  absl::StrAppendFormat(&out, "  %s  %5s  %s\n",
                        PadRight("ENTITY", entity_width), "REV", "FIELDS");
  for (const EntityRevision& revision : *state) {
    absl::StrAppendFormat(
        &out, "  %s  %5d  %s\n", PadRight(revision.entity, entity_width),
        revision.revision, Truncate(FieldsText(revision.fields), 90));
  }

  absl::StatusOr<std::vector<EntityChange>> changes =
      store.ChangesBetween(workload.start_ns, workload.end_ns);
  if (!changes.ok()) return changes.status();
  absl::StrAppend(&out, Section("What changed over the window "
                                "(ChangesBetween start and end)"));
  if (changes->empty()) absl::StrAppend(&out, "  (nothing)\n");
  for (const EntityChange& change : *changes) {
    std::vector<std::string> lines = ChangeLines(change);
    for (size_t i = 0; i < lines.size(); ++i) {
      absl::StrAppendFormat(&out, "  %-8s  %s  %s\n",
                            i == 0 ? ChangeKindName(change.kind) : "",
                            PadRight(i == 0 ? change.entity : "", entity_width),
                            Truncate(lines[i], 110));
    }
  }
  size_t revisions = 0;
  absl::StatusOr<std::string> pool = FieldHistory(
      store, workload.truth.saturated_entity, "active", &revisions);
  if (!pool.ok()) return pool.status();
  absl::StrAppend(&out,
                  Section(absl::StrFormat("History of %s (EntityHistory)",
                                          workload.truth.saturated_entity)),
                  absl::StrFormat("  %d revisions; active connections: %s\n",
                                  revisions, *pool));

  absl::StrAppend(
      &out, Section("Next"),
      absl::StrFormat("  traversion events %s --type error\n", dir),
      absl::StrFormat("  traversion events %s --from %s --min-severity warn "
                      "--service payments-service\n",
                      dir,
                      FormatTimeSeconds(workload.truth.root_cause_time_ns -
                                        10'000'000'000)));
  if (overview->slowest_trace.has_value()) {
    absl::StrAppendFormat(&out, "  traversion events %s --trace %s\n", dir,
                          ToHex(*overview->slowest_trace));
    absl::StrAppendFormat(&out, "  traversion query %s \"TRACE '%s'\"\n", dir,
                          ToHex(*overview->slowest_trace));
  }
  absl::StrAppendFormat(
      &out,
      "  traversion query %s \"EVENTS service, COUNT(*), P99(duration) "
      "WHERE type = 'span' GROUP BY service\"\n",
      dir);
  absl::StrAppendFormat(&out, "  traversion query %s \"STATE AT '%s'\"\n", dir,
                        FormatTimeSeconds(workload.truth.root_cause_time_ns));
  absl::StrAppendFormat(&out, "  traversion shell %s\n", dir);
  absl::StrAppendFormat(&out, "  traversion stats %s\n", dir);
  absl::StrAppendFormat(&out, "  traversion export %s > demo.jsonl\n", dir);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return absl::OkStatus();
}

}  // namespace

int RunDemo(absl::Span<const std::string> args) {
  std::string dir = "./traversion-demo";
  uint64_t seed = 1;
  uint64_t events = 20'000;
  std::string end;
  FlagSet flags;
  flags.AddString("store", "DIR", &dir,
                  "where to record (default ./traversion-demo)");
  flags.AddUint64("seed", "N", &seed, "random seed (default 1)");
  flags.AddUint64(
      "events", "N", &events,
      "about how many events to record (default 20000, at most\n1000000)");
  flags.AddString("end", "T", &end,
                  "the end of the simulated window (default now)");
  if (std::optional<int> exit = ParseCommandLine(kHelp, flags, args)) {
    return *exit;
  }
  // The workload is built in memory (about 1.6 KiB per event) before it is
  // written; a million events is plenty for a demo.
  if (events > 1'000'000) {
    return UsageError("demo", "--events: at most 1000000");
  }
  if (dir.empty()) return UsageError("demo", "--store: empty directory name");
  demo::DemoWorkloadOptions options;
  options.seed = seed;
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
  if (absl::Status s = PrepareStoreDir(dir); !s.ok()) return Fail("demo", s);
  demo::DemoWorkload workload = demo::GenerateDemoWorkload(options);

  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir);
  if (!store.ok()) {
    return Fail("demo", StoreOpenError(dir, store.status()));
  }
  constexpr size_t kBatch = 4096;
  absl::Span<const Event> all(workload.events);
  for (size_t i = 0; i < all.size(); i += kBatch) {
    absl::StatusOr<WriteResult> written =
        (*store)->Write(all.subspan(i, std::min(kBatch, all.size() - i)));
    if (!written.ok()) return Fail("demo", written.status());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  if (absl::Status s = Report(**store, workload, dir, seconds, seed); !s.ok()) {
    return Fail("demo", s);
  }
  return kExitOk;
}

}  // namespace traversion::cli
