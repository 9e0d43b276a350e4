// EVENTS / TIMELINE: a filtered scan streamed from an EventCursor, with
// select lists, ORDER BY (streamed when it is the scan order, else sorted),
// LIMIT, and aggregates with GROUP BY.
#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "timeql/diagnostics.h"
#include "timeql/evaluator.h"
#include "timeql/plan.h"
#include "timeql/printer.h"
#include "util/status_macros.h"

namespace traversion::timeql {
namespace {

// --- columns ---------------------------------------------------------------

struct OutColumn {
  Column column;
  CExprPtr expr;
  bool dynamic = false;  // type unknown statically: values shown as text
};

FieldRef CatalogField(const char* name) {
  FieldPath path;
  path.parts.push_back(name);
  return *ResolveField(path, SourceRange{}, "", FieldScope{});
}

absl::StatusOr<std::vector<OutColumn>> DefaultColumns() {
  static const char* kNames[] = {"time",     "id",       "type",     "service",
                                 "name",     "severity", "trace_id", "span_id",
                                 "duration", "status",   "value",    "message"};
  std::vector<OutColumn> out;
  for (const char* name : kNames) {
    OutColumn c;
    c.expr = std::make_unique<CExpr>();
    c.expr->kind = CExpr::Kind::kField;
    c.expr->field = CatalogField(name);
    c.expr->type = c.expr->field.type;
    c.column.name = name;
    c.column.type = *c.expr->type;
    out.push_back(std::move(c));
  }
  return out;
}

std::string ColumnName(const SelectItem& item) {
  if (!item.alias.empty()) return item.alias;
  if (item.expr->kind == ExprKind::kField) {
    return PrintFieldPath(item.expr->path);
  }
  return PrintExpr(*item.expr);
}

// Makes `v` fit a column of type `t`.
Value Conform(Value v, ColumnType t, bool dynamic) {
  if (std::holds_alternative<std::monostate>(v)) return v;
  if (dynamic) {
    if (t == ColumnType::kString && !std::holds_alternative<std::string>(v)) {
      return ValueToString(v);
    }
    return v;
  }
  if (t == ColumnType::kDouble) {
    if (const int64_t* i = std::get_if<int64_t>(&v)) {
      return static_cast<double>(*i);
    }
  }
  return v;
}

bool IsAggregateCall(const Expr& e) {
  if (e.kind != ExprKind::kCall) return false;
  static const char* kNames[] = {"count", "sum", "avg", "min", "max",
                                 "p50",   "p90", "p95", "p99"};
  for (const char* n : kNames) {
    if (absl::EqualsIgnoreCase(e.text, n)) return true;
  }
  return false;
}

bool ContainsAggregate(const Expr& e) {
  if (IsAggregateCall(e)) return true;
  for (const ExprPtr& c : e.children) {
    if (ContainsAggregate(*c)) return true;
  }
  return false;
}

const Expr* FindAlias(const std::vector<SelectItem>& select, const Expr& e) {
  if (e.kind != ExprKind::kField || e.path.parts.size() != 1) return nullptr;
  for (const SelectItem& item : select) {
    if (!item.alias.empty() &&
        absl::EqualsIgnoreCase(item.alias, e.path.parts[0])) {
      return item.expr.get();
    }
  }
  return nullptr;
}

// --- streaming scan ----------------------------------------------------------

// Rows straight from a cursor: the residual WHERE and the select list are
// evaluated per event. Nothing is buffered.
class ScanSource : public Result::Source {
 public:
  ScanSource(const Context& ctx, EventFilter filter, bool nothing,
             CExprPtr where, std::vector<OutColumn> columns,
             std::optional<int64_t> limit, std::string plan)
      : cursor_(ctx.store->Scan(filter)),
        nothing_(nothing),
        where_(std::move(where)),
        columns_(std::move(columns)),
        limit_(limit),
        traces_(ctx.store, ctx.budget) {
    stats.plan = std::move(plan);
    env_.traces = &traces_;
  }

