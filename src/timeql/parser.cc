#include "timeql/parser.h"

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "timeql/diagnostics.h"
#include "timeql/lexer.h"
#include "util/status_macros.h"

namespace traversion::timeql {
namespace {

constexpr Keyword kStatementKeywords[] = {
    Keyword::kEvents,   Keyword::kTimeline, Keyword::kState,
    Keyword::kHistory,  Keyword::kChanges,  Keyword::kTrace,
    Keyword::kTraverse, Keyword::kMatch,    Keyword::kCompare,
    Keyword::kPredict,  Keyword::kRoot};

// An expected clause or token, for "expected X, Y or Z" messages. `keyword`
// is what a misspelt word is compared with.
struct Expected {
  absl::string_view text;
  Keyword keyword = Keyword::kNone;
};

SourceRange Span(SourceRange a, SourceRange b) {
  return {std::min(a.begin, b.begin), std::max(a.end, b.end)};
}

ExprPtr NewExpr(ExprKind kind, SourceRange range) {
  auto expr = std::make_unique<Expr>();
  expr->kind = kind;
  expr->range = range;
  return expr;
}

std::optional<Op> ComparisonOp(TokenKind kind) {
  switch (kind) {
    case TokenKind::kEq:
      return Op::kEq;
    case TokenKind::kNe:
      return Op::kNe;
    case TokenKind::kLt:
      return Op::kLt;
    case TokenKind::kLe:
      return Op::kLe;
    case TokenKind::kGt:
      return Op::kGt;
    case TokenKind::kGe:
      return Op::kGe;
    case TokenKind::kMatch:
      return Op::kMatches;
    case TokenKind::kNotMatch:
      return Op::kNotMatches;
    default:
      return std::nullopt;
  }
}

class Parser {
 public:
  Parser(absl::string_view text, std::vector<Token> tokens)
      : text_(text), tokens_(std::move(tokens)) {}

  absl::StatusOr<Statement> Run() {
    if (At(TokenKind::kEnd) ||
        (At(TokenKind::kSemicolon) && Peek(1).kind == TokenKind::kEnd)) {
      return SyntaxError(text_, {0, 0}, "empty query");
    }
    Statement statement;
    const Token& first = Peek();
    switch (first.kind == TokenKind::kIdent ? first.keyword : Keyword::kNone) {
      case Keyword::kEvents:
      case Keyword::kTimeline: {
        TV_ASSIGN_OR_RETURN(statement.body, ParseEvents());
        break;
      }
      case Keyword::kState: {
        TV_ASSIGN_OR_RETURN(statement.body, ParseState());
        break;
      }
      case Keyword::kHistory: {
        TV_ASSIGN_OR_RETURN(statement.body, ParseHistory());
        break;
      }
      case Keyword::kChanges: {
        TV_ASSIGN_OR_RETURN(statement.body, ParseChanges());
        break;
      }
      case Keyword::kTrace: {
        TV_ASSIGN_OR_RETURN(statement.body, ParseTrace());
        break;
      }
      case Keyword::kTraverse: {
        TV_ASSIGN_OR_RETURN(statement.body, ParseTraverse());
        break;
      }
      case Keyword::kMatch: {
        TV_ASSIGN_OR_RETURN(statement.body, ParseMatch());
        break;
      }
      case Keyword::kCompare: {
        TV_ASSIGN_OR_RETURN(statement.body, ParseCompare());
        break;
      }
      case Keyword::kPredict: {
        TV_ASSIGN_OR_RETURN(statement.body, ParsePredict());
        break;
      }
      case Keyword::kRoot: {
        TV_ASSIGN_OR_RETURN(statement.body, ParseRootCause());
        break;
      }
      default: {
        std::vector<Expected> expected;
        for (Keyword keyword : kStatementKeywords) {
          expected.push_back({KeywordName(keyword), keyword});
        }
        return Unexpected(
            "a statement (EVENTS, TIMELINE, STATE, HISTORY, CHANGES, TRACE, "
            "TRAVERSE, MATCH PATTERN, COMPARE, PREDICT or ROOT CAUSE)",
            expected);
      }
    }
    statement.range = {first.range.begin, prev_end_};
    return statement;
  }

 private:
  // --- tokens ----------------------------------------------------------------

  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  bool At(TokenKind kind) const { return Peek().kind == kind; }
  bool AtKeyword(Keyword keyword, size_t ahead = 0) const {
    const Token& token = Peek(ahead);
    return token.kind == TokenKind::kIdent && token.keyword == keyword;
  }
  const Token& Advance() {
    const Token& token = tokens_[pos_];
    prev_end_ = token.range.end;
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return token;
  }
  bool Accept(TokenKind kind) {
    if (!At(kind)) return false;
    Advance();
    return true;
  }
  bool AcceptKeyword(Keyword keyword) {
    if (!AtKeyword(keyword)) return false;
    Advance();
    return true;
  }
  // A word usable as a name here: an identifier that is not reserved, or a
  // quoted identifier.
  bool AtName(size_t ahead = 0) const {
    const Token& token = Peek(ahead);
    return token.kind == TokenKind::kQuotedIdent ||
           (token.kind == TokenKind::kIdent && !IsReserved(token.keyword));
  }

  absl::Status Error(SourceRange range, absl::string_view message) const {
    return SyntaxError(text_, range, message);
  }

  std::string Describe(const Token& token) const {
    if (token.kind == TokenKind::kEnd) return "end of query";
    absl::string_view source =
        text_.substr(token.range.begin, token.range.end - token.range.begin);
    std::string shown(source.substr(0, 40));
    if (source.size() > 40) shown += "...";
    for (char& c : shown) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    if (token.kind == TokenKind::kString) return absl::StrCat("string ", shown);
    return absl::StrCat("'", shown, "'");
  }

