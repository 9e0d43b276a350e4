// traversion._core: the pybind11 module under the `traversion` package.
//
// A thin layer: every call maps onto one call of the C++ API
// (include/traversion/), with Python values converted on the way in and
// out. The pure-Python package (bindings/python/traversion/) gives it its
// idiomatic shape; _core.pyi documents each function's signature.
//
// The GIL is released around everything that may wait for the disk or run
// a query: opening, writing, querying, reading result rows, flushing and
// closing. Record calls keep it (they cost less than releasing it).
// absl::Status errors become the exceptions of traversion.errors.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "arrow.h"
#include "convert.h"
#include "py_result.h"
#include "py_store.h"
#include "traversion/clock.h"
#include "traversion/query.h"
#include "traversion/recorder.h"
#include "traversion/store.h"
#include "traversion/trace_context.h"

namespace traversion::python {
namespace {

const char* OperationName(Operation operation) {
  switch (operation) {
    case Operation::kOpen:
      return "open";
    case Operation::kRead:
      return "read";
    case Operation::kWrite:
      return "write";
    case Operation::kQuery:
      return "query";
    case Operation::kRecord:
      return "record";
  }
  return "read";
}

void TranslateStatusError(std::exception_ptr pointer) {
  try {
    if (pointer) std::rethrow_exception(pointer);
  } catch (const StatusError& e) {
    try {
      py::object make =
          py::module_::import("traversion.errors").attr("_from_status");
      py::object exception =
          make(OperationName(e.operation()), StatusCodeName(e.status().code()),
               std::string(e.status().message()));
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exception.ptr())),
                      exception.ptr());
    } catch (py::error_already_set& nested) {
      nested.restore();
    }
  }
}

// --- small helpers
// ------------------------------------------------------------

SyncMode SyncFrom(const std::string& name) {
  if (name == "durable") return SyncMode::kDurable;
  if (name == "no_meta_sync") return SyncMode::kNoMetaSync;
  if (name == "no_sync") return SyncMode::kNoSync;
  throw py::value_error("sync: '" + name +
                        "' is not one of durable, no_meta_sync, no_sync");
}

BackpressurePolicy BackpressureFrom(const std::string& name) {
  if (name == "drop_newest") return BackpressurePolicy::kDropNewest;
  if (name == "drop_oldest") return BackpressurePolicy::kDropOldest;
  if (name == "block") return BackpressurePolicy::kBlock;
  throw py::value_error("backpressure: '" + name +
                        "' is not one of drop_newest, drop_oldest, block");
}

SpanContext ContextOrNone(const py::object& context) {
  if (context.is_none()) return SpanContext{};
  return context.cast<SpanContext>();
}

const char* TypeName(ColumnType type) {
  return ColumnTypeName(type).data();  // static, NUL-terminated names
}

py::dict StatsToDict(const QueryStats& stats) {
  py::dict d;
  d["plan"] = stats.plan;
  d["events_examined"] = stats.events_examined;
  d["rows"] = stats.rows;
  d["elapsed_ns"] = stats.elapsed_ns;
  return d;
}

template <typename T>
py::array NumpyFrom(std::vector<T>&& values, const char* dtype) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule owner(owned,
                    [](void* p) { delete static_cast<std::vector<T>*>(p); });
  std::vector<py::ssize_t> shape = {static_cast<py::ssize_t>(owned->size())};
  std::vector<py::ssize_t> strides = {static_cast<py::ssize_t>(sizeof(T))};
  return py::array(py::dtype(dtype), shape, strides, owned->data(), owner);
}

