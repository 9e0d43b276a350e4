// MATCH PATTERN: sequences in the manner of Elastic EQL's `sequence by k
// with maxspan=d`.
//
// Events are read in time order. Per key (the BY fields; one global key
// without BY) a state machine keeps, for each step, the most recent partial
// sequence that has reached it. An event that satisfies step j extends the
// partial waiting at step j-1 (if that one started no more than WITHIN
// before); an event satisfying step 0 starts a new partial (replacing an
// older one). Steps are tried from the last to the first so one event never
// advances one sequence twice. When the last positive step completes:
//   - without NOT FOLLOWED BY, the match is emitted;
//   - with `NOT FOLLOWED BY c`, it waits until start + WITHIN (the end of the
//     range when there is no WITHIN): an event of the same key satisfying c
//     in that time cancels it; otherwise it is emitted. Matches still waiting
//     when the range ends are emitted (the absence holds up to the end of the
//     data read).
// A bare name in a condition that is not a field is a metric reference:
// `cpu > 80%` holds for a metric event named `cpu` (or `cpu.utilization`,
// `system.cpu`...) whose value is above 80 % (see fields.h for how a
// percentage compares).
#include <algorithm>
#include <deque>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "timeql/diagnostics.h"
#include "timeql/evaluator.h"
#include "util/status_macros.h"

