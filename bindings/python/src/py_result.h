// A TimeQL result shared by Python (traversion.Result) and Arrow consumers.
//
// Thread safety: every method may be called from any thread, with or without
// the GIL; a mutex serializes them, since a traversion::Result belongs to one
// thread at a time. None of them touches a Python object, so the bindings
// call them with the GIL released (and never take the GIL while holding the
// mutex: no lock-order inversion with the GIL).
#ifndef TRAVERSION_BINDINGS_PYTHON_PY_RESULT_H_
#define TRAVERSION_BINDINGS_PYTHON_PY_RESULT_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "traversion/query.h"
#include "traversion/store.h"

namespace traversion::python {

// One column of a batch in columnar form: what numpy arrays and Arrow
// arrays are made from. `valid` has one byte per row (0: NULL); the values
// of NULL rows are zero (times: INT64_MIN, pandas' NaT).
struct ColumnData {
  ColumnType type = ColumnType::kString;
  std::vector<uint8_t> valid;
  std::vector<int64_t> ints;     // kInt64, kTime (unix ns), kDuration (ns)
  std::vector<double> doubles;   // kDouble
  std::vector<uint8_t> bools;    // kBool, one byte per row
  std::vector<int64_t> offsets;  // kString: row i is chars[off[i], off[i+1])
  std::string chars;             // kString
  size_t nulls = 0;

  explicit ColumnData(ColumnType t);
  size_t size() const { return valid.size(); }
  void Append(const Value& value);
};

class PyResult {
 public:
  PyResult(std::shared_ptr<Store> store, Result result);

  // Fixed at construction: no lock needed.
  const std::vector<Column>& columns() const { return columns_; }
  const std::string& kind() const { return kind_; }

  // Moves up to `max_rows` rows (0: all) to `out`. Rows come first; an error
  // that ended the stream is returned once no row is left before it (and
  // again on every later call).
  absl::Status ReadRows(size_t max_rows, std::vector<Row>* out);
  // The same into one ColumnData per column, stopping early once the string
  // columns hold more than `max_string_bytes` (0: no limit).
  absl::Status ReadColumns(size_t max_rows, size_t max_string_bytes,
                           std::vector<ColumnData>* out, size_t* rows);
  // Copies of the next `n` rows without consuming them.
  absl::Status Peek(size_t n, std::vector<Row>* out);
  // The structured JSON (empty for kinds without one). Reads the remaining
  // rows into the look-ahead buffer first, since the structure is complete
  // only at the end of the stream; they are still delivered afterwards.
  absl::StatusOr<std::string> Structured();
  QueryStats stats();
  // The error that ended the stream, or OK (also while rows are left).
  absl::Status final_status();
  // True once every row was delivered (or the stream failed).
  bool exhausted();

 private:
  // The next row, from the look-ahead buffer or the query. Needs mu_.
  bool Next(Row* row);
  bool FillLookahead(size_t n);

  const std::vector<Column> columns_;
  const std::string kind_;
  std::mutex mu_;
  // Declared before result_: the store outlives the result's snapshot.
  std::shared_ptr<Store> store_;
  Result result_;
  std::deque<Row> lookahead_;
  bool done_ = false;  // result_.Next() returned false
  absl::Status status_;
};

}  // namespace traversion::python

#endif  // TRAVERSION_BINDINGS_PYTHON_PY_RESULT_H_
