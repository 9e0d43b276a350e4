#include "convert.h"

// datetime.h declares a static PyDateTimeAPI per translation unit: every use
// of the datetime C API stays in this file.
#include <datetime.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace traversion::python {
namespace {

const char* StatusCodeText(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return "OK";
    case absl::StatusCode::kCancelled:
      return "CANCELLED";
    case absl::StatusCode::kUnknown:
      return "UNKNOWN";
    case absl::StatusCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case absl::StatusCode::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case absl::StatusCode::kNotFound:
      return "NOT_FOUND";
    case absl::StatusCode::kAlreadyExists:
      return "ALREADY_EXISTS";
    case absl::StatusCode::kPermissionDenied:
      return "PERMISSION_DENIED";
    case absl::StatusCode::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case absl::StatusCode::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case absl::StatusCode::kAborted:
      return "ABORTED";
    case absl::StatusCode::kOutOfRange:
      return "OUT_OF_RANGE";
    case absl::StatusCode::kUnimplemented:
      return "UNIMPLEMENTED";
    case absl::StatusCode::kInternal:
      return "INTERNAL";
    case absl::StatusCode::kUnavailable:
      return "UNAVAILABLE";
    case absl::StatusCode::kDataLoss:
      return "DATA_LOSS";
    case absl::StatusCode::kUnauthenticated:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

// --- reading dicts
// ------------------------------------------------------------

// Reads the keys of one dict, naming the event and the key in errors, and
// refusing keys it was not asked about (a misspelt key is an error, not a
// silently empty field).
class DictReader {
 public:
  DictReader(py::handle object, std::string where) : where_(std::move(where)) {
    if (!PyDict_Check(object.ptr())) {
      throw py::type_error(absl::StrCat(where_, ": expected a dict, got ",
                                        Py_TYPE(object.ptr())->tp_name));
    }
    dict_ = py::reinterpret_borrow<py::dict>(object);
  }

  // The value of `key`, or nullopt if absent or None.
  std::optional<py::handle> Get(const char* key) {
    used_.push_back(key);
    PyObject* value = PyDict_GetItemString(dict_.ptr(), key);  // borrowed
    if (value == nullptr || value == Py_None) return std::nullopt;
    return py::handle(value);
  }

  std::string Str(const char* key) {
    std::optional<py::handle> v = Get(key);
    if (!v) return {};
    return std::string(Utf8(*v, Where(key).c_str()));
  }
  int64_t Int(const char* key, int64_t fallback = 0) {
    std::optional<py::handle> v = Get(key);
    if (!v) return fallback;
    if (!PyLong_Check(v->ptr()) || PyBool_Check(v->ptr())) {
      throw py::type_error(absl::StrCat(Where(key), ": expected an int, got ",
                                        Py_TYPE(v->ptr())->tp_name));
    }
    int overflow = 0;
    long long n = PyLong_AsLongLongAndOverflow(v->ptr(), &overflow);
    if (overflow != 0) {
      throw py::value_error(absl::StrCat(Where(key), ": out of range"));
    }
    return static_cast<int64_t>(n);
  }
  uint64_t Uint(const char* key) {
    int64_t n = Int(key);
    if (n < 0) {
      throw py::value_error(absl::StrCat(Where(key), ": must not be negative"));
    }
    return static_cast<uint64_t>(n);
  }
  int32_t Int32(const char* key) {
    int64_t n = Int(key);
    if (n < std::numeric_limits<int32_t>::min() ||
        n > std::numeric_limits<int32_t>::max()) {
      throw py::value_error(absl::StrCat(Where(key), ": out of range"));
    }
    return static_cast<int32_t>(n);
  }
  double Double(const char* key) {
    std::optional<py::handle> v = Get(key);
    if (!v) return 0;
    if (!PyFloat_Check(v->ptr()) &&
        (!PyLong_Check(v->ptr()) || PyBool_Check(v->ptr()))) {
      throw py::type_error(absl::StrCat(Where(key), ": expected a number, got ",
                                        Py_TYPE(v->ptr())->tp_name));
    }
    return PyFloat_AsDouble(v->ptr());
  }
  bool Bool(const char* key) {
    std::optional<py::handle> v = Get(key);
    if (!v) return false;
    if (!PyBool_Check(v->ptr())) {
      throw py::type_error(absl::StrCat(Where(key), ": expected a bool, got ",
                                        Py_TYPE(v->ptr())->tp_name));
    }
    return v->ptr() == Py_True;
  }

  std::string Where(const char* key) const {
    return absl::StrCat(where_, ": '", key, "'");
  }
  const std::string& where() const { return where_; }

  // ValueError for any key not read.
  void CheckNoOtherKeys() const {
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    Py_ssize_t pos = 0;
    while (PyDict_Next(dict_.ptr(), &pos, &key, &value)) {
      absl::string_view name = Utf8(key, where_.c_str());
      bool known = false;
      for (const char* used : used_) {
        if (name == used) {
          known = true;
          break;
        }
      }
      if (!known) {
        throw py::value_error(
            absl::StrCat(where_, ": unknown key '", name, "'"));
      }
    }
  }

 private:
  py::dict dict_;
  std::string where_;
  std::vector<const char*> used_;
};

template <size_t N>
std::array<uint8_t, N> HexId(const std::string& hex, const std::string& where) {
  std::array<uint8_t, N> out{};
  if (hex.size() != 2 * N) {
    throw py::value_error(absl::StrCat(where, ": expected ", 2 * N,
                                       " hex digits, got '", hex, "'"));
  }
  for (size_t i = 0; i < N; ++i) {
    auto nibble = [&](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      throw py::value_error(
          absl::StrCat(where, ": not a hex digit in '", hex, "'"));
    };
    out[i] =
        static_cast<uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return out;
}

AttributeValue AttributeFrom(py::handle value, const std::string& where) {
  PyObject* v = value.ptr();
  if (PyBool_Check(v)) return v == Py_True;
  if (PyLong_Check(v)) {
    int overflow = 0;
    long long n = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow != 0) {
      throw py::value_error(absl::StrCat(where, ": integer out of range"));
    }
    return static_cast<int64_t>(n);
  }
  if (PyFloat_Check(v)) return PyFloat_AsDouble(v);
  if (PyUnicode_Check(v)) return std::string(Utf8(value, where.c_str()));
  if (PyBytes_Check(v)) {
    const auto* data = reinterpret_cast<const uint8_t*>(PyBytes_AS_STRING(v));
    return std::vector<uint8_t>(data, data + PyBytes_GET_SIZE(v));
  }
  throw py::type_error(absl::StrCat(where,
                                    ": attribute values are str, int, float, "
                                    "bool or bytes, not ",
                                    Py_TYPE(v)->tp_name));
}

std::vector<Attribute> AttributesFrom(py::handle mapping,
                                      const std::string& where) {
  std::vector<Attribute> out;
  if (!PyDict_Check(mapping.ptr())) {
    throw py::type_error(absl::StrCat(where, ": expected a dict"));
  }
  PyObject* key = nullptr;
  PyObject* value = nullptr;
  Py_ssize_t pos = 0;
  while (PyDict_Next(mapping.ptr(), &pos, &key, &value)) {
    std::string name(Utf8(key, where.c_str()));
    std::string here = absl::StrCat(where, "['", name, "']");
    out.push_back(Attribute{std::move(name), AttributeFrom(value, here)});
  }
  return out;
}

py::object AttributeToPython(const AttributeValue& value) {
  struct Visitor {
    py::object operator()(const std::string& s) const { return py::str(s); }
    py::object operator()(int64_t i) const { return py::int_(i); }
    py::object operator()(double d) const { return py::float_(d); }
    py::object operator()(bool b) const { return py::bool_(b); }
    py::object operator()(const std::vector<uint8_t>& b) const {
      return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
    }
  };
  return std::visit(Visitor{}, value);
}

std::vector<std::string> StringList(py::handle list, const std::string& where) {
  std::vector<std::string> out;
  if (!PyList_Check(list.ptr()) && !PyTuple_Check(list.ptr())) {
    throw py::type_error(absl::StrCat(where, ": expected a list of str"));
  }
  for (py::handle item : list) out.emplace_back(Utf8(item, where.c_str()));
  return out;
}

constexpr std::pair<const char*, SpanKind> kSpanKinds[] = {
    {"unspecified", SpanKind::kUnspecified}, {"internal", SpanKind::kInternal},
    {"server", SpanKind::kServer},           {"client", SpanKind::kClient},
    {"producer", SpanKind::kProducer},       {"consumer", SpanKind::kConsumer}};
constexpr std::pair<const char*, SpanStatus> kSpanStatuses[] = {
    {"unset", SpanStatus::kUnset},
    {"ok", SpanStatus::kOk},
    {"error", SpanStatus::kError}};
constexpr std::pair<const char*, MetricKind> kMetricKinds[] = {
    {"unspecified", MetricKind::kUnspecified},
    {"gauge", MetricKind::kGauge},
    {"counter", MetricKind::kCounter},
    {"histogram", MetricKind::kHistogram}};

template <typename T, size_t N>
T NamedFrom(py::handle value, const std::pair<const char*, T> (&names)[N],
            const char* what) {
  absl::string_view text = Utf8(value, what);
  for (const auto& [name, v] : names) {
    if (text == name) return v;
  }
  std::string allowed;
  for (const auto& [name, v] : names) {
    absl::StrAppend(&allowed, allowed.empty() ? "" : ", ", name);
  }
  throw py::value_error(absl::StrCat(what, ": unknown value '", text,
                                     "' (one of: ", allowed, ")"));
}

template <typename T, size_t N>
const char* NameOf(T value, const std::pair<const char*, T> (&names)[N]) {
  for (const auto& [name, v] : names) {
    if (v == value) return name;
  }
  return names[0].first;
}

py::object OptionalId(bool present, const std::string& hex) {
  if (!present) return py::none();
  return py::str(hex);
}

bool AllZero(const uint8_t* bytes, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

}  // namespace

StatusError::StatusError(Operation operation, absl::Status status)
    : operation_(operation), status_(std::move(status)) {
  text_ = absl::StrCat(StatusCodeText(status_.code()), ": ", status_.message());
}

void CheckStatus(Operation operation, const absl::Status& status) {
  if (!status.ok()) throw StatusError(operation, status);
}

const char* StatusCodeName(absl::StatusCode code) {
  return StatusCodeText(code);
}

absl::string_view Utf8(py::handle object, const char* what) {
  if (!PyUnicode_Check(object.ptr())) {
    throw py::type_error(absl::StrCat(what, ": expected a str, got ",
                                      Py_TYPE(object.ptr())->tp_name));
  }
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(object.ptr(), &size);
  if (data == nullptr) throw py::error_already_set();  // lone surrogates
  return absl::string_view(data, static_cast<size_t>(size));
}

AttrList::AttrList(py::handle mapping) {
  if (mapping.is_none()) return;
  if (!PyDict_Check(mapping.ptr())) {
    throw py::type_error(absl::StrCat("attributes: expected a dict, got ",
                                      Py_TYPE(mapping.ptr())->tp_name));
  }
  items_.reserve(static_cast<size_t>(PyDict_Size(mapping.ptr())));
  PyObject* key = nullptr;
  PyObject* value = nullptr;
  Py_ssize_t pos = 0;
  while (PyDict_Next(mapping.ptr(), &pos, &key, &value)) {
    absl::string_view name = Utf8(key, "attribute name");
    if (PyBool_Check(value)) {
      items_.push_back(Attr{name, AttrValue(value == Py_True)});
    } else if (PyLong_Check(value)) {
      int overflow = 0;
      long long n = PyLong_AsLongLongAndOverflow(value, &overflow);
      if (overflow != 0) {
        throw py::value_error(
            absl::StrCat("attribute '", name, "': integer out of range"));
      }
      items_.push_back(Attr{name, AttrValue(static_cast<int64_t>(n))});
    } else if (PyFloat_Check(value)) {
      items_.push_back(Attr{name, AttrValue(PyFloat_AS_DOUBLE(value))});
    } else if (PyUnicode_Check(value)) {
      items_.push_back(Attr{name, AttrValue(Utf8(value, "attribute value"))});
    } else {
      throw py::type_error(absl::StrCat(
          "attribute '", name, "': values are str, int, float or bool, not ",
          Py_TYPE(value)->tp_name));
    }
  }
}

std::vector<FieldView> FieldList(py::handle mapping) {
  std::vector<FieldView> out;
  if (!PyDict_Check(mapping.ptr())) {
    throw py::type_error("fields: expected a dict of str to str");
  }
  out.reserve(static_cast<size_t>(PyDict_Size(mapping.ptr())));
  PyObject* key = nullptr;
  PyObject* value = nullptr;
  Py_ssize_t pos = 0;
  while (PyDict_Next(mapping.ptr(), &pos, &key, &value)) {
    out.push_back(
        FieldView{Utf8(key, "field name"), Utf8(value, "field value")});
  }
  return out;
}

Severity SeverityFrom(py::handle value) {
  if (PyLong_Check(value.ptr()) && !PyBool_Check(value.ptr())) {
    long n = PyLong_AsLong(value.ptr());
    if (n < 0 || n > 24) {
      throw py::value_error(absl::StrCat(
          "severity: ", n, " is not an OpenTelemetry severity number (0-24)"));
    }
    // Map any number of a range to the range's first number (the enum).
    if (n == 0) return Severity::kUnspecified;
    static constexpr Severity kRanges[] = {Severity::kTrace, Severity::kDebug,
                                           Severity::kInfo,  Severity::kWarn,
                                           Severity::kError, Severity::kFatal};
    return kRanges[(n - 1) / 4];
  }
  absl::string_view text = Utf8(value, "severity");
  std::optional<Severity> parsed = ParseSeverity(text);
  if (!parsed) {
    throw py::value_error(
        absl::StrCat("severity: unknown value '", text,
                     "' (trace, debug, info, warn, error or fatal)"));
  }
  return *parsed;
}

SpanKind SpanKindFrom(py::handle value) {
  return NamedFrom(value, kSpanKinds, "span kind");
}

SpanStatus SpanStatusFrom(py::handle value) {
  return NamedFrom(value, kSpanStatuses, "span status");
}

namespace {
Event EventFromDictUnprefixed(py::handle object, size_t index);
}  // namespace

Event EventFromDict(py::handle object, size_t index) {
  // Errors of the helpers shared with the record calls (severity, kinds)
  // do not name the event: add it.
  std::string prefix = absl::StrCat("event ", index);
  auto named = [&](const char* what) {
    return absl::StartsWith(what, prefix) ? std::string(what)
                                          : absl::StrCat(prefix, ": ", what);
  };
  try {
    return EventFromDictUnprefixed(object, index);
  } catch (const py::type_error& e) {
    throw py::type_error(named(e.what()));
  } catch (const py::value_error& e) {
    throw py::value_error(named(e.what()));
  }
}

namespace {
Event EventFromDictUnprefixed(py::handle object, size_t index) {
  DictReader r(object, absl::StrCat("event ", index));
  Event e;
  if (std::optional<py::handle> id = r.Get("id")) {
    absl::string_view text = Utf8(*id, r.Where("id").c_str());
    std::optional<EventId> parsed = EventId::Parse(text);
    if (!parsed) {
      throw py::value_error(
          absl::StrCat(r.Where("id"), ": not an event id: '", text, "'"));
    }
    e.id = *parsed;
  }
  e.time_ns = r.Uint("time_ns");
  if (std::optional<py::handle> type = r.Get("type")) {
    absl::string_view text = Utf8(*type, r.Where("type").c_str());
    std::optional<EventType> parsed = ParseEventType(text);
    if (!parsed) {
      throw py::value_error(
          absl::StrCat(r.Where("type"), ": unknown event type '", text, "'"));
    }
    e.type = *parsed;
  }
  e.source = r.Str("source");
  if (std::optional<py::handle> service = r.Get("service")) {
    if (PyUnicode_Check(service->ptr())) {
      e.service.name = std::string(Utf8(*service, "service"));
    } else {
      DictReader s(*service, r.Where("service"));
      e.service.name = s.Str("name");
      e.service.instance = s.Str("instance");
      e.service.host = s.Str("host");
      e.service.version = s.Str("version");
      e.service.namespace_ = s.Str("namespace");
      e.service.environment = s.Str("environment");
      s.CheckNoOtherKeys();
    }
  }
  if (std::optional<py::handle> v = r.Get("trace_id")) {
    e.trace.trace_id =
        HexId<16>(std::string(Utf8(*v, "trace_id")), r.Where("trace_id"));
  }
  if (std::optional<py::handle> v = r.Get("span_id")) {
    e.trace.span_id =
        HexId<8>(std::string(Utf8(*v, "span_id")), r.Where("span_id"));
  }
  if (std::optional<py::handle> v = r.Get("parent_span_id")) {
    e.trace.parent_span_id = HexId<8>(std::string(Utf8(*v, "parent_span_id")),
                                      r.Where("parent_span_id"));
  }
  int64_t flags = r.Int("trace_flags");
  if (flags < 0 || flags > 255) {
    throw py::value_error(absl::StrCat(r.Where("trace_flags"), ": 0 to 255"));
  }
  e.trace.trace_flags = static_cast<uint8_t>(flags);
  if (std::optional<py::handle> v = r.Get("severity")) {
    e.severity = SeverityFrom(*v);
  }
  e.name = r.Str("name");
  if (std::optional<py::handle> v = r.Get("attributes")) {
    e.attributes = AttributesFrom(*v, r.Where("attributes"));
  }
  if (std::optional<py::handle> v = r.Get("entity_refs")) {
    e.entity_refs = StringList(*v, r.Where("entity_refs"));
  }
  e.sample_rate = r.Double("sample_rate");

  int payloads = 0;
  if (std::optional<py::handle> v = r.Get("span")) {
    ++payloads;
    DictReader p(*v, r.Where("span"));
    SpanData span;
    if (std::optional<py::handle> kind = p.Get("kind")) {
      span.kind = SpanKindFrom(*kind);
    }
    span.duration_ns = p.Uint("duration_ns");
    if (std::optional<py::handle> status = p.Get("status")) {
      span.status = SpanStatusFrom(*status);
    }
    span.status_message = p.Str("status_message");
    span.peer_service = p.Str("peer_service");
    if (std::optional<py::handle> h = p.Get("http")) {
      DictReader hr(*h, p.Where("http"));
      HttpInfo http;
      http.method = hr.Str("method");
      http.route = hr.Str("route");
      http.url = hr.Str("url");
      http.status_code = hr.Int32("status_code");
      http.client_ip = hr.Str("client_ip");
      http.request_size = hr.Int("request_size");
      http.response_size = hr.Int("response_size");
      hr.CheckNoOtherKeys();
      span.http = std::move(http);
    }
    if (std::optional<py::handle> d = p.Get("db")) {
      DictReader dr(*d, p.Where("db"));
      DbInfo db;
      db.system = dr.Str("system");
      db.namespace_ = dr.Str("namespace");
      db.operation = dr.Str("operation");
      db.statement = dr.Str("statement");
      db.table = dr.Str("table");
      dr.CheckNoOtherKeys();
      span.db = std::move(db);
    }
    if (std::optional<py::handle> rp = p.Get("rpc")) {
      DictReader rr(*rp, p.Where("rpc"));
      RpcInfo rpc;
      rpc.system = rr.Str("system");
      rpc.service = rr.Str("service");
      rpc.method = rr.Str("method");
      rpc.grpc_status_code = rr.Int32("grpc_status_code");
      rr.CheckNoOtherKeys();
      span.rpc = std::move(rpc);
    }
    p.CheckNoOtherKeys();
    e.payload = std::move(span);
  }
  if (std::optional<py::handle> v = r.Get("log")) {
    ++payloads;
    DictReader p(*v, r.Where("log"));
    LogData log;
    log.body = p.Str("body");
    log.logger = p.Str("logger");
    log.code_file = p.Str("code_file");
    log.code_line = p.Int32("code_line");
    p.CheckNoOtherKeys();
    e.payload = std::move(log);
  }
  if (std::optional<py::handle> v = r.Get("error")) {
    ++payloads;
    DictReader p(*v, r.Where("error"));
    ErrorData error;
    error.exception_type = p.Str("type");
    error.message = p.Str("message");
    error.stacktrace = p.Str("stacktrace");
    error.handled = p.Bool("handled");
    error.escaped = p.Bool("escaped");
    p.CheckNoOtherKeys();
    e.payload = std::move(error);
  }
  if (std::optional<py::handle> v = r.Get("metric")) {
    ++payloads;
    DictReader p(*v, r.Where("metric"));
    MetricData metric;
    if (std::optional<py::handle> kind = p.Get("kind")) {
      metric.kind = NamedFrom(*kind, kMetricKinds, "metric kind");
    }
    metric.value = p.Double("value");
    metric.unit = p.Str("unit");
    if (std::optional<py::handle> b = p.Get("bucket_bounds")) {
      for (py::handle x : *b) metric.bucket_bounds.push_back(x.cast<double>());
    }
    if (std::optional<py::handle> c = p.Get("bucket_counts")) {
      for (py::handle x : *c) {
        metric.bucket_counts.push_back(x.cast<uint64_t>());
      }
    }
    metric.sum = p.Double("sum");
    metric.count = p.Uint("count");
    p.CheckNoOtherKeys();
    e.payload = std::move(metric);
  }
  if (std::optional<py::handle> v = r.Get("entity_state")) {
    ++payloads;
    DictReader p(*v, r.Where("entity_state"));
    EntityStateData state;
    state.entity = p.Str("entity");
    state.entity_type = p.Str("entity_type");
    if (std::optional<py::handle> fields = p.Get("fields")) {
      for (const FieldView& f : FieldList(*fields)) {
        state.fields.push_back(
            EntityField{std::string(f.name), std::string(f.value)});
      }
    }
    state.deleted = p.Bool("deleted");
    p.CheckNoOtherKeys();
    e.payload = std::move(state);
  }
  if (payloads > 1) {
    throw py::value_error(absl::StrCat(
        r.where(),
        ": at most one of 'span', 'log', 'error', 'metric', 'entity_state'"));
  }
  r.CheckNoOtherKeys();
  return e;
}
}  // namespace

py::dict EventToDict(const Event& e) {
  py::dict d;
  d["id"] = e.id.ToString();
  d["time_ns"] = e.time_ns;
  d["type"] = std::string(EventTypeName(e.effective_type()));
  d["source"] = e.source;
  py::dict service;
  service["name"] = e.service.name;
  service["instance"] = e.service.instance;
  service["host"] = e.service.host;
  service["version"] = e.service.version;
  service["namespace"] = e.service.namespace_;
  service["environment"] = e.service.environment;
  d["service"] = service;
  d["trace_id"] = OptionalId(e.trace.has_trace(), ToHex(e.trace.trace_id));
  d["span_id"] =
      OptionalId(!AllZero(e.trace.span_id.data(), 8), ToHex(e.trace.span_id));
  d["parent_span_id"] =
      OptionalId(e.trace.has_parent(), ToHex(e.trace.parent_span_id));
  d["trace_flags"] = e.trace.trace_flags;
  d["severity"] = std::string(SeverityName(e.severity));
  d["name"] = e.name;
  py::dict attributes;
  for (const Attribute& a : e.attributes) {
    attributes[py::str(a.key)] = AttributeToPython(a.value);
  }
  d["attributes"] = attributes;
  py::list refs;
  for (const std::string& ref : e.entity_refs) refs.append(ref);
  d["entity_refs"] = refs;
  d["sample_rate"] = e.sample_rate;
  if (const SpanData* span = e.span()) {
    py::dict p;
    p["kind"] = NameOf(span->kind, kSpanKinds);
    p["duration_ns"] = span->duration_ns;
    p["status"] = NameOf(span->status, kSpanStatuses);
    p["status_message"] = span->status_message;
    p["peer_service"] = span->peer_service;
    if (span->http) {
      py::dict h;
      h["method"] = span->http->method;
      h["route"] = span->http->route;
      h["url"] = span->http->url;
      h["status_code"] = span->http->status_code;
      h["client_ip"] = span->http->client_ip;
      h["request_size"] = span->http->request_size;
      h["response_size"] = span->http->response_size;
      p["http"] = h;
    }
    if (span->db) {
      py::dict db;
      db["system"] = span->db->system;
      db["namespace"] = span->db->namespace_;
      db["operation"] = span->db->operation;
      db["statement"] = span->db->statement;
      db["table"] = span->db->table;
      p["db"] = db;
    }
    if (span->rpc) {
      py::dict rpc;
      rpc["system"] = span->rpc->system;
      rpc["service"] = span->rpc->service;
      rpc["method"] = span->rpc->method;
      rpc["grpc_status_code"] = span->rpc->grpc_status_code;
      p["rpc"] = rpc;
    }
    d["span"] = p;
  } else if (const LogData* log = e.log()) {
    py::dict p;
    p["body"] = log->body;
    p["logger"] = log->logger;
    p["code_file"] = log->code_file;
    p["code_line"] = log->code_line;
    d["log"] = p;
  } else if (const ErrorData* error = e.error()) {
    py::dict p;
    p["type"] = error->exception_type;
    p["message"] = error->message;
    p["stacktrace"] = error->stacktrace;
    p["handled"] = error->handled;
    p["escaped"] = error->escaped;
    d["error"] = p;
  } else if (const MetricData* metric = e.metric()) {
    py::dict p;
    p["kind"] = NameOf(metric->kind, kMetricKinds);
    p["value"] = metric->value;
    p["unit"] = metric->unit;
    p["bucket_bounds"] = py::cast(metric->bucket_bounds);
    p["bucket_counts"] = py::cast(metric->bucket_counts);
    p["sum"] = metric->sum;
    p["count"] = metric->count;
    d["metric"] = p;
  } else if (const EntityStateData* state = e.entity_state()) {
    py::dict p;
    p["entity"] = state->entity;
    p["entity_type"] = state->entity_type;
    py::dict fields;
    for (const EntityField& f : state->fields)
      fields[py::str(f.name)] = f.value;
    p["fields"] = fields;
    p["deleted"] = state->deleted;
    d["entity_state"] = p;
  }
  return d;
}

py::object ValueToPython(const Value& value) {
  struct Visitor {
    PyObject* operator()(std::monostate) const {
      Py_INCREF(Py_None);
      return Py_None;
    }
    PyObject* operator()(bool b) const { return PyBool_FromLong(b ? 1 : 0); }
    PyObject* operator()(int64_t i) const {
      return PyLong_FromLongLong(static_cast<long long>(i));
    }
    PyObject* operator()(double d) const { return PyFloat_FromDouble(d); }
    PyObject* operator()(const std::string& s) const {
      return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()),
                                  "replace");
    }
    PyObject* operator()(TimeValue t) const {
      absl::Time time = absl::FromUnixNanos(t.unix_ns);
      absl::CivilSecond civil = absl::ToCivilSecond(time, absl::UTCTimeZone());
      absl::Duration sub = time - absl::FromCivil(civil, absl::UTCTimeZone());
      int micros = static_cast<int>(absl::ToInt64Microseconds(sub));
      return PyDateTimeAPI->DateTime_FromDateAndTime(
          static_cast<int>(civil.year()), civil.month(), civil.day(),
          civil.hour(), civil.minute(), civil.second(), micros,
          PyDateTime_TimeZone_UTC, PyDateTimeAPI->DateTimeType);
    }
    PyObject* operator()(DurationValue d) const {
      // Floor to microseconds, then days/seconds/microseconds, all
      // normalized the way timedelta keeps them.
      int64_t micros = d.ns / 1000;
      if (d.ns % 1000 < 0) --micros;
      constexpr int64_t kPerDay = int64_t{86'400} * 1'000'000;
      int64_t days = micros / kPerDay;
      int64_t rest = micros % kPerDay;
      if (rest < 0) {
        rest += kPerDay;
        --days;
      }
      return PyDelta_FromDSU(static_cast<int>(days),
                             static_cast<int>(rest / 1'000'000),
                             static_cast<int>(rest % 1'000'000));
    }
  };
  PyObject* object = std::visit(Visitor{}, value);
  if (object == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(object);
}

py::tuple RowToTuple(const Row& row) {
  py::tuple out(row.size());
  for (size_t i = 0; i < row.size(); ++i) {
    PyTuple_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i),
                     ValueToPython(row[i]).release().ptr());
  }
  return out;
}

int64_t UnixNanosFrom(py::handle value, const char* what) {
  PyObject* v = value.ptr();
  if (PyLong_Check(v) && !PyBool_Check(v)) {
    int overflow = 0;
    long long n = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow != 0) {
      throw py::value_error(absl::StrCat(what, ": out of range"));
    }
    return static_cast<int64_t>(n);
  }
  if (PyDateTime_Check(v)) {
    // timestamp() handles the zone (naive: local time, as Python does; the
    // Python layer makes naive values UTC before they get here).
    double seconds = value.attr("timestamp")().cast<double>();
    int64_t whole = static_cast<int64_t>(std::floor(seconds));
    int64_t micros = PyDateTime_DATE_GET_MICROSECOND(v);
    return whole * 1'000'000'000 + micros * 1'000;
  }
  throw py::type_error(absl::StrCat(what, ": expected an int or a datetime, ",
                                    "got ", Py_TYPE(v)->tp_name));
}

void InitConvert() {
  PyDateTime_IMPORT;
  if (PyDateTimeAPI == nullptr) throw py::error_already_set();
}

}  // namespace traversion::python
