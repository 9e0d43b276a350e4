// Entities: STATE AT t | AT REVISION n, HISTORY OF e, CHANGES BETWEEN t1 AND
// t2. Each is one store call (index seeks), then rows per entity and field
// filtered by the WHERE over the row's columns.
#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "timeql/diagnostics.h"
#include "timeql/evaluator.h"
#include "util/status_macros.h"

namespace traversion::timeql {
namespace {

void Conjuncts(const Expr* e, std::vector<const Expr*>* out) {
  if (e == nullptr) return;
  if (e->kind == ExprKind::kBinary && e->op == Op::kAnd) {
    Conjuncts(e->children[0].get(), out);
    Conjuncts(e->children[1].get(), out);
    return;
  }
  out->push_back(e);
}

// `name = 'value'` (either side) for a one-part field name.
std::optional<std::string> EqualsString(const Expr& e, absl::string_view name) {
  if (e.kind != ExprKind::kBinary || e.op != Op::kEq) return std::nullopt;
  const Expr* f = e.children[0].get();
  const Expr* v = e.children[1].get();
  if (f->kind == ExprKind::kString) std::swap(f, v);
  if (f->kind != ExprKind::kField || v->kind != ExprKind::kString ||
      f->path.parts.size() != 1 ||
      !absl::EqualsIgnoreCase(f->path.parts[0], name)) {
    return std::nullopt;
  }
  return v->text;
}

// What an entity WHERE lets the store narrow: service, type, a name prefix,
// or one entity by name. The WHERE is still applied to every row.
struct EntityPushdown {
  EntityFilter filter;
  std::optional<std::string> entity;
  bool nothing = false;
};

EntityPushdown PushDown(const Expr* where) {
  EntityPushdown p;
  std::vector<const Expr*> terms;
  Conjuncts(where, &terms);
  auto set = [&](std::string* slot, const std::string& v) {
    if (!slot->empty() && *slot != v) p.nothing = true;
    *slot = v;
  };
  for (const Expr* t : terms) {
    if (auto v = EqualsString(*t, "service")) {
      set(&p.filter.service, *v);
    } else if (auto v2 = EqualsString(*t, "entity_type")) {
      set(&p.filter.entity_type, *v2);
    } else if (auto v3 = EqualsString(*t, "entity")) {
      if (p.entity.has_value() && *p.entity != *v3) p.nothing = true;
      p.entity = *v3;
    } else if (t->kind == ExprKind::kBinary && t->op == Op::kLike &&
               t->children[0]->kind == ExprKind::kField &&
               t->children[0]->path.parts.size() == 1 &&
               absl::EqualsIgnoreCase(t->children[0]->path.parts[0],
                                      "entity") &&
               t->children[1]->kind == ExprKind::kString) {
      const std::string& pattern = t->children[1]->text;
      const size_t wild = pattern.find_first_of("%_\\");
      if (wild != std::string::npos && wild > 0 &&
          p.filter.name_prefix.empty()) {
        p.filter.name_prefix = pattern.substr(0, wild);
      }
    }
  }
  // Empty strings in the filter mean "any"; an empty name is a real (NULL)
  // value that matches nothing.
  if ((p.entity.has_value() && p.entity->empty())) p.nothing = true;
  return p;
}

absl::StatusOr<CExprPtr> CompileWhere(const ExprPtr& where,
                                      const std::vector<Column>& columns,
                                      absl::string_view text, int64_t now_ns) {
  if (!where) return CExprPtr(nullptr);
  CompileOptions options;
  options.scope.columns = &columns;
  options.structural = false;
  TV_ASSIGN_OR_RETURN(CExprPtr c, Compile(*where, text, now_ns, options));
  if (c->type.has_value() && *c->type != ColumnType::kBool) {
    return SyntaxError(text, where->range, "WHERE needs a condition");
  }
  return c;
}

Value Opt(const std::optional<std::string>& s) {
  if (!s.has_value()) return std::monostate{};
  return *s;
}

Value NonEmpty(const std::string& s) {
  if (s.empty()) return std::monostate{};
  return s;
}

std::string FieldsJson(const std::vector<EntityField>& fields) {
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", JsonString(fields[i].name), ":",
                    JsonString(fields[i].value));
  }
  return out + "}";
}

// Rows kept by `where` with at most `limit` of them.
class RowFilter {
 public:
  RowFilter(const CExpr* where, std::optional<int64_t> limit)
      : where_(where), limit_(limit) {}
  bool full() const {
    return limit_.has_value() && static_cast<int64_t>(rows_.size()) >= *limit_;
  }
  bool Add(Row row) {
    if (full()) return false;
    EvalEnv env;
    if (where_ != nullptr && !Holds(*where_, EvalRow{nullptr, &row}, env)) {
      return false;
    }
    rows_.push_back(std::move(row));
    return true;
  }
  std::vector<Row>& rows() { return rows_; }