namespace traversion::timeql {
namespace {

struct Seen {
  uint64_t time_ns = 0;
  EventId id;
  std::string type, service, name;
  Value value;
};

struct Partial {
  uint64_t start_ns = 0;
  std::vector<Seen> events;
};

struct Pending {
  uint64_t deadline_ns = 0;
  std::string key;
  Partial partial;
};

Seen Capture(const Event& e) {
  Seen s;
  s.time_ns = e.time_ns;
  s.id = e.id;
  s.type = std::string(EventTypeName(e.effective_type()));
  s.service = e.service.name;
  s.name = e.name;
  if (const MetricData* m = e.metric()) s.value = m->value;
  return s;
}

absl::StatusOr<Result> RunNamedPattern(const MatchStmt& stmt,
                                       absl::string_view text,
                                       const Context& ctx) {
  TV_ASSIGN_OR_RETURN(TimeBounds bounds,
                      ResolveTimeRange(stmt.time, text, ctx.now_ns));
  auto found = ctx.causality->DetectPattern(*ctx.store, stmt.pattern_name,
                                            bounds.from_ns, bounds.to_ns);
  if (!found.ok()) {
    if (absl::IsUnimplemented(found.status()) ||
        absl::IsInvalidArgument(found.status())) {
      return SyntaxError(text, stmt.name_range, found.status().message());
    }
    return found.status();
  }
  std::vector<Column> columns = {
      {"pattern", ColumnType::kString},    {"start", ColumnType::kTime},
      {"end", ColumnType::kTime},          {"key", ColumnType::kString},
      {"confidence", ColumnType::kDouble}, {"description", ColumnType::kString},
      {"events", ColumnType::kString}};
  std::vector<Row> rows;
  for (const PatternOccurrence& p : *found) {
    if (stmt.limit.has_value() &&
        static_cast<int64_t>(rows.size()) >= *stmt.limit) {
      break;
    }
    std::vector<std::string> ids;
    for (const EventId& id : p.events) ids.push_back(id.ToString());
    rows.push_back(Row{p.pattern, TimeValue{static_cast<int64_t>(p.start_ns)},
                       TimeValue{static_cast<int64_t>(p.end_ns)}, p.key,
                       p.confidence, p.description, absl::StrJoin(ids, " ")});
  }
  auto source = std::make_unique<VectorSource>(
      std::move(rows), absl::StrCat("named pattern: ", stmt.pattern_name));
  return MakeResult(std::move(columns), std::move(source), "match", ctx);
}

}  // namespace

absl::StatusOr<Result> RunMatch(const MatchStmt& stmt, absl::string_view text,
                                const Context& ctx) {
  if (!stmt.pattern_name.empty()) return RunNamedPattern(stmt, text, ctx);
  if (stmt.steps.empty()) {
    return absl::InvalidArgumentError("MATCH PATTERN needs a condition");
  }
  TV_ASSIGN_OR_RETURN(TimeBounds bounds,
                      ResolveTimeRange(stmt.time, text, ctx.now_ns));
  CompileOptions options;
  options.scope.metric_refs = true;
  std::vector<CExprPtr> positive;
  CExprPtr negative;
  for (size_t i = 0; i < stmt.steps.size(); ++i) {
    const PatternStep& step = stmt.steps[i];
    if (!step.condition) return absl::InvalidArgumentError("empty step");
    TV_ASSIGN_OR_RETURN(CExprPtr c,
                        Compile(*step.condition, text, ctx.now_ns, options));
    if (c->type.has_value() && *c->type != ColumnType::kBool) {
      return SyntaxError(text, step.condition->range,
                         "a pattern step needs a condition");
    }
    if (step.negated) {
      if (i + 1 != stmt.steps.size() || i == 0) {
        return SyntaxError(text, step.range,
                           "NOT FOLLOWED BY must be the last step, after at "
                           "least one other");
      }
      negative = std::move(c);
    } else {
      positive.push_back(std::move(c));
    }
  }
  if (stmt.within.has_value() && *stmt.within <= 0) {
    return absl::InvalidArgumentError("WITHIN needs a positive duration");
  }
  std::vector<FieldRef> by;
  for (const FieldPath& p : stmt.by) {
    TV_ASSIGN_OR_RETURN(
        FieldRef ref, ResolveField(p, stmt.steps[0].range, text, FieldScope{}));
    by.push_back(std::move(ref));
  }
  const uint64_t within = stmt.within.has_value()
                              ? static_cast<uint64_t>(*stmt.within)
                              : std::numeric_limits<uint64_t>::max();
  const int64_t max_matches =
      stmt.limit.value_or(static_cast<int64_t>(ctx.budget->max_rows()));

  EventFilter filter;
  filter.from_ns = bounds.from_ns;
  filter.to_ns = bounds.to_ns;
  EventCursor cursor = ctx.store->Scan(filter);
  TraceCache traces(ctx.store, ctx.budget);
  EvalEnv env;
  env.traces = &traces;
  absl::flat_hash_map<std::string, std::vector<std::optional<Partial>>> state;
  std::deque<Pending> pending;
  std::vector<std::pair<std::string, Partial>> matches;
  const size_t n = positive.size();
  auto expired = [&](const Partial& p, uint64_t t) {
    return within != std::numeric_limits<uint64_t>::max() &&
           t - p.start_ns > within;
  };
  auto complete = [&](const std::string& key, Partial p) {
    if (negative != nullptr) {
      const uint64_t deadline = within == std::numeric_limits<uint64_t>::max()
                                    ? std::numeric_limits<uint64_t>::max()
                                    : p.start_ns + within;
      pending.push_back(Pending{deadline, key, std::move(p)});
    } else {
      matches.emplace_back(key, std::move(p));
    }
  };
  uint64_t counted = 0;
  std::string key;
  while (cursor.Next() && static_cast<int64_t>(matches.size()) < max_matches) {
    TV_RETURN_IF_ERROR(ctx.budget->Examine(cursor.examined() - counted));
    counted = cursor.examined();
    const Event& e = cursor.event();
    const EvalRow row{&e, nullptr};
    // Absences whose time is up are confirmed.
    while (!pending.empty() && pending.front().deadline_ns < e.time_ns) {
      matches.emplace_back(pending.front().key,
                           std::move(pending.front().partial));
      pending.pop_front();
    }
    key.clear();
    for (size_t i = 0; i < by.size(); ++i) {
      if (i) key += "|";
      key += ValueToString(ReadEventField(by[i], e));
    }
    if (negative != nullptr && !pending.empty() && Holds(*negative, row, env)) {
      pending.erase(std::remove_if(pending.begin(), pending.end(),
                                   [&](const Pending& p) {
                                     return p.key == key &&
                                            p.partial.events.back().time_ns <=
                                                e.time_ns &&
                                            p.partial.events.back().id != e.id;
                                   }),
                    pending.end());
    }
    std::vector<bool> holds(n);
    bool any = false;
    for (size_t j = 0; j < n; ++j) {
      holds[j] = Holds(*positive[j], row, env);
      any |= holds[j];
    }
    TV_RETURN_IF_ERROR(traces.status());
    if (!any) continue;
    auto& stages = state[key];
    if (stages.empty()) {
      stages.resize(n);
      if (state.size() > 1'000'000) {
        return absl::ResourceExhaustedError(
            "MATCH PATTERN: more than 1000000 distinct BY keys; narrow the "
            "range or choose a coarser key");
      }
    }
    for (size_t j = n; j-- > 1;) {
      if (!holds[j] || !stages[j - 1].has_value()) continue;
      Partial& p = *stages[j - 1];
      if (expired(p, e.time_ns)) {
        stages[j - 1].reset();
        continue;
      }
      Partial next = std::move(p);
      stages[j - 1].reset();
      next.events.push_back(Capture(e));
      if (j + 1 == n) {
        complete(key, std::move(next));
      } else {
        stages[j] = std::move(next);
      }
    }
    if (holds[0]) {
      Partial p;
      p.start_ns = e.time_ns;
      p.events.push_back(Capture(e));
      if (n == 1) {
        complete(key, std::move(p));
      } else {
        stages[0] = std::move(p);
      }
    }
  }
  TV_RETURN_IF_ERROR(ctx.budget->Examine(cursor.examined() - counted));
  TV_RETURN_IF_ERROR(cursor.status());
  for (Pending& p : pending) matches.emplace_back(p.key, std::move(p.partial));
  if (static_cast<int64_t>(matches.size()) > max_matches) {
    matches.resize(static_cast<size_t>(max_matches));
  }

  std::vector<Column> columns = {
      {"match", ColumnType::kInt64},    {"key", ColumnType::kString},
      {"step", ColumnType::kInt64},     {"time", ColumnType::kTime},
      {"id", ColumnType::kString},      {"type", ColumnType::kString},
      {"service", ColumnType::kString}, {"name", ColumnType::kString},
      {"value", ColumnType::kDouble}};
  std::vector<Row> rows;
  std::string json = "{\"matches\":[";
  for (size_t m = 0; m < matches.size(); ++m) {
    const auto& [k, p] = matches[m];
    absl::StrAppend(
        &json, m ? "," : "", "{\"match\":", m + 1, ",\"key\":", JsonString(k),
        ",\"start\":", JsonValue(TimeValue{static_cast<int64_t>(p.start_ns)}),
        ",\"events\":[");
    for (size_t s = 0; s < p.events.size(); ++s) {
      const Seen& ev = p.events[s];
      rows.push_back(
          Row{static_cast<int64_t>(m + 1),
              by.empty() ? Value(std::monostate{}) : Value(k),
              static_cast<int64_t>(s + 1),
              TimeValue{static_cast<int64_t>(ev.time_ns)}, ev.id.ToString(),
              ev.type,
              ev.service.empty() ? Value(std::monostate{}) : Value(ev.service),
              ev.name.empty() ? Value(std::monostate{}) : Value(ev.name),
              ev.value});
      absl::StrAppend(&json, s ? "," : "", JsonString(ev.id.ToString()));
    }
    json += "]}";
  }
  json += "]}";
  TV_RETURN_IF_ERROR(ctx.budget->CheckRows(rows.size()));
  auto source = std::make_unique<VectorSource>(
      std::move(rows), "time scan; sequence state machine", std::move(json));
  return MakeResult(std::move(columns), std::move(source), "match", ctx);
}

}  // namespace traversion::timeql
