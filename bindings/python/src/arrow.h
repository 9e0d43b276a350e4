// A query result as an Arrow C stream (the Arrow C data interface's
// ArrowArrayStream,
// https://arrow.apache.org/docs/format/CStreamInterface.html), wrapped in a
// PyCapsule named "arrow_array_stream" as the Arrow PyCapsule interface asks:
// what Result.__arrow_c_stream__ returns.
//
// Each batch is a struct array with one child per column:
//   bool -> "b", int64 -> "l", double -> "g", string -> "u" (utf8),
//   time -> "tsn:UTC" (timestamp, ns, UTC), duration -> "tDn".
// The stream may be consumed from any thread, with or without the GIL.
#ifndef TRAVERSION_BINDINGS_PYTHON_ARROW_H_
#define TRAVERSION_BINDINGS_PYTHON_ARROW_H_

#include <pybind11/pybind11.h>

#include <cstddef>
#include <memory>

#include "py_result.h"

namespace traversion::python {

// A new capsule owning a stream over the rows `result` has not delivered
// yet, in batches of at most `batch_rows` rows.
pybind11::object ExportArrowStream(std::shared_ptr<PyResult> result,
                                   size_t batch_rows);

}  // namespace traversion::python

#endif  // TRAVERSION_BINDINGS_PYTHON_ARROW_H_
