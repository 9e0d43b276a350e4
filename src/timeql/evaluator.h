// The TimeQL evaluator's internal interface: compiled expressions, the
// per-query budget, row sources, and one entry point per statement.
//
// Split by concern:
//   eval_expr.cc      expressions: compile (resolve fields, fold time
//                     literals, compile patterns) and evaluate (three-valued)
//   eval_events.cc    EVENTS / TIMELINE: streaming, ORDER BY, aggregates
//   eval_state.cc     STATE AT, HISTORY OF, CHANGES BETWEEN
//   eval_trace.cc     TRACE, structural conditions' trace cache, TRAVERSE,
//                     ROOT CAUSE OF
//   eval_match.cc     MATCH PATTERN sequences
//   eval_metrics.cc   COMPARE, PREDICT
//   plan.cc           WHERE + time range -> EventFilter (index choice)
//   query.cc          Query(), Result, values
//
// Everything here runs on the thread that owns the Result.
#ifndef TRAVERSION_TIMEQL_EVALUATOR_H_
#define TRAVERSION_TIMEQL_EVALUATOR_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "timeql/ast.h"
#include "timeql/fields.h"
#include "traversion/query.h"
#include "traversion/query_extensions.h"
#include "traversion/store.h"

namespace re2 {
class RE2;
}

namespace traversion {
namespace timeql {
class Budget;
}

// Produces a Result's rows. Implementations keep `stats.plan` and
// `stats.events_examined` current; Result counts rows.
class Result::Source {
 public:
  virtual ~Source() = default;
  // The next row into *row; false at the end or when status() is not OK.
  virtual bool Next(Row* row) = 0;
  virtual absl::Status status() const = 0;
  // Complete once Next() has returned false.
  virtual const std::string& structured_json() const { return json_; }

  QueryStats stats;
  // The query's limits (rows are counted by Result against max_rows).
  std::shared_ptr<timeql::Budget> budget;

 protected:
  mutable std::string json_;
};

namespace timeql {

// Limits of one query, shared by its sources.
class Budget {
 public:
  Budget(uint64_t max_events, uint64_t max_rows, int64_t timeout_ns);
  // Counts `n` more examined events. ResourceExhausted past the limit.
  absl::Status Examine(uint64_t n);
  // DeadlineExceeded once the time limit has passed.
  absl::Status CheckDeadline() const;
  // ResourceExhausted if `rows` is over the row limit (for materialized
  // intermediate results, before they become rows).
  absl::Status CheckRows(uint64_t rows) const;
  uint64_t examined() const { return examined_; }
  uint64_t max_rows() const { return max_rows_; }

 private:
  uint64_t max_events_;
  uint64_t max_rows_;
  int64_t timeout_ns_;
  int64_t deadline_ns_;  // steady clock; 0: none
  uint64_t examined_ = 0;
  uint64_t next_clock_check_ = 0;
};

// What a statement evaluator may use. Lives as long as the Result.
struct Context {
  const Store* store = nullptr;
  int64_t now_ns = 0;
  std::shared_ptr<Budget> budget;
  const CausalityProvider* causality = nullptr;
  const Forecaster* forecaster = nullptr;
  absl::flat_hash_map<std::string, std::string> parameters;
};

// --- expressions ---------------------------------------------------------

struct TraceData;
class TraceCache;

// A row being evaluated: an event, or a row of values (state, aggregate).
struct EvalRow {
  const Event* event = nullptr;
  const Row* row = nullptr;
};

struct CExpr;
using CExprPtr = std::unique_ptr<CExpr>;

struct CExpr {
  enum class Kind : uint8_t {
    kConst,
    kField,
    kNot,
    kNeg,
    kAnd,
    kOr,
    kCompare,
    kArith,
    kLike,
    kRegex,
    kIn,
    kBetween,
    kIsNull,
    kStructural,
    kFunc,
  };
  Kind kind = Kind::kConst;
  Op op = Op::kNone;
  SourceRange range;
  Value value;             // kConst
  bool percent = false;    // kConst written as a percentage (value: p/100)
  double percent_raw = 0;  // the number before '%'
  FieldRef field;          // kField
  bool negated = false;    // kIn, kBetween, kIsNull, kLike, kRegex
  Relation relation = Relation::kChild;
  std::string func;                       // kFunc: lower-case name
  std::shared_ptr<const re2::RE2> regex;  // kRegex
  std::string like;                       // kLike: the pattern
  std::vector<CExprPtr> children;
  // Static result type when known.
  std::optional<ColumnType> type;
};

struct CompileOptions {
  FieldScope scope;
  // Structural conditions (HAS CHILD ...) are allowed (event rows only).
  bool structural = true;
  // Called on every node first; a non-null result replaces the node (used to
  // map aggregates and GROUP BY expressions to columns).
  std::function<absl::StatusOr<CExprPtr>(const Expr&)> rewrite;
};

// Compiles `expr` written in `text`. Type errors, unknown fields, bad
// regular expressions and bad time literals are InvalidArgument pointing at
// the offending node.
absl::StatusOr<CExprPtr> Compile(const Expr& expr, absl::string_view text,
                                 int64_t now_ns, const CompileOptions& options);

// Evaluation state: the trace cache for structural conditions.
struct EvalEnv {
  TraceCache* traces = nullptr;
};

Value Eval(const CExpr& expr, const EvalRow& row, EvalEnv& env);
// SQL truth: nullopt is NULL (unknown); WHERE keeps only true.
std::optional<bool> Truth(const Value& value);
inline bool Holds(const CExpr& expr, const EvalRow& row, EvalEnv& env) {
  return Truth(Eval(expr, row, env)) == std::optional<bool>(true);
}

// Three-way comparison; nullopt when either is NULL or they do not compare.
std::optional<int> CompareValues(const Value& a, const Value& b);
// A total order for sorting: NULL first, then by type, then by value.
int OrderValues(const Value& a, const Value& b);
// The static type of a value (kString for NULL).
ColumnType TypeOf(const Value& v);

// Whether `text` matches the SQL LIKE `pattern` (% any run, _ one
// character, \ escapes). Linear-time in practice: no backtracking.
bool LikeMatch(absl::string_view text, absl::string_view pattern);

// Structural equality of two ASTs (ignoring ranges).
bool SameExpr(const Expr& a, const Expr& b);

// A constant expression's value (a time range bound, a LIMIT, an AT):
// strings are read as times when `as_time`.
absl::StatusOr<int64_t> EvalTimeExpr(const Expr& expr, absl::string_view text,
                                     int64_t now_ns);
absl::StatusOr<std::string> EvalStringExpr(const Expr& expr,
                                           absl::string_view text);

// [from, to) of a TimeRange; open ends are 0 / max.
struct TimeBounds {
  uint64_t from_ns = 0;
  uint64_t to_ns = std::numeric_limits<uint64_t>::max();
};
absl::StatusOr<TimeBounds> ResolveTimeRange(const TimeRange& range,
                                            absl::string_view text,
                                            int64_t now_ns);

// --- traces ----------------------------------------------------------------

struct TraceData {
  std::vector<Event> events;  // time order
  // Span id (hex-free 8 bytes as a string) -> index of the span event.
  absl::flat_hash_map<std::string, size_t> span_index;
  // Index of a span -> indexes of its children: spans whose parent it is,
  // and non-span events recorded inside it.
  absl::flat_hash_map<size_t, std::vector<size_t>> children;
  // Index -> index of its parent (the enclosing span for logs and errors).
  absl::flat_hash_map<size_t, size_t> parent;
  std::vector<size_t> roots;  // no parent in the trace
};
std::string SpanKey(const SpanId& id);
TraceData BuildTraceData(std::vector<Event> events);

// Loads traces on demand and keeps the most recent ones.
class TraceCache {
 public:
  TraceCache(const Store* store, std::shared_ptr<Budget> budget);
  // The trace, or nullptr when loading failed (see status()).
  const TraceData* Get(const TraceId& trace_id);
  // Index of `event` in its trace, or -1.
  static int64_t IndexOf(const TraceData& trace, const Event& event);
  const absl::Status& status() const { return status_; }