  bool Next(Row* row) override {
    if (nothing_ || (limit_.has_value() && returned_ >= *limit_)) return false;
    while (cursor_.Next()) {
      if (!Count()) return false;
      const Event& e = cursor_.event();
      EvalRow r{&e, nullptr};
      if (where_ != nullptr && !Holds(*where_, r, env_)) {
        if (!traces_.status().ok()) {
          status_ = traces_.status();
          return false;
        }
        continue;
      }
      row->clear();
      row->reserve(columns_.size());
      for (const OutColumn& c : columns_) {
        row->push_back(
            Conform(Eval(*c.expr, r, env_), c.column.type, c.dynamic));
      }
      ++returned_;
      return true;
    }
    Count();
    if (status_.ok()) status_ = cursor_.status();
    return false;
  }

  absl::Status status() const override { return status_; }

 private:
  bool Count() {
    const uint64_t now = cursor_.examined();
    absl::Status s = budget->Examine(now - counted_);
    counted_ = now;
    stats.events_examined = budget->examined();
    if (!s.ok()) {
      status_ = std::move(s);
      return false;
    }
    return true;
  }

  EventCursor cursor_;
  bool nothing_;
  CExprPtr where_;
  std::vector<OutColumn> columns_;
  std::optional<int64_t> limit_;
  TraceCache traces_;
  EvalEnv env_;
  uint64_t counted_ = 0;
  int64_t returned_ = 0;
  absl::Status status_;
};

// Drives a scan to its end, calling `fn` for each event passing `where`.
// Shared by the sorted and the aggregate paths.
template <typename Fn>
absl::Status ScanAll(const Context& ctx, const ScanPlan& plan,
                     const CExpr* where, TraceCache* traces, Fn fn) {
  if (plan.nothing) return absl::OkStatus();
  EventCursor cursor = ctx.store->Scan(plan.filter);
  EvalEnv env;
  env.traces = traces;
  uint64_t counted = 0;
  while (cursor.Next()) {
    const uint64_t now = cursor.examined();
    TV_RETURN_IF_ERROR(ctx.budget->Examine(now - counted));
    counted = now;
    const Event& e = cursor.event();
    EvalRow r{&e, nullptr};
    if (where != nullptr && !Holds(*where, r, env)) {
      TV_RETURN_IF_ERROR(traces->status());
      continue;
    }
    TV_RETURN_IF_ERROR(fn(e, r, env));
  }
  TV_RETURN_IF_ERROR(ctx.budget->Examine(cursor.examined() - counted));
  return cursor.status();
}

struct SortKey {
  CExprPtr expr;
  int column = -1;  // ORDER BY a select alias or output column
  bool descending = false;
};

// Sorts `rows` (each with its keys) and applies the limit.
struct KeyedRow {
  std::vector<Value> keys;
  uint64_t seq = 0;
  Row row;
};

void SortRows(std::vector<KeyedRow>* rows, const std::vector<bool>& desc,
              std::optional<int64_t> limit) {
  auto less = [&](const KeyedRow& a, const KeyedRow& b) {
    for (size_t i = 0; i < desc.size(); ++i) {
      int c = OrderValues(a.keys[i], b.keys[i]);
      if (c != 0) return desc[i] ? c > 0 : c < 0;
    }
    return a.seq < b.seq;
  };
  if (limit.has_value() && static_cast<size_t>(*limit) < rows->size()) {
    std::nth_element(rows->begin(), rows->begin() + *limit, rows->end(), less);
    rows->resize(static_cast<size_t>(*limit));
  }
  std::sort(rows->begin(), rows->end(), less);
}

// --- aggregates
// ----------------------------------------------------------------

enum class AggFn : uint8_t { kCount, kSum, kAvg, kMin, kMax, kPercentile };

struct AggSpec {
  AggFn fn = AggFn::kCount;
  double percentile = 0;
  CExprPtr arg;  // null for COUNT(*)
  std::string name;
};

struct AggState {
  int64_t count = 0;
  double sum = 0;
  int64_t isum = 0;
  bool all_int = true;
  bool overflow = false;
  bool durations = false;
  bool others = false;  // a value that is neither number nor duration
  Value min, max;
  std::vector<double> values;
};

bool ToNumber(const Value& v, double* d, bool* is_int, int64_t* i,
              bool* is_duration) {
  *is_int = false;
  *is_duration = false;
  if (const int64_t* x = std::get_if<int64_t>(&v)) {
    *d = static_cast<double>(*x);
    *i = *x;
    *is_int = true;
    return true;
  }
  if (const double* x = std::get_if<double>(&v)) {
    *d = *x;
    return true;
  }
  if (const DurationValue* x = std::get_if<DurationValue>(&v)) {
    *d = static_cast<double>(x->ns);
    *i = x->ns;
    *is_int = true;
    *is_duration = true;
    return true;
  }
  if (const bool* x = std::get_if<bool>(&v)) {
    *d = *x ? 1 : 0;
    *i = *x ? 1 : 0;
    *is_int = true;
    return true;
  }
  return false;
}

void Accumulate(const AggSpec& spec, const Value& v, AggState* s) {
  if (spec.arg == nullptr) {
    ++s->count;
    return;
  }
  if (std::holds_alternative<std::monostate>(v)) return;
  if (spec.fn == AggFn::kCount) {
    ++s->count;
    return;
  }
  if (spec.fn == AggFn::kMin || spec.fn == AggFn::kMax) {
    ++s->count;
    Value& slot = spec.fn == AggFn::kMin ? s->min : s->max;
    if (std::holds_alternative<std::monostate>(slot)) {
      slot = v;
    } else {
      int c = OrderValues(v, slot);
      if (spec.fn == AggFn::kMin ? c < 0 : c > 0) slot = v;
    }
    return;
  }
  double d;
  bool is_int, is_duration;
  int64_t i;
  if (!ToNumber(v, &d, &is_int, &i, &is_duration)) {
    s->others = true;
    return;
  }
  ++s->count;
  if (is_duration) s->durations = true;
  if (spec.fn == AggFn::kPercentile) {
    s->values.push_back(d);
    return;
  }
  s->sum += d;
  if (is_int && s->all_int && !s->overflow) {
    if (__builtin_add_overflow(s->isum, i, &s->isum)) s->overflow = true;
  } else if (!is_int) {
    s->all_int = false;
  }
}

// Nearest-rank percentile: the smallest value with at least p % of the
// values at or below it.
double NearestRank(std::vector<double>* values, double p) {
  const size_t n = values->size();
  size_t rank =
      static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(n)));
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  std::nth_element(values->begin(), values->begin() + (rank - 1),
                   values->end());
  return (*values)[rank - 1];
}

