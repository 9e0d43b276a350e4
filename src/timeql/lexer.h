// The TimeQL lexer: query text to tokens, each with its byte range.
//
// Lexical rules (docs/timeql.md has the full reference):
//  - Words ([A-Za-z_][A-Za-z0-9_]*) are identifiers; keywords are words the
//    parser recognises case-insensitively (Token::keyword).
//  - "double quoted" text is an identifier that is never a keyword ("" is a
//    quote inside it): a field named like a keyword, or with odd characters.
//  - 'single quoted' text is a string ('' is a quote inside it). Strings may
//    span lines.
//  - Numbers: 42 is an integer, 4.2 and 1e-3 are floats. A number directly
//    followed by '%' is a percentage (80%). A number followed by a duration
//    unit, attached or after white space, is a duration: 200ms, 1.5s,
//    5 minutes, 1h30m. Any other letters attached to a number are an error.
//  - Operators: = == != <> < <= > >= =~ !~ + - * / ( ) [ ] , . ;
//  - `--` starts a comment that runs to the end of the line.
#ifndef TRAVERSION_TIMEQL_LEXER_H_
#define TRAVERSION_TIMEQL_LEXER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "timeql/ast.h"

namespace traversion::timeql {

enum class TokenKind : uint8_t {
  kEnd,          // end of the query
  kIdent,        // a word
  kQuotedIdent,  // "a word"
  kString,       // 'text'
  kInt,          // int_value
  kFloat,        // float_value
  kDuration,     // int_value: nanoseconds
  kPercent,      // float_value: 80 for 80%
  kEq,           // = or ==
  kNe,           // != or <>
  kLt,
  kLe,
  kGt,
  kGe,
  kMatch,     // =~
  kNotMatch,  // !~
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kDot,
  kSemicolon,
};

// Keywords, recognised in kIdent tokens whatever their case.
enum class Keyword : uint8_t {
  kNone,
  kAnd,
  kAs,
  kAsc,
  kAt,
  kBetween,
  kBy,
  kCause,
  kChanges,
  kCompare,
  kDepth,
  kDesc,
  kError,
  kEvents,
  kFalse,
  kFollowed,
  kFollowing,
  kFor,
  kFrom,
  kGroup,
  kHas,
  kHistory,
  kIn,
  kIs,
  kLast,
  kLike,
  kLimit,
  kMatch,
  kMatches,
  kNext,
  kNot,
  kNow,
  kNull,
  kOf,
  kOr,
  kOrder,
  kPattern,
  kPredict,
  kRevision,
  kRoot,
  kState,
  kTimeline,
  kTo,
  kTrace,
  kTraverse,
  kTrue,
  kUntil,
  kWhere,
  kWindow,
  kWith,
  kWithin,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  Keyword keyword = Keyword::kNone;  // kIdent only
  SourceRange range;
  std::string text;  // identifiers as written; strings unescaped
  int64_t int_value = 0;
  double float_value = 0;
};

// Every token of `text`, ending with one kEnd token (whose range is empty at
// the end of the text). InvalidArgument with a SyntaxError message for an
// unterminated string or identifier, a malformed number, a bad duration or
// an unknown character.
absl::StatusOr<std::vector<Token>> Lex(absl::string_view text);

// The keyword spelt `word` (any case), or kNone.
Keyword KeywordOf(absl::string_view word);
// Reserved keywords cannot be bare field or parameter names (quote them:
// "from"); the others (STATE, LAST, WINDOW, ERROR...) are keywords only where
// a statement expects them.
bool IsReserved(Keyword keyword);
// The keyword in upper case, as printed and named in messages.
absl::string_view KeywordName(Keyword keyword);
// Every keyword's name, for suggestions.
absl::Span<const absl::string_view> AllKeywordNames();

// The text of a token kind for messages: "'('", "string", "end of query"...
absl::string_view TokenKindName(TokenKind kind);

}  // namespace traversion::timeql

#endif  // TRAVERSION_TIMEQL_LEXER_H_