  // "unexpected 'X', expected <what>", with a suggestion when X looks like a
  // misspelt keyword among `candidates`.
  absl::Status Unexpected(absl::string_view what,
                          absl::Span<const Expected> candidates = {}) const {
    const Token& token = Peek();
    std::string message =
        absl::StrCat("unexpected ", Describe(token), ", expected ", what);
    std::vector<absl::string_view> names;
    for (const Expected& candidate : candidates) {
      if (candidate.keyword != Keyword::kNone) {
        names.push_back(KeywordName(candidate.keyword));
      }
    }
    if (token.kind == TokenKind::kIdent && token.keyword == Keyword::kNone) {
      std::string suggestion = SuggestClosest(token.text, names);
      if (!suggestion.empty() && candidates.size() > 1) {
        absl::StrAppend(&message, "; did you mean ", suggestion, "?");
      }
      if (!suggestion.empty()) return Error(token.range, message);
    }
    // `EVENTS WHER type = 'x'`: the misspelt keyword was taken for a name and
    // the error shows only at the next token; blame the name instead.
    if (last_name_token_ + 1 == pos_ && pos_ > 0) {
      const Token& name = tokens_[last_name_token_];
      std::string suggestion = SuggestClosest(name.text, AllKeywordNames());
      if (!suggestion.empty() &&
          !absl::EqualsIgnoreCase(suggestion, name.text)) {
        return Error(name.range,
                     absl::StrCat("unexpected '", name.text, "'; did you mean ",
                                  suggestion, "?"));
      }
    }
    return Error(token.range, message);
  }

  absl::Status ExpectKeyword(Keyword keyword, absl::string_view what) {
    if (AcceptKeyword(keyword)) return absl::OkStatus();
    Expected expected[] = {{what, keyword}};
    return Unexpected(what, expected);
  }

  absl::Status Expect(TokenKind kind, absl::string_view what) {
    if (Accept(kind)) return absl::OkStatus();
    return Unexpected(what);
  }

  // Ends the statement: an optional ';' and the end of the text. `clauses`
  // are the clauses that could still have come.
  absl::Status ExpectEnd(const std::vector<Expected>& clauses) {
    Accept(TokenKind::kSemicolon);
    if (At(TokenKind::kEnd)) return absl::OkStatus();
    std::vector<absl::string_view> texts;
    for (const Expected& clause : clauses) texts.push_back(clause.text);
    texts.push_back("end of query");
    std::string what =
        texts.size() == 1
            ? std::string(texts[0])
            : absl::StrCat(absl::StrJoin(texts.begin(), texts.end() - 1, ", "),
                           " or ", texts.back());
    return Unexpected(what, clauses);
  }

  absl::Status Duplicate(absl::string_view clause) const {
    return Error(Peek().range, absl::StrCat("duplicate ", clause, " clause"));
  }

  // --- literals used by clauses
  // ------------------------------------------------

  absl::StatusOr<int64_t> ParseCount(absl::string_view clause) {
    if (At(TokenKind::kInt)) return Advance().int_value;
    if (At(TokenKind::kMinus) || At(TokenKind::kFloat) ||
        At(TokenKind::kDuration) || At(TokenKind::kPercent)) {
      return Error(Peek().range,
                   absl::StrCat(clause, " takes a non-negative whole number"));
    }
    return Unexpected(absl::StrCat("a whole number after ", clause));
  }

  absl::StatusOr<int64_t> ParseDurationArg(absl::string_view clause) {
    if (At(TokenKind::kDuration)) return Advance().int_value;
    if (At(TokenKind::kInt) || At(TokenKind::kFloat)) {
      const Token& number = Peek();
      return Error(
          number.range,
          absl::StrCat("missing unit: ", clause, " takes a duration such as '",
                       number.text, " minutes' or '", number.text, "s'"));
    }
    if (At(TokenKind::kMinus)) {
      return Error(Peek().range,
                   absl::StrCat(clause, " takes a positive duration"));
    }
    return Unexpected(
        absl::StrCat("a duration after ", clause, " (e.g. 5 minutes)"));
  }

  // --- expressions -----------------------------------------------------------

  // Every nested expression passes here, so the C++ stack grows by a bounded
  // amount per level and the level count is capped.
  absl::StatusOr<ExprPtr> ParseExpr() {
    if (++nesting_ > kMaxExprDepth) return TooDeep(Peek().range);
    absl::StatusOr<ExprPtr> expr = ParseOr();
    --nesting_;
    return expr;
  }

  absl::Status TooDeep(SourceRange range) const {
    return Error(range, absl::StrCat("expression nested too deeply (more than ",
                                     kMaxExprDepth, " levels)"));
  }

  // Left-assoc chains build tall trees without recursion; `height_` carries
  // the height of the expression just parsed so that they are capped too.
  absl::Status SetHeight(int height, SourceRange range) {
    if (height > kMaxExprDepth) return TooDeep(range);
    height_ = height;
    return absl::OkStatus();
  }

  ExprPtr Binary(Op op, ExprPtr left, ExprPtr right) {
    ExprPtr expr = NewExpr(ExprKind::kBinary, Span(left->range, right->range));
    expr->op = op;
    expr->children.push_back(std::move(left));
    expr->children.push_back(std::move(right));
    return expr;
  }

  absl::StatusOr<ExprPtr> ParseOr() {
    TV_ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
    int height = height_;
    while (AcceptKeyword(Keyword::kOr)) {
      TV_ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
      height = std::max(height, height_) + 1;
      left = Binary(Op::kOr, std::move(left), std::move(right));
      TV_RETURN_IF_ERROR(SetHeight(height, left->range));
    }
    height_ = height;
    return left;
  }

  absl::StatusOr<ExprPtr> ParseAnd() {
    TV_ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
    int height = height_;
    while (AcceptKeyword(Keyword::kAnd)) {
      TV_ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
      height = std::max(height, height_) + 1;
      left = Binary(Op::kAnd, std::move(left), std::move(right));
      TV_RETURN_IF_ERROR(SetHeight(height, left->range));
    }
    height_ = height;
    return left;
  }

