// The store and its recorder as the Python layer sees them.
//
// Thread safety: a PyStore may be used from any number of Python threads.
// The record calls run with the GIL held (they take ~100 ns; releasing the
// GIL would cost more); queries, writes, flushes and close run with it
// released. The pointers to the store and the recorder are read and swapped
// under a mutex, and shared: a query, a result or a span that is still using
// them keeps them alive after close(), which only stops new work.
#ifndef TRAVERSION_BINDINGS_PYTHON_PY_STORE_H_
#define TRAVERSION_BINDINGS_PYTHON_PY_STORE_H_

#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "py_result.h"
#include "traversion/pii.h"
#include "traversion/query.h"
#include "traversion/recorder.h"
#include "traversion/store.h"
#include "traversion/trace_context.h"

namespace traversion::python {

namespace py = pybind11;

// A Recorder with the store it writes to; the recorder goes first.
struct RecorderBox {
  std::shared_ptr<Store> store;
  std::unique_ptr<Recorder> recorder;
  ~RecorderBox() { recorder.reset(); }
};

// A span being timed, held by a Python traversion.Span.
class PySpan {
 public:
  PySpan(std::shared_ptr<RecorderBox> box, Span span)
      : box_(std::move(box)), span_(std::move(span)) {}
  Span& span() { return span_; }
  const SpanContext& context() const { return span_.context(); }

 private:
  std::shared_ptr<RecorderBox> box_;  // outlives span_
  Span span_;
};

class PyStore {
 public:
  PyStore(const std::string& path, const StoreOptions& options);
  ~PyStore();

  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }
  bool closed();

  // Recorder settings, used when the first record call creates it. The PII
  // part is checked now (InvalidArgument: a bad pattern).
  void ConfigureRecorder(RecorderOptions options);

  // Shuts the recorder down (everything recorded is written) and lets go of
  // the store. Idempotent. Needs the GIL released.
  absl::Status Close();

  // The store, or StatusError(FailedPrecondition) once closed.
  std::shared_ptr<Store> store();
  // The recorder, created on first use.
  std::shared_ptr<RecorderBox> recorder();
  // A masker keyed like the recorder's (the store's pii.key).
  const PiiMasker& masker();
  bool has_recorder();

 private:
  std::string path_;
  bool read_only_ = false;
  std::mutex mu_;
  std::shared_ptr<Store> store_;
  std::shared_ptr<RecorderBox> recorder_;
  RecorderOptions recorder_options_;
  std::optional<PiiMasker> masker_;
};

}  // namespace traversion::python

#endif  // TRAVERSION_BINDINGS_PYTHON_PY_STORE_H_