// A list of str, one per row (None for NULL). Repeated values (services,
// types, names) share one str object: far less memory for big results.
py::list StringsFrom(const ColumnData& c) {
  constexpr size_t kMaxShared = 1 << 16;
  absl::flat_hash_map<absl::string_view, PyObject*> shared;
  py::list out(c.size());
  for (size_t i = 0; i < c.size(); ++i) {
    PyObject* item = nullptr;
    if (c.valid[i] == 0) {
      item = Py_None;
      Py_INCREF(item);
    } else {
      absl::string_view text(
          c.chars.data() + c.offsets[i],
          static_cast<size_t>(c.offsets[i + 1] - c.offsets[i]));
      auto it = shared.find(text);
      if (it != shared.end()) {
        item = it->second;
        Py_INCREF(item);
      } else {
        item = PyUnicode_DecodeUTF8(
            text.data(), static_cast<Py_ssize_t>(text.size()), "replace");
        if (item == nullptr) throw py::error_already_set();
        if (shared.size() < kMaxShared) shared.emplace(text, item);
      }
    }
    PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), item);
  }
  return out;
}

py::tuple ColumnToPython(ColumnData&& c) {
  py::object values;
  switch (c.type) {
    case ColumnType::kBool:
      values = NumpyFrom(std::move(c.bools), "bool");
      break;
    case ColumnType::kInt64:
      values = NumpyFrom(std::move(c.ints), "int64");
      break;
    case ColumnType::kTime:
      values = NumpyFrom(std::move(c.ints), "datetime64[ns]");
      break;
    case ColumnType::kDuration:
      values = NumpyFrom(std::move(c.ints), "timedelta64[ns]");
      break;
    case ColumnType::kDouble:
      values = NumpyFrom(std::move(c.doubles), "float64");
      break;
    case ColumnType::kString:
      values = StringsFrom(c);
      // The bytes are in Python strs now: free them before the next column.
      std::string().swap(c.chars);
      std::vector<int64_t>().swap(c.offsets);
      break;
  }
  // Last: StringsFrom reads c.valid.
  py::object valid = py::none();
  if (c.nulls > 0) valid = NumpyFrom(std::move(c.valid), "bool");
  return py::make_tuple(values, valid);
}

py::list RowsToList(const std::vector<Row>& rows) {
  py::list out(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i),
                    RowToTuple(rows[i]).release().ptr());
  }
  return out;
}

py::dict WriteResultToDict(const WriteResult& result) {
  py::dict d;
  d["written"] = result.written;
  d["duplicates"] = result.duplicates;
  d["new_revisions"] = result.new_revisions;
  py::list ids;
  for (const EventId& id : result.ids) ids.append(id.ToString());
  d["ids"] = ids;
  return d;
}

py::dict RecorderStatsToDict(const RecorderStats& s) {
  py::dict d;
  d["recorded"] = s.recorded;
  d["stored"] = s.stored;
  d["sampled_out"] = s.sampled_out;
  d["pending"] = s.pending;
  d["dropped"] = s.dropped;
  d["dropped_newest"] = s.dropped_newest;
  d["dropped_oldest"] = s.dropped_oldest;
  d["dropped_timeout"] = s.dropped_timeout;
  d["dropped_invalid"] = s.dropped_invalid;
  d["dropped_write_failed"] = s.dropped_write_failed;
  d["dropped_closed"] = s.dropped_closed;
  d["truncated"] = s.truncated;
  d["masked_values"] = s.masked_values;
  d["batches"] = s.batches;
  d["sample_rate"] = s.sample_rate;
  return d;
}

py::dict StoreStatsToDict(const StoreStats& s) {
  py::dict d;
  d["format_version"] = s.format_version;
  d["events"] = s.events;
  d["entities"] = s.entities;
  d["revisions"] = s.revisions;
  d["current_revision"] = s.current_revision;
  d["first_event_ns"] = s.first_event_ns;
  d["last_event_ns"] = s.last_event_ns;
  d["services"] = py::cast(s.services);
  d["map_size_bytes"] = s.map_size_bytes;
  d["live_bytes"] = s.live_bytes;
  d["file_bytes"] = s.file_bytes;
  return d;
}

// --- the record calls
// ---------------------------------------------------------

