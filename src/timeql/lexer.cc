#include "timeql/lexer.h"

#include <charconv>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "timeql/diagnostics.h"
#include "timeql/time_literal.h"

namespace traversion::timeql {
namespace {

struct KeywordEntry {
  absl::string_view name;
  Keyword keyword;
};

// Sorted by name only for the reader; lookups are linear over ~50 entries,
// which costs less than hashing the lower-cased word.
constexpr KeywordEntry kKeywords[] = {
    {"AND", Keyword::kAnd},
    {"AS", Keyword::kAs},
    {"ASC", Keyword::kAsc},
    {"AT", Keyword::kAt},
    {"BETWEEN", Keyword::kBetween},
    {"BY", Keyword::kBy},
    {"CAUSE", Keyword::kCause},
    {"CHANGES", Keyword::kChanges},
    {"COMPARE", Keyword::kCompare},
    {"DEPTH", Keyword::kDepth},
    {"DESC", Keyword::kDesc},
    {"ERROR", Keyword::kError},
    {"EVENTS", Keyword::kEvents},
    {"FALSE", Keyword::kFalse},
    {"FOLLOWED", Keyword::kFollowed},
    {"FOLLOWING", Keyword::kFollowing},
    {"FOR", Keyword::kFor},
    {"FROM", Keyword::kFrom},
    {"GROUP", Keyword::kGroup},
    {"HAS", Keyword::kHas},
    {"HISTORY", Keyword::kHistory},
    {"IN", Keyword::kIn},
    {"IS", Keyword::kIs},
    {"LAST", Keyword::kLast},
    {"LIKE", Keyword::kLike},
    {"LIMIT", Keyword::kLimit},
    {"MATCH", Keyword::kMatch},
    {"MATCHES", Keyword::kMatches},
    {"NEXT", Keyword::kNext},
    {"NOT", Keyword::kNot},
    {"NOW", Keyword::kNow},
    {"NULL", Keyword::kNull},
    {"OF", Keyword::kOf},
    {"OR", Keyword::kOr},
    {"ORDER", Keyword::kOrder},
    {"PATTERN", Keyword::kPattern},
    {"PREDICT", Keyword::kPredict},
    {"REVISION", Keyword::kRevision},
    {"ROOT", Keyword::kRoot},
    {"STATE", Keyword::kState},
    {"TIMELINE", Keyword::kTimeline},
    {"TO", Keyword::kTo},
    {"TRACE", Keyword::kTrace},
    {"TRAVERSE", Keyword::kTraverse},
    {"TRUE", Keyword::kTrue},
    {"UNTIL", Keyword::kUntil},
    {"WHERE", Keyword::kWhere},
    {"WINDOW", Keyword::kWindow},
    {"WITH", Keyword::kWith},
    {"WITHIN", Keyword::kWithin},
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHighByte(char c) { return (static_cast<unsigned char>(c) & 0x80) != 0; }
bool IsWordStart(char c) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         IsHighByte(c);
}
bool IsWordChar(char c) { return IsWordStart(c) || IsDigit(c); }
bool IsUnitChar(char c) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) || IsHighByte(c);
}