  absl::StatusOr<ExprPtr> ParseNot() {
    if (!AtKeyword(Keyword::kNot)) return ParsePredicate();
    SourceRange not_range = Advance().range;
    if (++nesting_ > kMaxExprDepth) return TooDeep(not_range);
    TV_ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
    --nesting_;
    ExprPtr expr = NewExpr(ExprKind::kUnary, Span(not_range, operand->range));
    expr->op = Op::kNot;
    expr->children.push_back(std::move(operand));
    TV_RETURN_IF_ERROR(SetHeight(height_ + 1, expr->range));
    return expr;
  }

  bool AtNegatedPredicate() const {
    if (!AtKeyword(Keyword::kNot)) return false;
    return (AtKeyword(Keyword::kIn, 1) && Peek(2).kind == TokenKind::kLParen) ||
           AtKeyword(Keyword::kLike, 1) || AtKeyword(Keyword::kBetween, 1) ||
           AtKeyword(Keyword::kMatches, 1);
  }

  bool AtPredicateOperator() const {
    return ComparisonOp(Peek().kind).has_value() || AtKeyword(Keyword::kLike) ||
           AtKeyword(Keyword::kMatches) || AtKeyword(Keyword::kBetween) ||
           AtKeyword(Keyword::kIs) ||
           (AtKeyword(Keyword::kIn) && Peek(1).kind == TokenKind::kLParen) ||
           AtNegatedPredicate();
  }

  absl::StatusOr<ExprPtr> ParsePredicate() {
    TV_ASSIGN_OR_RETURN(ExprPtr left, ParseAdditive());
    if (!AtPredicateOperator()) return left;
    int height = height_;
    ExprPtr result;
    if (std::optional<Op> op = ComparisonOp(Peek().kind)) {
      Advance();
      TV_ASSIGN_OR_RETURN(ExprPtr right, ParseAdditive());
      height = std::max(height, height_) + 1;
      result = Binary(*op, std::move(left), std::move(right));
    } else if (AtKeyword(Keyword::kIs)) {
      Advance();
      bool negated = AcceptKeyword(Keyword::kNot);
      TV_RETURN_IF_ERROR(ExpectKeyword(
          Keyword::kNull, negated ? "NULL" : "NULL or NOT NULL after IS"));
      result = NewExpr(ExprKind::kIsNull, {left->range.begin, prev_end_});
      result->negated = negated;
      result->children.push_back(std::move(left));
      height += 1;
    } else {
      bool negated = AcceptKeyword(Keyword::kNot);
      if (AcceptKeyword(Keyword::kLike) || AcceptKeyword(Keyword::kMatches)) {
        bool like = tokens_[pos_ - 1].keyword == Keyword::kLike;
        TV_ASSIGN_OR_RETURN(ExprPtr right, ParseAdditive());
        height = std::max(height, height_) + 1;
        Op text_op = like ? (negated ? Op::kNotLike : Op::kLike)
                          : (negated ? Op::kNotMatches : Op::kMatches);
        result = Binary(text_op, std::move(left), std::move(right));
      } else if (AcceptKeyword(Keyword::kBetween)) {
        TV_ASSIGN_OR_RETURN(ExprPtr low, ParseAdditive());
        height = std::max(height, height_);
        TV_RETURN_IF_ERROR(
            ExpectKeyword(Keyword::kAnd, "AND in BETWEEN ... AND ..."));
        TV_ASSIGN_OR_RETURN(ExprPtr high, ParseAdditive());
        height = std::max(height, height_) + 1;
        result = NewExpr(ExprKind::kBetween, Span(left->range, high->range));
        result->negated = negated;
        result->children.push_back(std::move(left));
        result->children.push_back(std::move(low));
        result->children.push_back(std::move(high));
      } else {
        TV_RETURN_IF_ERROR(ExpectKeyword(Keyword::kIn, "IN"));
        TV_RETURN_IF_ERROR(Expect(TokenKind::kLParen, "'(' after IN"));
        result = NewExpr(ExprKind::kIn, left->range);
        result->negated = negated;
        result->children.push_back(std::move(left));
        while (true) {
          TV_ASSIGN_OR_RETURN(ExprPtr item, ParseExpr());
          height = std::max(height, height_);
          result->children.push_back(std::move(item));
          if (Accept(TokenKind::kComma)) continue;
          TV_RETURN_IF_ERROR(
              Expect(TokenKind::kRParen, "',' or ')' in the IN list"));
          break;
        }
        result->range.end = prev_end_;
        height += 1;
      }
    }
    TV_RETURN_IF_ERROR(SetHeight(height, result->range));
    if (AtPredicateOperator()) {
      return Error(Peek().range,
                   "comparisons do not chain; combine them with AND or "
                   "add parentheses");
    }
    return result;
  }

  absl::StatusOr<ExprPtr> ParseAdditive() {
    TV_ASSIGN_OR_RETURN(ExprPtr left, ParseTerm());
    int height = height_;
    while (At(TokenKind::kPlus) || At(TokenKind::kMinus)) {
      Op op = Advance().kind == TokenKind::kPlus ? Op::kAdd : Op::kSub;
      TV_ASSIGN_OR_RETURN(ExprPtr right, ParseTerm());
      height = std::max(height, height_) + 1;
      left = Binary(op, std::move(left), std::move(right));
      TV_RETURN_IF_ERROR(SetHeight(height, left->range));
    }
    height_ = height;
    return left;
  }

  absl::StatusOr<ExprPtr> ParseTerm() {
    TV_ASSIGN_OR_RETURN(ExprPtr left, ParseUnary());
    int height = height_;
    while (At(TokenKind::kStar) || At(TokenKind::kSlash)) {
      Op op = Advance().kind == TokenKind::kStar ? Op::kMul : Op::kDiv;
      TV_ASSIGN_OR_RETURN(ExprPtr right, ParseUnary());
      height = std::max(height, height_) + 1;
      left = Binary(op, std::move(left), std::move(right));
      TV_RETURN_IF_ERROR(SetHeight(height, left->range));
    }
    height_ = height;
    return left;
  }

