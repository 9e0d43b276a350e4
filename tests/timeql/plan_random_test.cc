// The planner: the index it picks for typical conditions, and a randomized
// check that whatever it picks never loses an event: Query() over the store
// returns exactly the events that a brute-force evaluation of the same WHERE
// over every event returns (OR and NOT must never over-restrict).
#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "support/test_support.h"
#include "timeql/evaluator.h"
#include "timeql/plan.h"
#include "timeql/printer.h"
#include "traversion/query.h"
#include "traversion/store.h"

namespace traversion::timeql {
namespace {

constexpr uint64_t kStart = 1705276800ULL * 1000000000ULL;

ExprPtr Field(const std::string& name) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kField;
  e->path.parts = {name};
  return e;
}
ExprPtr Str(const std::string& s) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kString;
  e->text = s;
  return e;
}
ExprPtr Bin(Op op, ExprPtr a, ExprPtr b) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kBinary;
  e->op = op;
  e->children.push_back(std::move(a));
  e->children.push_back(std::move(b));
  return e;
}
ExprPtr Not(ExprPtr a) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kUnary;
  e->op = Op::kNot;
  e->children.push_back(std::move(a));
  return e;
}
ExprPtr In(ExprPtr x, std::vector<std::string> values) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kIn;
  e->children.push_back(std::move(x));
  for (const std::string& v : values) e->children.push_back(Str(v));
  return e;
}

TEST(PlanScan, ServiceAndTypeUseTheServiceIndex) {
  ExprPtr where = Bin(Op::kAnd, Bin(Op::kEq, Field("service"), Str("a")),
                      Bin(Op::kEq, Field("type"), Str("error")));
  ScanPlan plan = PlanScan(where.get(), TimeBounds{}, "", 0);
  EXPECT_EQ(plan.filter.services, std::vector<std::string>{"a"});
  EXPECT_EQ(plan.filter.types, std::vector<EventType>{EventType::kError});
  EXPECT_FALSE(plan.residual);
  EXPECT_EQ(plan.description, "service index: a; types: error");
}

TEST(PlanScan, TraceIdUsesTheTraceIndex) {
  const std::string hex = "0123456789abcdef0123456789abcdef";
  ExprPtr where = Bin(Op::kAnd, Bin(Op::kEq, Field("trace_id"), Str(hex)),
                      Bin(Op::kEq, Field("service"), Str("a")));
  ScanPlan plan = PlanScan(where.get(), TimeBounds{}, "", 0);
  ASSERT_TRUE(plan.filter.trace_id.has_value());
  EXPECT_EQ(ToHex(*plan.filter.trace_id), hex);
  EXPECT_EQ(plan.description.rfind("trace index: " + hex, 0), 0u);
}

TEST(PlanScan, OrAcrossFieldsAndNotDoNotRestrict) {
  ExprPtr mixed = Bin(Op::kOr, Bin(Op::kEq, Field("service"), Str("a")),
                      Bin(Op::kEq, Field("type"), Str("error")));
  ScanPlan plan = PlanScan(mixed.get(), TimeBounds{}, "", 0);
  EXPECT_TRUE(plan.filter.services.empty());
  EXPECT_TRUE(plan.filter.types.empty());
  EXPECT_TRUE(plan.residual);
  ExprPtr negated = Not(Bin(Op::kEq, Field("service"), Str("a")));
  plan = PlanScan(negated.get(), TimeBounds{}, "", 0);
  EXPECT_TRUE(plan.filter.services.empty());
  EXPECT_TRUE(plan.residual);
}

