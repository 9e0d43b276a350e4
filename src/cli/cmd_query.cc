// `traversion query <store> '<TimeQL>'`: runs one TimeQL statement and
// prints its result as a table, JSON lines or CSV.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "cli/common.h"
#include "cli/flags.h"
#include "cli/query_output.h"
#include "traversion/query.h"
#include "traversion/store.h"

namespace traversion::cli {
namespace {

constexpr CommandHelp kHelp = {
    "query",
    "[--format table|jsonl|csv] [--limit N] [--param NAME=VALUE] "
    "[--explain | --structured]",
    "Runs one TimeQL statement on the store and prints its result: an\n"
    "aligned table (long cells cut with \xE2\x80\xA6), JSON lines (one object "
    "per row;\n"
    "times as RFC 3339 strings, durations as integer nanoseconds) or CSV\n"
    "(RFC 4180 quoting). The language is described in docs/timeql.md.\n"
    "\n"
    "A query that does not parse or names an unknown field exits 1 with the\n"
    "message, the line and a caret under the offending text on stderr.",
    "  traversion query ./traversion-demo \"TIMELINE IN LAST 1 hour WHERE "
    "type = 'error'\"\n"
    "  traversion query ./store \"EVENTS service, COUNT(*) AS n GROUP BY "
    "service ORDER BY n DESC\" --format csv\n"
    "  traversion query ./store 'TRAVERSE FROM event_id FOLLOWING backward' "
    "--param event_id=0190a1...\n"
    "  traversion query ./store \"STATE AT '2024-01-15 15:47:23'\" "
    "--explain\n",
};

}  // namespace

// NAME=VALUE pairs of --param into `parameters`; a usage error otherwise.
std::optional<int> ApplyParams(absl::string_view command,
                               const std::vector<std::string>& params,
                               QueryOptions* options) {
  for (const std::string& param : params) {
    size_t equals = param.find('=');
    if (equals == 0 || equals == std::string::npos) {
      return UsageError(
          command,
          absl::StrFormat("--param: expected NAME=VALUE, got '%s'", param));
    }
    options->parameters[param.substr(0, equals)] = param.substr(equals + 1);
  }
  return std::nullopt;
}

int RunQuery(absl::Span<const std::string> args) {
  std::string path;
  std::string text;
  std::string format_name = "table";
  uint64_t limit = 0;
  uint64_t max_cell = 64;
  std::vector<std::string> params;
  bool explain = false;
  bool structured = false;
  FlagSet flags;
  flags.AddPositional("store", &path, /*required=*/true, "the store directory");
  flags.AddPositional("query", &text, /*required=*/true,
                      "one TimeQL statement (quote it for the shell)");
  flags.AddString("format", "FORMAT", &format_name,
                  "table (default), jsonl or csv");
  flags.AddUint64("limit", "N", &limit,
                  "print at most N rows (default 0: all); the statement's\n"
                  "own LIMIT applies first");
  flags.AddStringList("param", "NAME=VALUE", &params,
                      "a value for a bare name where an event is expected\n"
                      "(TRAVERSE FROM event_id ...); repeatable");
  flags.AddUint64("max-cell", "N", &max_cell,
                  "table: cut cells to N columns (default 64; 0: never)");
  flags.AddBool("explain", &explain,
                "run the statement and print its canonical form, plan and\n"
                "counts instead of its rows");
  flags.AddBool("structured", &structured,
                "print the structured form of the answer (TRACE's span\n"
                "tree, TRAVERSE's chain, CHANGES' differences...) as one\n"
                "JSON document instead of its rows");
  if (std::optional<int> exit = ParseCommandLine(kHelp, flags, args)) {
    return *exit;
  }
  if (explain && structured) {
    return UsageError("query", "--explain and --structured exclude each other");
  }
  std::optional<OutputFormat> format = ParseOutputFormat(format_name);
  if (!format) {
    return UsageError("query",
                      absl::StrFormat("--format: unknown format '%s' (table, "
                                      "jsonl or csv)",
                                      format_name));
  }
  QueryOptions options;
  if (std::optional<int> exit = ApplyParams("query", params, &options)) {
    return *exit;
  }

  absl::StatusOr<std::unique_ptr<Store>> store = OpenStoreForReading(path);
  if (!store.ok()) return Fail("query", store.status());
  absl::StatusOr<Result> result = Query(**store, text, options);
  if (!result.ok()) return Fail("query", result.status());
  absl::StatusOr<std::unique_ptr<OutputFile>> out = OutputFile::Open("-");
  if (!out.ok()) return Fail("query", out.status());

  ResultOutputOptions output;
  output.format = *format;
  output.limit = limit;
  output.max_cell_width = static_cast<size_t>(max_cell);
  absl::StatusOr<ResultSummary> summary;
  if (structured) {
    // The structured form is complete once every row has been read.
    absl::StatusOr<std::unique_ptr<OutputFile>> sink =
        OutputFile::Open("/dev/null");
    if (!sink.ok()) return Fail("query", sink.status());
    output.limit = 0;
    summary = WriteResult(*result, output, **sink);
    if (summary.ok()) {
      if (result->structured_json().empty()) {
        return Fail("query", absl::StrCat("this result (", result->kind(),
                                          ") has no structured form; its "
                                          "table says everything"));
      }
      (*out)->Write(absl::StrCat(result->structured_json(), "\n"));
    }
  } else if (explain) {
    // Rows are read (so the counts are real) but not printed.
    absl::StatusOr<std::unique_ptr<OutputFile>> sink =
        OutputFile::Open("/dev/null");
    if (!sink.ok()) return Fail("query", sink.status());
    summary = WriteResult(*result, output, **sink);
    if (summary.ok()) {
      absl::StatusOr<std::string> canonical = FormatQuery(text);
      (*out)->Write(
          ExplainText(canonical.ok() ? *canonical : text, *result, *summary));
    }
  } else {
    summary = WriteResult(*result, output, **out);
  }
  absl::Status closed = (*out)->Close();
  if (!summary.ok()) return Fail("query", summary.status());
  if (!closed.ok()) return Fail("query", closed);
  if (!explain && !structured && *format == OutputFormat::kTable) {
    if (summary->more) {
      absl::FPrintF(stderr, "(%d rows shown; more rows: raise --limit)\n",
                    summary->rows);
    } else {
      absl::FPrintF(stderr, "(%d row%s)\n", summary->rows,
                    summary->rows == 1 ? "" : "s");
    }
  }
  return kExitOk;
}

}  // namespace traversion::cli