  absl::StatusOr<ExprPtr> ParseUnary() {
    if (!At(TokenKind::kMinus)) return ParsePrimary();
    SourceRange minus = Advance().range;
    if (++nesting_ > kMaxExprDepth) return TooDeep(minus);
    TV_ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary());
    --nesting_;
    ExprPtr expr = NewExpr(ExprKind::kUnary, Span(minus, operand->range));
    expr->op = Op::kNeg;
    expr->children.push_back(std::move(operand));
    TV_RETURN_IF_ERROR(SetHeight(height_ + 1, expr->range));
    return expr;
  }

  absl::StatusOr<ExprPtr> ParsePrimary() {
    const Token& token = Peek();
    height_ = 1;
    switch (token.kind) {
      case TokenKind::kString: {
        ExprPtr expr = NewExpr(ExprKind::kString, token.range);
        expr->text = Advance().text;
        return expr;
      }
      case TokenKind::kInt: {
        ExprPtr expr = NewExpr(ExprKind::kInt, token.range);
        expr->int_value = Advance().int_value;
        return expr;
      }
      case TokenKind::kFloat: {
        ExprPtr expr = NewExpr(ExprKind::kFloat, token.range);
        expr->float_value = Advance().float_value;
        return expr;
      }
      case TokenKind::kDuration: {
        ExprPtr expr = NewExpr(ExprKind::kDuration, token.range);
        expr->int_value = Advance().int_value;
        return expr;
      }
      case TokenKind::kPercent: {
        ExprPtr expr = NewExpr(ExprKind::kPercent, token.range);
        expr->float_value = Advance().float_value;
        return expr;
      }
      case TokenKind::kLParen: {
        Advance();
        TV_ASSIGN_OR_RETURN(ExprPtr inner, ParseExpr());
        TV_RETURN_IF_ERROR(Expect(TokenKind::kRParen, "')'"));
        return inner;
      }
      case TokenKind::kQuotedIdent:
        return ParseFieldExpr();
      case TokenKind::kIdent:
        break;
      default:
        return Unexpected("an expression");
    }
    switch (token.keyword) {
      case Keyword::kTrue:
      case Keyword::kFalse: {
        ExprPtr expr = NewExpr(ExprKind::kBool, token.range);
        expr->bool_value = Advance().keyword == Keyword::kTrue;
        return expr;
      }
      case Keyword::kNull:
        return NewExpr(ExprKind::kNull, Advance().range);
      case Keyword::kNow: {
        ExprPtr expr = NewExpr(ExprKind::kNow, Advance().range);
        // NOW() as in SQL.
        if (At(TokenKind::kLParen) && Peek(1).kind == TokenKind::kRParen) {
          Advance();
          Advance();
          expr->range.end = prev_end_;
        }
        return expr;
      }
      case Keyword::kHas:
        return ParseStructural();
      default:
        break;
    }
    if (IsReserved(token.keyword)) return Unexpected("an expression");
    if (Peek(1).kind == TokenKind::kLParen) return ParseCall();
    return ParseFieldExpr();
  }

  absl::StatusOr<ExprPtr> ParseStructural() {
    SourceRange has = Advance().range;
    const Token& word = Peek();
    std::optional<Relation> relation;
    if (word.kind == TokenKind::kIdent) {
      if (absl::EqualsIgnoreCase(word.text, "CHILD")) {
        relation = Relation::kChild;
      } else if (absl::EqualsIgnoreCase(word.text, "PARENT")) {
        relation = Relation::kParent;
      } else if (absl::EqualsIgnoreCase(word.text, "DESCENDANT")) {
        relation = Relation::kDescendant;
      } else if (absl::EqualsIgnoreCase(word.text, "ANCESTOR")) {
        relation = Relation::kAncestor;
      }
    }
    if (!relation) {
      std::string suggestion =
          word.kind == TokenKind::kIdent
              ? SuggestClosest(word.text,
                               {"CHILD", "PARENT", "DESCENDANT", "ANCESTOR"})
              : "";
      return Error(
          word.range,
          absl::StrCat("unexpected ", Describe(word),
                       ", expected CHILD, PARENT, DESCENDANT or ANCESTOR "
                       "after HAS",
                       suggestion.empty()
                           ? ""
                           : absl::StrCat("; did you mean ", suggestion, "?")));
    }
    Advance();
    TV_RETURN_IF_ERROR(Expect(TokenKind::kLParen, "'(' after HAS <relation>"));
    TV_ASSIGN_OR_RETURN(ExprPtr condition, ParseExpr());
    TV_RETURN_IF_ERROR(Expect(TokenKind::kRParen, "')'"));
    ExprPtr expr = NewExpr(ExprKind::kStructural, {has.begin, prev_end_});
    expr->relation = *relation;
    expr->children.push_back(std::move(condition));
    TV_RETURN_IF_ERROR(SetHeight(height_ + 1, expr->range));
    return expr;
  }

  absl::StatusOr<ExprPtr> ParseCall() {
    const Token& name = Advance();
    ExprPtr expr = NewExpr(ExprKind::kCall, name.range);
    expr->text = name.text;
    Advance();  // (
    int height = 1;
    if (At(TokenKind::kStar) && Peek(1).kind == TokenKind::kRParen) {
      expr->children.push_back(NewExpr(ExprKind::kStar, Advance().range));
      height = 2;
    } else if (!At(TokenKind::kRParen)) {
      while (true) {
        TV_ASSIGN_OR_RETURN(ExprPtr argument, ParseExpr());
        height = std::max(height, height_ + 1);
        expr->children.push_back(std::move(argument));
        if (Accept(TokenKind::kComma)) continue;
        break;
      }
    }
    TV_RETURN_IF_ERROR(Expect(
        TokenKind::kRParen,
        expr->children.empty() ? "')'" : "',' or ')' after an argument"));
    expr->range.end = prev_end_;
    TV_RETURN_IF_ERROR(SetHeight(height, expr->range));
    return expr;
  }

