#include "timeql/plan.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "timeql/fields.h"

namespace traversion::timeql {
namespace {

void Conjuncts(const Expr* e, std::vector<const Expr*>* out) {
  if (e == nullptr) return;
  if (e->kind == ExprKind::kBinary && e->op == Op::kAnd &&
      e->children.size() == 2) {
    Conjuncts(e->children[0].get(), out);
    Conjuncts(e->children[1].get(), out);
    return;
  }
  out->push_back(e);
}

void Disjuncts(const Expr* e, std::vector<const Expr*>* out) {
  if (e->kind == ExprKind::kBinary && e->op == Op::kOr &&
      e->children.size() == 2) {
    Disjuncts(e->children[0].get(), out);
    Disjuncts(e->children[1].get(), out);
    return;
  }
  out->push_back(e);
}

// The catalog field an expression names, if it is a plain field.
std::optional<FieldId> FieldOf(const Expr& e) {
  if (e.kind != ExprKind::kField) return std::nullopt;
  FieldScope scope;
  auto ref = ResolveField(e.path, e.range, "", scope);
  if (!ref.ok()) return std::nullopt;
  return ref->id;
}

// `field = 'v'`, `'v' = field` or `field IN ('v', ...)` for the given field:
// the values, or nullopt if the term is not of that shape.
std::optional<std::set<std::string>> EqualityValues(const Expr& e,
                                                    FieldId field) {
  if (e.kind == ExprKind::kBinary && e.op == Op::kEq &&
      e.children.size() == 2) {
    const Expr* f = e.children[0].get();
    const Expr* v = e.children[1].get();
    if (f->kind == ExprKind::kString) std::swap(f, v);
    if (FieldOf(*f) == field && v->kind == ExprKind::kString) {
      return std::set<std::string>{v->text};
    }
    return std::nullopt;
  }
  if (e.kind == ExprKind::kIn && !e.negated && e.children.size() >= 2 &&
      FieldOf(*e.children[0]) == field) {
    std::set<std::string> values;
    for (size_t i = 1; i < e.children.size(); ++i) {
      if (e.children[i]->kind != ExprKind::kString) return std::nullopt;
      values.insert(e.children[i]->text);
    }
    return values;
  }
  if (e.kind == ExprKind::kBinary && e.op == Op::kOr) {
    std::vector<const Expr*> parts;
    Disjuncts(&e, &parts);
    std::set<std::string> values;
    for (const Expr* p : parts) {
      if (p->kind == ExprKind::kBinary && p->op == Op::kOr) {
        return std::nullopt;
      }
      auto v = EqualityValues(*p, field);
      if (!v.has_value()) return std::nullopt;
      values.insert(v->begin(), v->end());
    }
    return values;
  }
  return std::nullopt;
}

struct Accumulated {
  std::optional<std::set<std::string>> services;
  std::optional<std::set<EventType>> types;
  int min_severity = 0;
  std::optional<std::string> trace;
  std::optional<std::string> entity;
  uint64_t from_ns = 0;
  uint64_t to_ns = std::numeric_limits<uint64_t>::max();
  bool nothing = false;
  bool exact = true;
};

template <typename T>
void Intersect(std::optional<std::set<T>>* acc, const std::set<T>& values) {
  if (!acc->has_value()) {
    *acc = values;
    return;
  }
  std::set<T> out;
  for (const T& v : **acc) {
    if (values.count(v)) out.insert(v);
  }
  *acc = std::move(out);
}

// Applies one AND term; returns whether the filter answers it exactly.
bool Apply(const Expr& e, absl::string_view text, int64_t now_ns,
           Accumulated* acc) {
  if (auto v = EqualityValues(e, FieldId::kService)) {
    // An empty name is NULL to TimeQL; leave such terms to the residual.
    if (v->count("") != 0) return false;
    Intersect(&acc->services, *v);
    return true;
  }
  if (auto v = EqualityValues(e, FieldId::kType)) {
    std::set<EventType> types;
    for (const std::string& name : *v) {
      std::optional<EventType> t = ParseEventType(name);
      if (!t.has_value()) return false;  // the compiler reports it
      types.insert(*t);
    }
    Intersect(&acc->types, types);
    return true;
  }
  if (auto v = EqualityValues(e, FieldId::kTraceId)) {
    if (v->size() != 1 || !ParseTraceId(*v->begin()).has_value()) {
      return false;
    }
    const std::string hex = absl::AsciiStrToLower(*v->begin());
    if (acc->trace.has_value() && *acc->trace != hex) acc->nothing = true;
    acc->trace = hex;
    return true;
  }
  if (auto v = EqualityValues(e, FieldId::kEntity)) {
    if (v->size() != 1) return false;
    if (acc->entity.has_value() && *acc->entity != *v->begin()) {
      acc->nothing = true;
    }
    acc->entity = *v->begin();
    return false;  // the entity index also returns events that name it
  }
  if (e.kind == ExprKind::kBetween && !e.negated && e.children.size() == 3 &&
      FieldOf(*e.children[0]) == FieldId::kTime) {
    auto lo = EvalTimeExpr(*e.children[1], text, now_ns);
    auto hi = EvalTimeExpr(*e.children[2], text, now_ns);
    if (!lo.ok() || !hi.ok()) return false;
    acc->from_ns = std::max(acc->from_ns,
                            static_cast<uint64_t>(std::max<int64_t>(0, *lo)));
    if (*hi < 0) {
      acc->nothing = true;
    } else {
      acc->to_ns = std::min(acc->to_ns, static_cast<uint64_t>(*hi) + 1);
    }
    return true;
  }
  if (e.kind != ExprKind::kBinary || e.children.size() != 2) return false;
  Op op = e.op;
  const Expr* f = e.children[0].get();
  const Expr* v = e.children[1].get();
  if (f->kind != ExprKind::kField) {
    std::swap(f, v);
    switch (op) {
      case Op::kLt:
        op = Op::kGt;
        break;
      case Op::kLe:
        op = Op::kGe;
        break;
      case Op::kGt:
        op = Op::kLt;
        break;
      case Op::kGe:
        op = Op::kLe;
        break;
      default:
        break;
    }
  }
  std::optional<FieldId> field = FieldOf(*f);
  if (!field.has_value()) return false;
  if (*field == FieldId::kTime) {
    auto t = EvalTimeExpr(*v, text, now_ns);
    if (!t.ok()) return false;
    const int64_t x = *t;
    auto clamp = [](int64_t n) {
      return static_cast<uint64_t>(std::max<int64_t>(0, n));
    };
    switch (op) {
      case Op::kGe:
        acc->from_ns = std::max(acc->from_ns, clamp(x));
        return true;
      case Op::kGt:
        acc->from_ns = std::max(acc->from_ns, clamp(x) + (x >= 0 ? 1 : 0));
        return true;
      case Op::kLt:
        if (x <= 0) acc->nothing = true;
        acc->to_ns = std::min(acc->to_ns, clamp(x));
        return true;
      case Op::kLe:
        if (x < 0) acc->nothing = true;
        acc->to_ns = std::min(acc->to_ns, clamp(x) + 1);
        return true;
      case Op::kEq:
        if (x < 0) {
          acc->nothing = true;
          return true;
        }
        acc->from_ns = std::max(acc->from_ns, clamp(x));
        acc->to_ns = std::min(acc->to_ns, clamp(x) + 1);
        return true;
      default:
        return false;
    }
  }
  if (*field == FieldId::kSeverity || *field == FieldId::kSeverityNumber) {
    int n = 0;
    if (*field == FieldId::kSeverity) {
      if (v->kind != ExprKind::kString) return false;
      std::optional<Severity> s = ParseSeverity(v->text);
      if (!s.has_value()) return false;
      n = static_cast<int>(*s);
      if (op == Op::kGt) {
        n += 4;  // above the whole level (a level spans four numbers)
        op = Op::kGe;
      }
    } else {
      if (v->kind != ExprKind::kInt || v->int_value < 0 ||
          v->int_value > 0x7f) {
        return false;
      }
      n = static_cast<int>(v->int_value);
      if (op == Op::kGt) {
        n += 1;
        op = Op::kGe;
      }
    }
    if (op == Op::kGe) {
      acc->min_severity = std::max(acc->min_severity, n);
      return n <= 0x7f;
    }
    if (op == Op::kEq && n > 0) {
      acc->min_severity = std::max(acc->min_severity, n);
      return false;
    }
  }
  return false;
}

}  // namespace

std::string DescribeFilter(const EventFilter& filter, bool residual) {
  std::string out;
  if (filter.trace_id.has_value()) {
    out = absl::StrCat("trace index: ", ToHex(*filter.trace_id));
  } else if (!filter.entity.empty()) {
    out = absl::StrCat("entity index: ", filter.entity);
  } else if (!filter.services.empty()) {
    out = absl::StrCat("service index: ", absl::StrJoin(filter.services, ", "));
  } else {
    out = "time scan";
  }
  if (!filter.types.empty()) {
    std::vector<std::string> names;
    for (EventType t : filter.types) {
      names.push_back(std::string(EventTypeName(t)));
    }
    absl::StrAppend(&out, "; types: ", absl::StrJoin(names, ", "));
  }
  if (filter.min_severity != Severity::kUnspecified) {
    absl::StrAppend(&out,
                    "; severity >= ", static_cast<int>(filter.min_severity));
  }
  if (residual) absl::StrAppend(&out, "; residual filter");
  return out;
}

ScanPlan PlanScan(const Expr* where, const TimeBounds& bounds,
                  absl::string_view text, int64_t now_ns) {
  Accumulated acc;
  acc.from_ns = bounds.from_ns;
  acc.to_ns = bounds.to_ns;
  std::vector<const Expr*> terms;
  Conjuncts(where, &terms);
  for (const Expr* term : terms) {
    if (!Apply(*term, text, now_ns, &acc)) acc.exact = false;
  }
  ScanPlan plan;
  EventFilter& f = plan.filter;
  f.from_ns = acc.from_ns;
  f.to_ns = acc.to_ns;
  if (acc.services.has_value()) {
    if (acc.services->empty()) acc.nothing = true;
    f.services.assign(acc.services->begin(), acc.services->end());
  }
  if (acc.types.has_value()) {
    if (acc.types->empty()) acc.nothing = true;
    f.types.assign(acc.types->begin(), acc.types->end());
  }
  if (acc.min_severity > 0x7f) acc.nothing = true;
  f.min_severity = static_cast<Severity>(std::min(acc.min_severity, 0x7f));
  if (acc.trace.has_value()) f.trace_id = ParseTraceId(*acc.trace);
  if (acc.entity.has_value()) f.entity = *acc.entity;
  if (f.to_ns <= f.from_ns) acc.nothing = true;
  plan.nothing = acc.nothing;
  plan.residual = where != nullptr && !acc.exact;
  plan.description = plan.nothing ? "empty (the condition cannot hold)"
                                  : DescribeFilter(f, plan.residual);
  return plan;
}

}  // namespace traversion::timeql
