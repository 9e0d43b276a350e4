// Conversions between Python objects and libtraversion's values, and the
// exception that carries an absl::Status to the Python side.
//
// Every function here needs the GIL (it touches Python objects), except
// where a comment says otherwise.
#ifndef TRAVERSION_BINDINGS_PYTHON_CONVERT_H_
#define TRAVERSION_BINDINGS_PYTHON_CONVERT_H_

#include <pybind11/pybind11.h>

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "traversion/event.h"
#include "traversion/query.h"
#include "traversion/recorder.h"

namespace traversion::python {

namespace py = pybind11;

// What a failed call was doing; traversion.errors picks the exception class
// from it and the status code.
enum class Operation { kOpen, kRead, kWrite, kQuery, kRecord };

// A failed absl::Status on its way to Python. module.cc translates it into
// an exception of traversion.errors. Safe to construct and throw without the
// GIL (it holds no Python object).
class StatusError : public std::exception {
 public:
  StatusError(Operation operation, absl::Status status);
  const char* what() const noexcept override { return text_.c_str(); }
  Operation operation() const { return operation_; }
  const absl::Status& status() const { return status_; }

 private:
  Operation operation_;
  absl::Status status_;
  std::string text_;
};

// "INVALID_ARGUMENT", "NOT_FOUND", ... (absl's canonical names).
const char* StatusCodeName(absl::StatusCode code);

// Throws StatusError unless `status` is OK.
void CheckStatus(Operation operation, const absl::Status& status);

// The UTF-8 bytes of a Python str, valid while the str lives (CPython caches
// them in the object). TypeError naming `what` if `object` is not a str.
absl::string_view Utf8(py::handle object, const char* what);

// Attributes read from a Python mapping of str to str/int/float/bool, for
// the recorder's record calls. The views point into the mapping's objects:
// use them while the mapping is alive and the GIL is held.
class AttrList {
 public:
  explicit AttrList(py::handle mapping);
  Attrs attrs() const { return Attrs(items_.data(), items_.size()); }

 private:
  std::vector<Attr> items_;
};

// Entity-state fields from a mapping of str to str (views, as above).
std::vector<FieldView> FieldList(py::handle mapping);

// Severity from "info"/"warn"/... or an OpenTelemetry severity number.
Severity SeverityFrom(py::handle value);
SpanKind SpanKindFrom(py::handle value);
SpanStatus SpanStatusFrom(py::handle value);

// An Event from the dict form documented in traversion/_core.pyi (EventDict).
// TypeError/ValueError name the event's `index` and the offending key.
Event EventFromDict(py::handle object, size_t index);
// The dict form of an event (the inverse of EventFromDict).
py::dict EventToDict(const Event& event);

// One query value as a Python object: None, bool, int, float, str,
// datetime.datetime (UTC, microseconds) or datetime.timedelta.
py::object ValueToPython(const Value& value);
// A row as a tuple of ValueToPython.
py::tuple RowToTuple(const Row& row);

// Nanoseconds since the epoch from an int, or an aware/naive (UTC)
// datetime.datetime. TypeError otherwise.
int64_t UnixNanosFrom(py::handle value, const char* what);

// Imports the datetime C API; called once from the module's init.
void InitConvert();

}  // namespace traversion::python

#endif  // TRAVERSION_BINDINGS_PYTHON_CONVERT_H_