// Makes the Python-side current span (a contextvar, so it follows asyncio
// tasks too) the thread's current context for one record call.
class CallContext {
 public:
  explicit CallContext(const py::object& context)
      : scope_(ContextOrNone(context)) {}

 private:
  ContextScope scope_;
};

void BindStore(py::module_& m) {
  py::class_<PyStore>(m, "Store")
      .def(py::init([](const std::string& path, bool create_if_missing,
                       bool read_only, const std::string& sync,
                       uint64_t initial_map_size, uint64_t max_map_size,
                       bool allow_map_growth) {
             StoreOptions options;
             options.create_if_missing = create_if_missing;
             options.read_only = read_only;
             options.sync = SyncFrom(sync);
             options.initial_map_size = initial_map_size;
             options.max_map_size = max_map_size;
             options.allow_map_growth = allow_map_growth;
             return std::make_unique<PyStore>(path, options);
           }),
           py::arg("path"), py::kw_only(), py::arg("create_if_missing") = true,
           py::arg("read_only") = false, py::arg("sync") = "durable",
           py::arg("initial_map_size") = uint64_t{1} << 30,
           py::arg("max_map_size") = uint64_t{1} << 40,
           py::arg("allow_map_growth") = true)
      .def_property_readonly("path", &PyStore::path)
      .def_property_readonly("read_only", &PyStore::read_only)
      .def_property_readonly("closed", &PyStore::closed)
      .def(
          "configure_recorder",
          [](PyStore& self, const py::dict& service, const std::string& source,
             size_t ring_capacity, size_t max_thread_rings,
             const std::string& backpressure, int64_t block_timeout_ns,
             int64_t flush_interval_ns, size_t max_batch, bool sampling,
             bool pii, const std::string& pii_key,
             const std::vector<std::pair<std::string, std::string>>&
                 pii_patterns,
             const std::optional<std::vector<std::string>>& pii_rules) {
            RecorderOptions o;
            auto text = [&](const char* key) -> std::string {
              if (!service.contains(key) || service[key].is_none()) return {};
              return std::string(Utf8(service[key], key));
            };
            o.service.name = text("name");
            o.service.instance = text("instance");
            o.service.host = text("host");
            o.service.version = text("version");
            o.service.namespace_ = text("namespace");
            o.service.environment = text("environment");
            o.source = source;
            o.ring_capacity = ring_capacity;
            o.max_thread_rings = max_thread_rings;
            o.backpressure = BackpressureFrom(backpressure);
            o.block_timeout = absl::Nanoseconds(block_timeout_ns);
            o.flush_interval = absl::Nanoseconds(flush_interval_ns);
            o.max_batch = max_batch;
            o.sampling.enabled = sampling;
            o.pii.enabled = pii;
            o.pii.key = pii_key;
            for (const auto& [name, regex] : pii_patterns) {
              o.pii.patterns.push_back(PiiPattern{name, regex});
            }
            if (pii_rules) o.pii.attribute_rules = *pii_rules;
            self.ConfigureRecorder(std::move(o));
          },
          py::kw_only(), py::arg("service"), py::arg("source"),
          py::arg("ring_capacity"), py::arg("max_thread_rings"),
          py::arg("backpressure"), py::arg("block_timeout_ns"),
          py::arg("flush_interval_ns"), py::arg("max_batch"),
          py::arg("sampling"), py::arg("pii"), py::arg("pii_key"),
          py::arg("pii_patterns"), py::arg("pii_attribute_rules"))
      .def("close",
           [](PyStore& self) {
             absl::Status status;
             {
               py::gil_scoped_release release;
               status = self.Close();
             }
             CheckStatus(Operation::kRecord, status);
           })
      .def(
          "write",
          [](PyStore& self, const py::handle& events, bool mask) {
            std::vector<Event> batch;
            size_t index = 0;
            for (py::handle item : events) {
              batch.push_back(EventFromDict(item, index++));
            }
            std::shared_ptr<Store> store = self.store();
            if (mask) {
              const PiiMasker& masker = self.masker();
              for (Event& e : batch) masker.MaskEvent(&e);
            }
            absl::StatusOr<WriteResult> result;
            {
              py::gil_scoped_release release;
              result = store->Write(batch);
            }
            CheckStatus(Operation::kWrite, result.status());
            return WriteResultToDict(*result);
          },
          py::arg("events"), py::kw_only(), py::arg("mask") = true)
      .def(
          "query",
          [](PyStore& self, const std::string& text, const py::dict& params,
             uint64_t max_rows, uint64_t max_events_examined,
             int64_t timeout_ns, std::optional<int64_t> now_ns) {
            QueryOptions options;
            options.max_rows = max_rows;
            options.max_events_examined = max_events_examined;
            options.timeout_ns = timeout_ns;
            for (auto [key, value] : params) {
              options.parameters[std::string(Utf8(key, "parameter name"))] =
                  std::string(Utf8(value, "parameter value"));
            }
            ManualClock clock(now_ns ? static_cast<uint64_t>(*now_ns) : 0);
            if (now_ns) options.clock = &clock;
            std::shared_ptr<Store> store = self.store();
            absl::StatusOr<Result> result;
            {
              py::gil_scoped_release release;
              result = Query(*store, text, options);
            }
            CheckStatus(Operation::kQuery, result.status());
            return std::make_shared<PyResult>(std::move(store),
                                              std::move(*result));
          },
          py::arg("text"), py::kw_only(), py::arg("params"),
          py::arg("max_rows"), py::arg("max_events_examined"),
          py::arg("timeout_ns"), py::arg("now_ns"))
      .def("stats",
           [](PyStore& self) {
             std::shared_ptr<Store> store = self.store();
             absl::StatusOr<StoreStats> stats;
             {
               py::gil_scoped_release release;
               stats = store->Stats();
             }
             CheckStatus(Operation::kRead, stats.status());
             return StoreStatsToDict(*stats);
           })
      .def(
          "event",
          [](PyStore& self, const std::string& id) -> py::object {
            std::optional<EventId> parsed = EventId::Parse(id);
            if (!parsed) {
              throw py::value_error("not an event id (32 hex digits): '" + id +
                                    "'");
            }
            std::shared_ptr<Store> store = self.store();
            absl::StatusOr<Event> event;
            {
              py::gil_scoped_release release;
              event = store->GetEvent(*parsed);
            }
            if (absl::IsNotFound(event.status())) return py::none();
            CheckStatus(Operation::kRead, event.status());
            return EventToDict(*event);
          },
          py::arg("id"))
      .def(
          "trace_events",
          [](PyStore& self, const std::string& trace_id) {
            std::optional<TraceId> parsed = ParseTraceId(trace_id);
            if (!parsed) {
              throw py::value_error("not a trace id (32 hex digits): '" +
                                    trace_id + "'");
            }
            std::shared_ptr<Store> store = self.store();
            absl::StatusOr<std::vector<Event>> events;
            {
              py::gil_scoped_release release;
              events = store->GetTrace(*parsed);
            }
            CheckStatus(Operation::kRead, events.status());
            py::list out;
            for (const Event& e : *events) out.append(EventToDict(e));
            return out;
          },
          py::arg("trace_id"))
      // --- recording
      // -----------------------------------------------------------
      .def_property_readonly("has_recorder", &PyStore::has_recorder)
      .def(
          "start_span",
          [](PyStore& self, const std::string& name, const py::handle& kind,
             const py::object& parent) {
            std::shared_ptr<RecorderBox> box = self.recorder();
            Span span = box->recorder->StartSpan(name, ContextOrNone(parent),
                                                 SpanKindFrom(kind),
                                                 /*make_current=*/false);
            return std::make_unique<PySpan>(std::move(box), std::move(span));
          },
          py::arg("name"), py::arg("kind"), py::arg("parent"))
      .def(
          "log",
          [](PyStore& self, const py::handle& severity, const py::handle& body,
             const py::handle& attributes, const py::object& context) {
            std::shared_ptr<RecorderBox> box = self.recorder();
            AttrList attrs(attributes);
            CallContext scope(context);
            box->recorder->Log(SeverityFrom(severity), Utf8(body, "message"),
                               attrs.attrs());
          },
          py::arg("severity"), py::arg("body"), py::arg("attributes"),
          py::arg("context"))
      .def(
          "error",
          [](PyStore& self, const py::handle& type, const py::handle& message,
             const py::handle& stacktrace, bool handled, bool escaped,
             const py::handle& attributes, const py::object& context) {
            std::shared_ptr<RecorderBox> box = self.recorder();
            AttrList attrs(attributes);
            ErrorInfo info;
            info.type = Utf8(type, "type");
            info.message = Utf8(message, "message");
            info.stacktrace = Utf8(stacktrace, "stacktrace");
            info.handled = handled;
            info.escaped = escaped;
            CallContext scope(context);
            box->recorder->Error(info, attrs.attrs());
          },
          py::arg("type"), py::arg("message"), py::arg("stacktrace"),
          py::arg("handled"), py::arg("escaped"), py::arg("attributes"),
          py::arg("context"))
      .def(
          "metric",
          [](PyStore& self, const std::string& kind, const py::handle& name,
             double value, const py::handle& attributes, const py::handle& unit,
             const py::object& context) {
            std::shared_ptr<RecorderBox> box = self.recorder();
            AttrList attrs(attributes);
            absl::string_view n = Utf8(name, "name");
            absl::string_view u = Utf8(unit, "unit");
            CallContext scope(context);
            Recorder& r = *box->recorder;
            if (kind == "gauge") {
              r.Gauge(n, value, attrs.attrs(), u);
            } else if (kind == "counter") {
              r.Counter(n, value, attrs.attrs(), u);
            } else if (kind == "histogram") {
              r.Histogram(n, value, attrs.attrs(), u);
            } else {
              throw py::value_error("metric kind: '" + kind +
                                    "' is not one of gauge, counter, "
                                    "histogram");
            }
          },
          py::arg("kind"), py::arg("name"), py::arg("value"),
          py::arg("attributes"), py::arg("unit"), py::arg("context"))
      .def(
          "entity_state",
          [](PyStore& self, const py::handle& entity,
             const py::handle& entity_type, const py::handle& fields,
             bool deleted) {
            std::shared_ptr<RecorderBox> box = self.recorder();
            std::vector<FieldView> views = FieldList(fields);
            box->recorder->EntityState(Utf8(entity, "entity"),
                                       Utf8(entity_type, "entity_type"), views,
                                       deleted);
          },
          py::arg("entity"), py::arg("entity_type"), py::arg("fields"),
          py::arg("deleted"))
      .def(
          "custom",
          [](PyStore& self, const py::handle& name, const py::handle& severity,
             const py::handle& attributes, const py::object& context) {
            std::shared_ptr<RecorderBox> box = self.recorder();
            AttrList attrs(attributes);
            CallContext scope(context);
            box->recorder->Custom(Utf8(name, "name"), attrs.attrs(),
                                  SeverityFrom(severity));
          },
          py::arg("name"), py::arg("severity"), py::arg("attributes"),
          py::arg("context"))
      .def("flush",
           [](PyStore& self) {
             if (!self.has_recorder()) {
               self.store();  // raises once closed
               return;
             }
             std::shared_ptr<RecorderBox> box = self.recorder();
             absl::Status status;
             {
               py::gil_scoped_release release;
               status = box->recorder->Flush();
             }
             CheckStatus(Operation::kRecord, status);
           })
      .def("recorder_stats", [](PyStore& self) -> py::object {
        if (!self.has_recorder()) return py::none();
        return RecorderStatsToDict(self.recorder()->recorder->stats());
      });
}