TEST(PlanScan, SameFieldOrIsAUnion) {
  ExprPtr where = Bin(Op::kOr, Bin(Op::kEq, Field("service"), Str("b")),
                      Bin(Op::kEq, Field("service"), Str("a")));
  ScanPlan plan = PlanScan(where.get(), TimeBounds{}, "", 0);
  EXPECT_EQ(plan.filter.services, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(plan.residual);
}

TEST(PlanScan, ContradictionIsEmpty) {
  ExprPtr where = Bin(Op::kAnd, Bin(Op::kEq, Field("service"), Str("a")),
                      Bin(Op::kEq, Field("service"), Str("b")));
  EXPECT_TRUE(PlanScan(where.get(), TimeBounds{}, "", 0).nothing);
}

// A random condition over the fields the planner knows, mixing the shapes
// it uses (equality, IN, severity bounds, time bounds) with OR and NOT.
class RandomWhere {
 public:
  explicit RandomWhere(uint64_t seed) : rng_(seed) {}
  ExprPtr Make(int depth) {
    const int pick = static_cast<int>(rng_() % (depth > 2 ? 6 : 9));
    switch (pick) {
      case 0:
        return Bin(Op::kEq, Field("service"), Str(Service()));
      case 1:
        return In(Field("service"), {Service(), Service()});
      case 2:
        return Bin(Op::kEq, Field("type"),
                   Str(rng_() % 2 ? "span" : (rng_() % 2 ? "log" : "error")));
      case 3:
        return Bin(rng_() % 2 ? Op::kGe : Op::kGt, Field("severity"),
                   Str(rng_() % 2 ? "warn" : "info"));
      case 4: {
        auto t = std::make_unique<Expr>();
        t->kind = ExprKind::kInt;
        t->int_value =
            static_cast<int64_t>(kStart + (rng_() % 100) * 1'000'000'000ULL);
        const Op ops[] = {Op::kLt, Op::kLe, Op::kGt, Op::kGe};
        return Bin(ops[rng_() % 4], Field("time"), std::move(t));
      }
      case 5:
        return Bin(Op::kEq, Field("trace_id"),
                   Str(ToHex(testing::MakeTraceId(1 + rng_() % 20))));
      case 6:
        return Bin(Op::kAnd, Make(depth + 1), Make(depth + 1));
      case 7:
        return Bin(Op::kOr, Make(depth + 1), Make(depth + 1));
      default:
        return Not(Make(depth + 1));
    }
  }

 private:
  std::string Service() {
    const char* names[] = {"api", "orders", "payments", "ghost"};
    return names[rng_() % 4];
  }
  std::mt19937_64 rng_;
};

TEST(PlanScan, RandomConditionsMatchBruteForce) {
  testing::ScratchDir dir;
  auto opened = Store::Open(dir.Sub("store"));
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;
  std::mt19937_64 rng(7);
  std::vector<Event> events;
  const char* services[] = {"api", "orders", "payments"};
  for (int i = 0; i < 2000; ++i) {
    const std::string service = services[rng() % 3];
    const uint64_t t = kStart + static_cast<uint64_t>(i) * 50'000'000;
    Event e;
    switch (rng() % 3) {
      case 0:
        e = testing::MakeSpan(service, t, 1 + rng() % 20, 1 + rng() % 1000);
        break;
      case 1:
        e = testing::MakeLog(
            service, t, rng() % 2 ? Severity::kWarn : Severity::kDebug, "x");
        if (rng() % 2) {
          e.trace.trace_id = testing::MakeTraceId(1 + rng() % 20);
          e.trace.span_id = testing::MakeSpanId(1 + rng() % 1000);
        }
        break;
      default:
        e = testing::MakeError(service, t, "E", "boom");
        break;
    }
    events.push_back(std::move(e));
  }
  auto written = store.Write(events);
  ASSERT_TRUE(written.ok()) << written.status();
  for (size_t i = 0; i < events.size(); ++i) events[i].id = written->ids[i];

  RandomWhere gen(99);
  int checked = 0;
  for (int round = 0; round < 300; ++round) {
    ExprPtr where = gen.Make(0);
    const std::string text = PrintExpr(*where);
    // Brute force: the compiled condition over every event.
    auto compiled = Compile(*where, text, 0, CompileOptions{});
    ASSERT_TRUE(compiled.ok()) << text << ": " << compiled.status();
    std::set<std::string> expected;
    EvalEnv env;
    for (const Event& e : events) {
      if (Holds(**compiled, EvalRow{&e, nullptr}, env)) {
        expected.insert(e.id.ToString());
      }
    }
    auto result = Query(store, "EVENTS id WHERE " + text);
    ASSERT_TRUE(result.ok()) << text << ": " << result.status();
    std::set<std::string> actual;
    while (result->Next())
      actual.insert(std::get<std::string>(result->row()[0]));
    ASSERT_TRUE(result->status().ok()) << result->status();
    EXPECT_EQ(actual, expected)
        << "WHERE " << text << "\nplan: " << result->stats().plan;
    ++checked;
  }
  EXPECT_EQ(checked, 300);
}

}  // namespace
}  // namespace traversion::timeql