class Lexer {
 public:
  explicit Lexer(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      SkipSpaceAndComments();
      if (pos_ >= text_.size()) break;
      Token token;
      absl::Status status = Next(&token);
      if (!status.ok()) return status;
      tokens.push_back(std::move(token));
    }
    Token end;
    end.kind = TokenKind::kEnd;
    end.range = {Offset(text_.size()), Offset(text_.size())};
    tokens.push_back(std::move(end));
    return tokens;
  }

 private:
  static uint32_t Offset(size_t pos) { return static_cast<uint32_t>(pos); }

  char At(size_t pos) const { return pos < text_.size() ? text_[pos] : '\0'; }

  absl::Status Error(size_t begin, size_t end, absl::string_view message) {
    return SyntaxError(text_, {Offset(begin), Offset(end)}, message);
  }

  void SkipSpaceAndComments() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == '-' && At(pos_ + 1) == '-') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  absl::Status Next(Token* token) {
    const size_t begin = pos_;
    const char c = text_[pos_];
    if (IsDigit(c)) return Number(token);
    if (IsWordStart(c)) {
      while (pos_ < text_.size() && IsWordChar(text_[pos_])) ++pos_;
      token->kind = TokenKind::kIdent;
      token->text = std::string(text_.substr(begin, pos_ - begin));
      token->keyword = KeywordOf(token->text);
      token->range = {Offset(begin), Offset(pos_)};
      return absl::OkStatus();
    }
    if (c == '\'' || c == '"') return Quoted(token);

    auto single = [&](TokenKind kind, size_t length) {
      token->kind = kind;
      pos_ += length;
      token->range = {Offset(begin), Offset(pos_)};
      token->text = std::string(text_.substr(begin, length));
      return absl::OkStatus();
    };
    const char next = At(pos_ + 1);
    switch (c) {
      case '=':
        if (next == '~') return single(TokenKind::kMatch, 2);
        if (next == '=') return single(TokenKind::kEq, 2);
        return single(TokenKind::kEq, 1);
      case '!':
        if (next == '=') return single(TokenKind::kNe, 2);
        if (next == '~') return single(TokenKind::kNotMatch, 2);
        return Error(begin, begin + 1,
                     "unexpected character '!' (did you mean '!=' or "
                     "NOT?)");
      case '<':
        if (next == '=') return single(TokenKind::kLe, 2);
        if (next == '>') return single(TokenKind::kNe, 2);
        return single(TokenKind::kLt, 1);
      case '>':
        if (next == '=') return single(TokenKind::kGe, 2);
        return single(TokenKind::kGt, 1);
      case '+':
        return single(TokenKind::kPlus, 1);
      case '-':
        return single(TokenKind::kMinus, 1);
      case '*':
        return single(TokenKind::kStar, 1);
      case '/':
        return single(TokenKind::kSlash, 1);
      case '(':
        return single(TokenKind::kLParen, 1);
      case ')':
        return single(TokenKind::kRParen, 1);
      case '[':
        return single(TokenKind::kLBracket, 1);
      case ']':
        return single(TokenKind::kRBracket, 1);
      case ',':
        return single(TokenKind::kComma, 1);
      case '.':
        return single(TokenKind::kDot, 1);
      case ';':
        return single(TokenKind::kSemicolon, 1);
      default:
        break;
    }
    std::string shown = absl::ascii_isprint(static_cast<unsigned char>(c))
                            ? std::string(1, c)
                            : absl::CHexEscape(absl::string_view(&c, 1));
    return Error(begin, begin + 1,
                 absl::StrCat("unexpected character '", shown, "'"));
  }

  // 'string' or "identifier"; the quote doubles to escape itself.
  absl::Status Quoted(Token* token) {
    const size_t begin = pos_;
    const char quote = text_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= text_.size()) {
        return Error(begin, text_.size(),
                     quote == '\'' ? "unterminated string: missing closing '"
                                   : "unterminated quoted identifier: missing "
                                     "closing \"");
      }
      char c = text_[pos_++];
      if (c == quote) {
        if (At(pos_) == quote) {
          value.push_back(quote);
          ++pos_;
          continue;
        }
        break;
      }
      value.push_back(c);
    }
    token->range = {Offset(begin), Offset(pos_)};
    if (quote == '\'') {
      token->kind = TokenKind::kString;
    } else {
      if (value.empty()) {
        return Error(begin, pos_, "empty quoted identifier");
      }
      token->kind = TokenKind::kQuotedIdent;
    }
    token->text = std::move(value);
    return absl::OkStatus();
  }

  // Digits with an optional fraction; returns the end.
  size_t ScanDecimal(size_t pos) const {
    while (IsDigit(At(pos))) ++pos;
    if (At(pos) == '.' && IsDigit(At(pos + 1))) {
      ++pos;
      while (IsDigit(At(pos))) ++pos;
    }
    return pos;
  }

  absl::Status Number(Token* token) {
    const size_t begin = pos_;
    size_t end = ScanDecimal(pos_);
    bool is_float =
        text_.substr(begin, end - begin).find('.') != absl::string_view::npos;
    bool has_exponent = false;
    if ((At(end) == 'e' || At(end) == 'E') &&
        (IsDigit(At(end + 1)) || ((At(end + 1) == '+' || At(end + 1) == '-') &&
                                  IsDigit(At(end + 2))))) {
      end += 2;
      while (IsDigit(At(end))) ++end;
      is_float = has_exponent = true;
    }
    absl::string_view number = text_.substr(begin, end - begin);
    pos_ = end;

    if (At(pos_) == '%') {
      ++pos_;
      token->kind = TokenKind::kPercent;
      token->range = {Offset(begin), Offset(pos_)};
      token->text = std::string(text_.substr(begin, pos_ - begin));
      return ParseDouble(number, begin, &token->float_value);
    }

    // A unit attached to the number (200ms, 1h30m) or after white space
    // (5 minutes).
    if (IsUnitChar(At(pos_)) || IsWordChar(At(pos_))) {
      if (has_exponent) {
        return Error(
            begin, pos_ + 1,
            absl::StrCat("invalid number '",
                         text_.substr(begin, WordEnd(pos_) - begin), "'"));
      }
      return Duration(token, begin, number);
    }
    size_t after_space = pos_;
    while (
        after_space < text_.size() &&
        absl::ascii_isspace(static_cast<unsigned char>(text_[after_space]))) {
      ++after_space;
    }
    if (after_space > pos_ && !has_exponent && IsUnitChar(At(after_space))) {
      size_t word_end = WordEnd(after_space);
      if (DurationUnitNanos(
              text_.substr(after_space, word_end - after_space))) {
        return Duration(token, begin, number);
      }
    }

    token->range = {Offset(begin), Offset(pos_)};
    token->text = std::string(number);
    if (is_float) {
      token->kind = TokenKind::kFloat;
      return ParseDouble(number, begin, &token->float_value);
    }
    token->kind = TokenKind::kInt;
    auto [ptr, error] = std::from_chars(
        number.data(), number.data() + number.size(), token->int_value);
    if (error != std::errc() || ptr != number.data() + number.size()) {
      return Error(begin, pos_, absl::StrCat("integer out of range: ", number));
    }
    return absl::OkStatus();
  }

  size_t WordEnd(size_t pos) const {
    while (pos < text_.size() && IsWordChar(text_[pos])) ++pos;
    return pos;
  }

  absl::Status ParseDouble(absl::string_view number, size_t begin,
                           double* value) {
    auto [ptr, error] =
        std::from_chars(number.data(), number.data() + number.size(), *value);
    if (error != std::errc() || ptr != number.data() + number.size() ||
        !std::isfinite(*value)) {
      return Error(begin, begin + number.size(),
                   absl::StrCat("number out of range: ", number));
    }
    return absl::OkStatus();
  }

  // pos_ is just past `number`, at a unit (possibly after white space).
  absl::Status Duration(Token* token, size_t begin, absl::string_view number) {
    int64_t total = 0;
    while (true) {
      size_t unit_begin = pos_;
      while (absl::ascii_isspace(static_cast<unsigned char>(At(unit_begin)))) {
        ++unit_begin;
      }
      size_t unit_end = unit_begin;
      while (IsUnitChar(At(unit_end))) ++unit_end;
      absl::string_view unit = text_.substr(unit_begin, unit_end - unit_begin);
      if (unit.empty() ||
          (IsWordChar(At(unit_end)) && !IsDigit(At(unit_end)))) {
        size_t word_end = WordEnd(unit_begin);
        return Error(
            begin, word_end,
            unit.empty()
                ? absl::StrCat("missing unit after '", number, "'")
                : absl::StrCat("invalid number '",
                               text_.substr(begin, word_end - begin), "'"));
      }
      std::optional<int64_t> unit_ns = DurationUnitNanos(unit);
      if (!unit_ns) {
        return Error(begin, unit_end,
                     absl::StrCat("unknown duration unit '", unit,
                                  "' (ns, us, ms, s, m, h, d, w or their "
                                  "names: seconds, minutes...)"));
      }
      absl::StatusOr<int64_t> part = ScaleDecimal(number, *unit_ns);
      if (!part.ok()) {
        return Error(begin, unit_end, part.status().message());
      }
      if (__builtin_add_overflow(total, *part, &total)) {
        return Error(begin, unit_end, "duration out of range");
      }
      pos_ = unit_end;
      // 1h30m: another number directly after the unit continues the
      // duration.
      if (!IsDigit(At(pos_))) break;
      size_t number_begin = pos_;
      pos_ = ScanDecimal(pos_);
      number = text_.substr(number_begin, pos_ - number_begin);
      if (!IsUnitChar(At(pos_))) {
        return Error(begin, pos_,
                     absl::StrCat("missing unit after '", number, "'"));
      }
    }
    token->kind = TokenKind::kDuration;
    token->int_value = total;
    token->range = {Offset(begin), Offset(pos_)};
    token->text = std::string(text_.substr(begin, pos_ - begin));
    return absl::OkStatus();
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<Token>> Lex(absl::string_view text) {
  return Lexer(text).Run();
}

Keyword KeywordOf(absl::string_view word) {
  if (word.size() < 2 || word.size() > 9) return Keyword::kNone;
  for (const KeywordEntry& entry : kKeywords) {
    if (absl::EqualsIgnoreCase(entry.name, word)) return entry.keyword;
  }
  return Keyword::kNone;
}

bool IsReserved(Keyword keyword) {
  switch (keyword) {
    case Keyword::kAnd:
    case Keyword::kAs:
    case Keyword::kAsc:
    case Keyword::kBetween:
    case Keyword::kBy:
    case Keyword::kDepth:
    case Keyword::kDesc:
    case Keyword::kFalse:
    case Keyword::kFollowed:
    case Keyword::kFollowing:
    case Keyword::kFor:
    case Keyword::kFrom:
    case Keyword::kGroup:
    case Keyword::kHas:
    case Keyword::kIn:
    case Keyword::kIs:
    case Keyword::kLike:
    case Keyword::kLimit:
    case Keyword::kMatches:
    case Keyword::kNot:
    case Keyword::kNow:
    case Keyword::kNull:
    case Keyword::kOr:
    case Keyword::kOrder:
    case Keyword::kTo:
    case Keyword::kTrue:
    case Keyword::kUntil:
    case Keyword::kWhere:
    case Keyword::kWith:
    case Keyword::kWithin:
      return true;
    default:
      return false;
  }
}

absl::string_view KeywordName(Keyword keyword) {
  for (const KeywordEntry& entry : kKeywords) {
    if (entry.keyword == keyword) return entry.name;
  }
  return "";
}

absl::Span<const absl::string_view> AllKeywordNames() {
  static const auto* names = [] {
    auto* list = new std::vector<absl::string_view>;
    for (const KeywordEntry& entry : kKeywords) list->push_back(entry.name);
    return list;
  }();
  return *names;
}

absl::string_view TokenKindName(TokenKind kind) {
  switch (kind) {
    case TokenKind::kEnd:
      return "end of query";
    case TokenKind::kIdent:
      return "name";
    case TokenKind::kQuotedIdent:
      return "quoted name";
    case TokenKind::kString:
      return "string";
    case TokenKind::kInt:
      return "integer";
    case TokenKind::kFloat:
      return "number";
    case TokenKind::kDuration:
      return "duration";
    case TokenKind::kPercent:
      return "percentage";
    case TokenKind::kEq:
      return "'='";
    case TokenKind::kNe:
      return "'!='";
    case TokenKind::kLt:
      return "'<'";
    case TokenKind::kLe:
      return "'<='";
    case TokenKind::kGt:
      return "'>'";
    case TokenKind::kGe:
      return "'>='";
    case TokenKind::kMatch:
      return "'=~'";
    case TokenKind::kNotMatch:
      return "'!~'";
    case TokenKind::kPlus:
      return "'+'";
    case TokenKind::kMinus:
      return "'-'";
    case TokenKind::kStar:
      return "'*'";
    case TokenKind::kSlash:
      return "'/'";
    case TokenKind::kLParen:
      return "'('";
    case TokenKind::kRParen:
      return "')'";
    case TokenKind::kLBracket:
      return "'['";
    case TokenKind::kRBracket:
      return "']'";
    case TokenKind::kComma:
      return "','";
    case TokenKind::kDot:
      return "'.'";
    case TokenKind::kSemicolon:
      return "';'";
  }
  return "token";
}

}  // namespace traversion::timeql
