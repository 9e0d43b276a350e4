// TimeQL: the query language over a Store.
//
//   traversion::QueryOptions options;
//   auto result = traversion::Query(*store,
//       "TIMELINE FROM '10 minutes ago' TO 'now' WHERE type = 'error'",
//       options);
//   if (!result.ok()) { /* InvalidArgument: "1:17: unexpected ..." */ }
//   for (const auto& column : result->columns()) ...
//   while (result->Next()) Use(result->row());
//   if (!result->status().ok()) { /* a limit or a store error ended it */ }
//
// The language is documented in docs/timeql.md.
//
// Errors: a query that does not parse or names an unknown field is
// InvalidArgument with a message of the form
//   "1:17: unexpected 'FOLLOWD', expected FOLLOWED BY\n<the line>\n<caret>";
// a query that exceeds a limit of QueryOptions is ResourceExhausted (or
// DeadlineExceeded for the time limit); store failures keep their codes.
// Nothing a user types can crash the host.
//
// Thread safety: Query() may be called from any number of threads on one
// Store. A Result belongs to one thread at a time; it holds a read snapshot
// of the store until it is destroyed or exhausted.
#ifndef TRAVERSION_QUERY_H_
#define TRAVERSION_QUERY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "traversion/clock.h"
#include "traversion/store.h"

namespace traversion {

class CausalityProvider;  // query_extensions.h
class Forecaster;         // query_extensions.h

// --- values ----------------------------------------------------------------

enum class ColumnType : uint8_t {
  kBool,
  kInt64,
  kDouble,
  kString,
  kTime,      // nanoseconds since the Unix epoch, UTC
  kDuration,  // nanoseconds
};
absl::string_view ColumnTypeName(ColumnType type);  // bool|int64|double|...

struct TimeValue {
  int64_t unix_ns = 0;
  friend bool operator==(TimeValue a, TimeValue b) {
    return a.unix_ns == b.unix_ns;
  }
};
struct DurationValue {
  int64_t ns = 0;
  friend bool operator==(DurationValue a, DurationValue b) {
    return a.ns == b.ns;
  }
};

// One cell. std::monostate is SQL NULL (absent field, empty group...).
using Value = std::variant<std::monostate, bool, int64_t, double, std::string,
                           TimeValue, DurationValue>;

struct Column {
  std::string name;
  ColumnType type = ColumnType::kString;
};

using Row = std::vector<Value>;

// What a query did, for EXPLAIN-like output and budgets.
struct QueryStats {
  std::string plan;  // e.g. "trace index", "service index: api"
  uint64_t events_examined = 0;
  uint64_t rows = 0;
  int64_t elapsed_ns = 0;
};

// --- options ---------------------------------------------------------------

struct QueryOptions {
  // Limits. A query that goes past one ends with a clear error rather than
  // returning a partial answer silently.
  uint64_t max_rows = 1'000'000;               // ResourceExhausted beyond
  uint64_t max_events_examined = 200'000'000;  // ResourceExhausted beyond
  int64_t timeout_ns = 60'000'000'000;  // DeadlineExceeded beyond; 0: none

  // Resolves 'now' and relative times ('10 minutes ago'). nullptr: the real
  // clock.
  const Clock* clock = nullptr;

  // Values for bare names used where an event id is expected, e.g.
  // `TRAVERSE FROM event_id ...` with parameters["event_id"] = "0183...".
  absl::flat_hash_map<std::string, std::string> parameters;

  // How TRAVERSE ... FOLLOWING causality, ROOT CAUSE OF and named patterns
  // are answered. nullptr: the causality engine, DefaultCausalityEngine()
  // (docs/design/causality.md); BuiltinCausalityProvider() is the simpler
  // trace-links-only heuristic.
  const CausalityProvider* causality = nullptr;
  // How PREDICT forecasts. nullptr: the causality engine's Theil-Sen
  // forecaster (documented in docs/timeql.md); BuiltinForecaster() is the
  // least-squares line.
  const Forecaster* forecaster = nullptr;
};

// --- results ---------------------------------------------------------------

// A query's answer: named, typed columns and a stream of rows. Some answers
// also carry a structure that a table flattens (the span tree of TRACE, the
// chain of TRAVERSE and ROOT CAUSE, the field differences of CHANGES); it is
// available as JSON through structured_json().
class Result {
 public:
  class Source;  // produces rows; defined by the evaluator
  Result(std::vector<Column> columns, std::unique_ptr<Source> source,
         std::string kind);
  Result(Result&&) noexcept;
  Result& operator=(Result&&) noexcept;
  ~Result();

  // What kind of answer this is: "events", "aggregate", "state", "history",
  // "changes", "trace", "traverse", "match", "compare", "predict",
  // "root_cause".
  const std::string& kind() const;
  const std::vector<Column>& columns() const;

  // Advances to the next row. False at the end or when an error (a limit, a
  // store failure) ended the stream: check status().
  bool Next();
  const Row& row() const;
  absl::Status status() const;

  // Reads every remaining row.
  absl::StatusOr<std::vector<Row>> ReadAll();

  // The structured form of the answer as JSON, or empty when the table says
  // everything. Complete once Next() has returned false.
  const std::string& structured_json() const;
  const QueryStats& stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Parses, checks and runs one TimeQL statement.
absl::StatusOr<Result> Query(const Store& store, absl::string_view query,
                             const QueryOptions& options = {});

// Parses `query` and prints it back in canonical form (upper-case keywords,
// single spaces, explicit units). InvalidArgument if it does not parse.
absl::StatusOr<std::string> FormatQuery(absl::string_view query);

// Formats one value as text the way the CLI prints it (times as RFC 3339
// UTC with nanoseconds, durations as "1.5s", NULL as "").
std::string ValueToString(const Value& value);

}  // namespace traversion

#endif  // TRAVERSION_QUERY_H_
