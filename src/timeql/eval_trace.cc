// Traces: the trace cache behind structural conditions, TRACE (the span
// tree), TRAVERSE and ROOT CAUSE OF (through a CausalityProvider).
#include <algorithm>
#include <cstdint>
#include <functional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "timeql/diagnostics.h"
#include "timeql/evaluator.h"
#include "timeql/plan.h"
#include "util/status_macros.h"

namespace traversion::timeql {

// --- trace data
// ---------------------------------------------------------------

std::string SpanKey(const SpanId& id) {
  return std::string(reinterpret_cast<const char*>(id.data()), id.size());
}

TraceData BuildTraceData(std::vector<Event> events) {
  TraceData t;
  t.events = std::move(events);
  for (size_t i = 0; i < t.events.size(); ++i) {
    const Event& e = t.events[i];
    if (e.effective_type() == EventType::kSpan) {
      t.span_index.try_emplace(SpanKey(e.trace.span_id), i);
    }
  }
  const std::string zero(8, '\0');
  for (size_t i = 0; i < t.events.size(); ++i) {
    const Event& e = t.events[i];
    std::string parent_key;
    if (e.effective_type() == EventType::kSpan) {
      if (e.trace.has_parent()) parent_key = SpanKey(e.trace.parent_span_id);
    } else {
      parent_key = SpanKey(e.trace.span_id);
    }
    if (!parent_key.empty() && parent_key != zero) {
      auto it = t.span_index.find(parent_key);
      if (it != t.span_index.end() && it->second != i) {
        t.parent[i] = it->second;
        t.children[it->second].push_back(i);
        continue;
      }
    }
    t.roots.push_back(i);
  }
  return t;
}

TraceCache::TraceCache(const Store* store, std::shared_ptr<Budget> budget)
    : store_(store), budget_(std::move(budget)) {}

const TraceData* TraceCache::Get(const TraceId& trace_id) {
  constexpr size_t kMaxTraces = 256;
  std::string key(reinterpret_cast<const char*>(trace_id.data()),
                  trace_id.size());
  auto it = traces_.find(key);
  if (it != traces_.end()) return it->second.get();
  if (!status_.ok()) return nullptr;
  auto events = store_->GetTrace(trace_id);
  if (!events.ok()) {
    status_ = events.status();
    return nullptr;
  }
  if (absl::Status s = budget_->Examine(events->size()); !s.ok()) {
    status_ = std::move(s);
    return nullptr;
  }
  if (order_.size() >= kMaxTraces) {
    traces_.erase(order_.front());
    order_.pop_front();
  }
  auto data = std::make_unique<TraceData>(BuildTraceData(std::move(*events)));
  const TraceData* raw = data.get();
  traces_.emplace(key, std::move(data));
  order_.push_back(key);
  return raw;
}

int64_t TraceCache::IndexOf(const TraceData& trace, const Event& event) {
  if (event.effective_type() == EventType::kSpan) {
    auto it = trace.span_index.find(SpanKey(event.trace.span_id));
    if (it != trace.span_index.end() &&
        trace.events[it->second].id == event.id) {
      return static_cast<int64_t>(it->second);
    }
  }
  for (size_t i = 0; i < trace.events.size(); ++i) {
    if (trace.events[i].id == event.id) return static_cast<int64_t>(i);
  }
  return -1;
}

namespace {

Value NullIfEmpty(std::string s) {
  if (s.empty()) return std::monostate{};
  return s;
}

Value OptDuration(const Event& e) {
  if (const SpanData* s = e.span()) {
    return DurationValue{static_cast<int64_t>(s->duration_ns)};
  }
  return std::monostate{};
}

Value OptStatus(const Event& e) {
  if (const SpanData* s = e.span()) {
    return std::string(SpanStatusText(s->status));
  }
  return std::monostate{};
}

std::string EventJsonFields(const Event& e) {
  std::string out = absl::StrCat(
      "\"id\":", JsonString(e.id.ToString()),
      ",\"time\":", JsonValue(TimeValue{static_cast<int64_t>(e.time_ns)}),
      ",\"type\":", JsonString(EventTypeName(e.effective_type())),
      ",\"service\":", JsonString(e.service.name),
      ",\"name\":", JsonString(e.name));
  if (e.trace.has_trace()) {
    absl::StrAppend(&out, ",\"span_id\":", JsonString(ToHex(e.trace.span_id)));
  }
  if (e.severity != Severity::kUnspecified) {
    absl::StrAppend(&out,
                    ",\"severity\":", JsonString(SeverityName(e.severity)));
  }
  if (const SpanData* s = e.span()) {
    absl::StrAppend(&out, ",\"duration_ns\":", s->duration_ns,
                    ",\"status\":", JsonString(SpanStatusText(s->status)));
  }
  const std::string message = EventMessage(e);
  if (!message.empty()) {
    absl::StrAppend(&out, ",\"message\":", JsonString(message));
  }
  if (ErrorOccurred(e)) absl::StrAppend(&out, ",\"error\":true");
  return out;
}

std::vector<Column> EventColumns(std::vector<Column> prefix) {
  static const Column kRest[] = {
      {"time", ColumnType::kTime},      {"id", ColumnType::kString},
      {"type", ColumnType::kString},    {"service", ColumnType::kString},
      {"name", ColumnType::kString},    {"severity", ColumnType::kString},
      {"span_id", ColumnType::kString}, {"duration", ColumnType::kDuration},
      {"status", ColumnType::kString},  {"message", ColumnType::kString}};
  for (const Column& c : kRest) prefix.push_back(c);
  return prefix;
}

void AppendEventCells(const Event& e, Row* row) {
  row->push_back(TimeValue{static_cast<int64_t>(e.time_ns)});
  row->push_back(e.id.ToString());
  row->push_back(std::string(EventTypeName(e.effective_type())));
  row->push_back(NullIfEmpty(e.service.name));
  row->push_back(NullIfEmpty(e.name));
  row->push_back(e.severity == Severity::kUnspecified
                     ? Value(std::monostate{})
                     : Value(std::string(SeverityName(e.severity))));
  row->push_back(e.trace.has_trace() ? Value(ToHex(e.trace.span_id))
                                     : Value(std::monostate{}));
  row->push_back(OptDuration(e));
  row->push_back(OptStatus(e));
  row->push_back(NullIfEmpty(EventMessage(e)));
}

absl::StatusOr<Event> LatestMatching(
    const Context& ctx, const ScanPlan& plan, const CExpr* where,
    const std::function<bool(const Event&)>& also) {
  if (plan.nothing) return absl::NotFoundError("no event matches");
  EventFilter filter = plan.filter;
  filter.newest_first = true;
  EventCursor cursor = ctx.store->Scan(filter);
  TraceCache traces(ctx.store, ctx.budget);
  EvalEnv env;
  env.traces = &traces;
  uint64_t counted = 0;
  while (cursor.Next()) {
    TV_RETURN_IF_ERROR(ctx.budget->Examine(cursor.examined() - counted));
    counted = cursor.examined();
    const Event& e = cursor.event();
    if (where != nullptr && !Holds(*where, EvalRow{&e, nullptr}, env)) {
      TV_RETURN_IF_ERROR(traces.status());
      continue;
    }
    if (also && !also(e)) continue;
    return e;
  }
  TV_RETURN_IF_ERROR(cursor.status());
  return absl::NotFoundError("no event matches");
}

// Walks a trace's tree depth-first, children in time order: fn(index, depth,
// parent index or SIZE_MAX, true) on entering a node, fn(..., false) on
// leaving it. Iterative, so a deep trace cannot exhaust the stack.
template <typename Fn>
void ForEachInTree(const TraceData& t, Fn fn) {
  std::vector<bool> visited(t.events.size(), false);
  struct Frame {
    size_t index;
    int64_t depth;
    size_t parent;
    size_t next_child;
  };
  std::vector<Frame> stack;
  auto enter = [&](size_t i, int64_t depth, size_t parent) {
    visited[i] = true;
    fn(i, depth, parent, true);
    stack.push_back(Frame{i, depth, parent, 0});
  };
  auto run = [&](size_t root) {
    if (visited[root]) return;
    enter(root, 0, SIZE_MAX);
    while (!stack.empty()) {
      Frame& f = stack.back();
      auto it = t.children.find(f.index);
      if (it != t.children.end() && f.next_child < it->second.size()) {
        const size_t c = it->second[f.next_child++];
        if (!visited[c]) enter(c, f.depth + 1, f.index);
        continue;
      }
      const Frame done = f;
      stack.pop_back();
      fn(done.index, done.depth, done.parent, false);
    }
  };
  for (size_t r : t.roots) run(r);
  for (size_t i = 0; i < t.events.size(); ++i) run(i);
}

}  // namespace

absl::StatusOr<Event> ResolveEventRef(const EventRef& ref,
                                      absl::string_view text,
                                      const Context& ctx) {
  std::string id_text;
  switch (ref.kind) {
    case EventRef::Kind::kId:
      id_text = ref.text;
      break;
    case EventRef::Kind::kParameter: {
      auto it = ctx.parameters.find(ref.text);
      if (it == ctx.parameters.end()) {
        return SyntaxError(
            text, ref.range,
            absl::StrCat("parameter '", ref.text,
                         "' has no value; bind it with QueryOptions::"
                         "parameters[\"",
                         ref.text, "\"] (the CLI: --param ", ref.text,
                         "=<event id>)"));
      }
      id_text = it->second;
      break;
    }
    case EventRef::Kind::kLastError: {
      auto e = LatestMatching(ctx, ScanPlan{}, nullptr, ErrorOccurred);
      if (absl::IsNotFound(e.status())) {
        return absl::NotFoundError("LAST ERROR: the store holds no error");
      }
      return e;
    }
    case EventRef::Kind::kWhere: {
      if (ref.where == nullptr) {
        return SyntaxError(text, ref.range, "WHERE needs a condition");
      }
      TV_ASSIGN_OR_RETURN(CExprPtr where, Compile(*ref.where, text, ctx.now_ns,
                                                  CompileOptions{}));
      ScanPlan plan = PlanScan(ref.where.get(), TimeBounds{}, text, ctx.now_ns);
      auto e = LatestMatching(ctx, plan, plan.residual ? where.get() : nullptr,
                              nullptr);
      if (absl::IsNotFound(e.status())) {
        return absl::NotFoundError(
            "no event matches the WHERE of the start event");
      }
      return e;
    }
  }
  std::optional<EventId> id = EventId::Parse(id_text);
  if (!id.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no event '", id_text,
                     "': event ids are 32 hex digits (see the id column of "
                     "EVENTS)"));
  }
  auto event = ctx.store->GetEvent(*id);
  if (absl::IsNotFound(event.status())) {
    return absl::NotFoundError(
        absl::StrCat("no event '", id_text, "' in this store"));
  }
  return event;
}

