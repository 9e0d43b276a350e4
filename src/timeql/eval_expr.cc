// Expressions: compiling an AST expression against the field catalog, and
// evaluating it with SQL's three-valued logic.
#include <re2/re2.h>

#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "timeql/diagnostics.h"
#include "timeql/evaluator.h"
#include "timeql/time_literal.h"
#include "util/status_macros.h"

namespace traversion::timeql {
namespace {

using Kind = CExpr::Kind;

// Regular expressions are compiled by RE2: linear time in the input, no
// backtracking, bounded memory. A pattern longer than this is refused.
constexpr size_t kMaxRegexLength = 4096;
constexpr int64_t kRegexMaxMem = 8 << 20;

CExprPtr MakeConst(Value v, SourceRange range) {
  auto c = std::make_unique<CExpr>();
  c->kind = Kind::kConst;
  c->range = range;
  c->type = TypeOf(v);
  if (std::holds_alternative<std::monostate>(v)) c->type.reset();
  c->value = std::move(v);
  return c;
}

bool IsNumericType(std::optional<ColumnType> t) {
  return t == ColumnType::kInt64 || t == ColumnType::kDouble;
}

bool IsAggregateName(absl::string_view name) {
  static const char* kNames[] = {"count", "sum", "avg", "min", "max",
                                 "p50",   "p90", "p95", "p99", "rate"};
  for (const char* n : kNames) {
    if (absl::EqualsIgnoreCase(name, n)) return true;
  }
  return false;
}

Op Flip(Op op) {
  switch (op) {
    case Op::kLt:
      return Op::kGt;
    case Op::kLe:
      return Op::kGe;
    case Op::kGt:
      return Op::kLt;
    case Op::kGe:
      return Op::kLe;
    default:
      return op;
  }
}

class Compiler {
 public:
  Compiler(absl::string_view text, int64_t now_ns,
           const CompileOptions& options)
      : text_(text), now_ns_(now_ns), options_(options) {}

  absl::StatusOr<CExprPtr> Compile(const Expr& e) {
    if (++depth_ > 200) {
      return SyntaxError(text_, e.range, "expression nested too deeply");
    }
    auto result = CompileNode(e);
    --depth_;
    return result;
  }

 private:
  absl::Status Error(SourceRange range, absl::string_view message) {
    return SyntaxError(text_, range, message);
  }

  absl::StatusOr<CExprPtr> CompileNode(const Expr& e) {
    if (options_.rewrite) {
      TV_ASSIGN_OR_RETURN(CExprPtr replaced, options_.rewrite(e));
      if (replaced != nullptr) return replaced;
    }
    switch (e.kind) {
      case ExprKind::kNull:
        return MakeConst(std::monostate{}, e.range);
      case ExprKind::kBool:
        return MakeConst(e.bool_value, e.range);
      case ExprKind::kInt:
        return MakeConst(e.int_value, e.range);
      case ExprKind::kFloat:
        return MakeConst(e.float_value, e.range);
      case ExprKind::kString:
        return MakeConst(e.text, e.range);
      case ExprKind::kDuration:
        return MakeConst(DurationValue{e.int_value}, e.range);
      case ExprKind::kPercent: {
        CExprPtr c = MakeConst(e.float_value / 100.0, e.range);
        c->percent = true;
        c->percent_raw = e.float_value;
        return c;
      }
      case ExprKind::kNow:
        return MakeConst(TimeValue{now_ns_}, e.range);
      case ExprKind::kField: {
        TV_ASSIGN_OR_RETURN(
            FieldRef ref, ResolveField(e.path, e.range, text_, options_.scope));
        auto c = std::make_unique<CExpr>();
        c->kind = Kind::kField;
        c->range = e.range;
        c->type = ref.type;
        c->field = std::move(ref);
        return c;
      }
      case ExprKind::kStar:
        return Error(e.range, "'*' is only allowed in COUNT(*)");
      case ExprKind::kCall:
        return CompileCall(e);
      case ExprKind::kUnary: {
        if (e.children.size() != 1) return Error(e.range, "malformed unary");
        TV_ASSIGN_OR_RETURN(CExprPtr x, Compile(*e.children[0]));
        auto c = std::make_unique<CExpr>();
        c->range = e.range;
        if (e.op == Op::kNot) {
          TV_RETURN_IF_ERROR(RequireBool(*x, "NOT"));
          c->kind = Kind::kNot;
          c->type = ColumnType::kBool;
        } else {
          if (x->type.has_value() && !IsNumericType(x->type) &&
              x->type != ColumnType::kDuration) {
            return Error(e.range, "'-' needs a number or a duration");
          }
          c->kind = Kind::kNeg;
          c->type = x->type;
        }
        c->children.push_back(std::move(x));
        return c;
      }
      case ExprKind::kBinary:
        return CompileBinary(e);
      case ExprKind::kIn: {
        if (e.children.size() < 2) return Error(e.range, "IN needs a list");
        auto c = std::make_unique<CExpr>();
        c->kind = Kind::kIn;
        c->range = e.range;
        c->negated = e.negated;
        c->type = ColumnType::kBool;
        TV_ASSIGN_OR_RETURN(CExprPtr x, Compile(*e.children[0]));
        const CExpr* lhs = x.get();
        c->children.push_back(std::move(x));
        for (size_t i = 1; i < e.children.size(); ++i) {
          TV_ASSIGN_OR_RETURN(CExprPtr item, Compile(*e.children[i]));
          TV_RETURN_IF_ERROR(Coerce(*lhs, item.get(), Op::kEq));
          c->children.push_back(std::move(item));
        }
        return c;
      }
      case ExprKind::kBetween: {
        if (e.children.size() != 3) return Error(e.range, "malformed BETWEEN");
        auto c = std::make_unique<CExpr>();
        c->kind = Kind::kBetween;
        c->range = e.range;
        c->negated = e.negated;
        c->type = ColumnType::kBool;
        TV_ASSIGN_OR_RETURN(CExprPtr x, Compile(*e.children[0]));
        TV_ASSIGN_OR_RETURN(CExprPtr lo, Compile(*e.children[1]));
        TV_ASSIGN_OR_RETURN(CExprPtr hi, Compile(*e.children[2]));
        TV_RETURN_IF_ERROR(Coerce(*x, lo.get(), Op::kGe));
        TV_RETURN_IF_ERROR(Coerce(*x, hi.get(), Op::kLe));
        TV_RETURN_IF_ERROR(CheckComparable(*x, *lo, e.range));
        TV_RETURN_IF_ERROR(CheckComparable(*x, *hi, e.range));
        c->children.push_back(std::move(x));
        c->children.push_back(std::move(lo));
        c->children.push_back(std::move(hi));
        return c;
      }
      case ExprKind::kIsNull: {
        if (e.children.size() != 1) return Error(e.range, "malformed IS NULL");
        auto c = std::make_unique<CExpr>();
        c->kind = Kind::kIsNull;
        c->range = e.range;
        c->negated = e.negated;
        c->type = ColumnType::kBool;
        TV_ASSIGN_OR_RETURN(CExprPtr x, Compile(*e.children[0]));
        c->children.push_back(std::move(x));
        return c;
      }
      case ExprKind::kStructural: {
        if (!options_.structural) {
          return Error(e.range,
                       "structural conditions (HAS CHILD/PARENT/DESCENDANT/"
                       "ANCESTOR) apply to events only");
        }
        if (e.children.size() != 1) {
          return Error(e.range, "malformed structural condition");
        }
        auto c = std::make_unique<CExpr>();
        c->kind = Kind::kStructural;
        c->range = e.range;
        c->relation = e.relation;
        c->type = ColumnType::kBool;
        TV_ASSIGN_OR_RETURN(CExprPtr x, Compile(*e.children[0]));
        TV_RETURN_IF_ERROR(RequireBool(*x, "HAS ..."));
        c->children.push_back(std::move(x));
        return c;
      }
    }
    return Error(e.range, "unsupported expression");
  }

