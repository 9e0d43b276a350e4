// COMPARE and PREDICT: metric values around instants, and forecasts.
//
// COMPARE t1 WITH t2 FOR m, ... [WINDOW d] [WHERE e] [BY f]: for each
// requested metric and each key (BY, default `service`), the value at each
// instant is the mean of the samples in [t - d, t] (d defaults to 1 minute);
// then delta = after - before and change_pct = 100 * delta / |before|.
// A requested name matches a recorded metric by MetricNameMatches (`cpu`
// reads `cpu.utilization`). Three names are computed from events rather than
// read from metrics:
//   errorRate  spans whose status is error / spans, in the window (0..1)
//   requests   spans in the window
//   errors     events with error_occurred in the window
// PREDICT NEXT d FROM t [FOR m, ...] [WHERE e]: each series (metric name x
// service) recorded in the forecaster's history window before t is handed
// to the Forecaster; series it cannot forecast (too few samples) are left
// out.
#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "timeql/diagnostics.h"
#include "timeql/evaluator.h"
#include "timeql/plan.h"
#include "util/status_macros.h"

namespace traversion::timeql {
namespace {

constexpr int64_t kDefaultWindowNs = 60'000'000'000;

enum class Derived { kNone, kErrorRate, kRequests, kErrors };

Derived DerivedOf(absl::string_view name) {
  if (absl::EqualsIgnoreCase(name, "errorRate") ||
      absl::EqualsIgnoreCase(name, "error_rate")) {
    return Derived::kErrorRate;
  }
  if (absl::EqualsIgnoreCase(name, "requests")) return Derived::kRequests;
  if (absl::EqualsIgnoreCase(name, "errors")) return Derived::kErrors;
  return Derived::kNone;
}

absl::StatusOr<std::vector<std::string>> MetricNames(
    const std::vector<ExprPtr>& metrics, absl::string_view text) {
  std::vector<std::string> names;
  for (const ExprPtr& m : metrics) {
    if (m->kind == ExprKind::kField) {
      names.push_back(absl::StrJoin(m->path.parts, "."));
    } else if (m->kind == ExprKind::kString) {
      names.push_back(m->text);
    } else {
      return SyntaxError(text, m->range, "expected a metric name");
    }
  }
  return names;
}

struct Cell {
  double sum = 0;
  int64_t n = 0;
  int64_t spans = 0;
  int64_t error_spans = 0;
  int64_t errors = 0;
  std::string unit;
};

// key: (metric as recorded, group key)
using Cells = std::map<std::pair<std::string, std::string>, Cell>;

absl::Status CollectWindow(const Context& ctx, EventFilter filter,
                           const CExpr* where,
                           const std::vector<std::string>& names,
                           const std::vector<FieldRef>& by, Cells* cells) {
  EventCursor cursor = ctx.store->Scan(filter);
  TraceCache traces(ctx.store, ctx.budget);
  EvalEnv env;
  env.traces = &traces;
  uint64_t counted = 0;
  std::string key;
  while (cursor.Next()) {
    TV_RETURN_IF_ERROR(ctx.budget->Examine(cursor.examined() - counted));
    counted = cursor.examined();
    const Event& e = cursor.event();
    if (where != nullptr && !Holds(*where, EvalRow{&e, nullptr}, env)) {
      continue;
    }
    key.clear();
    for (size_t i = 0; i < by.size(); ++i) {
      if (i) key += "|";
      key += ValueToString(ReadEventField(by[i], e));
    }
    for (const std::string& name : names) {
      switch (DerivedOf(name)) {
        case Derived::kNone:
          if (const MetricData* m = e.metric()) {
            if (MetricNameMatches(e.name, name) && std::isfinite(m->value)) {
              Cell& c = (*cells)[{e.name, key}];
              c.sum += m->value;
              ++c.n;
              c.unit = m->unit;
            }
          }
          break;
        case Derived::kErrorRate:
          if (const SpanData* s = e.span()) {
            Cell& c = (*cells)[{name, key}];
            ++c.spans;
            c.error_spans += s->status == SpanStatus::kError;
            c.unit = "1";
          }
          break;
        case Derived::kRequests:
          if (e.span() != nullptr) ++(*cells)[{name, key}].spans;
          break;
        case Derived::kErrors:
          if (ErrorOccurred(e)) ++(*cells)[{name, key}].errors;
          break;
      }
    }
  }
  TV_RETURN_IF_ERROR(ctx.budget->Examine(cursor.examined() - counted));
  return cursor.status();
}

Value CellValue(const std::string& name, const Cell* c) {
  if (c == nullptr) {
    // No sample: a count is zero, a rate or a mean is unknown.
    Derived d = DerivedOf(name);
    if (d == Derived::kRequests || d == Derived::kErrors) return int64_t{0};
    return std::monostate{};
  }
  switch (DerivedOf(name)) {
    case Derived::kNone:
      if (c->n == 0) return std::monostate{};
      return c->sum / static_cast<double>(c->n);
    case Derived::kErrorRate:
      if (c->spans == 0) return std::monostate{};
      return static_cast<double>(c->error_spans) /
             static_cast<double>(c->spans);
    case Derived::kRequests:
      return c->spans;
    case Derived::kErrors:
      return c->errors;
  }
  return std::monostate{};
}

std::optional<double> Number(const Value& v) {
  if (const double* d = std::get_if<double>(&v)) return *d;
  if (const int64_t* i = std::get_if<int64_t>(&v)) {
    return static_cast<double>(*i);
  }
  return std::nullopt;
}

absl::StatusOr<std::vector<FieldRef>> ResolveBy(
    const std::vector<FieldPath>& paths, absl::string_view text) {
  std::vector<FieldRef> by;
  if (paths.empty()) {
    FieldPath service;
    service.parts.push_back("service");
    by.push_back(*ResolveField(service, SourceRange{}, text, FieldScope{}));
  }
  for (const FieldPath& p : paths) {
    TV_ASSIGN_OR_RETURN(FieldRef ref,
                        ResolveField(p, SourceRange{}, text, FieldScope{}));
    by.push_back(std::move(ref));
  }
  return by;
}

}  // namespace

absl::StatusOr<Result> RunCompare(const CompareStmt& stmt,
                                  absl::string_view text, const Context& ctx) {
  if (!stmt.left || !stmt.right) {
    return absl::InvalidArgumentError("COMPARE t1 WITH t2");
  }
  TV_ASSIGN_OR_RETURN(int64_t t1, EvalTimeExpr(*stmt.left, text, ctx.now_ns));
  TV_ASSIGN_OR_RETURN(int64_t t2, EvalTimeExpr(*stmt.right, text, ctx.now_ns));
  TV_ASSIGN_OR_RETURN(std::vector<std::string> names,
                      MetricNames(stmt.metrics, text));
  if (names.empty()) {
    return absl::InvalidArgumentError("COMPARE needs FOR metric, ...");
  }
  const int64_t window = stmt.window.value_or(kDefaultWindowNs);
  if (window <= 0) return absl::InvalidArgumentError("WINDOW must be positive");
  CExprPtr where;
  if (stmt.where) {
    TV_ASSIGN_OR_RETURN(
        where, Compile(*stmt.where, text, ctx.now_ns, CompileOptions{}));
  }
  TV_ASSIGN_OR_RETURN(std::vector<FieldRef> by, ResolveBy(stmt.by, text));
  bool derived = false;
  for (const std::string& n : names) derived |= DerivedOf(n) != Derived::kNone;

  Cells before, after;
  std::string plan_text;
  for (int side = 0; side < 2; ++side) {
    const int64_t t = side == 0 ? t1 : t2;
    TimeBounds bounds;
    bounds.from_ns = static_cast<uint64_t>(std::max<int64_t>(0, t - window));
    bounds.to_ns = static_cast<uint64_t>(std::max<int64_t>(0, t)) + 1;
    ScanPlan plan = PlanScan(stmt.where.get(), bounds, text, ctx.now_ns);
    if (plan.filter.types.empty() && !derived) {
      plan.filter.types = {EventType::kMetric};
    }
    plan_text = plan.description;
    if (plan.nothing) continue;
    TV_RETURN_IF_ERROR(CollectWindow(ctx, plan.filter,
                                     plan.residual ? where.get() : nullptr,
                                     names, by, side == 0 ? &before : &after));
  }
  std::vector<Column> columns = {
      {"metric", ColumnType::kString}, {"key", ColumnType::kString},
      {"before", ColumnType::kDouble}, {"after", ColumnType::kDouble},
      {"delta", ColumnType::kDouble},  {"change_pct", ColumnType::kDouble},
      {"unit", ColumnType::kString}};
  if (stmt.by.empty()) columns[1].name = "service";
  std::vector<Row> rows;
  for (const std::string& name : names) {
    // Recorded metrics answering `name`, and the keys seen for them.
    std::map<std::pair<std::string, std::string>, std::string> series;
    for (const Cells* cells : {&before, &after}) {
      for (const auto& [k, c] : *cells) {
        const bool mine = DerivedOf(name) != Derived::kNone
                              ? k.first == name
                              : DerivedOf(k.first) == Derived::kNone &&
                                    MetricNameMatches(k.first, name);
        if (mine) series[k] = c.unit;
      }
    }
    if (series.empty()) {
      rows.push_back(Row{name, std::monostate{}, CellValue(name, nullptr),
                         CellValue(name, nullptr), std::monostate{},
                         std::monostate{}, std::monostate{}});
      continue;
    }
    for (const auto& [k, unit] : series) {
      auto b = before.find(k);
      auto a = after.find(k);
      Value bv = CellValue(name, b == before.end() ? nullptr : &b->second);
      Value av = CellValue(name, a == after.end() ? nullptr : &a->second);
      std::optional<double> x = Number(bv), y = Number(av);
      Value delta = std::monostate{}, pct = std::monostate{};
      if (x && y) {
        delta = *y - *x;
        if (*x != 0) pct = 100.0 * (*y - *x) / std::abs(*x);
      }
      rows.push_back(Row{
          k.first, k.second.empty() ? Value(std::monostate{}) : Value(k.second),
          x ? Value(*x) : Value(std::monostate{}),
          y ? Value(*y) : Value(std::monostate{}), delta, pct,
          unit.empty() ? Value(std::monostate{}) : Value(unit)});
    }
  }
  auto source = std::make_unique<VectorSource>(
      std::move(rows), absl::StrCat(plan_text, "; windows of ",
                                    ValueToString(DurationValue{window})));
  return MakeResult(std::move(columns), std::move(source), "compare", ctx);
}

absl::StatusOr<Result> RunPredict(const PredictStmt& stmt,
                                  absl::string_view text, const Context& ctx) {
  if (stmt.horizon <= 0) {
    return SyntaxError(text, stmt.horizon_range,
                       "PREDICT NEXT needs a positive duration");
  }
  int64_t from = ctx.now_ns;
  if (stmt.from) {
    TV_ASSIGN_OR_RETURN(from, EvalTimeExpr(*stmt.from, text, ctx.now_ns));
  }
  if (from < 0) return absl::InvalidArgumentError("FROM before 1970");
  TV_ASSIGN_OR_RETURN(std::vector<std::string> names,
                      MetricNames(stmt.metrics, text));
  CExprPtr where;
  if (stmt.where) {
    TV_ASSIGN_OR_RETURN(
        where, Compile(*stmt.where, text, ctx.now_ns, CompileOptions{}));
  }
  const uint64_t history =
      ctx.forecaster->history_ns(static_cast<uint64_t>(stmt.horizon));
  TimeBounds bounds;
  const uint64_t ufrom = static_cast<uint64_t>(from);
  bounds.from_ns = ufrom > history ? ufrom - history : 0;
  bounds.to_ns = ufrom + 1;
  ScanPlan plan = PlanScan(stmt.where.get(), bounds, text, ctx.now_ns);
  if (plan.filter.types.empty()) plan.filter.types = {EventType::kMetric};

  struct Series {
    std::string unit;
    std::vector<SeriesPoint> points;
  };
  std::map<std::pair<std::string, std::string>, Series> series;
  if (!plan.nothing) {
    EventCursor cursor = ctx.store->Scan(plan.filter);
    TraceCache traces(ctx.store, ctx.budget);
    EvalEnv env;
    env.traces = &traces;
    uint64_t counted = 0;
    while (cursor.Next()) {
      TV_RETURN_IF_ERROR(ctx.budget->Examine(cursor.examined() - counted));
      counted = cursor.examined();
      const Event& e = cursor.event();
      const MetricData* m = e.metric();
      if (m == nullptr || !std::isfinite(m->value)) continue;
      if (!names.empty() &&
          std::none_of(names.begin(), names.end(), [&](const std::string& n) {
            return MetricNameMatches(e.name, n);
          })) {
        continue;
      }
      if (plan.residual && where != nullptr &&
          !Holds(*where, EvalRow{&e, nullptr}, env)) {
        continue;
      }
      Series& s = series[{e.name, e.service.name}];
      s.unit = m->unit;
      s.points.push_back(SeriesPoint{e.time_ns, m->value});
    }
    TV_RETURN_IF_ERROR(cursor.status());
  }
  std::vector<Column> columns = {
      {"metric", ColumnType::kString},    {"service", ColumnType::kString},
      {"time", ColumnType::kTime},        {"last", ColumnType::kDouble},
      {"predicted", ColumnType::kDouble}, {"lower", ColumnType::kDouble},
      {"upper", ColumnType::kDouble},     {"unit", ColumnType::kString},
      {"samples", ColumnType::kInt64},    {"method", ColumnType::kString}};
  std::vector<Row> rows;
  for (auto& [key, s] : series) {
    ForecastRequest request;
    request.metric = key.first;
    request.service = key.second;
    request.unit = s.unit;
    request.from_ns = ufrom;
    request.horizon_ns = static_cast<uint64_t>(stmt.horizon);
    request.history = std::move(s.points);
    auto forecast = ctx.forecaster->Predict(request);
    if (absl::IsFailedPrecondition(forecast.status())) continue;
    if (!forecast.ok()) return forecast.status();
    rows.push_back(
        Row{key.first,
            key.second.empty() ? Value(std::monostate{}) : Value(key.second),
            TimeValue{static_cast<int64_t>(forecast->time_ns)},
            request.history.back().value, forecast->value, forecast->lower,
            forecast->upper,
            s.unit.empty() ? Value(std::monostate{}) : Value(s.unit),
            static_cast<int64_t>(request.history.size()), forecast->method});
  }
  auto source = std::make_unique<VectorSource>(
      std::move(rows),
      absl::StrCat(plan.description, "; history ",
                   ValueToString(DurationValue{static_cast<int64_t>(
                       std::min<uint64_t>(history, INT64_MAX))})));
  return MakeResult(std::move(columns), std::move(source), "predict", ctx);
}

}  // namespace traversion::timeql