Value Finish(const AggSpec& spec, AggState* s) {
  switch (spec.fn) {
    case AggFn::kCount:
      return s->count;
    case AggFn::kMin:
      return s->min;
    case AggFn::kMax:
      return s->max;
    case AggFn::kSum:
      if (s->count == 0) return std::monostate{};
      if (s->durations) {
        return s->overflow ? Value(std::monostate{})
                           : Value(DurationValue{s->isum});
      }
      if (s->all_int && !s->overflow) return s->isum;
      return s->sum;
    case AggFn::kAvg: {
      if (s->count == 0) return std::monostate{};
      const double avg = s->sum / static_cast<double>(s->count);
      if (s->durations) {
        return DurationValue{static_cast<int64_t>(std::llround(avg))};
      }
      return avg;
    }
    case AggFn::kPercentile: {
      if (s->values.empty()) return std::monostate{};
      const double v = NearestRank(&s->values, spec.percentile);
      if (s->durations) return DurationValue{static_cast<int64_t>(v)};
      return v;
    }
  }
  return std::monostate{};
}

// Encodes a group key as bytes for hashing.
void AppendKey(const Value& v, std::string* out) {
  out->push_back(static_cast<char>('0' + v.index()));
  std::string text = ValueToString(v);
  absl::StrAppend(out, text.size(), ":", text);
}

