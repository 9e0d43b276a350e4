// The expression evaluator on hand-built ASTs (no parser): three-valued
// logic, numeric promotion, LIKE without backtracking blow-ups, percentages
// against metric units, time literals.
#include <string>

#include "gtest/gtest.h"
#include "support/test_support.h"
#include "timeql/evaluator.h"

namespace traversion::timeql {
namespace {

ExprPtr Leaf(ExprKind kind) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  return e;
}
ExprPtr Field(const std::string& name) {
  auto e = Leaf(ExprKind::kField);
  e->path.parts = {name};
  return e;
}
ExprPtr Bool(bool b) {
  auto e = Leaf(ExprKind::kBool);
  e->bool_value = b;
  return e;
}
ExprPtr Bin(Op op, ExprPtr a, ExprPtr b) {
  auto e = Leaf(ExprKind::kBinary);
  e->op = op;
  e->children.push_back(std::move(a));
  e->children.push_back(std::move(b));
  return e;
}

Value EvalOn(const Expr& expr, const Event& event,
             const CompileOptions& options = {}) {
  auto c = Compile(expr, "", 0, options);
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return std::monostate{};
  EvalEnv env;
  return Eval(**c, EvalRow{&event, nullptr}, env);
}

TEST(EvalExpr, ThreeValuedLogic) {
  const Event log = testing::MakeLog("a", 1, Severity::kInfo, "x");
  // status is NULL for a log: NULL AND FALSE is FALSE, NULL OR TRUE is TRUE,
  // NULL AND TRUE is NULL, NOT NULL is NULL.
  auto null_eq = [] {
    auto s = Leaf(ExprKind::kString);
    s->text = "ok";
    return Bin(Op::kEq, Field("status"), std::move(s));
  };
  EXPECT_EQ(EvalOn(*Bin(Op::kAnd, null_eq(), Bool(false)), log), Value(false));
  EXPECT_EQ(EvalOn(*Bin(Op::kOr, null_eq(), Bool(true)), log), Value(true));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(
      EvalOn(*Bin(Op::kAnd, null_eq(), Bool(true)), log)));
  auto n = Leaf(ExprKind::kUnary);
  n->op = Op::kNot;
  n->children.push_back(null_eq());
  EXPECT_TRUE(std::holds_alternative<std::monostate>(EvalOn(*n, log)));
}

TEST(EvalExpr, NumericPromotion) {
  auto i = Leaf(ExprKind::kInt);
  i->int_value = 2;
  auto f = Leaf(ExprKind::kFloat);
  f->float_value = 2.0;
  EXPECT_EQ(EvalOn(*Bin(Op::kEq, std::move(i), std::move(f)), Event{}),
            Value(true));
  EXPECT_EQ(CompareValues(int64_t{3}, 2.5), std::optional<int>(1));
}

TEST(EvalExpr, LikeHasNoBacktrackingBlowUp) {
  EXPECT_TRUE(LikeMatch("abc", "a%c"));
  EXPECT_TRUE(LikeMatch("a.c", "a_c"));
  EXPECT_FALSE(LikeMatch("ac", "a_c"));
  EXPECT_TRUE(LikeMatch("50%", "50\\%"));
  EXPECT_FALSE(LikeMatch("500", "50\\%"));
  EXPECT_TRUE(LikeMatch("", "%"));
  EXPECT_TRUE(LikeMatch("h\xC3\xA9llo", "h_llo"));  // '_' is one character
  // The classic exponential case for backtracking matchers finishes at once.
  const std::string text(20000, 'a');
  EXPECT_FALSE(LikeMatch(text, "%a%a%a%a%a%a%a%a%a%a%a%b"));
}

TEST(EvalExpr, PercentComparesByUnit) {
  auto cpu = [](double v, const std::string& unit) {
    Event e = testing::MakeMetric("a", 1, "cpu.utilization", v);
    std::get<MetricData>(e.payload).unit = unit;
    return e;
  };
  auto above_80 = [] {
    auto p = Leaf(ExprKind::kPercent);
    p->float_value = 80;
    return Bin(Op::kGt, Field("cpu"), std::move(p));
  };
  CompileOptions metric_refs;
  metric_refs.scope.metric_refs = true;
  EXPECT_EQ(EvalOn(*above_80(), cpu(85, "%"), metric_refs), Value(true));
  EXPECT_EQ(EvalOn(*above_80(), cpu(75, "%"), metric_refs), Value(false));
  EXPECT_EQ(EvalOn(*above_80(), cpu(0.85, "1"), metric_refs), Value(true));
  EXPECT_EQ(EvalOn(*above_80(), cpu(0.85, ""), metric_refs), Value(true));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(
      EvalOn(*above_80(), cpu(850, "MiB"), metric_refs)));
  // Another metric's name does not answer `cpu`.
  Event mem = testing::MakeMetric("a", 1, "memory.usage", 99);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(
      EvalOn(*above_80(), mem, metric_refs)));
}

TEST(EvalExpr, TimeLiteralsAreFoldedAgainstTimeFields) {
  const Event e =
      testing::MakeLog("a", 1705333643000000000, Severity::kInfo, "x");
  auto lit = Leaf(ExprKind::kString);
  lit->text = "2024-01-15 15:47:23";
  EXPECT_EQ(EvalOn(*Bin(Op::kEq, Field("time"), std::move(lit)), e),
            Value(true));
  auto bad = Leaf(ExprKind::kString);
  bad->text = "yesterday-ish";
  auto c = Compile(*Bin(Op::kEq, Field("time"), std::move(bad)), "x", 0, {});
  EXPECT_FALSE(c.ok());
}

TEST(EvalExpr, UnknownFieldSuggests) {
  auto c = Compile(*Bin(Op::kEq, Field("sevrity"), Bool(true)),
                   "sevrity = true", 0, {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("did you mean 'severity'"),
            std::string::npos)
      << c.status();
}

}  // namespace
}  // namespace traversion::timeql
