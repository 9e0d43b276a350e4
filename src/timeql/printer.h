// Prints an AST back as a canonical TimeQL query: upper-case keywords,
// single spaces, parentheses only where precedence needs them, strings
// re-escaped, durations in canonical units (FormatDuration). Parsing the
// printed text gives the same tree (ranges aside), so printing is
// idempotent: Print(Parse(Print(x))) == Print(x).
#ifndef TRAVERSION_TIMEQL_PRINTER_H_
#define TRAVERSION_TIMEQL_PRINTER_H_

#include <string>

#include "absl/strings/string_view.h"
#include "timeql/ast.h"

namespace traversion::timeql {

std::string Print(const Statement& statement);
std::string PrintExpr(const Expr& expr);
std::string PrintFieldPath(const FieldPath& path);

// 'text' with quotes doubled.
std::string QuoteString(absl::string_view text);
// `name` as written if it is a plain identifier that is not reserved,
// otherwise "quoted".
std::string QuoteIdentifier(absl::string_view name);

}  // namespace traversion::timeql

#endif  // TRAVERSION_TIMEQL_PRINTER_H_
