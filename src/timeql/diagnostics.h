// Error messages that point into the query text, in the style of compilers
// and DuckDB:
//
//   1:17: unexpected 'FOLLOWD', expected FOLLOWED BY
//   MATCH PATTERN WHERE cpu > 80% FOLLOWD BY memory > 90%
//                                 ^~~~~~~
//
// Used by the parser and by the evaluator's checks after parsing (unknown
// field, wrong type), which point at the AST node's range.
#ifndef TRAVERSION_TIMEQL_DIAGNOSTICS_H_
#define TRAVERSION_TIMEQL_DIAGNOSTICS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "timeql/ast.h"

namespace traversion::timeql {

// 1-based line and column of a byte offset. Columns count characters (UTF-8
// code points), not bytes; a tab counts as one column.
struct LineCol {
  int line = 1;
  int column = 1;
};
LineCol LineColAt(absl::string_view text, uint32_t offset);

// InvalidArgument with the message
//   "<line>:<col>: <message>\n<the source line>\n<spaces>^~~~"
// The caret sits under range.begin and `~` extends it over the range, clipped
// to the end of that line. A range past the end of the text points just past
// its last character (where "unexpected end of query" happens).
absl::Status SyntaxError(absl::string_view text, SourceRange range,
                         absl::string_view message);

// The same text as SyntaxError's message, for callers that build their own
// status code.
std::string FormatDiagnostic(absl::string_view text, SourceRange range,
                             absl::string_view message);

// The candidate closest to `word` by edit distance (insertions, deletions,
// substitutions and swaps of adjacent letters; case-insensitive), as spelt in
// `candidates`, or "" when none is close enough to be a plausible typo: at
// most 1 edit for words of 3-4 letters, 2 up to 8, 3 beyond (words of 1-2
// letters only match ignoring case). Ties go to
// the earlier candidate.
std::string SuggestClosest(absl::string_view word,
                           absl::Span<const absl::string_view> candidates);

// Edit distance as used by SuggestClosest (optimal string alignment,
// case-insensitive ASCII).
int EditDistance(absl::string_view a, absl::string_view b);

}  // namespace traversion::timeql

#endif  // TRAVERSION_TIMEQL_DIAGNOSTICS_H_