  // name {'.' word} {'[' 'key' ']'}
  absl::StatusOr<FieldPath> ParseFieldPath(SourceRange* range) {
    if (!AtName()) return Unexpected("a field name");
    const Token& head = Advance();
    if (head.kind == TokenKind::kIdent) last_name_token_ = pos_ - 1;
    *range = head.range;
    FieldPath path;
    path.parts.push_back(head.text);
    std::string rest;
    while (At(TokenKind::kDot)) {
      Advance();
      if (!At(TokenKind::kIdent) && !At(TokenKind::kQuotedIdent)) {
        return Unexpected("a name after '.'");
      }
      if (!rest.empty()) rest.push_back('.');
      rest += Advance().text;
    }
    if (!rest.empty()) path.parts.push_back(std::move(rest));
    while (At(TokenKind::kLBracket)) {
      Advance();
      if (!At(TokenKind::kString)) {
        return Unexpected("a quoted key such as ['http.route']");
      }
      path.parts.push_back(Advance().text);
      TV_RETURN_IF_ERROR(Expect(TokenKind::kRBracket, "']'"));
    }
    range->end = prev_end_;
    return path;
  }

  absl::StatusOr<ExprPtr> ParseFieldExpr() {
    SourceRange range;
    TV_ASSIGN_OR_RETURN(FieldPath path, ParseFieldPath(&range));
    ExprPtr expr = NewExpr(ExprKind::kField, range);
    expr->path = std::move(path);
    height_ = 1;
    return expr;
  }

  // --- clauses
  // ----------------------------------------------------------------

  bool AtTimeRange() const {
    return AtKeyword(Keyword::kFrom) || AtKeyword(Keyword::kTo) ||
           (AtKeyword(Keyword::kIn) && AtKeyword(Keyword::kLast, 1));
  }

  // FROM t [TO t] | TO t | IN LAST d
  absl::Status ParseTimeRange(TimeRange* time) {
    uint32_t begin = Peek().range.begin;
    if (AcceptKeyword(Keyword::kIn)) {
      Advance();  // LAST
      TV_ASSIGN_OR_RETURN(time->last, ParseDurationArg("IN LAST"));
    } else {
      if (AcceptKeyword(Keyword::kFrom)) {
        TV_ASSIGN_OR_RETURN(time->from, ParseAdditive());
      }
      if (AcceptKeyword(Keyword::kTo)) {
        TV_ASSIGN_OR_RETURN(time->to, ParseAdditive());
      }
    }
    time->range = {begin, prev_end_};
    return absl::OkStatus();
  }

  absl::StatusOr<ExprPtr> ParseWhere() {
    Advance();  // WHERE
    return ParseExpr();
  }

  absl::StatusOr<std::vector<FieldPath>> ParseFieldList() {
    std::vector<FieldPath> fields;
    do {
      SourceRange range;
      TV_ASSIGN_OR_RETURN(FieldPath path, ParseFieldPath(&range));
      fields.push_back(std::move(path));
    } while (Accept(TokenKind::kComma));
    return fields;
  }

  // A metric of COMPARE / PREDICT: a name or a string.
  absl::StatusOr<std::vector<ExprPtr>> ParseMetrics() {
    std::vector<ExprPtr> metrics;
    do {
      if (At(TokenKind::kString)) {
        ExprPtr expr = NewExpr(ExprKind::kString, Peek().range);
        expr->text = Advance().text;
        metrics.push_back(std::move(expr));
      } else if (AtName()) {
        TV_ASSIGN_OR_RETURN(ExprPtr field, ParseFieldExpr());
        metrics.push_back(std::move(field));
      } else {
        return Unexpected("a metric name (cpu, memory, errorRate...)");
      }
    } while (Accept(TokenKind::kComma));
    return metrics;
  }

  // --- statements ------------------------------------------------------------

  absl::StatusOr<EventsStmt> ParseEvents() {
    EventsStmt stmt;
    stmt.timeline_keyword = Advance().keyword == Keyword::kTimeline;
    // `EVENTS *` as in SQL: the default columns, as with no select list.
    if (At(TokenKind::kStar)) {
      Advance();
    } else if (!AtTimeRange() && !AtKeyword(Keyword::kWhere) &&
               !AtKeyword(Keyword::kGroup) && !AtKeyword(Keyword::kOrder) &&
               !AtKeyword(Keyword::kLimit) && !At(TokenKind::kSemicolon) &&
               !At(TokenKind::kEnd)) {
      do {
        SelectItem item;
        TV_ASSIGN_OR_RETURN(item.expr, ParseExpr());
        if (AcceptKeyword(Keyword::kAs)) {
          if (!AtName()) return Unexpected("a column name after AS");
          item.alias = Advance().text;
        }
        stmt.select.push_back(std::move(item));
      } while (Accept(TokenKind::kComma));
    }
    bool has_where = false;
    while (true) {
      if (AtTimeRange()) {
        if (!stmt.time.empty()) return Duplicate("time range");
        TV_RETURN_IF_ERROR(ParseTimeRange(&stmt.time));
      } else if (AtKeyword(Keyword::kWhere)) {
        if (has_where) return Duplicate("WHERE");
        has_where = true;
        TV_ASSIGN_OR_RETURN(stmt.where, ParseWhere());
      } else if (AtKeyword(Keyword::kGroup)) {
        if (!stmt.group_by.empty()) return Duplicate("GROUP BY");
        Advance();
        TV_RETURN_IF_ERROR(ExpectKeyword(Keyword::kBy, "BY after GROUP"));
        do {
          TV_ASSIGN_OR_RETURN(ExprPtr key, ParseExpr());
          stmt.group_by.push_back(std::move(key));
        } while (Accept(TokenKind::kComma));
      } else if (AtKeyword(Keyword::kOrder)) {
        if (!stmt.order_by.empty()) return Duplicate("ORDER BY");
        Advance();
        TV_RETURN_IF_ERROR(ExpectKeyword(Keyword::kBy, "BY after ORDER"));
        do {
          OrderItem item;
          TV_ASSIGN_OR_RETURN(item.expr, ParseExpr());
          if (AcceptKeyword(Keyword::kDesc)) {
            item.descending = true;
          } else {
            AcceptKeyword(Keyword::kAsc);
          }
          stmt.order_by.push_back(std::move(item));
        } while (Accept(TokenKind::kComma));
      } else if (AtKeyword(Keyword::kLimit)) {
        if (stmt.limit) return Duplicate("LIMIT");
        Advance();
        TV_ASSIGN_OR_RETURN(stmt.limit, ParseCount("LIMIT"));
      } else {
        break;
      }
    }
    std::vector<Expected> clauses;
    if (stmt.time.empty()) {
      clauses.push_back({"FROM", Keyword::kFrom});
      clauses.push_back({"IN LAST", Keyword::kIn});
    }
    if (!has_where) clauses.push_back({"WHERE", Keyword::kWhere});
    if (stmt.group_by.empty()) clauses.push_back({"GROUP BY", Keyword::kGroup});
    if (stmt.order_by.empty()) clauses.push_back({"ORDER BY", Keyword::kOrder});
    if (!stmt.limit) clauses.push_back({"LIMIT", Keyword::kLimit});
    TV_RETURN_IF_ERROR(ExpectEnd(clauses));
    return stmt;
  }