void BindSpan(py::module_& m) {
  py::class_<SpanContext>(m, "SpanContext")
      .def(py::init([](const std::string& trace_id, const std::string& span_id,
                       int trace_flags) {
             SpanContext c;
             std::optional<TraceId> t = ParseTraceId(trace_id);
             std::optional<SpanId> s = ParseSpanId(span_id);
             if (!t || !s) {
               throw py::value_error(
                   "a trace id is 32 and a span id 16 lowercase hex digits");
             }
             if (trace_flags < 0 || trace_flags > 255) {
               throw py::value_error("trace_flags: 0 to 255");
             }
             c.trace_id = *t;
             c.span_id = *s;
             c.trace_flags = static_cast<uint8_t>(trace_flags);
             return c;
           }),
           py::arg("trace_id"), py::arg("span_id"), py::arg("trace_flags") = 1)
      .def_static(
          "from_traceparent",
          [](const std::string& header) -> std::optional<SpanContext> {
            return ParseTraceparent(header);
          },
          py::arg("header"))
      .def_property_readonly(
          "trace_id", [](const SpanContext& c) { return ToHex(c.trace_id); })
      .def_property_readonly(
          "span_id", [](const SpanContext& c) { return ToHex(c.span_id); })
      .def_property_readonly("trace_flags",
                             [](const SpanContext& c) { return c.trace_flags; })
      .def_property_readonly("valid", &SpanContext::valid)
      .def_property_readonly("sampled", &SpanContext::sampled)
      .def_property_readonly(
          "traceparent",
          [](const SpanContext& c) { return FormatTraceparent(c); })
      .def("__eq__",
           [](const SpanContext& a, const SpanContext& b) { return a == b; })
      .def("__hash__",
           [](const SpanContext& c) {
             return py::hash(py::str(FormatTraceparent(c)));
           })
      .def("__repr__", [](const SpanContext& c) {
        return "SpanContext('" + FormatTraceparent(c) + "')";
      });

  py::class_<PySpan>(m, "Span")
      .def_property_readonly("context", &PySpan::context)
      .def_property_readonly("recording",
                             [](PySpan& s) { return s.span().recording(); })
      .def(
          "set_attributes",
          [](PySpan& s, const py::handle& attributes) {
            AttrList attrs(attributes);
            for (const Attr& a : attrs.attrs()) {
              s.span().SetAttribute(a.key, a.value);
            }
          },
          py::arg("attributes"))
      .def(
          "set_status",
          [](PySpan& s, const py::handle& status, const py::handle& message) {
            s.span().SetStatus(SpanStatusFrom(status),
                               Utf8(message, "message"));
          },
          py::arg("status"), py::arg("message"))
      .def(
          "set_kind",
          [](PySpan& s, const py::handle& kind) {
            s.span().SetKind(SpanKindFrom(kind));
          },
          py::arg("kind"))
      .def(
          "set_http",
          [](PySpan& s, const py::handle& method, const py::handle& route,
             int32_t status_code) {
            s.span().SetHttp(Utf8(method, "method"), Utf8(route, "route"),
                             status_code);
          },
          py::arg("method"), py::arg("route"), py::arg("status_code"))
      .def(
          "set_http_status",
          [](PySpan& s, int32_t code) { s.span().SetHttpStatus(code); },
          py::arg("status_code"))
      .def(
          "set_http_url",
          [](PySpan& s, const py::handle& url) {
            s.span().SetHttpUrl(Utf8(url, "url"));
          },
          py::arg("url"))
      .def(
          "set_db",
          [](PySpan& s, const py::handle& system, const py::handle& operation,
             const py::handle& statement) {
            s.span().SetDb(Utf8(system, "system"), Utf8(operation, "operation"),
                           Utf8(statement, "statement"));
          },
          py::arg("system"), py::arg("operation"), py::arg("statement"))
      .def(
          "set_peer_service",
          [](PySpan& s, const py::handle& peer) {
            s.span().SetPeerService(Utf8(peer, "peer_service"));
          },
          py::arg("peer_service"))
      .def("end", [](PySpan& s) { s.span().End(); });
}

