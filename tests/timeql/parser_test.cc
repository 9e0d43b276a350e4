// The TimeQL parser and printer: every seed example, every statement form,
// precedence, error messages with their carets, limits, and print∘parse
// round trips over the corpus in tests/fuzz/corpus/timeql/.
#include "timeql/parser.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "timeql/printer.h"
#include "traversion/query.h"

namespace traversion::timeql {
namespace {

// --- a dump of every AST field but the ranges
// ----------------------------------

std::string DumpExpr(const Expr* expr);

std::string DumpChildren(const Expr& expr, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < expr.children.size(); ++i) {
    absl::StrAppend(&out, " ", DumpExpr(expr.children[i].get()));
  }
  return out;
}

std::string OpName(Op op) {
  switch (op) {
    case Op::kNone:
      return "none";
    case Op::kNot:
      return "NOT";
    case Op::kNeg:
      return "NEG";
    case Op::kOr:
      return "OR";
    case Op::kAnd:
      return "AND";
    case Op::kEq:
      return "=";
    case Op::kNe:
      return "!=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
    case Op::kLike:
      return "LIKE";
    case Op::kNotLike:
      return "NOT-LIKE";
    case Op::kMatches:
      return "=~";
    case Op::kNotMatches:
      return "!~";
    case Op::kAdd:
      return "+";
    case Op::kSub:
      return "-";
    case Op::kMul:
      return "*";
    case Op::kDiv:
      return "/";
  }
  return "?";
}

std::string DumpPath(const FieldPath& path) {
  return absl::StrJoin(path.parts, "|");
}

std::string DumpExpr(const Expr* expr) {
  if (expr == nullptr) return "<none>";
  switch (expr->kind) {
    case ExprKind::kNull:
      return "NULL";
    case ExprKind::kBool:
      return expr->bool_value ? "true" : "false";
    case ExprKind::kInt:
      return absl::StrCat(expr->int_value);
    case ExprKind::kFloat:
      return absl::StrCat("f", expr->float_value);
    case ExprKind::kString:
      return absl::StrCat("'", expr->text, "'");
    case ExprKind::kDuration:
      return absl::StrCat("dur:", expr->int_value);
    case ExprKind::kPercent:
      return absl::StrCat(expr->float_value, "%");
    case ExprKind::kNow:
      return "NOW";
    case ExprKind::kField:
      return DumpPath(expr->path);
    case ExprKind::kStar:
      return "*";
    case ExprKind::kCall:
      return absl::StrCat("(call ", expr->text, DumpChildren(*expr), ")");
    case ExprKind::kUnary:
    case ExprKind::kBinary:
      return absl::StrCat("(", OpName(expr->op), DumpChildren(*expr), ")");
    case ExprKind::kIn:
      return absl::StrCat("(", expr->negated ? "NOT-IN" : "IN",
                          DumpChildren(*expr), ")");
    case ExprKind::kBetween:
      return absl::StrCat("(", expr->negated ? "NOT-BETWEEN" : "BETWEEN",
                          DumpChildren(*expr), ")");
    case ExprKind::kIsNull:
      return absl::StrCat("(", expr->negated ? "IS-NOT-NULL" : "IS-NULL",
                          DumpChildren(*expr), ")");
    case ExprKind::kStructural: {
      const char* names[] = {"CHILD", "PARENT", "DESCENDANT", "ANCESTOR"};
      return absl::StrCat("(HAS-", names[static_cast<int>(expr->relation)],
                          DumpChildren(*expr), ")");
    }
  }
  return "?";
}

std::string DumpExprs(const std::vector<ExprPtr>& exprs) {
  std::vector<std::string> parts;
  for (const ExprPtr& expr : exprs) parts.push_back(DumpExpr(expr.get()));
  return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
}

std::string DumpPaths(const std::vector<FieldPath>& paths) {
  std::vector<std::string> parts;
  for (const FieldPath& path : paths) parts.push_back(DumpPath(path));
  return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
}

template <typename T>
std::string DumpOptional(const std::optional<T>& value) {
  return value ? absl::StrCat(*value) : "-";
}

std::string DumpTime(const TimeRange& time) {
  return absl::StrCat("time{from=", DumpExpr(time.from.get()),
                      " to=", DumpExpr(time.to.get()),
                      " last=", DumpOptional(time.last), "}");
}

std::string DumpRef(const EventRef& ref) {
  const char* kinds[] = {"id", "parameter", "last-error", "where"};
  return absl::StrCat("ref{", kinds[static_cast<int>(ref.kind)], " '", ref.text,
                      "' cmp=", ref.written_as_comparison ? "true" : "false",
                      " where=", DumpExpr(ref.where.get()), "}");
}

struct Dumper {
  std::string operator()(const EventsStmt& s) const {
    std::vector<std::string> select;
    for (const SelectItem& item : s.select) {
      select.push_back(
          absl::StrCat(DumpExpr(item.expr.get()), " AS '", item.alias, "'"));
    }
    std::vector<std::string> order;
    for (const OrderItem& item : s.order_by) {
      order.push_back(absl::StrCat(DumpExpr(item.expr.get()),
                                   item.descending ? " DESC" : " ASC"));
    }
    return absl::StrCat(s.timeline_keyword ? "TIMELINE" : "EVENTS", " select=[",
                        absl::StrJoin(select, ", "), "] ", DumpTime(s.time),
                        " where=", DumpExpr(s.where.get()),
                        " group=", DumpExprs(s.group_by), " order=[",
                        absl::StrJoin(order, ", "),
                        "] limit=", DumpOptional(s.limit));
  }
  std::string operator()(const StateStmt& s) const {
    return absl::StrCat("STATE at=", DumpExpr(s.at.get()),
                        " revision=", DumpOptional(s.revision),
                        " where=", DumpExpr(s.where.get()),
                        " limit=", DumpOptional(s.limit));
  }
  std::string operator()(const HistoryStmt& s) const {
    return absl::StrCat("HISTORY entity=", DumpExpr(s.entity.get()), " ",
                        DumpTime(s.time), " limit=", DumpOptional(s.limit));
  }
  std::string operator()(const ChangesStmt& s) const {
    return absl::StrCat(
        "CHANGES from=", DumpExpr(s.from.get()), " to=", DumpExpr(s.to.get()),
        " where=", DumpExpr(s.where.get()), " limit=", DumpOptional(s.limit));
  }
  std::string operator()(const TraceStmt& s) const {
    return absl::StrCat("TRACE ", DumpExpr(s.trace_id.get()));
  }
  std::string operator()(const TraverseStmt& s) const {
    const char* directions[] = {"causality", "backward", "forward"};
    return absl::StrCat("TRAVERSE ", DumpRef(s.from), " ",
                        directions[static_cast<int>(s.direction)],
                        " until=", DumpExpr(s.until.get()),
                        " depth=", DumpOptional(s.depth),
                        " limit=", DumpOptional(s.limit));
  }
  std::string operator()(const MatchStmt& s) const {
    std::vector<std::string> steps;
    for (const PatternStep& step : s.steps) {
      steps.push_back(absl::StrCat(step.negated ? "!" : "",
                                   DumpExpr(step.condition.get())));
    }
    return absl::StrCat(
        "MATCH name='", s.pattern_name, "' steps=[", absl::StrJoin(steps, ", "),
        "] within=", DumpOptional(s.within), " by=", DumpPaths(s.by), " ",
        DumpTime(s.time), " limit=", DumpOptional(s.limit));
  }
  std::string operator()(const CompareStmt& s) const {
    return absl::StrCat(
        "COMPARE ", DumpExpr(s.left.get()), " WITH ", DumpExpr(s.right.get()),
        " metrics=", DumpExprs(s.metrics), " window=", DumpOptional(s.window),
        " where=", DumpExpr(s.where.get()), " by=", DumpPaths(s.by));
  }
  std::string operator()(const PredictStmt& s) const {
    return absl::StrCat(
        "PREDICT horizon=", s.horizon, " from=", DumpExpr(s.from.get()),
        " metrics=", DumpExprs(s.metrics), " where=", DumpExpr(s.where.get()));
  }
  std::string operator()(const RootCauseStmt& s) const {
    return absl::StrCat("ROOT-CAUSE event=", s.event ? DumpRef(*s.event) : "-",
                        " window=", DumpExpr(s.window_from.get()), "..",
                        DumpExpr(s.window_to.get()),
                        " where=", DumpExpr(s.where.get()),
                        " limit=", DumpOptional(s.limit));
  }
};

std::string Dump(const Statement& statement) {
  return std::visit(Dumper{}, statement.body);
}

// --- helpers -----------------------------------------------------------------

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMinute = 60 * kSecond;

std::string DumpOf(absl::string_view query) {
  absl::StatusOr<Statement> statement = Parse(query);
  if (!statement.ok())
    return absl::StrCat("ERROR: ", statement.status().message());
  return Dump(*statement);
}

// The WHERE condition of an EVENTS statement, as an S-expression.
std::string Where(absl::string_view condition) {
  absl::StatusOr<Statement> statement =
      Parse(absl::StrCat("EVENTS WHERE ", condition));
  if (!statement.ok())
    return absl::StrCat("ERROR: ", statement.status().message());
  return DumpExpr(std::get<EventsStmt>(statement->body).where.get());
}

std::string ErrorOf(absl::string_view query) {
  absl::StatusOr<Statement> statement = Parse(query);
  if (statement.ok()) return "parsed: " + Print(*statement);
  EXPECT_EQ(statement.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(statement.status().message());
}

std::string Canonical(absl::string_view query) {
  absl::StatusOr<Statement> statement = Parse(query);
  if (!statement.ok())
    return absl::StrCat("ERROR: ", statement.status().message());
  return Print(*statement);
}

// --- the seed examples, exactly as written
// -------------------------------------

TEST(ParserSeedTest, StateAtWhere) {
  EXPECT_EQ(DumpOf("STATE AT '2024-01-15 15:47:23'\nWHERE service = "
                   "'api-gateway'"),
            "STATE at='2024-01-15 15:47:23' revision=- where=(= service "
            "'api-gateway') limit=-");
}

TEST(ParserSeedTest, TraverseFromEventIdComparison) {
  absl::StatusOr<Statement> statement = Parse(
      "TRAVERSE FROM event_id = 'abc-123'\nFOLLOWING causality\nUNTIL "
      "error_occurred = true");
  ASSERT_TRUE(statement.ok()) << statement.status();
  const auto& traverse = std::get<TraverseStmt>(statement->body);
  EXPECT_EQ(traverse.from.kind, EventRef::Kind::kId);
  EXPECT_TRUE(traverse.from.written_as_comparison);
  EXPECT_EQ(traverse.from.text, "abc-123");
  EXPECT_EQ(traverse.direction, Direction::kCausality);
  EXPECT_EQ(DumpExpr(traverse.until.get()), "(= error_occurred true)");
  EXPECT_EQ(Print(*statement),
            "TRAVERSE FROM event_id = 'abc-123' FOLLOWING causality UNTIL "
            "error_occurred = TRUE");
}

TEST(ParserSeedTest, TraverseFromParameter) {
  absl::StatusOr<Statement> statement = Parse(
      "TRAVERSE FROM event_id FOLLOWING backward UNTIL error_occurred = true");
  ASSERT_TRUE(statement.ok()) << statement.status();
  const auto& traverse = std::get<TraverseStmt>(statement->body);
  EXPECT_EQ(traverse.from.kind, EventRef::Kind::kParameter);
  EXPECT_EQ(traverse.from.text, "event_id");
  EXPECT_EQ(traverse.direction, Direction::kBackward);
}

TEST(ParserSeedTest, TraverseFromQuotedId) {
  EXPECT_EQ(DumpOf("TRAVERSE FROM 'evt-id' FOLLOWING backward UNTIL "
                   "error_occurred = true"),
            "TRAVERSE ref{id 'evt-id' cmp=false where=<none>} backward "
            "until=(= error_occurred true) depth=- limit=-");
}

TEST(ParserSeedTest, MatchPatternOnOneLineAndOnMany) {
  const std::string expected =
      "MATCH name='' steps=[(> cpu 80%), (> memory 90%)] within=300000000000 "
      "by=[] time{from=<none> to=<none> last=2592000000000000} limit=-";
  EXPECT_EQ(DumpOf("MATCH PATTERN WHERE cpu > 80% FOLLOWED BY memory > 90% "
                   "WITHIN 5 minutes IN LAST 30 days"),
            expected);
  // As in the seed README, with trailing spaces on each line.
  EXPECT_EQ(DumpOf("MATCH PATTERN \nWHERE cpu > 80% \nFOLLOWED BY memory > "
                   "90% \nWITHIN 5 minutes \nIN LAST 30 days\n"),
            expected);
}

TEST(ParserSeedTest, Compare) {
  EXPECT_EQ(DumpOf("COMPARE '2024-01-15 15:45:00' WITH '2024-01-15 15:50:00' "
                   "FOR cpu, memory, errorRate"),
            "COMPARE '2024-01-15 15:45:00' WITH '2024-01-15 15:50:00' "
            "metrics=[cpu, memory, errorRate] window=- where=<none> by=[]");
}

TEST(ParserSeedTest, Predict) {
  EXPECT_EQ(DumpOf("PREDICT NEXT 5 minutes FROM 'now'"),
            absl::StrCat("PREDICT horizon=", 5 * kMinute,
                         " from='now' metrics=[] where=<none>"));
}

TEST(ParserSeedTest, Timeline) {
  EXPECT_EQ(DumpOf("TIMELINE FROM '10 minutes ago' TO 'now' WHERE type = "
                   "'error'"),
            "TIMELINE select=[] time{from='10 minutes ago' to='now' last=-} "
            "where=(= type 'error') group=[] order=[] limit=-");
  EXPECT_EQ(Where("eventType = 'error'"), "(= eventType 'error')");
}

// --- statement forms
// -------------------------------------------------------------

TEST(ParserTest, EventsWithEveryClause) {
  EXPECT_EQ(
      DumpOf("EVENTS service, COUNT(*) AS n, P99(duration) IN LAST 1 hour "
             "WHERE type = 'span' GROUP BY service, bucket(1 minute) ORDER BY "
             "n DESC, service ASC LIMIT 10;"),
      "EVENTS select=[service AS '', (call COUNT *) AS 'n', (call P99 "
      "duration) AS ''] time{from=<none> to=<none> last=3600000000000} "
      "where=(= type 'span') group=[service, (call bucket dur:60000000000)] "
      "order=[n DESC, service ASC] limit=10");
}

TEST(ParserTest, EventsAloneAndTimeAfterWhere) {
  EXPECT_EQ(DumpOf("EVENTS"),
            "EVENTS select=[] time{from=<none> to=<none> last=-} where=<none> "
            "group=[] order=[] limit=-");
  EXPECT_EQ(DumpOf("events where a = 1 in last 5m"),
            DumpOf("EVENTS IN LAST 5 minutes WHERE a = 1"));
  EXPECT_EQ(DumpOf("EVENTS * WHERE a = 1"), DumpOf("EVENTS WHERE a = 1"));
  EXPECT_EQ(DumpOf("EVENTS TO 'now'"),
            "EVENTS select=[] time{from=<none> to='now' last=-} where=<none> "
            "group=[] order=[] limit=-");
}

TEST(ParserTest, StateAtRevision) {
  EXPECT_EQ(DumpOf("STATE AT REVISION 42 WHERE kind = 'config' LIMIT 3"),
            "STATE at=<none> revision=42 where=(= kind 'config') limit=3");
  EXPECT_EQ(DumpOf("STATE AT NOW - 1 day"),
            "STATE at=(- NOW dur:86400000000000) revision=- where=<none> "
            "limit=-");
}

TEST(ParserTest, HistoryChangesTrace) {
  EXPECT_EQ(DumpOf("HISTORY OF 'config/flags' IN LAST 7 days LIMIT 20"),
            "HISTORY entity='config/flags' time{from=<none> to=<none> "
            "last=604800000000000} limit=20");
  EXPECT_EQ(DumpOf("CHANGES BETWEEN '1 hour ago' AND 'now' WHERE kind = "
                   "'config'"),
            "CHANGES from='1 hour ago' to='now' where=(= kind 'config') "
            "limit=-");
  EXPECT_EQ(DumpOf("CHANGES BETWEEN NOW - 2h AND NOW"),
            "CHANGES from=(- NOW dur:7200000000000) to=NOW where=<none> "
            "limit=-");
  EXPECT_EQ(DumpOf("TRACE '4bf92f35'"), "TRACE '4bf92f35'");
}

TEST(ParserTest, TraverseForms) {
  EXPECT_EQ(DumpOf("TRAVERSE FROM LAST ERROR FOLLOWING forward DEPTH 3 "
                   "LIMIT 9"),
            "TRAVERSE ref{last-error '' cmp=false where=<none>} forward "
            "until=<none> depth=3 limit=9");
  EXPECT_EQ(DumpOf("TRAVERSE FROM WHERE service = 'db' FOLLOWING Backward"),
            "TRAVERSE ref{where '' cmp=false where=(= service 'db')} backward "
            "until=<none> depth=- limit=-");
  EXPECT_EQ(DumpOf("TRAVERSE FROM id = 'x' FOLLOWING causality"),
            "TRAVERSE ref{id 'x' cmp=true where=<none>} causality "
            "until=<none> depth=- limit=-");
}

TEST(ParserTest, MatchForms) {
  EXPECT_EQ(DumpOf("MATCH PATTERN pool_exhaustion IN LAST 1 hour"),
            "MATCH name='pool_exhaustion' steps=[] within=- by=[] "
            "time{from=<none> to=<none> last=3600000000000} limit=-");
  EXPECT_EQ(DumpOf("MATCH PATTERN WHERE type = 'request' NOT FOLLOWED BY type "
                   "= 'response' WITHIN 30 seconds BY trace_id"),
            "MATCH name='' steps=[(= type 'request'), !(= type 'response')] "
            "within=30000000000 by=[trace_id] time{from=<none> to=<none> "
            "last=-} limit=-");
  EXPECT_EQ(DumpOf("MATCH PATTERN WHERE a FOLLOWED BY b FOLLOWED BY c WITHIN "
                   "1m BY service, attributes['user.id'] LIMIT 2"),
            "MATCH name='' steps=[a, b, c] within=60000000000 by=[service, "
            "attributes|user.id] time{from=<none> to=<none> last=-} limit=2");
}

TEST(ParserTest, CompareAndPredictForms) {
  EXPECT_EQ(DumpOf("COMPARE NOW - 1 day WITH NOW FOR 'p99 latency', memory "
                   "WINDOW 5 minutes WHERE service = 'api' BY host"),
            "COMPARE (- NOW dur:86400000000000) WITH NOW metrics=['p99 "
            "latency', memory] window=300000000000 where=(= service 'api') "
            "by=[host]");
  EXPECT_EQ(DumpOf("PREDICT NEXT 30 minutes FOR cpu, memory WHERE service = "
                   "'api'"),
            "PREDICT horizon=1800000000000 from=<none> metrics=[cpu, memory] "
            "where=(= service 'api')");
}

TEST(ParserTest, RootCauseForms) {
  EXPECT_EQ(DumpOf("ROOT CAUSE OF LAST ERROR"),
            "ROOT-CAUSE event=ref{last-error '' cmp=false where=<none>} "
            "window=<none>..<none> where=<none> limit=-");
  EXPECT_EQ(DumpOf("ROOT CAUSE OF WINDOW '2024-01-15 15:45' TO NOW WHERE x = "
                   "1 LIMIT 5"),
            "ROOT-CAUSE event=- window='2024-01-15 15:45'..NOW where=(= x 1) "
            "limit=5");
  EXPECT_EQ(DumpOf("ROOT CAUSE OF incident"),
            "ROOT-CAUSE event=ref{parameter 'incident' cmp=false "
            "where=<none>} window=<none>..<none> where=<none> limit=-");
  EXPECT_EQ(DumpOf("ROOT CAUSE OF 'evt-1'"),
            "ROOT-CAUSE event=ref{id 'evt-1' cmp=false where=<none>} "
            "window=<none>..<none> where=<none> limit=-");
}

// --- expressions
// -------------------------------------------------------------------

TEST(ParserExprTest, Precedence) {
  EXPECT_EQ(Where("a = 1 OR b = 2 AND c = 3"),
            "(OR (= a 1) (AND (= b 2) (= c 3)))");
  EXPECT_EQ(Where("NOT a = 1 AND b"), "(AND (NOT (= a 1)) b)");
  EXPECT_EQ(Where("NOT NOT a"), "(NOT (NOT a))");
  EXPECT_EQ(Where("x + y * z > 10"), "(> (+ x (* y z)) 10)");
  EXPECT_EQ(Where("x - y - z = 0"), "(= (- (- x y) z) 0)");
  EXPECT_EQ(Where("x / y * z = 0"), "(= (* (/ x y) z) 0)");
  EXPECT_EQ(Where("-x * -2 < 3"), "(< (* (NEG x) (NEG 2)) 3)");
  EXPECT_EQ(Where("a BETWEEN 1 + 1 AND 3 AND b"),
            "(AND (BETWEEN a (+ 1 1) 3) b)");
  EXPECT_EQ(Where("a NOT IN (1, 2 + 3) OR b IS NOT NULL"),
            "(OR (NOT-IN a 1 (+ 2 3)) (IS-NOT-NULL b))");
  EXPECT_EQ(Where("name LIKE 'a%' AND name NOT LIKE '%b'"),
            "(AND (LIKE name 'a%') (NOT-LIKE name '%b'))");
  EXPECT_EQ(Where("m =~ 'x' OR m !~ 'y' OR m MATCHES 'z' OR m NOT MATCHES 'w'"),
            "(OR (OR (OR (=~ m 'x') (!~ m 'y')) (=~ m 'z')) (!~ m 'w'))");
  EXPECT_EQ(Where("a <> 1 AND b != 2 AND c == 3 AND d <= 4 AND e >= 5"),
            "(AND (AND (AND (AND (!= a 1) (!= b 2)) (= c 3)) (<= d 4)) (>= e "
            "5))");
  EXPECT_EQ(Where("(a OR b) AND c"), "(AND (OR a b) c)");
}

TEST(ParserExprTest, Literals) {
  EXPECT_EQ(Where("a = TRUE AND b = false AND c = NULL AND d = now()"),
            "(AND (AND (AND (= a true) (= b false)) (= c NULL)) (= d NOW))");
  EXPECT_EQ(Where("x = 4.25"), "(= x f4.25)");
  EXPECT_EQ(Where("x = 1e-3"), "(= x f0.001)");
  EXPECT_EQ(Where("x = 'it''s'"), "(= x 'it's')");
  EXPECT_EQ(Where("x > 80%"), "(> x 80%)");
  EXPECT_EQ(Where("x > 1h30m"), "(> x dur:5400000000000)");
  EXPECT_EQ(Where("x > 1.5 s"), "(> x dur:1500000000)");
}

TEST(ParserExprTest, FieldsAndCalls) {
  EXPECT_EQ(Where("attributes['http.route'] = '/x'"),
            "(= attributes|http.route '/x')");
  EXPECT_EQ(Where("attributes.http.route = '/x'"),
            "(= attributes|http.route '/x')");
  EXPECT_EQ(Where("span.duration > 1s"), "(> span|duration dur:1000000000)");
  EXPECT_EQ(Where("x['a']['b'] = 1"), "(= x|a|b 1)");
  EXPECT_EQ(Where("\"from\" = 1"), "(= from 1)");
  EXPECT_EQ(Where("errorRate > 0.5 AND error_occurred"),
            "(AND (> errorRate f0.5) error_occurred)");
  EXPECT_EQ(Where("COUNT(*) > 1"), "(> (call COUNT *) 1)");
  EXPECT_EQ(Where("f() = g(1, 'a', h(x))"),
            "(= (call f) (call g 1 'a' (call h x)))");
  EXPECT_EQ(Where("HAS DESCENDANT (status = 'error')"),
            "(HAS-DESCENDANT (= status 'error'))");
  EXPECT_EQ(Where("has child (a) and HAS Parent (b) and HAS ANCESTOR (c)"),
            "(AND (AND (HAS-CHILD a) (HAS-PARENT b)) (HAS-ANCESTOR c))");
}

TEST(ParserExprTest, KeywordsAreCaseInsensitive) {
  EXPECT_EQ(DumpOf("timeline from 'a' to 'b' where x = 1 order by x desc "
                   "limit 1"),
            DumpOf("TIMELINE FROM 'a' TO 'b' WHERE x = 1 ORDER BY x DESC "
                   "LIMIT 1"));
  EXPECT_EQ(DumpOf("match pattern where a followed by b within 5 Minutes"),
            DumpOf("MATCH PATTERN WHERE a FOLLOWED BY b WITHIN 5 minutes"));
}

TEST(ParserExprTest, CommentsAndWhitespace) {
  EXPECT_EQ(DumpOf("-- find errors\nEVENTS -- all of them\n\tWHERE a = 1 --"),
            DumpOf("EVENTS WHERE a = 1"));
}

// --- canonical printing
// ---------------------------------------------------------------

TEST(PrinterTest, CanonicalForm) {
  EXPECT_EQ(Canonical("events   where (a=1)  and ((b))"),
            "EVENTS WHERE a = 1 AND b");
  EXPECT_EQ(Canonical("EVENTS WHERE a - (b - c) = 1"),
            "EVENTS WHERE a - (b - c) = 1");
  EXPECT_EQ(Canonical("EVENTS WHERE (a - b) - c = 1"),
            "EVENTS WHERE a - b - c = 1");
  // OR is left-associative: a right operand that is itself an OR keeps its
  // parentheses so the tree reads back the same.
  EXPECT_EQ(Canonical("EVENTS WHERE NOT (a AND b) OR (c OR d)"),
            "EVENTS WHERE NOT (a AND b) OR (c OR d)");
  EXPECT_EQ(Canonical("EVENTS WHERE (NOT (a AND b) OR c) OR d"),
            "EVENTS WHERE NOT (a AND b) OR c OR d");
  EXPECT_EQ(Canonical("EVENTS WHERE a OR (b OR c)"),
            "EVENTS WHERE a OR (b OR c)");
  EXPECT_EQ(Canonical("EVENTS WHERE -(-x) = - -1"),
            "EVENTS WHERE -(-x) = -(-1)");
  EXPECT_EQ(Canonical("EVENTS WHERE (a = 1) = TRUE"),
            "EVENTS WHERE (a = 1) = TRUE");
  EXPECT_EQ(Canonical("EVENTS WHERE x <> 'it''s' AND y MATCHES 'z'"),
            "EVENTS WHERE x != 'it''s' AND y =~ 'z'");
  EXPECT_EQ(Canonical("EVENTS WHERE d = 1h30m OR d = 1500ms OR d = 7d OR d = "
                      "2 weeks OR d = 0s"),
            "EVENTS WHERE d = 90 minutes OR d = 1500ms OR d = 7 days OR d = "
            "14 days OR d = 0 seconds");
  EXPECT_EQ(Canonical("EVENTS WHERE f = 2.0 AND g = 1e300 AND p = 80.0%"),
            "EVENTS WHERE f = 2.0 AND g = 1e+300 AND p = 80%");
  EXPECT_EQ(Canonical("EVENTS WHERE \"from\" = 1 AND \"a b\"['c'] = 2 AND "
                      "attributes.user = 3"),
            "EVENTS WHERE \"from\" = 1 AND \"a b\".c = 2 AND attributes.user "
            "= 3");
  EXPECT_EQ(Canonical("events where a = 1 in last 2 hours limit 3;"),
            "EVENTS IN LAST 2 hours WHERE a = 1 LIMIT 3");
  EXPECT_EQ(Canonical("TRAVERSE FROM \"last\" FOLLOWING backward"),
            "TRAVERSE FROM \"last\" FOLLOWING backward");
  EXPECT_EQ(Canonical("ROOT CAUSE OF \"window\""), "ROOT CAUSE OF \"window\"");
}

TEST(PrinterTest, HandBuiltTreesParenthesiseByPrecedence) {
  // (a OR b) AND c, built without the parser.
  auto field = [](const char* name) {
    auto expr = std::make_unique<Expr>();
    expr->kind = ExprKind::kField;
    expr->path.parts = {name};
    return expr;
  };
  auto binary = [](Op op, ExprPtr left, ExprPtr right) {
    auto expr = std::make_unique<Expr>();
    expr->kind = ExprKind::kBinary;
    expr->op = op;
    expr->children.push_back(std::move(left));
    expr->children.push_back(std::move(right));
    return expr;
  };
  ExprPtr tree =
      binary(Op::kAnd, binary(Op::kOr, field("a"), field("b")), field("c"));
  EXPECT_EQ(PrintExpr(*tree), "(a OR b) AND c");
  ExprPtr product =
      binary(Op::kMul, field("x"), binary(Op::kAdd, field("y"), field("z")));
  EXPECT_EQ(PrintExpr(*product), "x * (y + z)");
}

TEST(FormatQueryTest, PublicApi) {
  absl::StatusOr<std::string> text =
      traversion::FormatQuery("timeline where  type='error'  limit 5");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "TIMELINE WHERE type = 'error' LIMIT 5");
  EXPECT_EQ(traversion::FormatQuery("TIMELINE WHERE").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- errors
// ---------------------------------------------------------------------------

TEST(ParserErrorTest, MisspeltFollowedBy) {
  EXPECT_EQ(ErrorOf("MATCH PATTERN WHERE cpu > 80% FOLLOWD BY memory > 90%"),
            "1:31: unexpected 'FOLLOWD', expected FOLLOWED BY\n"
            "MATCH PATTERN WHERE cpu > 80% FOLLOWD BY memory > 90%\n"
            "                              ^~~~~~~");
}

TEST(ParserErrorTest, PointsIntoLaterLines) {
  EXPECT_EQ(ErrorOf("MATCH PATTERN\nWHERE cpu > 80%\nFOLLOWED BY memory > "
                    "90%\nWITHN 5 minutes"),
            "4:1: unexpected 'WITHN', expected FOLLOWED BY, WITHIN, BY, "
            "FROM, IN LAST, LIMIT or end of query; did you mean WITHIN?\n"
            "WITHN 5 minutes\n"
            "^~~~~");
}

TEST(ParserErrorTest, MisspeltKeywords) {
  EXPECT_EQ(ErrorOf("TIMELIN FROM 'a'"),
            "1:1: unexpected 'TIMELIN', expected a statement (EVENTS, "
            "TIMELINE, STATE, HISTORY, CHANGES, TRACE, TRAVERSE, MATCH "
            "PATTERN, COMPARE, PREDICT or ROOT CAUSE); did you mean "
            "TIMELINE?\nTIMELIN FROM 'a'\n^~~~~~~");
  EXPECT_EQ(ErrorOf("EVENTS WHER type = 'x'"),
            "1:8: unexpected 'WHER'; did you mean WHERE?\n"
            "EVENTS WHER type = 'x'\n"
            "       ^~~~");
  EXPECT_EQ(ErrorOf("EVENTS WHERE a = 1 ORDR BY a"),
            "1:20: unexpected 'ORDR', expected FROM, IN LAST, GROUP BY, ORDER "
            "BY, LIMIT or end of query; did you mean ORDER?\n"
            "EVENTS WHERE a = 1 ORDR BY a\n"
            "                   ^~~~");
  EXPECT_EQ(ErrorOf("TRAVERSE FROM 'x' FOLLOWING backwards"),
            "1:29: unexpected 'backwards', expected causality, backward or "
            "forward; did you mean backward?\n"
            "TRAVERSE FROM 'x' FOLLOWING backwards\n"
            "                            ^~~~~~~~~");
  EXPECT_EQ(ErrorOf("EVENTS WHERE HAS DESCENDENT (a)"),
            "1:18: unexpected 'DESCENDENT', expected CHILD, PARENT, "
            "DESCENDANT or ANCESTOR after HAS; did you mean DESCENDANT?\n"
            "EVENTS WHERE HAS DESCENDENT (a)\n"
            "                 ^~~~~~~~~~");
}

TEST(ParserErrorTest, LexicalErrors) {
  EXPECT_EQ(ErrorOf("EVENTS WHERE a = 'open"),
            "1:18: unterminated string: missing closing '\n"
            "EVENTS WHERE a = 'open\n"
            "                 ^~~~~");
  EXPECT_EQ(ErrorOf("EVENTS WHERE a = 'two\nlines"),
            "1:18: unterminated string: missing closing '\n"
            "EVENTS WHERE a = 'two\n"
            "                 ^~~~");
  EXPECT_EQ(ErrorOf("EVENTS WHERE \"a = 1"),
            "1:14: unterminated quoted identifier: missing closing \"\n"
            "EVENTS WHERE \"a = 1\n"
            "             ^~~~~~");
  EXPECT_EQ(ErrorOf("EVENTS WHERE d > 5x"),
            "1:18: unknown duration unit 'x' (ns, us, ms, s, m, h, d, w or "
            "their names: seconds, minutes...)\n"
            "EVENTS WHERE d > 5x\n"
            "                 ^~");
  EXPECT_EQ(ErrorOf("EVENTS WHERE d > 1h30"),
            "1:18: missing unit after '30'\n"
            "EVENTS WHERE d > 1h30\n"
            "                 ^~~~");
  EXPECT_EQ(ErrorOf("EVENTS WHERE n = 99999999999999999999"),
            "1:18: integer out of range: 99999999999999999999\n"
            "EVENTS WHERE n = 99999999999999999999\n"
            "                 ^~~~~~~~~~~~~~~~~~~~");
  EXPECT_EQ(ErrorOf("EVENTS WHERE n = 1e999"),
            "1:18: number out of range: 1e999\n"
            "EVENTS WHERE n = 1e999\n"
            "                 ^~~~~");
  EXPECT_EQ(ErrorOf("EVENTS WHERE n = 1.5ns"),
            "1:18: duration is not a whole number of nanoseconds\n"
            "EVENTS WHERE n = 1.5ns\n"
            "                 ^~~~~");
  EXPECT_EQ(ErrorOf("EVENTS WHERE a # 1"),
            "1:16: unexpected character '#'\n"
            "EVENTS WHERE a # 1\n"
            "               ^");
  EXPECT_EQ(ErrorOf("EVENTS WHERE a ! 1"),
            "1:16: unexpected character '!' (did you mean '!=' or NOT?)\n"
            "EVENTS WHERE a ! 1\n"
            "               ^");
}

TEST(ParserErrorTest, MissingUnits) {
  EXPECT_EQ(ErrorOf("EVENTS IN LAST 30"),
            "1:16: missing unit: IN LAST takes a duration such as '30 "
            "minutes' or '30s'\nEVENTS IN LAST 30\n               ^~");
  EXPECT_EQ(ErrorOf("PREDICT NEXT 5 FROM 'now'"),
            "1:14: missing unit: PREDICT NEXT takes a duration such as '5 "
            "minutes' or '5s'\nPREDICT NEXT 5 FROM 'now'\n             ^");
  EXPECT_EQ(ErrorOf("MATCH PATTERN WHERE a FOLLOWED BY b WITHIN 2.5"),
            "1:44: missing unit: WITHIN takes a duration such as '2.5 "
            "minutes' or '2.5s'\n"
            "MATCH PATTERN WHERE a FOLLOWED BY b WITHIN 2.5\n"
            "                                           ^~~");
}

TEST(ParserErrorTest, TrailingGarbageAndEmpty) {
  EXPECT_EQ(ErrorOf("TRACE 'abc' 'def'"),
            "1:13: unexpected string 'def', expected end of query\n"
            "TRACE 'abc' 'def'\n"
            "            ^~~~~");
  EXPECT_EQ(ErrorOf("EVENTS LIMIT 5 LIMIT 6"),
            "1:16: duplicate LIMIT clause\nEVENTS LIMIT 5 LIMIT 6\n"
            "               ^~~~~");
  EXPECT_EQ(ErrorOf("EVENTS; EVENTS"),
            "1:9: unexpected 'EVENTS', expected FROM, IN LAST, WHERE, GROUP "
            "BY, ORDER BY, LIMIT or end of query\nEVENTS; EVENTS\n"
            "        ^~~~~~");
  EXPECT_EQ(ErrorOf(""), "1:1: empty query\n\n^");
  EXPECT_EQ(ErrorOf("  -- only a comment\n"),
            "1:1: empty query\n  -- only a comment\n^");
  EXPECT_EQ(ErrorOf(";"), "1:1: empty query\n;\n^");
}

TEST(ParserErrorTest, UnexpectedEndOfQuery) {
  EXPECT_EQ(ErrorOf("EVENTS WHERE"),
            "1:13: unexpected end of query, expected an expression\n"
            "EVENTS WHERE\n"
            "            ^");
  EXPECT_EQ(ErrorOf("EVENTS WHERE a IN (1, 2"),
            "1:24: unexpected end of query, expected ',' or ')' in the IN "
            "list\nEVENTS WHERE a IN (1, 2\n                       ^");
  EXPECT_EQ(ErrorOf("STATE"),
            "1:6: unexpected end of query, expected AT after STATE\n"
            "STATE\n     ^");
}

TEST(ParserErrorTest, StatementRules) {
  EXPECT_EQ(ErrorOf("MATCH PATTERN WHERE a NOT FOLLOWED BY b"),
            "1:23: NOT FOLLOWED BY needs WITHIN <duration>: an absence is "
            "only known once the window has passed\n"
            "MATCH PATTERN WHERE a NOT FOLLOWED BY b\n"
            "                      ^~~~~~~~~~~~~~~~~");
  EXPECT_EQ(ErrorOf("MATCH PATTERN WHERE a NOT FOLLOWED BY b FOLLOWED BY c "
                    "WITHIN 1m"),
            "1:41: NOT FOLLOWED BY must be the last step of a pattern\n"
            "MATCH PATTERN WHERE a NOT FOLLOWED BY b FOLLOWED BY c WITHIN "
            "1m\n"
            "                                        ^~~~~~~~");
  EXPECT_EQ(ErrorOf("EVENTS WHERE a = b = c"),
            "1:20: comparisons do not chain; combine them with AND or add "
            "parentheses\nEVENTS WHERE a = b = c\n                   ^");
  EXPECT_EQ(ErrorOf("TRAVERSE FROM trace_id = 'x' FOLLOWING backward"),
            "1:15: an event is named by its id: write event_id = '<id>', or "
            "WHERE trace_id = ... for the latest matching event\n"
            "TRAVERSE FROM trace_id = 'x' FOLLOWING backward\n"
            "              ^~~~~~~~");
  EXPECT_EQ(ErrorOf("EVENTS LIMIT -1"),
            "1:14: LIMIT takes a non-negative whole number\n"
            "EVENTS LIMIT -1\n             ^");
  EXPECT_EQ(ErrorOf("EVENTS WHERE where = 1"),
            "1:14: unexpected 'where', expected an expression\n"
            "EVENTS WHERE where = 1\n             ^~~~~");
}

TEST(ParserErrorTest, ColumnsCountCharactersNotBytes) {
  EXPECT_EQ(ErrorOf("EVENTS WHERE a = 'é' ORDR"),
            "1:22: unexpected 'ORDR', expected FROM, IN LAST, GROUP BY, ORDER "
            "BY, LIMIT or end of query; did you mean ORDER?\n"
            "EVENTS WHERE a = 'é' ORDR\n"
            "                     ^~~~");
}

// --- limits
// --------------------------------------------------------------------------

TEST(ParserLimitTest, DeepParenthesesAreRefused) {
  std::string deep = "EVENTS WHERE " + std::string(100000, '(') + "a" +
                     std::string(100000, ')');
  std::string error = ErrorOf(deep);
  EXPECT_NE(error.find("expression nested too deeply (more than 256 levels)"),
            std::string::npos)
      << error.substr(0, 200);
}

TEST(ParserLimitTest, LongOperatorChainsAreRefused) {
  std::string chain = "EVENTS WHERE a";
  for (int i = 0; i < 100000; ++i) chain += " + a";
  std::string error = ErrorOf(chain);
  EXPECT_NE(error.find("nested too deeply"), std::string::npos)
      << error.substr(0, 200);
  std::string nots = "EVENTS WHERE ";
  for (int i = 0; i < 100000; ++i) nots += "NOT ";
  EXPECT_NE(ErrorOf(nots + "a").find("nested too deeply"), std::string::npos);
  std::string negs = "EVENTS WHERE a = " + std::string(100000, '-') + "1";
  // A run of '-' is a comment, so separate them.
  negs = "EVENTS WHERE a = ";
  for (int i = 0; i < 100000; ++i) negs += "- ";
  EXPECT_NE(ErrorOf(negs + "1").find("nested too deeply"), std::string::npos);
}

TEST(ParserLimitTest, NestingUpToTheLimitParsesAndRoundTrips) {
  std::string nested = "EVENTS WHERE ";
  for (int i = 0; i < 200; ++i) nested += "(a = 1 OR ";
  nested += "b";
  nested += std::string(200, ')');
  absl::StatusOr<Statement> statement = Parse(nested);
  ASSERT_TRUE(statement.ok()) << statement.status().message().substr(0, 200);
  absl::StatusOr<Statement> again = Parse(Print(*statement));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Dump(*again), Dump(*statement));
  // A long flat IN list is wide, not deep.
  std::string list = "EVENTS WHERE a IN (0";
  for (int i = 1; i < 10000; ++i) absl::StrAppend(&list, ", ", i);
  list += ")";
  EXPECT_TRUE(Parse(list).ok());
}

TEST(ParserLimitTest, OverlongQueryIsRefused) {
  std::string huge =
      "EVENTS WHERE a = '" + std::string(kMaxQueryBytes, 'x') + "'";
  absl::StatusOr<Statement> statement = Parse(huge);
  ASSERT_FALSE(statement.ok());
  EXPECT_EQ(statement.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(statement.status().message().find("query too long"),
            std::string::npos);
}

// --- ranges
// ---------------------------------------------------------------------------

TEST(ParserRangeTest, NodesKeepTheirSourceText) {
  const std::string query =
      "EVENTS WHERE attributes['http.route'] = '/x' AND COUNT(*) > 1";
  absl::StatusOr<Statement> statement = Parse(query);
  ASSERT_TRUE(statement.ok());
  const Expr& where = *std::get<EventsStmt>(statement->body).where;
  auto text = [&](const Expr& expr) {
    return query.substr(expr.range.begin, expr.range.end - expr.range.begin);
  };
  EXPECT_EQ(text(where), "attributes['http.route'] = '/x' AND COUNT(*) > 1");
  EXPECT_EQ(text(*where.children[0]->children[0]), "attributes['http.route']");
  EXPECT_EQ(text(*where.children[1]->children[0]), "COUNT(*)");
  EXPECT_EQ(statement->range.begin, 0u);
  EXPECT_EQ(statement->range.end, query.size());
}

// --- round trips over the corpus
// ---------------------------------------------------------

std::vector<std::string> CorpusStatements() {
  std::vector<std::string> statements;
  std::filesystem::path dir =
      std::filesystem::path(TRAVERSION_SOURCE_DIR) / "tests/fuzz/corpus/timeql";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".tql") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    statements.push_back(text.str());
  }
  return statements;
}

TEST(RoundTripTest, CorpusPrintsIdempotentlyAndReparsesToTheSameTree) {
  std::vector<std::string> statements = CorpusStatements();
  ASSERT_GE(statements.size(), 100u);
  for (const std::string& text : statements) {
    SCOPED_TRACE(text);
    absl::StatusOr<Statement> first = Parse(text);
    ASSERT_TRUE(first.ok()) << first.status();
    std::string printed = Print(*first);
    absl::StatusOr<Statement> second = Parse(printed);
    ASSERT_TRUE(second.ok()) << printed << "\n" << second.status();
    EXPECT_EQ(Dump(*second), Dump(*first)) << printed;
    EXPECT_EQ(Print(*second), printed);
  }
}

}  // namespace
}  // namespace traversion::timeql