 private:
  const CExpr* where_;
  std::optional<int64_t> limit_;
  std::vector<Row> rows_;
};

}  // namespace

absl::StatusOr<Result> RunState(const StateStmt& stmt, absl::string_view text,
                                const Context& ctx) {
  std::vector<Column> columns = {
      {"entity", ColumnType::kString},  {"entity_type", ColumnType::kString},
      {"service", ColumnType::kString}, {"field", ColumnType::kString},
      {"value", ColumnType::kString},   {"revision", ColumnType::kInt64},
      {"time", ColumnType::kTime}};
  TV_ASSIGN_OR_RETURN(CExprPtr where,
                      CompileWhere(stmt.where, columns, text, ctx.now_ns));
  EntityPushdown push = PushDown(stmt.where.get());
  std::vector<EntityRevision> revisions;
  std::string plan;
  int64_t at_ns = 0;
  if (!stmt.revision.has_value()) {
    if (!stmt.at) return absl::InvalidArgumentError("STATE AT needs a time");
    TV_ASSIGN_OR_RETURN(at_ns, EvalTimeExpr(*stmt.at, text, ctx.now_ns));
    if (at_ns < 0) {
      return SyntaxError(text, stmt.at->range, "time before 1970");
    }
  } else if (*stmt.revision < 0) {
    return absl::InvalidArgumentError("a revision is not negative");
  }
  if (push.nothing) {
    plan = "empty (the condition cannot hold)";
  } else if (push.entity.has_value()) {
    std::optional<EntityRevision> one;
    if (stmt.revision.has_value()) {
      TV_ASSIGN_OR_RETURN(
          one, ctx.store->EntityAtRevision(
                   *push.entity, static_cast<uint64_t>(*stmt.revision)));
    } else {
      TV_ASSIGN_OR_RETURN(one, ctx.store->EntityAsOf(
                                   *push.entity, static_cast<uint64_t>(at_ns)));
    }
    if (one.has_value()) revisions.push_back(std::move(*one));
    plan = absl::StrCat("entity as-of: ", *push.entity);
  } else {
    if (stmt.revision.has_value()) {
      TV_ASSIGN_OR_RETURN(
          revisions, ctx.store->StateAtRevision(
                         static_cast<uint64_t>(*stmt.revision), push.filter));
    } else {
      TV_ASSIGN_OR_RETURN(
          revisions,
          ctx.store->StateAt(static_cast<uint64_t>(at_ns), push.filter));
    }
    plan = "state of every entity";
    if (!push.filter.service.empty()) {
      absl::StrAppend(&plan, "; service: ", push.filter.service);
    }
    if (!push.filter.entity_type.empty()) {
      absl::StrAppend(&plan, "; entity_type: ", push.filter.entity_type);
    }
    if (!push.filter.name_prefix.empty()) {
      absl::StrAppend(&plan, "; prefix: ", push.filter.name_prefix);
    }
  }
  if (where != nullptr) absl::StrAppend(&plan, "; residual filter");
  TV_RETURN_IF_ERROR(ctx.budget->Examine(revisions.size()));
  RowFilter rows(where.get(), stmt.limit);
  auto kept = std::make_shared<std::vector<EntityRevision>>();
  for (EntityRevision& r : revisions) {
    if (rows.full()) break;
    bool any = false;
    auto row_for = [&](Value field, Value value) {
      return Row{r.entity,
                 NonEmpty(r.entity_type),
                 NonEmpty(r.service),
                 std::move(field),
                 std::move(value),
                 static_cast<int64_t>(r.revision),
                 TimeValue{static_cast<int64_t>(r.time_ns)}};
    };
    for (const EntityField& f : r.fields) {
      any |= rows.Add(row_for(f.name, f.value));
    }
    if (r.fields.empty()) {
      any |= rows.Add(row_for(std::monostate{}, std::monostate{}));
    }
    if (any) kept->push_back(std::move(r));
    TV_RETURN_IF_ERROR(ctx.budget->CheckRows(rows.rows().size()));
  }
  auto source = std::make_unique<VectorSource>(std::move(rows.rows()), plan);
  source->SetLazyJson([kept] {
    std::string json = "{\"entities\":[";
    for (size_t i = 0; i < kept->size(); ++i) {
      const EntityRevision& r = (*kept)[i];
      absl::StrAppend(
          &json, i ? "," : "", "{\"entity\":", JsonString(r.entity),
          ",\"entity_type\":", JsonString(r.entity_type),
          ",\"service\":", JsonString(r.service), ",\"revision\":", r.revision,
          ",\"time\":", JsonValue(TimeValue{static_cast<int64_t>(r.time_ns)}),
          ",\"fields\":", FieldsJson(r.fields), "}");
    }
    return json + "]}";
  });
  return MakeResult(std::move(columns), std::move(source), "state", ctx);
}