absl::StatusOr<Result> RunAggregate(const EventsStmt& stmt,
                                    absl::string_view text, const Context& ctx,
                                    const ScanPlan& plan, CExprPtr where) {
  CompileOptions event_scope;
  // Group keys, evaluated per event.
  std::vector<const Expr*> group_exprs;
  std::vector<CExprPtr> group_compiled;
  for (const ExprPtr& g : stmt.group_by) {
    const Expr* e = FindAlias(stmt.select, *g);
    if (e == nullptr) e = g.get();
    if (ContainsAggregate(*e)) {
      return SyntaxError(text, g->range, "GROUP BY cannot use an aggregate");
    }
    TV_ASSIGN_OR_RETURN(CExprPtr c, Compile(*e, text, ctx.now_ns, event_scope));
    group_exprs.push_back(e);
    group_compiled.push_back(std::move(c));
  }
  // Aggregates, collected from the select list and ORDER BY.
  std::vector<AggSpec> aggs;
  std::vector<const Expr*> agg_exprs;
  const size_t ngroups = group_exprs.size();
  CompileOptions post;
  post.structural = false;
  post.rewrite = [&](const Expr& e) -> absl::StatusOr<CExprPtr> {
    for (size_t i = 0; i < ngroups; ++i) {
      if (SameExpr(e, *group_exprs[i])) {
        auto c = std::make_unique<CExpr>();
        c->kind = CExpr::Kind::kField;
        c->field.id = FieldId::kColumn;
        c->field.column = static_cast<int>(i);
        c->type = group_compiled[i]->type;
        c->range = e.range;
        return c;
      }
    }
    if (IsAggregateCall(e)) {
      size_t index = aggs.size();
      for (size_t i = 0; i < agg_exprs.size(); ++i) {
        if (SameExpr(e, *agg_exprs[i])) index = i;
      }
      std::optional<ColumnType> type;
      if (index == aggs.size()) {
        AggSpec spec;
        const std::string fn = absl::AsciiStrToLower(e.text);
        spec.name = fn;
        if (fn == "count") {
          spec.fn = AggFn::kCount;
        } else if (fn == "sum") {
          spec.fn = AggFn::kSum;
        } else if (fn == "avg") {
          spec.fn = AggFn::kAvg;
        } else if (fn == "min") {
          spec.fn = AggFn::kMin;
        } else if (fn == "max") {
          spec.fn = AggFn::kMax;
        } else {
          spec.fn = AggFn::kPercentile;
          spec.percentile = std::stod(fn.substr(1));
        }
        if (e.children.size() != 1) {
          return SyntaxError(
              text, e.range,
              absl::StrCat(absl::AsciiStrToUpper(fn), "() takes one argument"));
        }
        const Expr& arg = *e.children[0];
        if (arg.kind == ExprKind::kStar) {
          if (spec.fn != AggFn::kCount) {
            return SyntaxError(text, arg.range,
                               "'*' is only allowed in COUNT(*)");
          }
        } else {
          if (ContainsAggregate(arg)) {
            return SyntaxError(text, arg.range, "aggregates cannot be nested");
          }
          TV_ASSIGN_OR_RETURN(spec.arg,
                              Compile(arg, text, ctx.now_ns, event_scope));
          const std::optional<ColumnType> t = spec.arg->type;
          if (spec.fn != AggFn::kCount && spec.fn != AggFn::kMin &&
              spec.fn != AggFn::kMax && t.has_value() &&
              *t != ColumnType::kInt64 && *t != ColumnType::kDouble &&
              *t != ColumnType::kDuration && *t != ColumnType::kBool) {
            return SyntaxError(text, arg.range,
                               absl::StrCat(absl::AsciiStrToUpper(fn),
                                            "() needs numbers or durations, "
                                            "not ",
                                            ColumnTypeName(*t)));
          }
        }
        aggs.push_back(std::move(spec));
        agg_exprs.push_back(&e);
      }
      auto c = std::make_unique<CExpr>();
      c->kind = CExpr::Kind::kField;
      c->field.id = FieldId::kColumn;
      c->field.column = static_cast<int>(ngroups + index);
      c->range = e.range;
      return c;
    }
    if (e.kind == ExprKind::kField) {
      return SyntaxError(
          text, e.range,
          absl::StrCat("'", PrintFieldPath(e.path),
                       "' must be in GROUP BY or inside an aggregate such as "
                       "COUNT(), SUM(), P99()"));
    }
    return CExprPtr(nullptr);
  };
  // Output columns over the [group keys..., aggregates...] row.
  std::vector<OutColumn> outs;
  std::vector<Column> scope_columns;
  if (stmt.select.empty()) {
    for (size_t i = 0; i < ngroups; ++i) {
      SelectItem item;
      OutColumn c;
      c.column.name = group_exprs[i]->kind == ExprKind::kField
                          ? PrintFieldPath(group_exprs[i]->path)
                          : PrintExpr(*group_exprs[i]);
      TV_ASSIGN_OR_RETURN(c.expr,
                          Compile(*group_exprs[i], text, ctx.now_ns, post));
      outs.push_back(std::move(c));
    }
    Expr count;
    count.kind = ExprKind::kCall;
    count.text = "count";
    auto star = std::make_unique<Expr>();
    star->kind = ExprKind::kStar;
    count.children.push_back(std::move(star));
    OutColumn c;
    c.column.name = "count";
    TV_ASSIGN_OR_RETURN(c.expr, Compile(count, text, ctx.now_ns, post));
    outs.push_back(std::move(c));
  } else {
    for (const SelectItem& item : stmt.select) {
      OutColumn c;
      c.column.name = ColumnName(item);
      TV_ASSIGN_OR_RETURN(c.expr, Compile(*item.expr, text, ctx.now_ns, post));
      outs.push_back(std::move(c));
    }
  }
  for (const OutColumn& c : outs) scope_columns.push_back(c.column);
  // ORDER BY: an output column by name, else an expression over groups and
  // aggregates.
  std::vector<SortKey> keys;
  for (const OrderItem& o : stmt.order_by) {
    SortKey k;
    k.descending = o.descending;
    if (o.expr->kind == ExprKind::kField && o.expr->path.parts.size() == 1) {
      for (size_t i = 0; i < outs.size(); ++i) {
        if (absl::EqualsIgnoreCase(outs[i].column.name,
                                   o.expr->path.parts[0])) {
          k.column = static_cast<int>(i);
        }
      }
    }
    if (k.column < 0) {
      TV_ASSIGN_OR_RETURN(k.expr, Compile(*o.expr, text, ctx.now_ns, post));
    }
    keys.push_back(std::move(k));
  }

  // The scan.
  struct Group {
    std::vector<Value> key;
    std::vector<AggState> states;
  };
  std::vector<Group> groups;
  absl::flat_hash_map<std::string, size_t> index;
  TraceCache traces(ctx.store, ctx.budget);
  std::string key_bytes;
  std::vector<Value> key_values;
  TV_RETURN_IF_ERROR(ScanAll(
      ctx, plan, plan.residual ? where.get() : nullptr, &traces,
      [&](const Event&, const EvalRow& r, EvalEnv& env) -> absl::Status {
        key_bytes.clear();
        key_values.clear();
        for (const CExprPtr& g : group_compiled) {
          key_values.push_back(Eval(*g, r, env));
          AppendKey(key_values.back(), &key_bytes);
        }
        auto [it, inserted] = index.try_emplace(key_bytes, groups.size());
        if (inserted) {
          TV_RETURN_IF_ERROR(ctx.budget->CheckRows(groups.size() + 1));
          groups.push_back(
              Group{key_values, std::vector<AggState>(aggs.size())});
        }
        Group& g = groups[it->second];
        for (size_t i = 0; i < aggs.size(); ++i) {
          Value v = aggs[i].arg ? Eval(*aggs[i].arg, r, env) : Value(true);
          Accumulate(aggs[i], v, &g.states[i]);
        }
        return absl::OkStatus();
      }));
  if (groups.empty() && ngroups == 0) {
    groups.push_back(Group{{}, std::vector<AggState>(aggs.size())});
  }
  // Groups in key order unless ORDER BY says otherwise.
  std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    for (size_t i = 0; i < a.key.size(); ++i) {
      int c = OrderValues(a.key[i], b.key[i]);
      if (c != 0) return c < 0;
    }
    return false;
  });
  std::vector<KeyedRow> rows;
  EvalEnv env;
  uint64_t seq = 0;
  for (Group& g : groups) {
    Row inner = g.key;
    for (size_t i = 0; i < aggs.size(); ++i) {
      inner.push_back(Finish(aggs[i], &g.states[i]));
    }
    KeyedRow kr;
    kr.seq = seq++;
    EvalRow r{nullptr, &inner};
    for (const OutColumn& c : outs) kr.row.push_back(Eval(*c.expr, r, env));
    for (const SortKey& k : keys) {
      kr.keys.push_back(k.column >= 0 ? kr.row[k.column]
                                      : Eval(*k.expr, r, env));
    }
    rows.push_back(std::move(kr));
  }
  std::vector<bool> desc;
  for (const SortKey& k : keys) desc.push_back(k.descending);
  std::optional<int64_t> limit = stmt.limit;
  if (!keys.empty()) {
    SortRows(&rows, desc, limit);
  } else if (limit.has_value() && static_cast<size_t>(*limit) < rows.size()) {
    rows.resize(static_cast<size_t>(*limit));
  }
  // Column types: the static type, else what the values are (text when they
  // are of several types).
  std::vector<Row> out;
  out.reserve(rows.size());
  for (KeyedRow& kr : rows) out.push_back(std::move(kr.row));
  std::vector<Column> columns;
  for (size_t i = 0; i < outs.size(); ++i) {
    Column col = outs[i].column;
    std::optional<ColumnType> t = outs[i].expr->type;
    bool mixed = false;
    for (const Row& row : out) {
      if (std::holds_alternative<std::monostate>(row[i])) continue;
      ColumnType vt = TypeOf(row[i]);
      if (!t.has_value()) {
        t = vt;
      } else if (*t != vt) {
        if ((*t == ColumnType::kDouble && vt == ColumnType::kInt64) ||
            (*t == ColumnType::kInt64 && vt == ColumnType::kDouble)) {
          t = ColumnType::kDouble;
        } else {
          mixed = true;
        }
      }
    }
    if (mixed) t = ColumnType::kString;
    col.type = t.value_or(ColumnType::kString);
    for (Row& row : out) row[i] = Conform(std::move(row[i]), col.type, mixed);
    columns.push_back(std::move(col));
  }
  std::string description = plan.description;
  absl::StrAppend(&description, "; aggregate");
  auto source = std::make_unique<VectorSource>(std::move(out), description);
  source->stats.events_examined = ctx.budget->examined();
  return MakeResult(std::move(columns), std::move(source), "aggregate", ctx);
}

}  // namespace