void BindResult(py::module_& m) {
  py::class_<PyResult, std::shared_ptr<PyResult>>(m, "Result")
      .def_property_readonly("kind", &PyResult::kind)
      .def_property_readonly(
          "columns",
          [](PyResult& r) {
            py::list out;
            for (const Column& c : r.columns()) {
              out.append(py::make_tuple(c.name, TypeName(c.type)));
            }
            return out;
          })
      .def_property_readonly("exhausted",
                             [](PyResult& r) {
                               py::gil_scoped_release release;
                               return r.exhausted();
                             })
      .def(
          "fetch_rows",
          [](PyResult& r, size_t max_rows) {
            std::vector<Row> rows;
            absl::Status status;
            {
              py::gil_scoped_release release;
              status = r.ReadRows(max_rows, &rows);
              // Every row or an error: no partial answer for "all rows".
              if (max_rows == 0 && status.ok()) status = r.final_status();
            }
            CheckStatus(Operation::kQuery, status);
            return RowsToList(rows);
          },
          py::arg("max_rows"))
      .def(
          "peek",
          [](PyResult& r, size_t n) {
            std::vector<Row> rows;
            absl::Status status;
            {
              py::gil_scoped_release release;
              status = r.Peek(n, &rows);
            }
            CheckStatus(Operation::kQuery, status);
            return RowsToList(rows);
          },
          py::arg("n"))
      .def(
          "fetch_columns",
          [](PyResult& r, size_t max_rows) {
            std::vector<ColumnData> columns;
            size_t rows = 0;
            absl::Status status;
            {
              py::gil_scoped_release release;
              status = r.ReadColumns(max_rows, 0, &columns, &rows);
            }
            // Every row or an error: a partial table is never returned
            // for "all rows".
            if (max_rows == 0 && status.ok()) status = r.final_status();
            if (rows == 0 && status.ok()) {
              columns.clear();
              for (const Column& c : r.columns()) columns.emplace_back(c.type);
            }
            CheckStatus(Operation::kQuery, status);
            py::list out;
            for (ColumnData& c : columns)
              out.append(ColumnToPython(std::move(c)));
            return py::make_tuple(rows, out);
          },
          py::arg("max_rows"))
      .def("structured_json",
           [](PyResult& r) {
             absl::StatusOr<std::string> json;
             {
               py::gil_scoped_release release;
               json = r.Structured();
             }
             CheckStatus(Operation::kQuery, json.status());
             return *json;
           })
      .def("stats",
           [](PyResult& r) {
             QueryStats stats;
             {
               py::gil_scoped_release release;
               stats = r.stats();
             }
             return StatsToDict(stats);
           })
      .def(
          "arrow_stream",
          [](std::shared_ptr<PyResult> r, size_t batch_rows) {
            return ExportArrowStream(std::move(r), batch_rows);
          },
          py::arg("batch_rows"));
}

}  // namespace
}  // namespace traversion::python

PYBIND11_MODULE(_core, m) {
  using namespace traversion::python;  // NOLINT(build/namespaces)
  m.doc() = "libtraversion for Python: the compiled core of `traversion`.";
  InitConvert();
  py::register_exception_translator(&TranslateStatusError);
  BindStore(m);
  BindSpan(m);
  BindResult(m);
  m.def(
      "format_query",
      [](const std::string& text) {
        absl::StatusOr<std::string> formatted = traversion::FormatQuery(text);
        CheckStatus(Operation::kQuery, formatted.status());
        return *formatted;
      },
      py::arg("text"));
}