// --- TRACE
// ----------------------------------------------------------------------

absl::StatusOr<Result> RunTrace(const TraceStmt& stmt, absl::string_view text,
                                const Context& ctx) {
  if (stmt.trace_id == nullptr) return absl::InvalidArgumentError("TRACE id");
  TV_ASSIGN_OR_RETURN(std::string hex, EvalStringExpr(*stmt.trace_id, text));
  std::optional<TraceId> id = ParseTraceId(hex);
  if (!id.has_value()) {
    return SyntaxError(text, stmt.trace_id->range,
                       "not a trace id: expected 32 hex digits");
  }
  TV_ASSIGN_OR_RETURN(std::vector<Event> events, ctx.store->GetTrace(*id));
  TV_RETURN_IF_ERROR(ctx.budget->Examine(events.size()));
  auto trace =
      std::make_shared<const TraceData>(BuildTraceData(std::move(events)));
  std::vector<Column> columns = EventColumns(
      {{"depth", ColumnType::kInt64}, {"parent_span_id", ColumnType::kString}});
  std::vector<Row> rows;
  rows.reserve(trace->events.size());
  // Depth-first in time order, from the roots, then whatever a parent cycle
  // (malformed data) left unreached.
  ForEachInTree(
      *trace, [&](size_t i, int64_t depth, size_t parent, bool enter) {
        if (!enter) return;
        const Event& e = trace->events[i];
        Row row;
        row.reserve(12);
        row.push_back(depth);
        const Event* p = parent == SIZE_MAX ? nullptr : &trace->events[parent];
        row.push_back(p != nullptr && p->effective_type() == EventType::kSpan
                          ? Value(ToHex(p->trace.span_id))
                          : Value(std::monostate{}));
        AppendEventCells(e, &row);
        rows.push_back(std::move(row));
      });
  TV_RETURN_IF_ERROR(ctx.budget->CheckRows(rows.size()));
  auto source = std::make_unique<VectorSource>(
      std::move(rows), absl::StrCat("trace index: ", ToHex(*id)));
  source->SetLazyJson([trace, trace_hex = ToHex(*id)] {
    std::string json =
        absl::StrCat("{\"trace_id\":", JsonString(trace_hex), ",\"roots\":[");
    std::vector<bool> first_child = {true};
    ForEachInTree(*trace, [&](size_t i, int64_t depth, size_t, bool enter) {
      if (enter) {
        if (!first_child.back()) json += ",";
        first_child.back() = false;
        absl::StrAppend(&json, "{", EventJsonFields(trace->events[i]),
                        ",\"depth\":", depth, ",\"children\":[");
        first_child.push_back(true);
      } else {
        first_child.pop_back();
        json += "]}";
      }
    });
    json += "]}";
    return json;
  });
  return MakeResult(std::move(columns), std::move(source), "trace", ctx);
}