absl::StatusOr<Result> RunEvents(const EventsStmt& stmt, absl::string_view text,
                                 const Context& ctx) {
  TV_ASSIGN_OR_RETURN(TimeBounds bounds,
                      ResolveTimeRange(stmt.time, text, ctx.now_ns));
  if (stmt.limit.has_value() && *stmt.limit < 0) {
    return absl::InvalidArgumentError("LIMIT must not be negative");
  }
  CompileOptions event_scope;
  CExprPtr where;
  if (stmt.where) {
    if (ContainsAggregate(*stmt.where)) {
      return SyntaxError(text, stmt.where->range,
                         "WHERE cannot use an aggregate (it filters events "
                         "before they are grouped)");
    }
    TV_ASSIGN_OR_RETURN(where,
                        Compile(*stmt.where, text, ctx.now_ns, event_scope));
    if (where->type.has_value() && *where->type != ColumnType::kBool) {
      return SyntaxError(text, stmt.where->range,
                         absl::StrCat("WHERE needs a condition, not a ",
                                      ColumnTypeName(*where->type)));
    }
  }
  ScanPlan plan = PlanScan(stmt.where.get(), bounds, text, ctx.now_ns);

  bool aggregate = !stmt.group_by.empty();
  for (const SelectItem& item : stmt.select) {
    if (ContainsAggregate(*item.expr)) aggregate = true;
  }
  if (aggregate) {
    return RunAggregate(stmt, text, ctx, plan, std::move(where));
  }

  std::vector<OutColumn> columns;
  if (stmt.select.empty()) {
    TV_ASSIGN_OR_RETURN(columns, DefaultColumns());
  } else {
    for (const SelectItem& item : stmt.select) {
      OutColumn c;
      c.column.name = ColumnName(item);
      TV_ASSIGN_OR_RETURN(c.expr,
                          Compile(*item.expr, text, ctx.now_ns, event_scope));
      c.dynamic = !c.expr->type.has_value();
      c.column.type = c.expr->type.value_or(ColumnType::kString);
      columns.push_back(std::move(c));
    }
  }
  std::vector<Column> out_columns;
  for (const OutColumn& c : columns) out_columns.push_back(c.column);

  // ORDER BY time [ASC|DESC] alone is the scan order: stream it.
  bool streamed = stmt.order_by.empty();
  if (stmt.order_by.size() == 1 &&
      stmt.order_by[0].expr->kind == ExprKind::kField) {
    auto ref = ResolveField(stmt.order_by[0].expr->path,
                            stmt.order_by[0].expr->range, text, FieldScope{});
    if (ref.ok() && ref->id == FieldId::kTime &&
        FindAlias(stmt.select, *stmt.order_by[0].expr) == nullptr) {
      streamed = true;
      plan.filter.newest_first = stmt.order_by[0].descending;
    }
  }
  if (streamed) {
    if (!plan.residual && stmt.limit.has_value()) {
      plan.filter.limit = static_cast<size_t>(*stmt.limit);
    }
    if (stmt.limit == std::optional<int64_t>(0)) plan.nothing = true;
    auto source = std::make_unique<ScanSource>(
        ctx, plan.filter, plan.nothing,
        plan.residual ? std::move(where) : nullptr, std::move(columns),
        stmt.limit, plan.description);
    return MakeResult(std::move(out_columns), std::move(source), "events", ctx);
  }

  // Sorted: materialize (bounded by LIMIT or max_rows), then sort.
  std::vector<SortKey> keys;
  for (const OrderItem& o : stmt.order_by) {
    SortKey k;
    k.descending = o.descending;
    if (o.expr->kind == ExprKind::kField && o.expr->path.parts.size() == 1) {
      for (size_t i = 0; i < stmt.select.size(); ++i) {
        if (absl::EqualsIgnoreCase(stmt.select[i].alias,
                                   o.expr->path.parts[0])) {
          k.column = static_cast<int>(i);
        }
      }
    }
    if (k.column < 0) {
      TV_ASSIGN_OR_RETURN(k.expr,
                          Compile(*o.expr, text, ctx.now_ns, event_scope));
    }
    keys.push_back(std::move(k));
  }
  std::vector<bool> desc;
  for (const SortKey& k : keys) desc.push_back(k.descending);
  std::vector<KeyedRow> rows;
  TraceCache traces(ctx.store, ctx.budget);
  uint64_t seq = 0;
  const size_t keep =
      stmt.limit.has_value() ? static_cast<size_t>(*stmt.limit) : 0;
  TV_RETURN_IF_ERROR(ScanAll(
      ctx, plan, plan.residual ? where.get() : nullptr, &traces,
      [&](const Event&, const EvalRow& r, EvalEnv& env) -> absl::Status {
        KeyedRow kr;
        kr.seq = seq++;
        for (const OutColumn& c : columns) {
          kr.row.push_back(
              Conform(Eval(*c.expr, r, env), c.column.type, c.dynamic));
        }
        for (const SortKey& k : keys) {
          kr.keys.push_back(k.column >= 0 ? kr.row[k.column]
                                          : Eval(*k.expr, r, env));
        }
        rows.push_back(std::move(kr));
        if (stmt.limit.has_value()) {
          if (rows.size() >= std::max<size_t>(2 * keep, 1024)) {
            SortRows(&rows, desc, stmt.limit);
          }
        } else {
          TV_RETURN_IF_ERROR(ctx.budget->CheckRows(rows.size()));
        }
        return absl::OkStatus();
      }));
  SortRows(&rows, desc, stmt.limit);
  std::vector<Row> out;
  out.reserve(rows.size());
  for (KeyedRow& kr : rows) out.push_back(std::move(kr.row));
  auto source = std::make_unique<VectorSource>(
      std::move(out), absl::StrCat(plan.description, "; sorted"));
  return MakeResult(std::move(out_columns), std::move(source), "events", ctx);
}

}  // namespace traversion::timeql