  // [WHERE e] [LIMIT n] in any order, then the end.
  absl::Status ParseWhereLimit(ExprPtr* where, std::optional<int64_t>* limit,
                               bool allow_where = true) {
    while (true) {
      if (allow_where && AtKeyword(Keyword::kWhere)) {
        if (*where) return Duplicate("WHERE");
        TV_ASSIGN_OR_RETURN(*where, ParseWhere());
      } else if (AtKeyword(Keyword::kLimit)) {
        if (*limit) return Duplicate("LIMIT");
        Advance();
        TV_ASSIGN_OR_RETURN(*limit, ParseCount("LIMIT"));
      } else {
        break;
      }
    }
    std::vector<Expected> clauses;
    if (allow_where && !*where) clauses.push_back({"WHERE", Keyword::kWhere});
    if (!*limit) clauses.push_back({"LIMIT", Keyword::kLimit});
    return ExpectEnd(clauses);
  }

  absl::StatusOr<StateStmt> ParseState() {
    Advance();  // STATE
    StateStmt stmt;
    TV_RETURN_IF_ERROR(ExpectKeyword(Keyword::kAt, "AT after STATE"));
    if (AtKeyword(Keyword::kRevision) && Peek(1).kind != TokenKind::kEq) {
      Advance();
      TV_ASSIGN_OR_RETURN(stmt.revision, ParseCount("REVISION"));
    } else {
      TV_ASSIGN_OR_RETURN(stmt.at, ParseAdditive());
    }
    TV_RETURN_IF_ERROR(ParseWhereLimit(&stmt.where, &stmt.limit));
    return stmt;
  }

  absl::StatusOr<HistoryStmt> ParseHistory() {
    Advance();  // HISTORY
    HistoryStmt stmt;
    TV_RETURN_IF_ERROR(ExpectKeyword(Keyword::kOf, "OF after HISTORY"));
    TV_ASSIGN_OR_RETURN(stmt.entity, ParseAdditive());
    while (true) {
      if (AtTimeRange()) {
        if (!stmt.time.empty()) return Duplicate("time range");
        TV_RETURN_IF_ERROR(ParseTimeRange(&stmt.time));
      } else if (AtKeyword(Keyword::kLimit)) {
        if (stmt.limit) return Duplicate("LIMIT");
        Advance();
        TV_ASSIGN_OR_RETURN(stmt.limit, ParseCount("LIMIT"));
      } else {
        break;
      }
    }
    std::vector<Expected> clauses;
    if (stmt.time.empty()) {
      clauses.push_back({"FROM", Keyword::kFrom});
      clauses.push_back({"IN LAST", Keyword::kIn});
    }
    if (!stmt.limit) clauses.push_back({"LIMIT", Keyword::kLimit});
    TV_RETURN_IF_ERROR(ExpectEnd(clauses));
    return stmt;
  }

  absl::StatusOr<ChangesStmt> ParseChanges() {
    Advance();  // CHANGES
    ChangesStmt stmt;
    TV_RETURN_IF_ERROR(
        ExpectKeyword(Keyword::kBetween, "BETWEEN after CHANGES"));
    TV_ASSIGN_OR_RETURN(stmt.from, ParseAdditive());
    TV_RETURN_IF_ERROR(
        ExpectKeyword(Keyword::kAnd, "AND in CHANGES BETWEEN ... AND ..."));
    TV_ASSIGN_OR_RETURN(stmt.to, ParseAdditive());
    TV_RETURN_IF_ERROR(ParseWhereLimit(&stmt.where, &stmt.limit));
    return stmt;
  }

  absl::StatusOr<TraceStmt> ParseTrace() {
    Advance();  // TRACE
    TraceStmt stmt;
    TV_ASSIGN_OR_RETURN(stmt.trace_id, ParseAdditive());
    TV_RETURN_IF_ERROR(ExpectEnd({}));
    return stmt;
  }

  // 'id' | event_id = 'id' | name | LAST ERROR | WHERE e
  absl::StatusOr<EventRef> ParseEventRef(absl::string_view after) {
    EventRef ref;
    const Token& token = Peek();
    ref.range = token.range;
    if (At(TokenKind::kString)) {
      ref.kind = EventRef::Kind::kId;
      ref.text = Advance().text;
    } else if (AtKeyword(Keyword::kLast) && AtKeyword(Keyword::kError, 1)) {
      Advance();
      Advance();
      ref.kind = EventRef::Kind::kLastError;
    } else if (AtKeyword(Keyword::kWhere)) {
      ref.kind = EventRef::Kind::kWhere;
      TV_ASSIGN_OR_RETURN(ref.where, ParseWhere());
    } else if (AtName()) {
      const Token& name = Advance();
      if (At(TokenKind::kEq)) {
        if (!absl::EqualsIgnoreCase(name.text, "event_id") &&
            !absl::EqualsIgnoreCase(name.text, "id")) {
          return Error(
              name.range,
              absl::StrCat("an event is named by its id: write event_id = "
                           "'<id>', or WHERE ",
                           name.text, " = ... for the latest matching event"));
        }
        Advance();
        if (!At(TokenKind::kString)) {
          return Unexpected("a quoted event id after event_id =");
        }
        ref.kind = EventRef::Kind::kId;
        ref.written_as_comparison = true;
        ref.text = Advance().text;
      } else {
        last_name_token_ = pos_ - 1;
        ref.kind = EventRef::Kind::kParameter;
        ref.text = name.text;
      }
    } else {
      return Unexpected(absl::StrCat(
          "an event after ", after,
          ": '<id>', event_id = '<id>', a parameter name, LAST ERROR or "
          "WHERE <condition>"));
    }
    ref.range.end = prev_end_;
    return ref;
  }

