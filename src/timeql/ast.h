// The TimeQL abstract syntax tree: what the parser produces, the printer
// prints back as a canonical query, and the evaluator runs. Every node keeps
// the byte range of the text it came from so that errors found after parsing
// (unknown field, wrong type) still point at the right place.
//
// The tree is deliberately plain data: tests build ASTs by hand to exercise
// the evaluator without the parser.
#ifndef TRAVERSION_TIMEQL_AST_H_
#define TRAVERSION_TIMEQL_AST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace traversion::timeql {

// Half-open byte range [begin, end) into the query text.
struct SourceRange {
  uint32_t begin = 0;
  uint32_t end = 0;
};

// --- expressions -------------------------------------------------------------

enum class ExprKind : uint8_t {
  kNull,        // NULL
  kBool,        // TRUE / FALSE                         -> bool_value
  kInt,         // 42                                   -> int_value
  kFloat,       // 4.2                                  -> float_value
  kString,      // 'text' (times are strings until the evaluator reads them)
  kDuration,    // 5 minutes, 200ms                      -> int_value (ns)
  kPercent,     // 80%                                  -> float_value (80)
  kNow,         // NOW
  kField,       // service, duration, attributes['k']   -> path
  kStar,        // * (only inside COUNT(*))
  kCall,        // name(args...): COUNT, P99, bucket... -> text, children
  kUnary,       // NOT x, -x                            -> op, children[0]
  kBinary,      // x op y                               -> op, children[0..1]
  kIn,          // x [NOT] IN (a, b, ...)               -> negated, children
  kBetween,     // x [NOT] BETWEEN a AND b              -> negated, children
  kIsNull,      // x IS [NOT] NULL                      -> negated, children
  kStructural,  // HAS CHILD|PARENT|DESCENDANT|ANCESTOR (x) -> relation
};

enum class Op : uint8_t {
  kNone,
  // unary
  kNot,
  kNeg,
  // binary, loosest first
  kOr,
  kAnd,
  kEq,  // =
  kNe,  // != or <>
  kLt,
  kLe,
  kGt,
  kGe,
  kLike,        // LIKE (SQL % and _ wildcards)
  kNotLike,     // NOT LIKE
  kMatches,     // =~ or MATCHES (RE2-style regular expression, full match)
  kNotMatches,  // !~
  kAdd,
  kSub,
  kMul,
  kDiv,
};

// Span relations for structural trace conditions, in the spirit of TraceQL's
// `>` (child) and `>>` (descendant): `HAS DESCENDANT (status = 'error')`
// holds for a span with an erroring span anywhere below it.
enum class Relation : uint8_t { kChild, kParent, kDescendant, kAncestor };

// A field reference: `service` is {"service"}; `attributes['http.route']`
// and `attributes.http.route` are {"attributes", "http.route"};
// `span.duration` is {"span", "duration"}. Which paths exist is decided by
// the evaluator's field catalog, not the parser.
struct FieldPath {
  std::vector<std::string> parts;
};

struct Expr {
  ExprKind kind = ExprKind::kNull;
  SourceRange range;
  Op op = Op::kNone;
  Relation relation = Relation::kChild;
  bool negated = false;  // kIn, kBetween, kIsNull
  bool bool_value = false;
  int64_t int_value = 0;
  double float_value = 0;
  std::string text;  // kString contents (unescaped), kCall function name
                     // (as written; compare case-insensitively)
  FieldPath path;    // kField
  std::vector<std::unique_ptr<Expr>> children;
};
using ExprPtr = std::unique_ptr<Expr>;

// --- clauses
// -------------------------------------------------------------------

// A time range. Either bound may be absent (open). `IN LAST d` sets `last`
// and leaves from/to empty: the evaluator reads it as [now - d, now].
struct TimeRange {
  SourceRange range;
  ExprPtr from;                 // FROM x
  ExprPtr to;                   // TO y
  std::optional<int64_t> last;  // IN LAST d, nanoseconds
  bool empty() const { return !from && !to && !last; }
};

struct SelectItem {
  ExprPtr expr;
  std::string alias;  // AS name; empty: the evaluator names the column
};

struct OrderItem {
  ExprPtr expr;
  bool descending = false;
};

// --- statements
// ------------------------------------------------------------------

// EVENTS | TIMELINE [select, ...] [FROM t TO t | IN LAST d] [WHERE e]
//   [GROUP BY e, ...] [ORDER BY e [ASC|DESC], ...] [LIMIT n]
// TIMELINE and EVENTS are synonyms; the keyword used is kept for printing.
struct EventsStmt {
  bool timeline_keyword = false;
  std::vector<SelectItem> select;  // empty: the default event columns
  TimeRange time;
  ExprPtr where;
  std::vector<ExprPtr> group_by;
  std::vector<OrderItem> order_by;
  std::optional<int64_t> limit;
};