 private:
  const Store* store_;
  std::shared_ptr<Budget> budget_;
  absl::flat_hash_map<std::string, std::unique_ptr<TraceData>> traces_;
  std::deque<std::string> order_;
  absl::Status status_;
};

// --- sources ---------------------------------------------------------------

// Rows computed up front.
class VectorSource : public Result::Source {
 public:
  VectorSource(std::vector<Row> rows, std::string plan, std::string json = "");
  bool Next(Row* row) override;
  absl::Status status() const override { return absl::OkStatus(); }
  // Builds structured_json() on first use only (most callers read rows).
  void SetLazyJson(std::function<std::string()> build) {
    lazy_ = std::move(build);
  }
  const std::string& structured_json() const override {
    if (lazy_) {
      json_ = lazy_();
      lazy_ = nullptr;
    }
    return json_;
  }

 private:
  std::vector<Row> rows_;
  size_t next_ = 0;
  mutable std::function<std::string()> lazy_;
};

// Wraps a source into a Result bound to the query's budget.
Result MakeResult(std::vector<Column> columns,
                  std::unique_ptr<Result::Source> source, std::string kind,
                  const Context& ctx);

// --- statements ------------------------------------------------------------

// Each returns the columns, a source and the kind via a Result.
absl::StatusOr<Result> RunEvents(const EventsStmt& stmt, absl::string_view text,
                                 const Context& ctx);
absl::StatusOr<Result> RunState(const StateStmt& stmt, absl::string_view text,
                                const Context& ctx);
absl::StatusOr<Result> RunHistory(const HistoryStmt& stmt,
                                  absl::string_view text, const Context& ctx);
absl::StatusOr<Result> RunChanges(const ChangesStmt& stmt,
                                  absl::string_view text, const Context& ctx);
absl::StatusOr<Result> RunTrace(const TraceStmt& stmt, absl::string_view text,
                                const Context& ctx);
absl::StatusOr<Result> RunTraverse(const TraverseStmt& stmt,
                                   absl::string_view text, const Context& ctx);
absl::StatusOr<Result> RunRootCause(const RootCauseStmt& stmt,
                                    absl::string_view text, const Context& ctx);
absl::StatusOr<Result> RunMatch(const MatchStmt& stmt, absl::string_view text,
                                const Context& ctx);
absl::StatusOr<Result> RunCompare(const CompareStmt& stmt,
                                  absl::string_view text, const Context& ctx);
absl::StatusOr<Result> RunPredict(const PredictStmt& stmt,
                                  absl::string_view text, const Context& ctx);

// Runs a parsed statement.
absl::StatusOr<Result> RunStatement(const Statement& statement,
                                    absl::string_view text, const Context& ctx);

// Resolves a TRAVERSE / ROOT CAUSE start to an event.
absl::StatusOr<Event> ResolveEventRef(const EventRef& ref,
                                      absl::string_view text,
                                      const Context& ctx);

// JSON helpers for structured_json.
std::string JsonString(absl::string_view s);
std::string JsonValue(const Value& v);

}  // namespace timeql
}  // namespace traversion

#endif  // TRAVERSION_TIMEQL_EVALUATOR_H_