absl::StatusOr<Result> RunHistory(const HistoryStmt& stmt,
                                  absl::string_view text, const Context& ctx) {
  if (!stmt.entity) return absl::InvalidArgumentError("HISTORY OF an entity");
  TV_ASSIGN_OR_RETURN(std::string entity, EvalStringExpr(*stmt.entity, text));
  TV_ASSIGN_OR_RETURN(TimeBounds bounds,
                      ResolveTimeRange(stmt.time, text, ctx.now_ns));
  TV_ASSIGN_OR_RETURN(
      std::vector<EntityRevision> revisions,
      ctx.store->EntityHistory(entity, bounds.from_ns, bounds.to_ns));
  TV_RETURN_IF_ERROR(ctx.budget->Examine(revisions.size()));
  std::vector<Column> columns = {
      {"revision", ColumnType::kInt64}, {"time", ColumnType::kTime},
      {"entity", ColumnType::kString},  {"entity_type", ColumnType::kString},
      {"service", ColumnType::kString}, {"deleted", ColumnType::kBool},
      {"changes", ColumnType::kString}, {"fields", ColumnType::kString},
      {"event_id", ColumnType::kString}};
  // The state before the range, to describe the first revision's changes.
  std::vector<EntityField> previous;
  if (bounds.from_ns > 0) {
    TV_ASSIGN_OR_RETURN(std::optional<EntityRevision> before,
                        ctx.store->EntityAsOf(entity, bounds.from_ns - 1));
    if (before.has_value()) previous = before->fields;
  }
  std::vector<Row> rows;
  std::string json =
      absl::StrCat("{\"entity\":", JsonString(entity), ",\"revisions\":[");
  for (size_t i = 0; i < revisions.size(); ++i) {
    const EntityRevision& r = revisions[i];
    if (stmt.limit.has_value() &&
        static_cast<int64_t>(rows.size()) >= *stmt.limit) {
      break;
    }
    std::map<std::string, std::string> before, after;
    for (const EntityField& f : previous) before[f.name] = f.value;
    if (!r.deleted) {
      for (const EntityField& f : r.fields) after[f.name] = f.value;
    }
    std::vector<std::string> changes;
    std::string changes_json;
    auto add_change = [&](const std::string& name, const std::string* b,
                          const std::string* a) {
      if (b && a) {
        changes.push_back(absl::StrCat(name, ": ", *b, " -> ", *a));
      } else if (a) {
        changes.push_back(absl::StrCat(name, ": + ", *a));
      } else {
        changes.push_back(absl::StrCat(name, ": - ", *b));
      }
      absl::StrAppend(&changes_json, changes_json.empty() ? "" : ",",
                      "{\"field\":", JsonString(name),
                      ",\"before\":", b ? JsonString(*b) : "null",
                      ",\"after\":", a ? JsonString(*a) : "null", "}");
    };
    for (const auto& [name, value] : after) {
      auto it = before.find(name);
      if (it == before.end()) {
        add_change(name, nullptr, &value);
      } else if (it->second != value) {
        add_change(name, &it->second, &value);
      }
    }
    for (const auto& [name, value] : before) {
      if (!after.count(name)) add_change(name, &value, nullptr);
    }
    std::vector<std::string> field_text;
    for (const EntityField& f : r.fields) {
      field_text.push_back(absl::StrCat(f.name, "=", f.value));
    }
    rows.push_back(Row{static_cast<int64_t>(r.revision),
                       TimeValue{static_cast<int64_t>(r.time_ns)}, r.entity,
                       NonEmpty(r.entity_type), NonEmpty(r.service), r.deleted,
                       absl::StrJoin(changes, "; "),
                       absl::StrJoin(field_text, ", "),
                       r.event_id.empty() ? Value(std::monostate{})
                                          : Value(r.event_id.ToString())});
    absl::StrAppend(
        &json, i ? "," : "", "{\"revision\":", r.revision,
        ",\"time\":", JsonValue(TimeValue{static_cast<int64_t>(r.time_ns)}),
        ",\"deleted\":", r.deleted ? "true" : "false",
        ",\"fields\":", FieldsJson(r.fields), ",\"changes\":[", changes_json,
        "]}");
    previous = r.deleted ? std::vector<EntityField>{} : r.fields;
  }
  json += "]}";
  auto source = std::make_unique<VectorSource>(
      std::move(rows), absl::StrCat("entity history: ", entity),
      std::move(json));
  return MakeResult(std::move(columns), std::move(source), "history", ctx);
}

