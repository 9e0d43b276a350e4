// Writing TimeQL results for `traversion query` and `traversion shell`:
// an aligned table, JSON lines or CSV.
//
// Thread safety: the functions are reentrant; a Result is read by one thread.
#ifndef TRAVERSION_CLI_QUERY_OUTPUT_H_
#define TRAVERSION_CLI_QUERY_OUTPUT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cli/common.h"
#include "traversion/query.h"

namespace traversion::cli {

enum class OutputFormat { kTable, kJsonl, kCsv };

// "table", "jsonl" (or "json"), "csv"; nullopt otherwise.
std::optional<OutputFormat> ParseOutputFormat(absl::string_view name);
absl::string_view OutputFormatName(OutputFormat format);

struct ResultOutputOptions {
  OutputFormat format = OutputFormat::kTable;
  // Rows written at most; 0: all. The rest of the result is not read.
  uint64_t limit = 0;
  // Table mode: cells wider than this many columns are cut with "…"
  // (0: never). JSON lines and CSV are never cut.
  size_t max_cell_width = 64;
};

struct ResultSummary {
  uint64_t rows = 0;
  bool more = false;  // the limit stopped the output before the end
};

// Writes the rows of `result` to `out`. The table is sized from its first
// 1000 rows, then streams; it is preceded by a header line and a rule.
// JSON lines: one object per row, keys the column names; times as RFC 3339
// strings, durations as integer nanoseconds, NULL as null. CSV: a header
// line, then RFC 4180 quoting (a field with a comma, quote, CR or LF is
// quoted, quotes doubled), LF line ends. A status error of the result (a
// limit, a store failure) is returned after the rows written before it.
absl::StatusOr<ResultSummary> WriteResult(Result& result,
                                          const ResultOutputOptions& options,
                                          OutputFile& out);

// A cell as text for the table and CSV: ValueToString, NULL as "".
std::string CellText(const Value& value);
// One CSV field, quoted when needed.
std::string CsvField(absl::string_view text);
// One JSON value for a cell.
std::string JsonValue(const Value& value);

// Adds the NAME=VALUE pairs of --param to options->parameters. On a pair
// without '=', prints a usage error for `command` and returns its exit code.
std::optional<int> ApplyParams(absl::string_view command,
                               const std::vector<std::string>& params,
                               QueryOptions* options);

// "query:", "plan:", "examined:", ... lines describing a finished result for
// --explain and the shell's .explain.
std::string ExplainText(absl::string_view canonical_query, const Result& result,
                        const ResultSummary& summary);

}  // namespace traversion::cli

#endif  // TRAVERSION_CLI_QUERY_OUTPUT_H_