  absl::Status RequireBool(const CExpr& x, absl::string_view what) {
    if (x.type.has_value() && *x.type != ColumnType::kBool) {
      return Error(x.range, absl::StrCat(what, " needs a condition, not a ",
                                         ColumnTypeName(*x.type)));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<CExprPtr> CompileCall(const Expr& e) {
    const std::string name = absl::AsciiStrToLower(e.text);
    if (IsAggregateName(name)) {
      return Error(e.range,
                   absl::StrCat("aggregate ", absl::AsciiStrToUpper(name),
                                "() is only allowed in the select list or "
                                "ORDER BY of EVENTS/TIMELINE"));
    }
    auto c = std::make_unique<CExpr>();
    c->kind = Kind::kFunc;
    c->range = e.range;
    c->func = name;
    for (const ExprPtr& child : e.children) {
      TV_ASSIGN_OR_RETURN(CExprPtr x, Compile(*child));
      c->children.push_back(std::move(x));
    }
    const size_t n = c->children.size();
    auto arity = [&](size_t lo, size_t hi) -> absl::Status {
      if (n < lo || n > hi) {
        return Error(e.range,
                     absl::StrCat(name, "() takes ",
                                  lo == hi ? absl::StrCat(lo)
                                           : absl::StrCat(lo, "..", hi),
                                  " argument(s), got ", n));
      }
      return absl::OkStatus();
    };
    if (name == "lower" || name == "upper") {
      TV_RETURN_IF_ERROR(arity(1, 1));
      c->type = ColumnType::kString;
    } else if (name == "length") {
      TV_RETURN_IF_ERROR(arity(1, 1));
      c->type = ColumnType::kInt64;
    } else if (name == "abs") {
      TV_RETURN_IF_ERROR(arity(1, 1));
      c->type = c->children[0]->type;
    } else if (name == "coalesce") {
      TV_RETURN_IF_ERROR(arity(1, 64));
      c->type = c->children[0]->type;
    } else if (name == "bucket") {
      // bucket(d) buckets the event's time; bucket(t, d) a time expression.
      TV_RETURN_IF_ERROR(arity(1, 2));
      const CExpr& d = *c->children.back();
      if (d.kind != Kind::kConst ||
          !std::holds_alternative<DurationValue>(d.value) ||
          std::get<DurationValue>(d.value).ns <= 0) {
        return Error(d.range,
                     "bucket() needs a positive duration such as "
                     "1 minute");
      }
      if (n == 1 && options_.scope.columns != nullptr) {
        return Error(e.range, "bucket(d) applies to events");
      }
      c->type = ColumnType::kTime;
    } else {
      static const absl::string_view kKnown[] = {
          "lower", "upper", "length", "abs", "coalesce", "bucket", "count",
          "sum",   "avg",   "min",    "max", "p50",      "p95",    "p99"};
      std::string suggestion = SuggestClosest(name, kKnown);
      return Error(
          e.range,
          absl::StrCat("unknown function '", e.text, "'",
                       suggestion.empty() ? ""
                                          : absl::StrCat("; did you mean ",
                                                         suggestion, "()?")));
    }
    return c;
  }

  // Makes the constant `item` comparable with `lhs`: time literals become
  // times, duration text durations, severities numbers. Checks enum values.
  absl::Status Coerce(const CExpr& lhs, CExpr* item, Op op) {
    if (item->kind != Kind::kConst) return absl::OkStatus();
    const Value& v = item->value;
    const std::string* s = std::get_if<std::string>(&v);
    if (lhs.type == ColumnType::kTime) {
      if (s != nullptr) {
        auto t = ParseTimeLiteral(*s, now_ns_);
        if (!t.ok()) return Error(item->range, t.status().message());
        item->value = TimeValue{*t};
        item->type = ColumnType::kTime;
      } else if (const int64_t* i = std::get_if<int64_t>(&v)) {
        item->value = TimeValue{*i};
        item->type = ColumnType::kTime;
      }
      return absl::OkStatus();
    }
    if (lhs.type == ColumnType::kDuration && s != nullptr) {
      auto d = ParseDurationText(*s);
      if (!d.ok()) return Error(item->range, d.status().message());
      item->value = DurationValue{*d};
      item->type = ColumnType::kDuration;
      return absl::OkStatus();
    }
    if (lhs.kind == Kind::kField && s != nullptr) {
      if (lhs.field.id == FieldId::kType && !ParseEventType(*s)) {
        static const absl::string_view kTypes[] = {
            "span",       "log",          "error", "metric", "kernel",
            "kubernetes", "entity_state", "ui",    "custom"};
        std::string suggestion = SuggestClosest(*s, kTypes);
        return Error(
            item->range,
            absl::StrCat("unknown event type '", *s, "'",
                         suggestion.empty() ? "; types are span, log, error, "
                                              "metric, kernel, kubernetes, "
                                              "entity_state, ui, custom"
                                            : absl::StrCat("; did you mean '",
                                                           suggestion, "'?")));
      }
      if (lhs.field.id == FieldId::kSeverity) {
        std::optional<Severity> sev = ParseSeverity(*s);
        if (!sev.has_value()) {
          return Error(item->range,
                       absl::StrCat("unknown severity '", *s,
                                    "'; severities are trace, debug, info, "
                                    "warn, error, fatal"));
        }
        if (op == Op::kEq || op == Op::kNe) {
          item->value = std::string(SeverityName(*sev));
        } else {
          // Ordering compares severity numbers; a level is a range of four
          // numbers (OpenTelemetry), so `> 'warn'` means above WARN4.
          int64_t n = static_cast<int64_t>(*sev);
          if (op == Op::kGt || op == Op::kLe) n += 3;
          item->value = n;
          item->type = ColumnType::kInt64;
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status CheckComparable(const CExpr& a, const CExpr& b,
                               SourceRange range) {
    if (!a.type.has_value() || !b.type.has_value()) return absl::OkStatus();
    ColumnType x = *a.type, y = *b.type;
    if (x == y) return absl::OkStatus();
    if (IsNumericType(x) && IsNumericType(y)) return absl::OkStatus();
    auto hint = [](ColumnType t) -> std::string {
      switch (t) {
        case ColumnType::kDuration:
          return " (write a duration such as 200ms or 5 minutes)";
        case ColumnType::kTime:
          return " (write a time such as '2024-01-15 15:47:00' or "
                 "'10 minutes ago')";
        default:
          return "";
      }
    };
    return Error(range, absl::StrCat("cannot compare ", ColumnTypeName(x),
                                     " with ", ColumnTypeName(y),
                                     hint(x == ColumnType::kString ? y : x)));
  }

  absl::StatusOr<CExprPtr> CompileBinary(const Expr& e) {
    if (e.children.size() != 2) return Error(e.range, "malformed expression");
    TV_ASSIGN_OR_RETURN(CExprPtr a, Compile(*e.children[0]));
    TV_ASSIGN_OR_RETURN(CExprPtr b, Compile(*e.children[1]));
    auto c = std::make_unique<CExpr>();
    c->range = e.range;
    c->op = e.op;
    switch (e.op) {
      case Op::kAnd:
      case Op::kOr:
        TV_RETURN_IF_ERROR(RequireBool(*a, e.op == Op::kAnd ? "AND" : "OR"));
        TV_RETURN_IF_ERROR(RequireBool(*b, e.op == Op::kAnd ? "AND" : "OR"));
        c->kind = e.op == Op::kAnd ? Kind::kAnd : Kind::kOr;
        c->type = ColumnType::kBool;
        break;
      case Op::kEq:
      case Op::kNe:
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        c->kind = Kind::kCompare;
        c->type = ColumnType::kBool;
        // Keep the constant on the right.
        if (a->kind == Kind::kConst && b->kind != Kind::kConst) {
          std::swap(a, b);
          c->op = Flip(e.op);
        }
        TV_RETURN_IF_ERROR(Coerce(*a, b.get(), c->op));
        if (a->kind == Kind::kField && a->field.id == FieldId::kSeverity &&
            b->type == ColumnType::kInt64) {
          a->field.id = FieldId::kSeverityNumber;
          // An unspecified severity is unknown, not below TRACE.
          a->field.key = "unset-is-null";
          a->type = ColumnType::kInt64;
        }
        if (!b->percent) TV_RETURN_IF_ERROR(CheckComparable(*a, *b, e.range));
        break;
      }
      case Op::kLike:
      case Op::kNotLike:
      case Op::kMatches:
      case Op::kNotMatches: {
        const bool like = e.op == Op::kLike || e.op == Op::kNotLike;
        if (b->kind != Kind::kConst ||
            !std::holds_alternative<std::string>(b->value)) {
          return Error(b->range, like ? "LIKE needs a pattern string"
                                      : "a regular expression must be a "
                                        "string literal");
        }
        if (a->type.has_value() && *a->type != ColumnType::kString) {
          return Error(a->range, absl::StrCat(like ? "LIKE" : "=~",
                                              " applies to text, not to a ",
                                              ColumnTypeName(*a->type)));
        }
        const std::string& pattern = std::get<std::string>(b->value);
        c->type = ColumnType::kBool;
        c->negated = e.op == Op::kNotLike || e.op == Op::kNotMatches;
        if (like) {
          c->kind = Kind::kLike;
          c->like = pattern;
        } else {
          if (pattern.size() > kMaxRegexLength) {
            return Error(b->range,
                         absl::StrCat("regular expression longer than ",
                                      kMaxRegexLength, " bytes"));
          }
          RE2::Options re_options;
          re_options.set_log_errors(false);
          re_options.set_max_mem(kRegexMaxMem);
          auto re = std::make_shared<RE2>(pattern, re_options);
          if (!re->ok()) {
            return Error(b->range,
                         absl::StrCat("bad regular expression: ", re->error()));
          }
          c->kind = Kind::kRegex;
          c->regex = std::move(re);
        }
        c->children.push_back(std::move(a));
        return c;
      }
      case Op::kAdd:
      case Op::kSub:
      case Op::kMul:
      case Op::kDiv: {
        c->kind = Kind::kArith;
        std::optional<ColumnType> x = a->type, y = b->type;
        if (x == ColumnType::kString || y == ColumnType::kString ||
            x == ColumnType::kBool || y == ColumnType::kBool) {
          return Error(e.range,
                       "arithmetic needs numbers, times or "
                       "durations");
        }
        if (x == ColumnType::kTime && y == ColumnType::kTime) {
          c->type = e.op == Op::kSub ? std::optional(ColumnType::kDuration)
                                     : std::nullopt;
          if (e.op != Op::kSub) {
            return Error(e.range, "times can only be subtracted");
          }
        } else if (x == ColumnType::kTime || y == ColumnType::kTime) {
          c->type = ColumnType::kTime;
        } else if (x == ColumnType::kDuration || y == ColumnType::kDuration) {
          c->type = (e.op == Op::kDiv && x == y)
                        ? std::optional(ColumnType::kDouble)
                        : std::optional(ColumnType::kDuration);
        } else if (x.has_value() && y.has_value()) {
          c->type = (e.op == Op::kDiv || x == ColumnType::kDouble ||
                     y == ColumnType::kDouble)
                        ? ColumnType::kDouble
                        : ColumnType::kInt64;
        }
        break;
      }
      default:
        return Error(e.range, "unsupported operator");
    }
    c->children.push_back(std::move(a));
    c->children.push_back(std::move(b));
    return c;
  }

  absl::string_view text_;
  int64_t now_ns_;
  const CompileOptions& options_;
  int depth_ = 0;
};

std::optional<double> AsDouble(const Value& v) {
  if (const int64_t* i = std::get_if<int64_t>(&v)) {
    return static_cast<double>(*i);
  }
  if (const double* d = std::get_if<double>(&v)) return *d;
  return std::nullopt;
}

// The constant to compare a metric value with when the constant is a
// percentage: 80% is 80 for a metric in unit '%', 0.8 for a dimensionless
// one (unit '1', 'ratio' or none), and not comparable with other units.
std::optional<Value> PercentOperand(const CExpr& lhs, const CExpr& rhs,
                                    const EvalRow& row) {
  if (!rhs.percent) return rhs.value;
  if (lhs.kind == Kind::kField && row.event != nullptr &&
      (lhs.field.id == FieldId::kMetricValue ||
       lhs.field.id == FieldId::kMetricRef)) {
    const MetricData* m = row.event->metric();
    if (m == nullptr) return rhs.value;
    if (m->unit == "%" || absl::EqualsIgnoreCase(m->unit, "percent")) {
      return Value(rhs.percent_raw);
    }
    if (m->unit.empty() || m->unit == "1" ||
        absl::EqualsIgnoreCase(m->unit, "ratio")) {
      return rhs.value;
    }
    return std::nullopt;
  }
  return rhs.value;
}

Value FromCompare(std::optional<int> c, Op op) {
  if (!c.has_value()) return std::monostate{};
  switch (op) {
    case Op::kEq:
      return *c == 0;
    case Op::kNe:
      return *c != 0;
    case Op::kLt:
      return *c < 0;
    case Op::kLe:
      return *c <= 0;
    case Op::kGt:
      return *c > 0;
    case Op::kGe:
      return *c >= 0;
    default:
      return std::monostate{};
  }
}

Value Arith(Op op, const Value& a, const Value& b) {
  if (std::holds_alternative<std::monostate>(a) ||
      std::holds_alternative<std::monostate>(b)) {
    return std::monostate{};
  }
  const auto* ta = std::get_if<TimeValue>(&a);
  const auto* tb = std::get_if<TimeValue>(&b);
  const auto* da = std::get_if<DurationValue>(&a);
  const auto* db = std::get_if<DurationValue>(&b);
  int64_t out = 0;
  if (ta && tb) {
    if (op != Op::kSub ||
        __builtin_sub_overflow(ta->unix_ns, tb->unix_ns, &out))
      return std::monostate{};
    return DurationValue{out};
  }
  if (ta && db) {
    bool ovf =
        op == Op::kAdd   ? __builtin_add_overflow(ta->unix_ns, db->ns, &out)
        : op == Op::kSub ? __builtin_sub_overflow(ta->unix_ns, db->ns, &out)
                         : true;
    if (ovf) return std::monostate{};
    return TimeValue{out};
  }
  if (da && tb) {
    if (op != Op::kAdd || __builtin_add_overflow(da->ns, tb->unix_ns, &out))
      return std::monostate{};
    return TimeValue{out};
  }
  if (da && db) {
    switch (op) {
      case Op::kAdd:
        if (__builtin_add_overflow(da->ns, db->ns, &out)) break;
        return DurationValue{out};
      case Op::kSub:
        if (__builtin_sub_overflow(da->ns, db->ns, &out)) break;
        return DurationValue{out};
      case Op::kDiv:
        if (db->ns == 0) break;
        return static_cast<double>(da->ns) / static_cast<double>(db->ns);
      default:
        break;
    }
    return std::monostate{};
  }
  if (da || db) {
    const DurationValue d = da ? *da : *db;
    std::optional<double> n = AsDouble(da ? b : a);
    if (!n.has_value()) return std::monostate{};
    double r;
    if (op == Op::kMul) {
      r = static_cast<double>(d.ns) * *n;
    } else if (op == Op::kDiv && da) {
      if (*n == 0) return std::monostate{};
      r = static_cast<double>(d.ns) / *n;
    } else {
      return std::monostate{};
    }
    if (!(std::abs(r) < 9.2e18)) return std::monostate{};
    return DurationValue{static_cast<int64_t>(std::llround(r))};
  }
  const auto* ia = std::get_if<int64_t>(&a);
  const auto* ib = std::get_if<int64_t>(&b);
  if (ia && ib && op != Op::kDiv) {
    bool ovf = op == Op::kAdd   ? __builtin_add_overflow(*ia, *ib, &out)
               : op == Op::kSub ? __builtin_sub_overflow(*ia, *ib, &out)
                                : __builtin_mul_overflow(*ia, *ib, &out);
    if (!ovf) return out;
  }
  std::optional<double> x = AsDouble(a), y = AsDouble(b);
  if (!x || !y) return std::monostate{};
  switch (op) {
    case Op::kAdd:
      return *x + *y;
    case Op::kSub:
      return *x - *y;
    case Op::kMul:
      return *x * *y;
    case Op::kDiv:
      if (*y == 0) return std::monostate{};
      return *x / *y;
    default:
      return std::monostate{};
  }
}

bool IsNull(const Value& v) {
  return std::holds_alternative<std::monostate>(v);
}

Value EvalStructural(const CExpr& e, const EvalRow& row, EvalEnv& env) {
  if (row.event == nullptr || env.traces == nullptr ||
      !row.event->trace.has_trace()) {
    return false;
  }
  const TraceData* trace = env.traces->Get(row.event->trace.trace_id);
  if (trace == nullptr) return std::monostate{};
  const int64_t self = TraceCache::IndexOf(*trace, *row.event);
  if (self < 0) return false;
  const CExpr& cond = *e.children[0];
  auto holds = [&](size_t i) {
    EvalRow r;
    r.event = &trace->events[i];
    return Holds(cond, r, env);
  };
  const size_t start = static_cast<size_t>(self);
  switch (e.relation) {
    case Relation::kChild: {
      auto it = trace->children.find(start);
      if (it == trace->children.end()) return false;
      for (size_t c : it->second) {
        if (holds(c)) return true;
      }
      return false;
    }
    case Relation::kParent: {
      auto it = trace->parent.find(start);
      return it != trace->parent.end() && holds(it->second);
    }
    case Relation::kDescendant: {
      std::vector<size_t> stack = {start};
      size_t visited = 0;
      while (!stack.empty() && visited++ <= trace->events.size()) {
        size_t i = stack.back();
        stack.pop_back();
        auto it = trace->children.find(i);
        if (it == trace->children.end()) continue;
        for (size_t c : it->second) {
          if (holds(c)) return true;
          stack.push_back(c);
        }
      }
      return false;
    }
    case Relation::kAncestor: {
      size_t i = start;
      // Bounded by the trace size: a malformed trace may have a cycle.
      for (size_t steps = 0; steps < trace->events.size(); ++steps) {
        auto it = trace->parent.find(i);
        if (it == trace->parent.end()) return false;
        i = it->second;
        if (holds(i)) return true;
      }
      return false;
    }
  }
  return false;
}

Value EvalFunc(const CExpr& e, const EvalRow& row, EvalEnv& env) {
  if (e.func == "coalesce") {
    for (const CExprPtr& c : e.children) {
      Value v = Eval(*c, row, env);
      if (!IsNull(v)) return v;
    }
    return std::monostate{};
  }
  if (e.func == "bucket") {
    const int64_t width = std::get<DurationValue>(e.children.back()->value).ns;
    int64_t t;
    if (e.children.size() == 2) {
      Value v = Eval(*e.children[0], row, env);
      const TimeValue* tv = std::get_if<TimeValue>(&v);
      if (tv == nullptr) return std::monostate{};
      t = tv->unix_ns;
    } else {
      if (row.event == nullptr) return std::monostate{};
      t = static_cast<int64_t>(row.event->time_ns);
    }
    int64_t b = t / width * width;
    if (t < 0 && b != t) b -= width;
    return TimeValue{b};
  }
  Value v = Eval(*e.children[0], row, env);
  if (IsNull(v)) return std::monostate{};
  if (e.func == "lower" || e.func == "upper") {
    const std::string* s = std::get_if<std::string>(&v);
    if (s == nullptr) return std::monostate{};
    return e.func == "lower" ? absl::AsciiStrToLower(*s)
                             : absl::AsciiStrToUpper(*s);
  }
  if (e.func == "length") {
    const std::string* s = std::get_if<std::string>(&v);
    if (s == nullptr) return std::monostate{};
    int64_t n = 0;
    for (char ch : *s) n += (static_cast<uint8_t>(ch) & 0xC0) != 0x80;
    return n;
  }
  if (e.func == "abs") {
    if (const int64_t* i = std::get_if<int64_t>(&v)) {
      if (*i == std::numeric_limits<int64_t>::min()) return std::monostate{};
      return *i < 0 ? -*i : *i;
    }
    if (const double* d = std::get_if<double>(&v)) return std::abs(*d);
    if (const DurationValue* d = std::get_if<DurationValue>(&v)) {
      if (d->ns == std::numeric_limits<int64_t>::min()) return std::monostate{};
      return DurationValue{d->ns < 0 ? -d->ns : d->ns};
    }
  }
  return std::monostate{};
}

// Length in bytes of the UTF-8 character starting at s[i] (1 for bad bytes).
size_t CharLen(absl::string_view s, size_t i) {
  const uint8_t c = static_cast<uint8_t>(s[i]);
  size_t n = c < 0x80         ? 1
             : (c >> 5) == 6  ? 2
             : (c >> 4) == 14 ? 3
             : (c >> 3) == 30 ? 4
                              : 1;
  return std::min(n, s.size() - i);
}

}  // namespace

absl::StatusOr<CExprPtr> Compile(const Expr& expr, absl::string_view text,
                                 int64_t now_ns,
                                 const CompileOptions& options) {
  Compiler compiler(text, now_ns, options);
  return compiler.Compile(expr);
}

ColumnType TypeOf(const Value& v) {
  switch (v.index()) {
    case 1:
      return ColumnType::kBool;
    case 2:
      return ColumnType::kInt64;
    case 3:
      return ColumnType::kDouble;
    case 5:
      return ColumnType::kTime;
    case 6:
      return ColumnType::kDuration;
    default:
      return ColumnType::kString;
  }
}

std::optional<bool> Truth(const Value& value) {
  if (const bool* b = std::get_if<bool>(&value)) return *b;
  return std::nullopt;
}

std::optional<int> CompareValues(const Value& a, const Value& b) {
  if (IsNull(a) || IsNull(b)) return std::nullopt;
  auto three = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  if (a.index() == b.index()) {
    switch (a.index()) {
      case 1:
        return three(std::get<bool>(a), std::get<bool>(b));
      case 2:
        return three(std::get<int64_t>(a), std::get<int64_t>(b));
      case 3: {
        double x = std::get<double>(a), y = std::get<double>(b);
        if (std::isnan(x) || std::isnan(y)) return std::nullopt;
        return three(x, y);
      }
      case 4: {
        int c = std::get<std::string>(a).compare(std::get<std::string>(b));
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
      }
      case 5:
        return three(std::get<TimeValue>(a).unix_ns,
                     std::get<TimeValue>(b).unix_ns);
      case 6:
        return three(std::get<DurationValue>(a).ns,
                     std::get<DurationValue>(b).ns);
    }
  }
  std::optional<double> x = AsDouble(a), y = AsDouble(b);
  if (x && y) {
    if (std::isnan(*x) || std::isnan(*y)) return std::nullopt;
    return three(*x, *y);
  }
  return std::nullopt;
}

int OrderValues(const Value& a, const Value& b) {
  if (IsNull(a) || IsNull(b)) {
    return IsNull(a) == IsNull(b) ? 0 : (IsNull(a) ? -1 : 1);
  }
  if (std::optional<int> c = CompareValues(a, b)) return *c;
  // Different types, or NaN: order by type index, NaN after numbers.
  if (a.index() != b.index()) {
    const bool na = AsDouble(a).has_value(), nb = AsDouble(b).has_value();
    if (na && nb) {
      const bool xa = std::isnan(*AsDouble(a)), xb = std::isnan(*AsDouble(b));
      return xa == xb ? 0 : (xa ? 1 : -1);
    }
    return a.index() < b.index() ? -1 : 1;
  }
  const bool xa = std::isnan(std::get<double>(a));
  const bool xb = std::isnan(std::get<double>(b));
  return xa == xb ? 0 : (xa ? 1 : -1);
}

bool LikeMatch(absl::string_view text, absl::string_view pattern) {
  // Greedy wildcard matching with one resume point (the last '%'): when a
  // literal run fails, retry it one character further. Each '%' is passed
  // once, so the work is O(text x pattern) at worst, never exponential.
  size_t t = 0, p = 0;
  size_t star_p = absl::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      const char pc = pattern[p];
      if (pc == '%') {
        while (p < pattern.size() && pattern[p] == '%') ++p;
        if (p == pattern.size()) return true;
        star_p = p;
        star_t = t;
        continue;
      }
      if (pc == '_') {
        t += CharLen(text, t);
        ++p;
        continue;
      }
      size_t lit = p;
      if (pc == '\\' && p + 1 < pattern.size()) lit = p + 1;
      if (pattern[lit] == text[t]) {
        ++t;
        p = lit + 1;
        continue;
      }
    }
    if (star_p == absl::string_view::npos) return false;
    star_t += CharLen(text, star_t);
    t = star_t;
    p = star_p;
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

Value Eval(const CExpr& e, const EvalRow& row, EvalEnv& env) {
  switch (e.kind) {
    case Kind::kConst:
      return e.value;
    case Kind::kField:
      if (e.field.id == FieldId::kColumn) {
        if (row.row == nullptr ||
            static_cast<size_t>(e.field.column) >= row.row->size()) {
          return std::monostate{};
        }
        return (*row.row)[e.field.column];
      }
      if (row.event == nullptr) return std::monostate{};
      return ReadEventField(e.field, *row.event);
    case Kind::kNot: {
      std::optional<bool> x = Truth(Eval(*e.children[0], row, env));
      if (!x) return std::monostate{};
      return !*x;
    }
    case Kind::kNeg: {
      Value v = Eval(*e.children[0], row, env);
      if (const int64_t* i = std::get_if<int64_t>(&v)) {
        if (*i == std::numeric_limits<int64_t>::min()) return std::monostate{};
        return -*i;
      }
      if (const double* d = std::get_if<double>(&v)) return -*d;
      if (const DurationValue* d = std::get_if<DurationValue>(&v)) {
        if (d->ns == std::numeric_limits<int64_t>::min()) {
          return std::monostate{};
        }
        return DurationValue{-d->ns};
      }
      return std::monostate{};
    }
    case Kind::kAnd: {
      std::optional<bool> x = Truth(Eval(*e.children[0], row, env));
      if (x == std::optional<bool>(false)) return false;
      std::optional<bool> y = Truth(Eval(*e.children[1], row, env));
      if (y == std::optional<bool>(false)) return false;
      if (x && y) return true;
      return std::monostate{};
    }
    case Kind::kOr: {
      std::optional<bool> x = Truth(Eval(*e.children[0], row, env));
      if (x == std::optional<bool>(true)) return true;
      std::optional<bool> y = Truth(Eval(*e.children[1], row, env));
      if (y == std::optional<bool>(true)) return true;
      if (x && y) return false;
      return std::monostate{};
    }
    case Kind::kCompare: {
      Value a = Eval(*e.children[0], row, env);
      if (IsNull(a)) return std::monostate{};
      const CExpr& rhs = *e.children[1];
      if (rhs.kind == Kind::kConst) {
        std::optional<Value> b = PercentOperand(*e.children[0], rhs, row);
        if (!b.has_value()) return std::monostate{};
        return FromCompare(CompareValues(a, *b), e.op);
      }
      return FromCompare(CompareValues(a, Eval(rhs, row, env)), e.op);
    }
    case Kind::kArith:
      return Arith(e.op, Eval(*e.children[0], row, env),
                   Eval(*e.children[1], row, env));
    case Kind::kLike:
    case Kind::kRegex: {
      Value v = Eval(*e.children[0], row, env);
      const std::string* s = std::get_if<std::string>(&v);
      if (s == nullptr) return std::monostate{};
      bool m = e.kind == Kind::kLike ? LikeMatch(*s, e.like)
                                     : RE2::FullMatch(*s, *e.regex);
      return m != e.negated;
    }
    case Kind::kIn: {
      Value x = Eval(*e.children[0], row, env);
      if (IsNull(x)) return std::monostate{};
      bool saw_null = false;
      for (size_t i = 1; i < e.children.size(); ++i) {
        const CExpr& item = *e.children[i];
        std::optional<Value> v =
            item.kind == Kind::kConst
                ? PercentOperand(*e.children[0], item, row)
                : std::optional<Value>(Eval(item, row, env));
        if (!v.has_value() || IsNull(*v)) {
          saw_null = true;
          continue;
        }
        std::optional<int> c = CompareValues(x, *v);
        if (c == std::optional<int>(0)) return !e.negated;
        if (!c.has_value()) saw_null = true;
      }
      if (saw_null) return std::monostate{};
      return e.negated;
    }
    case Kind::kBetween: {
      Value x = Eval(*e.children[0], row, env);
      const CExpr& lo_e = *e.children[1];
      const CExpr& hi_e = *e.children[2];
      std::optional<Value> lo =
          lo_e.kind == Kind::kConst
              ? PercentOperand(*e.children[0], lo_e, row)
              : std::optional<Value>(Eval(lo_e, row, env));
      std::optional<Value> hi =
          hi_e.kind == Kind::kConst
              ? PercentOperand(*e.children[0], hi_e, row)
              : std::optional<Value>(Eval(hi_e, row, env));
      if (!lo || !hi) return std::monostate{};
      std::optional<int> a = CompareValues(x, *lo);
      std::optional<int> b = CompareValues(x, *hi);
      // x >= lo AND x <= hi, three-valued.
      std::optional<bool> ge = a ? std::optional<bool>(*a >= 0) : std::nullopt;
      std::optional<bool> le = b ? std::optional<bool>(*b <= 0) : std::nullopt;
      std::optional<bool> in;
      if (ge == std::optional<bool>(false) ||
          le == std::optional<bool>(false)) {
        in = false;
      } else if (ge && le) {
        in = true;
      }
      if (!in) return std::monostate{};
      return *in != e.negated;
    }
    case Kind::kIsNull: {
      const bool null = IsNull(Eval(*e.children[0], row, env));
      return null != e.negated;
    }
    case Kind::kStructural:
      return EvalStructural(e, row, env);
    case Kind::kFunc:
      return EvalFunc(e, row, env);
  }
  return std::monostate{};
}

bool SameExpr(const Expr& a, const Expr& b) {
  if (a.kind != b.kind || a.op != b.op || a.negated != b.negated ||
      a.relation != b.relation || a.bool_value != b.bool_value ||
      a.int_value != b.int_value || a.children.size() != b.children.size()) {
    return false;
  }
  if (!(a.float_value == b.float_value) &&
      !(std::isnan(a.float_value) && std::isnan(b.float_value))) {
    return false;
  }
  if (a.kind == ExprKind::kCall ? !absl::EqualsIgnoreCase(a.text, b.text)
                                : a.text != b.text) {
    return false;
  }
  if (a.path.parts.size() != b.path.parts.size()) return false;
  for (size_t i = 0; i < a.path.parts.size(); ++i) {
    if (!absl::EqualsIgnoreCase(a.path.parts[i], b.path.parts[i])) {
      return false;
    }
  }
  for (size_t i = 0; i < a.children.size(); ++i) {
    if (!SameExpr(*a.children[i], *b.children[i])) return false;
  }
  return true;
}

absl::StatusOr<int64_t> EvalTimeExpr(const Expr& expr, absl::string_view text,
                                     int64_t now_ns) {
  switch (expr.kind) {
    case ExprKind::kString: {
      auto t = ParseTimeLiteral(expr.text, now_ns);
      if (!t.ok()) return SyntaxError(text, expr.range, t.status().message());
      return *t;
    }
    case ExprKind::kInt:
      return expr.int_value;
    case ExprKind::kNow:
      return now_ns;
    case ExprKind::kBinary:
      if ((expr.op == Op::kSub || expr.op == Op::kAdd) &&
          expr.children.size() == 2 &&
          expr.children[1]->kind == ExprKind::kDuration) {
        TV_ASSIGN_OR_RETURN(int64_t base,
                            EvalTimeExpr(*expr.children[0], text, now_ns));
        int64_t out;
        const int64_t d = expr.children[1]->int_value;
        if (expr.op == Op::kSub ? __builtin_sub_overflow(base, d, &out)
                                : __builtin_add_overflow(base, d, &out)) {
          return SyntaxError(text, expr.range, "time out of range");
        }
        return out;
      }
      break;
    default:
      break;
  }
  return SyntaxError(text, expr.range,
                     "expected a time such as '2024-01-15 15:47:23', "
                     "'10 minutes ago', 'now' or unix nanoseconds");
}

absl::StatusOr<std::string> EvalStringExpr(const Expr& expr,
                                           absl::string_view text) {
  if (expr.kind == ExprKind::kString) return expr.text;
  if (expr.kind == ExprKind::kField && expr.path.parts.size() == 1) {
    return expr.path.parts[0];
  }
  return SyntaxError(text, expr.range, "expected a quoted string");
}

absl::StatusOr<TimeBounds> ResolveTimeRange(const TimeRange& range,
                                            absl::string_view text,
                                            int64_t now_ns) {
  TimeBounds b;
  if (range.last.has_value()) {
    const int64_t from = *range.last >= now_ns ? 0 : now_ns - *range.last;
    b.from_ns = static_cast<uint64_t>(std::max<int64_t>(0, from));
    // 'now' itself is included.
    b.to_ns = static_cast<uint64_t>(std::max<int64_t>(0, now_ns)) + 1;
    return b;
  }
  if (range.from) {
    TV_ASSIGN_OR_RETURN(int64_t from, EvalTimeExpr(*range.from, text, now_ns));
    b.from_ns = static_cast<uint64_t>(std::max<int64_t>(0, from));
  }
  if (range.to) {
    TV_ASSIGN_OR_RETURN(int64_t to, EvalTimeExpr(*range.to, text, now_ns));
    // TO is inclusive of the instant written when it is 'now' (so events
    // recorded at now are seen); otherwise exclusive.
    uint64_t t = static_cast<uint64_t>(std::max<int64_t>(0, to));
    if (range.to->kind == ExprKind::kNow ||
        (range.to->kind == ExprKind::kString &&
         absl::EqualsIgnoreCase(range.to->text, "now"))) {
      t += 1;
    }
    b.to_ns = t;
  }
  if (range.from && range.to && b.to_ns < b.from_ns) {
    return SyntaxError(text, range.range,
                       "the time range ends before it starts (FROM is "
                       "after TO)");
  }
  return b;
}

}  // namespace traversion::timeql