absl::StatusOr<Result> RunChanges(const ChangesStmt& stmt,
                                  absl::string_view text, const Context& ctx) {
  if (!stmt.from || !stmt.to) {
    return absl::InvalidArgumentError("CHANGES BETWEEN t1 AND t2");
  }
  TV_ASSIGN_OR_RETURN(int64_t t1, EvalTimeExpr(*stmt.from, text, ctx.now_ns));
  TV_ASSIGN_OR_RETURN(int64_t t2, EvalTimeExpr(*stmt.to, text, ctx.now_ns));
  if (t1 < 0 || t2 < 0) {
    return SyntaxError(text, stmt.from->range, "time before 1970");
  }
  if (t2 < t1) {
    return SyntaxError(text, stmt.to->range,
                       "CHANGES BETWEEN t1 AND t2 needs t1 before t2");
  }
  std::vector<Column> columns = {
      {"entity", ColumnType::kString},  {"entity_type", ColumnType::kString},
      {"service", ColumnType::kString}, {"change", ColumnType::kString},
      {"field", ColumnType::kString},   {"before", ColumnType::kString},
      {"after", ColumnType::kString}};
  TV_ASSIGN_OR_RETURN(CExprPtr where,
                      CompileWhere(stmt.where, columns, text, ctx.now_ns));
  EntityPushdown push = PushDown(stmt.where.get());
  std::vector<EntityChange> changes;
  if (!push.nothing && t1 != t2) {
    TV_ASSIGN_OR_RETURN(changes, ctx.store->ChangesBetween(
                                     static_cast<uint64_t>(t1),
                                     static_cast<uint64_t>(t2), push.filter));
  }
  TV_RETURN_IF_ERROR(ctx.budget->Examine(changes.size()));
  RowFilter rows(where.get(), stmt.limit);
  std::string json = "{\"changes\":[";
  bool first = true;
  for (const EntityChange& c : changes) {
    if (rows.full()) break;
    if (push.entity.has_value() && c.entity != *push.entity) continue;
    const EntityRevision* info = c.after    ? &*c.after
                                 : c.before ? &*c.before
                                            : nullptr;
    const std::string kind(ChangeKindName(c.kind));
    auto row_for = [&](Value field, Value before, Value after) {
      return Row{c.entity,
                 info ? NonEmpty(info->entity_type) : Value(std::monostate{}),
                 info ? NonEmpty(info->service) : Value(std::monostate{}),
                 kind,
                 std::move(field),
                 std::move(before),
                 std::move(after)};
    };
    bool any = false;
    std::vector<FieldChange> fields = c.fields;
    if (fields.empty()) {
      // Added or removed entities list their whole state.
      if (c.kind == ChangeKind::kAdded && c.after) {
        for (const EntityField& f : c.after->fields) {
          fields.push_back(FieldChange{f.name, std::nullopt, f.value});
        }
      } else if (c.kind == ChangeKind::kRemoved && c.before) {
        for (const EntityField& f : c.before->fields) {
          fields.push_back(FieldChange{f.name, f.value, std::nullopt});
        }
      }
    }
    std::string fields_json;
    for (const FieldChange& f : fields) {
      any |= rows.Add(row_for(f.name, Opt(f.before), Opt(f.after)));
      absl::StrAppend(&fields_json, fields_json.empty() ? "" : ",",
                      "{\"field\":", JsonString(f.name),
                      ",\"before\":", f.before ? JsonString(*f.before) : "null",
                      ",\"after\":", f.after ? JsonString(*f.after) : "null",
                      "}");
    }
    if (fields.empty()) {
      any |= rows.Add(
          row_for(std::monostate{}, std::monostate{}, std::monostate{}));
    }
    if (any) {
      absl::StrAppend(&json, first ? "" : ",",
                      "{\"entity\":", JsonString(c.entity),
                      ",\"change\":", JsonString(kind), ",\"before_revision\":",
                      c.before ? absl::StrCat(c.before->revision) : "null",
                      ",\"after_revision\":",
                      c.after ? absl::StrCat(c.after->revision) : "null",
                      ",\"fields\":[", fields_json, "]}");
      first = false;
    }
    TV_RETURN_IF_ERROR(ctx.budget->CheckRows(rows.rows().size()));
  }
  json += "]}";
  std::string plan = "entity changes (revisions by time)";
  if (where != nullptr) absl::StrAppend(&plan, "; residual filter");
  auto source = std::make_unique<VectorSource>(std::move(rows.rows()), plan,
                                               std::move(json));
  return MakeResult(std::move(columns), std::move(source), "changes", ctx);
}

}  // namespace traversion::timeql