  absl::StatusOr<TraverseStmt> ParseTraverse() {
    Advance();  // TRAVERSE
    TraverseStmt stmt;
    TV_RETURN_IF_ERROR(ExpectKeyword(Keyword::kFrom, "FROM after TRAVERSE"));
    TV_ASSIGN_OR_RETURN(stmt.from, ParseEventRef("TRAVERSE FROM"));
    TV_RETURN_IF_ERROR(ExpectKeyword(Keyword::kFollowing, "FOLLOWING"));
    const Token& direction = Peek();
    if (direction.kind == TokenKind::kIdent &&
        absl::EqualsIgnoreCase(direction.text, "causality")) {
      stmt.direction = Direction::kCausality;
    } else if (direction.kind == TokenKind::kIdent &&
               absl::EqualsIgnoreCase(direction.text, "backward")) {
      stmt.direction = Direction::kBackward;
    } else if (direction.kind == TokenKind::kIdent &&
               absl::EqualsIgnoreCase(direction.text, "forward")) {
      stmt.direction = Direction::kForward;
    } else {
      std::string suggestion =
          direction.kind == TokenKind::kIdent
              ? SuggestClosest(direction.text,
                               {"causality", "backward", "forward"})
              : "";
      return Error(
          direction.range,
          absl::StrCat("unexpected ", Describe(direction),
                       ", expected causality, backward or forward",
                       suggestion.empty()
                           ? ""
                           : absl::StrCat("; did you mean ", suggestion, "?")));
    }
    Advance();
    while (true) {
      if (AtKeyword(Keyword::kUntil)) {
        if (stmt.until) return Duplicate("UNTIL");
        Advance();
        TV_ASSIGN_OR_RETURN(stmt.until, ParseExpr());
      } else if (AtKeyword(Keyword::kDepth)) {
        if (stmt.depth) return Duplicate("DEPTH");
        Advance();
        TV_ASSIGN_OR_RETURN(stmt.depth, ParseCount("DEPTH"));
      } else if (AtKeyword(Keyword::kLimit)) {
        if (stmt.limit) return Duplicate("LIMIT");
        Advance();
        TV_ASSIGN_OR_RETURN(stmt.limit, ParseCount("LIMIT"));
      } else {
        break;
      }
    }
    std::vector<Expected> clauses;
    if (!stmt.until) clauses.push_back({"UNTIL", Keyword::kUntil});
    if (!stmt.depth) clauses.push_back({"DEPTH", Keyword::kDepth});
    if (!stmt.limit) clauses.push_back({"LIMIT", Keyword::kLimit});
    TV_RETURN_IF_ERROR(ExpectEnd(clauses));
    return stmt;
  }

  absl::StatusOr<MatchStmt> ParseMatch() {
    Advance();  // MATCH
    MatchStmt stmt;
    TV_RETURN_IF_ERROR(ExpectKeyword(Keyword::kPattern, "PATTERN after MATCH"));
    if (AtKeyword(Keyword::kWhere)) {
      PatternStep first;
      first.range.begin = Peek().range.begin;
      TV_ASSIGN_OR_RETURN(first.condition, ParseWhere());
      first.range.end = prev_end_;
      stmt.steps.push_back(std::move(first));
      while (AtKeyword(Keyword::kFollowed) ||
             (AtKeyword(Keyword::kNot) && AtKeyword(Keyword::kFollowed, 1))) {
        PatternStep step;
        step.range.begin = Peek().range.begin;
        if (stmt.steps.back().negated) {
          return Error(Peek().range,
                       "NOT FOLLOWED BY must be the last step of a pattern");
        }
        step.negated = AcceptKeyword(Keyword::kNot);
        Advance();  // FOLLOWED
        TV_RETURN_IF_ERROR(ExpectKeyword(Keyword::kBy, "BY after FOLLOWED"));
        TV_ASSIGN_OR_RETURN(step.condition, ParseExpr());
        step.range.end = prev_end_;
        stmt.steps.push_back(std::move(step));
      }
      if (stmt.steps.size() < 2) {
        Expected expected[] = {{"FOLLOWED BY", Keyword::kFollowed}};
        return Unexpected("FOLLOWED BY", expected);
      }
    } else if (AtName()) {
      const Token& name = Advance();
      last_name_token_ = pos_ - 1;
      stmt.pattern_name = name.text;
      stmt.name_range = name.range;
    } else {
      Expected expected[] = {{"WHERE", Keyword::kWhere}};
      return Unexpected(
          "WHERE <condition> or a pattern name after MATCH PATTERN", expected);
    }
    const bool sequence = !stmt.steps.empty();
    while (true) {
      if (sequence && AtKeyword(Keyword::kWithin)) {
        if (stmt.within) return Duplicate("WITHIN");
        Advance();
        TV_ASSIGN_OR_RETURN(stmt.within, ParseDurationArg("WITHIN"));
      } else if (sequence && AtKeyword(Keyword::kBy)) {
        if (!stmt.by.empty()) return Duplicate("BY");
        Advance();
        TV_ASSIGN_OR_RETURN(stmt.by, ParseFieldList());
      } else if (AtTimeRange()) {
        if (!stmt.time.empty()) return Duplicate("time range");
        TV_RETURN_IF_ERROR(ParseTimeRange(&stmt.time));
      } else if (AtKeyword(Keyword::kLimit)) {
        if (stmt.limit) return Duplicate("LIMIT");
        Advance();
        TV_ASSIGN_OR_RETURN(stmt.limit, ParseCount("LIMIT"));
      } else {
        break;
      }
    }
    std::vector<Expected> clauses;
    if (sequence) {
      clauses.push_back({"FOLLOWED BY", Keyword::kFollowed});
      if (!stmt.within) clauses.push_back({"WITHIN", Keyword::kWithin});
      if (stmt.by.empty()) clauses.push_back({"BY", Keyword::kBy});
    }
    if (stmt.time.empty()) {
      clauses.push_back({"FROM", Keyword::kFrom});
      clauses.push_back({"IN LAST", Keyword::kIn});
    }
    if (!stmt.limit) clauses.push_back({"LIMIT", Keyword::kLimit});
    TV_RETURN_IF_ERROR(ExpectEnd(clauses));
    if (sequence && stmt.steps.back().negated && !stmt.within) {
      return Error(stmt.steps.back().range,
                   "NOT FOLLOWED BY needs WITHIN <duration>: an absence is "
                   "only known once the window has passed");
    }
    return stmt;
  }

