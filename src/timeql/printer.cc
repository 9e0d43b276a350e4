#include "timeql/printer.h"

#include <charconv>
#include <cmath>
#include <string>
#include <type_traits>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "timeql/lexer.h"
#include "timeql/time_literal.h"

namespace traversion::timeql {
namespace {

// Binding strength, loosest first; a child printed where a tighter one is
// needed gets parentheses.
enum Precedence : int {
  kPrecOr = 1,
  kPrecAnd = 2,
  kPrecNot = 3,
  kPrecCompare = 4,
  kPrecAdd = 5,
  kPrecMul = 6,
  kPrecUnary = 7,
  kPrecPrimary = 8,
};

int PrecedenceOf(const Expr& expr) {
  switch (expr.kind) {
    case ExprKind::kUnary:
      return expr.op == Op::kNot ? kPrecNot : kPrecUnary;
    case ExprKind::kBinary:
      switch (expr.op) {
        case Op::kOr:
          return kPrecOr;
        case Op::kAnd:
          return kPrecAnd;
        case Op::kAdd:
        case Op::kSub:
          return kPrecAdd;
        case Op::kMul:
        case Op::kDiv:
          return kPrecMul;
        default:
          return kPrecCompare;
      }
    case ExprKind::kIn:
    case ExprKind::kBetween:
    case ExprKind::kIsNull:
      return kPrecCompare;
    default:
      return kPrecPrimary;
  }
}

absl::string_view OpText(Op op) {
  switch (op) {
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
      return "NOT LIKE";
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
    case Op::kNot:
      return "NOT";
    case Op::kNeg:
      return "-";
    case Op::kNone:
      break;
  }
  return "?";
}

absl::string_view RelationText(Relation relation) {
  switch (relation) {
    case Relation::kChild:
      return "CHILD";
    case Relation::kParent:
      return "PARENT";
    case Relation::kDescendant:
      return "DESCENDANT";
    case Relation::kAncestor:
      return "ANCESTOR";
  }
  return "CHILD";
}

// The shortest text that reads back to the same double, always with a '.'
// or an exponent so that it lexes as a float.
std::string FormatDouble(double value, bool force_float) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, result.ptr);
  if (force_float && text.find_first_of(".eE") == std::string::npos &&
      std::isfinite(value)) {
    text += ".0";
  }
  return text;
}

// A word the lexer reads as one identifier: ASCII letters, digits and '_',
// and any byte of a multi-byte UTF-8 character, not starting with a digit.
bool IsWordByte(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         (static_cast<unsigned char>(c) & 0x80) != 0;
}