// STATE AT t [WHERE e] [LIMIT n] | STATE AT REVISION n [WHERE e] [LIMIT n]
struct StateStmt {
  ExprPtr at;                       // set for STATE AT t
  std::optional<int64_t> revision;  // set for STATE AT REVISION n
  ExprPtr where;
  std::optional<int64_t> limit;
};

// HISTORY OF 'entity' [FROM t TO t | IN LAST d] [LIMIT n]
struct HistoryStmt {
  ExprPtr entity;
  TimeRange time;
  std::optional<int64_t> limit;
};

// CHANGES BETWEEN t1 AND t2 [WHERE e] [LIMIT n]
struct ChangesStmt {
  ExprPtr from;
  ExprPtr to;
  ExprPtr where;
  std::optional<int64_t> limit;
};

// TRACE 'trace-id'
struct TraceStmt {
  ExprPtr trace_id;
};

// Where TRAVERSE and ROOT CAUSE start.
struct EventRef {
  enum class Kind : uint8_t {
    kId,         // 'evt-id'  or  event_id = 'evt-id'
    kParameter,  // a bare name such as `event_id`: bound through
                 // QueryOptions::parameters
    kLastError,  // LAST ERROR
    kWhere,      // WHERE e: the latest event matching e
  };
  Kind kind = Kind::kId;
  SourceRange range;
  bool written_as_comparison = false;  // `event_id = '...'` (for printing)
  std::string text;                    // kId: the id; kParameter: the name
  ExprPtr where;                       // kWhere
};

enum class Direction : uint8_t { kCausality, kBackward, kForward };

// TRAVERSE FROM ref FOLLOWING causality|backward|forward [UNTIL e]
//   [DEPTH n] [LIMIT n]
struct TraverseStmt {
  EventRef from;
  Direction direction = Direction::kCausality;
  ExprPtr until;
  std::optional<int64_t> depth;
  std::optional<int64_t> limit;
};

// One step of a sequence pattern.
struct PatternStep {
  SourceRange range;
  bool negated = false;  // NOT FOLLOWED BY (absence): only the last step
  ExprPtr condition;
};

// MATCH PATTERN WHERE c1 FOLLOWED BY c2 [FOLLOWED BY c3 ...]
//   [NOT FOLLOWED BY cn] WITHIN d [BY key, ...] [FROM t TO t | IN LAST d]
//   [LIMIT n]
// MATCH PATTERN name [FROM t TO t | IN LAST d] [LIMIT n]   -- a named pattern
//   (pool_exhaustion, retry_storm, ...) detected by the causality engine.
struct MatchStmt {
  std::string pattern_name;  // set for a named pattern
  SourceRange name_range;
  std::vector<PatternStep> steps;  // steps[0] is the WHERE condition
  std::optional<int64_t> within;   // nanoseconds
  std::vector<FieldPath> by;       // sequence key (trace_id, service, host)
  TimeRange time;
  std::optional<int64_t> limit;
};

// COMPARE t1 WITH t2 FOR m1, m2, ... [WINDOW d] [WHERE e] [BY field]
// Each metric is a name (cpu, memory, errorRate, or any recorded metric).
struct CompareStmt {
  ExprPtr left;
  ExprPtr right;
  std::vector<ExprPtr> metrics;   // kField (a metric name) or kString
  std::optional<int64_t> window;  // nanoseconds around each instant
  ExprPtr where;
  std::vector<FieldPath> by;
};

// PREDICT NEXT d FROM t [FOR m1, ...] [WHERE e]
struct PredictStmt {
  int64_t horizon = 0;  // nanoseconds
  SourceRange horizon_range;
  ExprPtr from;                  // absent: now
  std::vector<ExprPtr> metrics;  // absent: every metric in the store
  ExprPtr where;
};

// ROOT CAUSE OF ref | ROOT CAUSE OF WINDOW t1 TO t2  [WHERE e] [LIMIT n]
struct RootCauseStmt {
  std::optional<EventRef> event;  // set unless a window is given
  ExprPtr window_from;
  ExprPtr window_to;
  ExprPtr where;
  std::optional<int64_t> limit;
};

using StatementBody =
    std::variant<EventsStmt, StateStmt, HistoryStmt, ChangesStmt, TraceStmt,
                 TraverseStmt, MatchStmt, CompareStmt, PredictStmt,
                 RootCauseStmt>;

struct Statement {
  SourceRange range;
  StatementBody body;
};

}  // namespace traversion::timeql

#endif  // TRAVERSION_TIMEQL_AST_H_