  absl::StatusOr<CompareStmt> ParseCompare() {
    Advance();  // COMPARE
    CompareStmt stmt;
    TV_ASSIGN_OR_RETURN(stmt.left, ParseAdditive());
    TV_RETURN_IF_ERROR(ExpectKeyword(Keyword::kWith, "WITH"));
    TV_ASSIGN_OR_RETURN(stmt.right, ParseAdditive());
    TV_RETURN_IF_ERROR(ExpectKeyword(Keyword::kFor, "FOR <metric>, ..."));
    TV_ASSIGN_OR_RETURN(stmt.metrics, ParseMetrics());
    while (true) {
      if (AtKeyword(Keyword::kWindow)) {
        if (stmt.window) return Duplicate("WINDOW");
        Advance();
        TV_ASSIGN_OR_RETURN(stmt.window, ParseDurationArg("WINDOW"));
      } else if (AtKeyword(Keyword::kWhere)) {
        if (stmt.where) return Duplicate("WHERE");
        TV_ASSIGN_OR_RETURN(stmt.where, ParseWhere());
      } else if (AtKeyword(Keyword::kBy)) {
        if (!stmt.by.empty()) return Duplicate("BY");
        Advance();
        TV_ASSIGN_OR_RETURN(stmt.by, ParseFieldList());
      } else {
        break;
      }
    }
    std::vector<Expected> clauses;
    if (!stmt.window) clauses.push_back({"WINDOW", Keyword::kWindow});
    if (!stmt.where) clauses.push_back({"WHERE", Keyword::kWhere});
    if (stmt.by.empty()) clauses.push_back({"BY", Keyword::kBy});
    TV_RETURN_IF_ERROR(ExpectEnd(clauses));
    return stmt;
  }

  absl::StatusOr<PredictStmt> ParsePredict() {
    Advance();  // PREDICT
    PredictStmt stmt;
    TV_RETURN_IF_ERROR(ExpectKeyword(Keyword::kNext, "NEXT after PREDICT"));
    stmt.horizon_range = Peek().range;
    TV_ASSIGN_OR_RETURN(stmt.horizon, ParseDurationArg("PREDICT NEXT"));
    while (true) {
      if (AtKeyword(Keyword::kFrom)) {
        if (stmt.from) return Duplicate("FROM");
        Advance();
        TV_ASSIGN_OR_RETURN(stmt.from, ParseAdditive());
      } else if (AtKeyword(Keyword::kFor)) {
        if (!stmt.metrics.empty()) return Duplicate("FOR");
        Advance();
        TV_ASSIGN_OR_RETURN(stmt.metrics, ParseMetrics());
      } else if (AtKeyword(Keyword::kWhere)) {
        if (stmt.where) return Duplicate("WHERE");
        TV_ASSIGN_OR_RETURN(stmt.where, ParseWhere());
      } else {
        break;
      }
    }
    std::vector<Expected> clauses;
    if (!stmt.from) clauses.push_back({"FROM", Keyword::kFrom});
    if (stmt.metrics.empty()) clauses.push_back({"FOR", Keyword::kFor});
    if (!stmt.where) clauses.push_back({"WHERE", Keyword::kWhere});
    TV_RETURN_IF_ERROR(ExpectEnd(clauses));
    return stmt;
  }

  absl::StatusOr<RootCauseStmt> ParseRootCause() {
    Advance();  // ROOT
    RootCauseStmt stmt;
    TV_RETURN_IF_ERROR(ExpectKeyword(Keyword::kCause, "CAUSE after ROOT"));
    TV_RETURN_IF_ERROR(ExpectKeyword(Keyword::kOf, "OF after ROOT CAUSE"));
    if (AtKeyword(Keyword::kWindow) && !AtName(1) &&
        Peek(1).kind != TokenKind::kEq && Peek(1).kind != TokenKind::kEnd &&
        Peek(1).kind != TokenKind::kSemicolon) {
      Advance();
      TV_ASSIGN_OR_RETURN(stmt.window_from, ParseAdditive());
      TV_RETURN_IF_ERROR(
          ExpectKeyword(Keyword::kTo, "TO in ROOT CAUSE OF WINDOW ... TO ..."));
      TV_ASSIGN_OR_RETURN(stmt.window_to, ParseAdditive());
    } else {
      TV_ASSIGN_OR_RETURN(stmt.event, ParseEventRef("ROOT CAUSE OF"));
    }
    TV_RETURN_IF_ERROR(ParseWhereLimit(&stmt.where, &stmt.limit));
    return stmt;
  }

  absl::string_view text_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  uint32_t prev_end_ = 0;
  int nesting_ = 0;
  int height_ = 0;
  // The token last taken as a bare name, for misspelt-keyword hints.
  size_t last_name_token_ = static_cast<size_t>(-2);
};

}  // namespace

absl::StatusOr<Statement> Parse(absl::string_view text) {
  if (text.size() > kMaxQueryBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("query too long: ", text.size(), " bytes (the limit is ",
                     kMaxQueryBytes, ")"));
  }
  TV_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(text));
  return Parser(text, std::move(tokens)).Run();
}

}  // namespace traversion::timeql