// --- TRAVERSE
// -------------------------------------------------------------------

absl::StatusOr<Result> RunTraverse(const TraverseStmt& stmt,
                                   absl::string_view text, const Context& ctx) {
  CExprPtr until;
  if (stmt.until) {
    TV_ASSIGN_OR_RETURN(
        until, Compile(*stmt.until, text, ctx.now_ns, CompileOptions{}));
  }
  TV_ASSIGN_OR_RETURN(Event start, ResolveEventRef(stmt.from, text, ctx));
  TraverseDirection direction = TraverseDirection::kCausality;
  const char* direction_name = "causality";
  if (stmt.direction == Direction::kBackward) {
    direction = TraverseDirection::kBackward;
    direction_name = "backward";
  } else if (stmt.direction == Direction::kForward) {
    direction = TraverseDirection::kForward;
    direction_name = "forward";
  }
  const int max_depth =
      stmt.depth.has_value()
          ? static_cast<int>(std::clamp<int64_t>(*stmt.depth, 0, 1 << 20))
          : 1000;
  const uint64_t limit =
      stmt.limit.has_value()
          ? static_cast<uint64_t>(std::max<int64_t>(0, *stmt.limit))
          : ctx.budget->max_rows();
  std::vector<Column> columns = EventColumns({{"step", ColumnType::kInt64},
                                              {"depth", ColumnType::kInt64},
                                              {"edge", ColumnType::kString},
                                              {"via", ColumnType::kString}});
  std::vector<Row> rows;
  std::string steps_json;
  bool found = false;
  absl::Status failure;
  TraceCache traces(ctx.store, ctx.budget);
  EvalEnv env;
  env.traces = &traces;
  auto visit = [&](const CausalStep& step) {
    if (rows.size() >= limit) return false;
    if (absl::Status s = ctx.budget->Examine(1); !s.ok()) {
      failure = std::move(s);
      return false;
    }
    Row row;
    row.push_back(static_cast<int64_t>(rows.size()));
    row.push_back(static_cast<int64_t>(step.depth));
    row.push_back(step.edge);
    row.push_back(step.via.has_value() ? Value(step.via->ToString())
                                       : Value(std::monostate{}));
    AppendEventCells(step.event, &row);
    rows.push_back(std::move(row));
    absl::StrAppend(&steps_json, steps_json.empty() ? "" : ",", "{",
                    EventJsonFields(step.event), ",\"depth\":", step.depth,
                    ",\"edge\":", JsonString(step.edge),
                    ",\"confidence\":", JsonValue(step.confidence));
    if (step.via.has_value()) {
      absl::StrAppend(&steps_json,
                      ",\"via\":", JsonString(step.via->ToString()));
    }
    steps_json += "}";
    // The start event is where the walk begins, not an answer to UNTIL.
    if (until != nullptr && step.depth > 0 &&
        Holds(*until, EvalRow{&step.event, nullptr}, env)) {
      found = true;
      return false;
    }
    return true;
  };
  TV_RETURN_IF_ERROR(
      ctx.causality->Traverse(*ctx.store, start, direction, max_depth, visit));
  TV_RETURN_IF_ERROR(failure);
  std::string json = absl::StrCat(
      "{\"start\":", JsonString(start.id.ToString()),
      ",\"direction\":", JsonString(direction_name), ",\"until\":",
      until != nullptr ? (found ? "\"found\"" : "\"not found\"") : "null",
      ",\"steps\":[", steps_json, "]}");
  auto source = std::make_unique<VectorSource>(
      std::move(rows),
      absl::StrCat("traverse ", direction_name, " from ", start.id.ToString()),
      std::move(json));
  return MakeResult(std::move(columns), std::move(source), "traverse", ctx);
}