bool IsPlainIdentifier(absl::string_view name) {
  if (name.empty() ||
      absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  for (char c : name) {
    if (!IsWordByte(c)) return false;
  }
  return true;
}

class ExprPrinter {
 public:
  explicit ExprPrinter(std::string* out) : out_(out) {}

  // Prints `expr`, parenthesised if it binds looser than `min_precedence`.
  void Print(const Expr& expr, int min_precedence) {
    bool parens = PrecedenceOf(expr) < min_precedence;
    if (parens) out_->push_back('(');
    PrintBare(expr);
    if (parens) out_->push_back(')');
  }

 private:
  void Child(const Expr& expr, size_t index, int min_precedence) {
    if (index < expr.children.size() && expr.children[index]) {
      Print(*expr.children[index], min_precedence);
    } else {
      out_->append("NULL");
    }
  }

  void PrintBare(const Expr& expr) {
    switch (expr.kind) {
      case ExprKind::kNull:
        out_->append("NULL");
        return;
      case ExprKind::kBool:
        out_->append(expr.bool_value ? "TRUE" : "FALSE");
        return;
      case ExprKind::kInt:
        absl::StrAppend(out_, expr.int_value);
        return;
      case ExprKind::kFloat:
        out_->append(FormatDouble(expr.float_value, true));
        return;
      case ExprKind::kString:
        out_->append(QuoteString(expr.text));
        return;
      case ExprKind::kDuration:
        out_->append(FormatDuration(expr.int_value));
        return;
      case ExprKind::kPercent:
        absl::StrAppend(out_, FormatDouble(expr.float_value, false), "%");
        return;
      case ExprKind::kNow:
        out_->append("NOW");
        return;
      case ExprKind::kField:
        out_->append(PrintFieldPath(expr.path));
        return;
      case ExprKind::kStar:
        out_->append("*");
        return;
      case ExprKind::kCall:
        out_->append(IsPlainIdentifier(expr.text) ? expr.text
                                                  : QuoteIdentifier(expr.text));
        out_->push_back('(');
        for (size_t i = 0; i < expr.children.size(); ++i) {
          if (i > 0) out_->append(", ");
          Child(expr, i, 0);
        }
        out_->push_back(')');
        return;
      case ExprKind::kUnary:
        if (expr.op == Op::kNot) {
          out_->append("NOT ");
          Child(expr, 0, kPrecNot);
        } else {
          out_->push_back('-');
          // "--" would start a comment: parenthesise a child that prints
          // with a leading '-'.
          std::string child;
          ExprPrinter inner(&child);
          if (!expr.children.empty() && expr.children[0]) {
            inner.Print(*expr.children[0], kPrecUnary);
          } else {
            child = "NULL";
          }
          if (!child.empty() && child[0] == '-') child = "(" + child + ")";
          out_->append(child);
        }
        return;
      case ExprKind::kBinary: {
        int precedence = PrecedenceOf(expr);
        if (precedence == kPrecCompare) {
          // Comparisons do not chain: both sides bind tighter.
          Child(expr, 0, kPrecAdd);
          absl::StrAppend(out_, " ", OpText(expr.op), " ");
          Child(expr, 1, kPrecAdd);
        } else {
          // Left-associative: the right side must bind strictly tighter.
          Child(expr, 0, precedence);
          absl::StrAppend(out_, " ", OpText(expr.op), " ");
          Child(expr, 1, precedence + 1);
        }
        return;
      }
      case ExprKind::kIn:
        Child(expr, 0, kPrecAdd);
        out_->append(expr.negated ? " NOT IN (" : " IN (");
        for (size_t i = 1; i < expr.children.size(); ++i) {
          if (i > 1) out_->append(", ");
          Child(expr, i, 0);
        }
        out_->push_back(')');
        return;
      case ExprKind::kBetween:
        Child(expr, 0, kPrecAdd);
        out_->append(expr.negated ? " NOT BETWEEN " : " BETWEEN ");
        Child(expr, 1, kPrecAdd);
        out_->append(" AND ");
        Child(expr, 2, kPrecAdd);
        return;
      case ExprKind::kIsNull:
        Child(expr, 0, kPrecAdd);
        out_->append(expr.negated ? " IS NOT NULL" : " IS NULL");
        return;
      case ExprKind::kStructural:
        absl::StrAppend(out_, "HAS ", RelationText(expr.relation), " (");
        Child(expr, 0, 0);
        out_->push_back(')');
        return;
    }
  }

  std::string* out_;
};

class StatementPrinter {
 public:
  std::string Take() { return std::move(out_); }

  void operator()(const EventsStmt& stmt) {
    Word(stmt.timeline_keyword ? "TIMELINE" : "EVENTS");
    for (size_t i = 0; i < stmt.select.size(); ++i) {
      out_.append(i == 0 ? " " : ", ");
      Expr(stmt.select[i].expr);
      if (!stmt.select[i].alias.empty()) {
        absl::StrAppend(&out_, " AS ", QuoteIdentifier(stmt.select[i].alias));
      }
    }
    Time(stmt.time);
    Where(stmt.where);
    if (!stmt.group_by.empty()) {
      Word("GROUP BY");
      for (size_t i = 0; i < stmt.group_by.size(); ++i) {
        out_.append(i == 0 ? " " : ", ");
        Expr(stmt.group_by[i]);
      }
    }
    if (!stmt.order_by.empty()) {
      Word("ORDER BY");
      for (size_t i = 0; i < stmt.order_by.size(); ++i) {
        out_.append(i == 0 ? " " : ", ");
        Expr(stmt.order_by[i].expr);
        if (stmt.order_by[i].descending) out_.append(" DESC");
      }
    }
    Count("LIMIT", stmt.limit);
  }

  void operator()(const StateStmt& stmt) {
    Word("STATE AT");
    if (stmt.revision) {
      absl::StrAppend(&out_, " REVISION ", *stmt.revision);
    } else {
      out_.push_back(' ');
      Operand(stmt.at);
    }
    Where(stmt.where);
    Count("LIMIT", stmt.limit);
  }

  void operator()(const HistoryStmt& stmt) {
    Word("HISTORY OF ");
    Operand(stmt.entity);
    Time(stmt.time);
    Count("LIMIT", stmt.limit);
  }

  void operator()(const ChangesStmt& stmt) {
    Word("CHANGES BETWEEN ");
    Operand(stmt.from);
    out_.append(" AND ");
    Operand(stmt.to);
    Where(stmt.where);
    Count("LIMIT", stmt.limit);
  }

  void operator()(const TraceStmt& stmt) {
    Word("TRACE ");
    Operand(stmt.trace_id);
  }

  void operator()(const TraverseStmt& stmt) {
    Word("TRAVERSE FROM ");
    Ref(stmt.from);
    out_.append(" FOLLOWING ");
    switch (stmt.direction) {
      case Direction::kCausality:
        out_.append("causality");
        break;
      case Direction::kBackward:
        out_.append("backward");
        break;
      case Direction::kForward:
        out_.append("forward");
        break;
    }
    if (stmt.until) {
      out_.append(" UNTIL ");
      Expr(stmt.until);
    }
    Count("DEPTH", stmt.depth);
    Count("LIMIT", stmt.limit);
  }

  void operator()(const MatchStmt& stmt) {
    Word("MATCH PATTERN");
    if (stmt.steps.empty()) {
      absl::StrAppend(&out_, " ", QuoteIdentifier(stmt.pattern_name));
    }
    for (size_t i = 0; i < stmt.steps.size(); ++i) {
      const PatternStep& step = stmt.steps[i];
      out_.append(i == 0         ? " WHERE "
                  : step.negated ? " NOT FOLLOWED BY "
                                 : " FOLLOWED BY ");
      Expr(step.condition);
    }
    if (stmt.within) {
      absl::StrAppend(&out_, " WITHIN ", FormatDuration(*stmt.within));
    }
    Fields("BY", stmt.by);
    Time(stmt.time);
    Count("LIMIT", stmt.limit);
  }

  void operator()(const CompareStmt& stmt) {
    Word("COMPARE ");
    Operand(stmt.left);
    out_.append(" WITH ");
    Operand(stmt.right);
    Metrics(stmt.metrics);
    if (stmt.window) {
      absl::StrAppend(&out_, " WINDOW ", FormatDuration(*stmt.window));
    }
    Where(stmt.where);
    Fields("BY", stmt.by);
  }

  void operator()(const PredictStmt& stmt) {
    absl::StrAppend(&out_, "PREDICT NEXT ", FormatDuration(stmt.horizon));
    if (stmt.from) {
      out_.append(" FROM ");
      Operand(stmt.from);
    }
    Metrics(stmt.metrics);
    Where(stmt.where);
  }

  void operator()(const RootCauseStmt& stmt) {
    Word("ROOT CAUSE OF ");
    if (stmt.event) {
      Ref(*stmt.event);
    } else {
      out_.append("WINDOW ");
      Operand(stmt.window_from);
      out_.append(" TO ");
      Operand(stmt.window_to);
    }
    Where(stmt.where);
    Count("LIMIT", stmt.limit);
  }

 private:
  // Appends a keyword, with a space before it unless it starts the text.
  void Word(absl::string_view word) {
    if (!out_.empty()) out_.push_back(' ');
    absl::StrAppend(&out_, word);
  }

  void Expr(const ExprPtr& expr) {
    if (!expr) {
      out_.append("NULL");
      return;
    }
    ExprPrinter(&out_).Print(*expr, 0);
  }

  // Operands of clauses that the parser reads at additive level (times,
  // ids): anything looser is parenthesised.
  void Operand(const ExprPtr& expr) {
    if (!expr) {
      out_.append("NULL");
      return;
    }
    ExprPrinter(&out_).Print(*expr, kPrecAdd);
  }

  void Where(const ExprPtr& where) {
    if (!where) return;
    out_.append(" WHERE ");
    Expr(where);
  }

  void Count(absl::string_view clause, const std::optional<int64_t>& value) {
    if (value) absl::StrAppend(&out_, " ", clause, " ", *value);
  }

  void Time(const TimeRange& time) {
    if (time.from) {
      out_.append(" FROM ");
      Operand(time.from);
    }
    if (time.to) {
      out_.append(" TO ");
      Operand(time.to);
    }
    if (time.last) {
      absl::StrAppend(&out_, " IN LAST ", FormatDuration(*time.last));
    }
  }

  void Fields(absl::string_view clause, const std::vector<FieldPath>& fields) {
    if (fields.empty()) return;
    absl::StrAppend(&out_, " ", clause, " ");
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out_.append(", ");
      out_.append(PrintFieldPath(fields[i]));
    }
  }

  void Metrics(const std::vector<ExprPtr>& metrics) {
    if (metrics.empty()) return;
    out_.append(" FOR ");
    for (size_t i = 0; i < metrics.size(); ++i) {
      if (i > 0) out_.append(", ");
      Expr(metrics[i]);
    }
  }

  void Ref(const EventRef& ref) {
    switch (ref.kind) {
      case EventRef::Kind::kId:
        if (ref.written_as_comparison) out_.append("event_id = ");
        out_.append(QuoteString(ref.text));
        return;
      case EventRef::Kind::kParameter:
        // Quote any keyword (LAST, WINDOW...): a bare one may start
        // another form of reference.
        out_.append(KeywordOf(ref.text) == Keyword::kNone
                        ? QuoteIdentifier(ref.text)
                        : absl::StrCat("\"", ref.text, "\""));
        return;
      case EventRef::Kind::kLastError:
        out_.append("LAST ERROR");
        return;
      case EventRef::Kind::kWhere:
        out_.append("WHERE ");
        Expr(ref.where);
        return;
    }
  }

  std::string out_;
};

}  // namespace

std::string QuoteString(absl::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string QuoteIdentifier(absl::string_view name) {
  if (IsPlainIdentifier(name) && !IsReserved(KeywordOf(name))) {
    return std::string(name);
  }
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string PrintFieldPath(const FieldPath& path) {
  if (path.parts.empty()) return "\"\"";
  std::string out = QuoteIdentifier(path.parts[0]);
  for (size_t i = 1; i < path.parts.size(); ++i) {
    const std::string& part = path.parts[i];
    // `span.duration` reads better than span['duration']; a dotted or odd
    // key, or a third part, needs the subscript to read back the same.
    if (path.parts.size() == 2 && IsPlainIdentifier(part)) {
      absl::StrAppend(&out, ".", part);
    } else {
      absl::StrAppend(&out, "[", QuoteString(part), "]");
    }
  }
  return out;
}

std::string PrintExpr(const Expr& expr) {
  std::string out;
  ExprPrinter(&out).Print(expr, 0);
  return out;
}

std::string Print(const Statement& statement) {
  StatementPrinter printer;
  std::visit(printer, statement.body);
  return printer.Take();
}

}  // namespace traversion::timeql
