// The TimeQL parser: a hand-written recursive descent over the lexer's
// tokens, producing the AST of ast.h (whose comments give each statement's
// grammar; docs/timeql.md has it in EBNF).
//
// Errors are InvalidArgument from SyntaxError():
//   "1:30: unexpected 'FOLLOWD', expected FOLLOWED BY\n<line>\n<caret>"
// Nothing a user types can exhaust the stack: the query is at most
// kMaxQueryBytes long and expressions nest at most kMaxExprDepth deep.
#ifndef TRAVERSION_TIMEQL_PARSER_H_
#define TRAVERSION_TIMEQL_PARSER_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "timeql/ast.h"

namespace traversion::timeql {

inline constexpr size_t kMaxQueryBytes = 1 << 20;
// The height of the deepest expression tree, counting each operator, call
// and parenthesised level.
inline constexpr int kMaxExprDepth = 256;

// Parses one statement, optionally ended by ';'.
absl::StatusOr<Statement> Parse(absl::string_view text);

}  // namespace traversion::timeql

#endif  // TRAVERSION_TIMEQL_PARSER_H_