// --- ROOT CAUSE
// -----------------------------------------------------------------

absl::StatusOr<Result> RunRootCause(const RootCauseStmt& stmt,
                                    absl::string_view text,
                                    const Context& ctx) {
  RootCauseRequest request;
  request.limit = stmt.limit.has_value()
                      ? static_cast<size_t>(std::max<int64_t>(0, *stmt.limit))
                      : 10;
  CExprPtr where;
  if (stmt.where) {
    TV_ASSIGN_OR_RETURN(
        where, Compile(*stmt.where, text, ctx.now_ns, CompileOptions{}));
  }
  TimeBounds bounds;
  if (stmt.event.has_value()) {
    TV_ASSIGN_OR_RETURN(Event e, ResolveEventRef(*stmt.event, text, ctx));
    request.event = std::move(e);
  } else {
    if (!stmt.window_from || !stmt.window_to) {
      return absl::InvalidArgumentError(
          "ROOT CAUSE OF needs an event or WINDOW t1 TO t2");
    }
    TV_ASSIGN_OR_RETURN(int64_t from,
                        EvalTimeExpr(*stmt.window_from, text, ctx.now_ns));
    TV_ASSIGN_OR_RETURN(int64_t to,
                        EvalTimeExpr(*stmt.window_to, text, ctx.now_ns));
    if (to <= from) {
      return SyntaxError(text, stmt.window_to->range,
                         "the window ends before it starts");
    }
    bounds.from_ns = static_cast<uint64_t>(std::max<int64_t>(0, from));
    bounds.to_ns = static_cast<uint64_t>(std::max<int64_t>(0, to));
    request.from_ns = bounds.from_ns;
    request.to_ns = bounds.to_ns;
  }
  ScanPlan plan = PlanScan(stmt.where.get(), bounds, text, ctx.now_ns);
  request.filter = plan.filter;
  request.max_events_examined =
      ctx.budget->examined() < 200'000'000 ? 200'000'000 : 0;
  TV_ASSIGN_OR_RETURN(std::vector<RootCauseCandidate> candidates,
                      ctx.causality->FindRootCause(*ctx.store, request));
  std::vector<Column> columns = {
      {"rank", ColumnType::kInt64},         {"kind", ColumnType::kString},
      {"name", ColumnType::kString},        {"score", ColumnType::kDouble},
      {"explanation", ColumnType::kString}, {"evidence", ColumnType::kString}};
  std::vector<Row> rows;
  std::string json = "{\"candidates\":[";
  for (size_t i = 0; i < candidates.size() && rows.size() < request.limit;
       ++i) {
    const RootCauseCandidate& c = candidates[i];
    std::vector<std::string> ids;
    for (const EventId& id : c.evidence) ids.push_back(id.ToString());
    rows.push_back(Row{static_cast<int64_t>(i + 1), c.kind, c.name, c.score,
                       c.explanation, absl::StrJoin(ids, " ")});
    std::vector<std::string> quoted;
    for (const std::string& id : ids) quoted.push_back(JsonString(id));
    absl::StrAppend(&json, i == 0 ? "" : ",", "{\"rank\":", i + 1,
                    ",\"kind\":", JsonString(c.kind),
                    ",\"name\":", JsonString(c.name),
                    ",\"score\":", JsonValue(c.score),
                    ",\"explanation\":", JsonString(c.explanation),
                    ",\"evidence\":[", absl::StrJoin(quoted, ","), "]}");
  }
  json += "]}";
  auto source = std::make_unique<VectorSource>(
      std::move(rows), "root cause via the causality provider",
      std::move(json));
  return MakeResult(std::move(columns), std::move(source), "root_cause", ctx);
}

}  // namespace traversion::timeql
