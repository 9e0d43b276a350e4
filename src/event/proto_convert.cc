#include "event/proto_convert.h"

#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>

#include <array>
#include <bit>
#include <cstring>
#include <string>
#include <type_traits>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "event/presence.h"
#include "util/status_macros.h"

namespace traversion::internal {
namespace {

// Writing into a reused message must leave it exactly as a fresh message
// filled from the same event, without giving back the memory it holds and
// without needless copies: Clear() would free every sub-message, and
// consecutive events mostly repeat their service, source and host. So every
// field is overwritten in place, and a string is copied only when it
// differs from what the message already holds.

// Sets a string field unless it already holds `value`. Comparing first also
// skips the allocation a setter makes for "" on a never-set field.
#define TV_ASSIGN_STRING(msg, field, value)                         \
  do {                                                              \
    const std::string& tv_value_ = (value);                         \
    if ((msg)->field() != tv_value_) (msg)->set_##field(tv_value_); \
  } while (0)

// Unknown fields come from parsing data of a newer schema; a message reused
// for writing must not carry them into the next event. The reflection object
// of a generated type never changes, so it is looked up once.
template <typename M>
void ClearUnknownFields(M* message) {
  static const google::protobuf::Reflection* const reflection =
      M::GetReflection();
  if (!reflection->GetUnknownFields(*message).empty()) {
    reflection->MutableUnknownFields(message)->Clear();
  }
}

// An id as raw bytes; all-zero as empty bytes. `mutable_field` returns the
// field's string, and is called only when it must change.
template <size_t N, typename MutableField>
void AssignIdBytes(const std::array<uint8_t, N>& id, const std::string& current,
                   MutableField mutable_field) {
  if (AllZero(id)) {
    if (!current.empty()) mutable_field()->clear();
    return;
  }
  if (current.size() == N && std::memcmp(current.data(), id.data(), N) == 0) {
    return;
  }
  mutable_field()->assign(reinterpret_cast<const char*>(id.data()), N);
}

void WriteEventId(const EventId& id, std::string* out) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  out->resize(32);
  char* p = out->data();
  for (uint64_t half : {id.time_ns, id.suffix}) {
    for (int shift = 60; shift >= 0; shift -= 4) {
      *p++ = kHexDigits[(half >> shift) & 0xf];
    }
  }
}

// Overwrites the strings of a repeated field, reusing its elements.
void AssignStrings(const std::vector<std::string>& values,
                   google::protobuf::RepeatedPtrField<std::string>* m) {
  const int n = static_cast<int>(values.size());
  for (int i = 0; i < n; ++i) {
    const std::string& value = values[static_cast<size_t>(i)];
    if (i < m->size()) {
      if (m->Get(i) != value) m->Mutable(i)->assign(value);
    } else {
      m->Add()->assign(value);  // reuses a cleared element if there is one
    }
  }
  while (m->size() > n) m->RemoveLast();
}

template <typename T, typename U>
void AssignNumbers(const std::vector<T>& values,
                   google::protobuf::RepeatedField<U>* m) {
  m->Clear();  // keeps the capacity
  m->Add(values.begin(), values.end());
}

void WriteService(const ServiceRef& s, v1::ServiceRef* m) {
  ClearUnknownFields(m);
  TV_ASSIGN_STRING(m, name, s.name);
  TV_ASSIGN_STRING(m, instance, s.instance);
  TV_ASSIGN_STRING(m, host, s.host);
  TV_ASSIGN_STRING(m, version, s.version);
  TV_ASSIGN_STRING(m, namespace_, s.namespace_);
  TV_ASSIGN_STRING(m, environment, s.environment);
}

void WriteTrace(const TraceContext& t, v1::TraceContext* m) {
  ClearUnknownFields(m);
  AssignIdBytes(t.trace_id, m->trace_id(),
                [m] { return m->mutable_trace_id(); });
  AssignIdBytes(t.span_id, m->span_id(), [m] { return m->mutable_span_id(); });
  AssignIdBytes(t.parent_span_id, m->parent_span_id(),
                [m] { return m->mutable_parent_span_id(); });
  m->set_trace_flags(t.trace_flags);
}

void WriteSemantic(const Semantic& s, v1::Semantic* m) {
  ClearUnknownFields(m);
  TV_ASSIGN_STRING(m, intent, s.intent);
  TV_ASSIGN_STRING(m, category, s.category);
  AssignStrings(s.tags, m->mutable_tags());
}

void WriteImpact(const Impact& i, v1::Impact* m) {
  ClearUnknownFields(m);
  m->set_customer_facing(i.customer_facing);
  TV_ASSIGN_STRING(m, slo, i.slo);
  m->set_severity_score(i.severity_score);
}

void WriteAttributeValue(const AttributeValue& value, v1::AttributeValue* m) {
  ClearUnknownFields(m);
  struct Writer {
    v1::AttributeValue* m;
    void operator()(const std::string& s) const {
      if (!m->has_string_value() || m->string_value() != s) {
        m->set_string_value(s);
      }
    }
    void operator()(int64_t i) const { m->set_int_value(i); }
    void operator()(double d) const { m->set_double_value(d); }
    void operator()(bool b) const { m->set_bool_value(b); }
    void operator()(const std::vector<uint8_t>& bytes) const {
      // Never pass a null pointer on to memcpy, even for zero bytes.
      const void* data =
          bytes.empty() ? static_cast<const void*>("") : bytes.data();
      m->set_bytes_value(data, bytes.size());
    }
  };
  std::visit(Writer{m}, value);
}

void WriteAttributes(const std::vector<Attribute>& attributes,
                     google::protobuf::RepeatedPtrField<v1::Attribute>* m) {
  const int n = static_cast<int>(attributes.size());
  for (int i = 0; i < n; ++i) {
    v1::Attribute* a = i < m->size() ? m->Mutable(i) : m->Add();
    ClearUnknownFields(a);
    TV_ASSIGN_STRING(a, key, attributes[static_cast<size_t>(i)].key);
    WriteAttributeValue(attributes[static_cast<size_t>(i)].value,
                        a->mutable_value());
  }
  while (m->size() > n) m->RemoveLast();
}

void WriteHttp(const HttpInfo& h, v1::HttpInfo* m) {
  ClearUnknownFields(m);
  TV_ASSIGN_STRING(m, method, h.method);
  TV_ASSIGN_STRING(m, route, h.route);
  TV_ASSIGN_STRING(m, url, h.url);
  m->set_status_code(h.status_code);
  TV_ASSIGN_STRING(m, client_ip, h.client_ip);
  m->set_request_size(h.request_size);
  m->set_response_size(h.response_size);
}

void WriteDb(const DbInfo& d, v1::DbInfo* m) {
  ClearUnknownFields(m);
  TV_ASSIGN_STRING(m, system, d.system);
  TV_ASSIGN_STRING(m, namespace_, d.namespace_);
  TV_ASSIGN_STRING(m, operation, d.operation);
  TV_ASSIGN_STRING(m, statement, d.statement);
  TV_ASSIGN_STRING(m, table, d.table);
}

void WriteRpc(const RpcInfo& r, v1::RpcInfo* m) {
  ClearUnknownFields(m);
  TV_ASSIGN_STRING(m, system, r.system);
  TV_ASSIGN_STRING(m, service, r.service);
  TV_ASSIGN_STRING(m, method, r.method);
  m->set_grpc_status_code(r.grpc_status_code);
}

void WriteSpan(const SpanData& s, v1::Span* m) {
  ClearUnknownFields(m);
  m->set_kind(static_cast<v1::Span_Kind>(s.kind));
  m->set_duration_nano(s.duration_ns);
  m->set_status(static_cast<v1::Span_StatusCode>(s.status));
  TV_ASSIGN_STRING(m, status_message, s.status_message);
  if (s.http) {
    WriteHttp(*s.http, m->mutable_http());
  } else {
    m->clear_http();
  }
  if (s.db) {
    WriteDb(*s.db, m->mutable_db());
  } else {
    m->clear_db();
  }
  if (s.rpc) {
    WriteRpc(*s.rpc, m->mutable_rpc());
  } else {
    m->clear_rpc();
  }
  TV_ASSIGN_STRING(m, peer_service, s.peer_service);
}

void WriteLog(const LogData& l, v1::Log* m) {
  ClearUnknownFields(m);
  TV_ASSIGN_STRING(m, body, l.body);
  TV_ASSIGN_STRING(m, logger, l.logger);
  TV_ASSIGN_STRING(m, code_file, l.code_file);
  m->set_code_line(l.code_line);
}

void WriteError(const ErrorData& e, v1::Error* m) {
  ClearUnknownFields(m);
  TV_ASSIGN_STRING(m, exception_type, e.exception_type);
  TV_ASSIGN_STRING(m, message, e.message);
  TV_ASSIGN_STRING(m, stacktrace, e.stacktrace);
  m->set_handled(e.handled);
  m->set_escaped(e.escaped);
}

void WriteMetric(const MetricData& d, v1::Metric* m) {
  ClearUnknownFields(m);
  m->set_kind(static_cast<v1::Metric_Kind>(d.kind));
  m->set_value(d.value);
  TV_ASSIGN_STRING(m, unit, d.unit);
  AssignNumbers(d.bucket_bounds, m->mutable_bucket_bounds());
  AssignNumbers(d.bucket_counts, m->mutable_bucket_counts());
  m->set_sum(d.sum);
  m->set_count(d.count);
}

void WriteKernel(const KernelData& k, v1::Kernel* m) {
  ClearUnknownFields(m);
  m->set_kind(static_cast<v1::Kernel_Kind>(k.kind));
  m->set_pid(k.pid);
  m->set_tid(k.tid);
  m->set_ppid(k.ppid);
  TV_ASSIGN_STRING(m, comm, k.comm);
  m->set_cgroup_id(k.cgroup_id);
  TV_ASSIGN_STRING(m, syscall, k.syscall);
  m->set_syscall_nr(k.syscall_nr);
  m->set_errno_value(k.errno_value);
  m->set_return_value(k.return_value);
  m->set_exit_code(k.exit_code);
  m->set_signal(k.signal);
  TV_ASSIGN_STRING(m, filename, k.filename);
  TV_ASSIGN_STRING(m, saddr, k.saddr);
  TV_ASSIGN_STRING(m, daddr, k.daddr);
  m->set_sport(k.sport);
  m->set_dport(k.dport);
}

void WriteKubernetes(const KubernetesData& k, v1::Kubernetes* m) {
  ClearUnknownFields(m);
  TV_ASSIGN_STRING(m, namespace_, k.namespace_);
  TV_ASSIGN_STRING(m, pod, k.pod);
  TV_ASSIGN_STRING(m, container, k.container);
  TV_ASSIGN_STRING(m, node, k.node);
  TV_ASSIGN_STRING(m, object_kind, k.object_kind);
  TV_ASSIGN_STRING(m, reason, k.reason);
  TV_ASSIGN_STRING(m, message, k.message);
}

void WriteEntityState(const EntityStateData& s, v1::EntityState* m) {
  ClearUnknownFields(m);
  TV_ASSIGN_STRING(m, entity, s.entity);
  TV_ASSIGN_STRING(m, entity_type, s.entity_type);
  google::protobuf::RepeatedPtrField<v1::EntityField>* fields =
      m->mutable_fields();
  const int n = static_cast<int>(s.fields.size());
  for (int i = 0; i < n; ++i) {
    v1::EntityField* f =
        i < fields->size() ? fields->Mutable(i) : fields->Add();
    ClearUnknownFields(f);
    TV_ASSIGN_STRING(f, name, s.fields[static_cast<size_t>(i)].name);
    TV_ASSIGN_STRING(f, value, s.fields[static_cast<size_t>(i)].value);
  }
  while (fields->size() > n) fields->RemoveLast();
  m->set_deleted(s.deleted);
}

void WriteUi(const UiInteractionData& u, v1::UiInteraction* m) {
  ClearUnknownFields(m);
  TV_ASSIGN_STRING(m, action, u.action);
  TV_ASSIGN_STRING(m, target, u.target);
  TV_ASSIGN_STRING(m, page, u.page);
  TV_ASSIGN_STRING(m, session_id, u.session_id);
  TV_ASSIGN_STRING(m, user_id, u.user_id);
}

// mutable_<layer>() keeps the message when the previous event had the same
// layer, and replaces it otherwise.
struct PayloadWriter {
  v1::Event* out;
  void operator()(std::monostate) const { out->clear_payload(); }
  void operator()(const SpanData& s) const {
    WriteSpan(s, out->mutable_span());
  }
  void operator()(const LogData& l) const { WriteLog(l, out->mutable_log()); }
  void operator()(const ErrorData& e) const {
    WriteError(e, out->mutable_error());
  }
  void operator()(const MetricData& m) const {
    WriteMetric(m, out->mutable_metric());
  }
  void operator()(const KernelData& k) const {
    WriteKernel(k, out->mutable_kernel());
  }
  void operator()(const KubernetesData& k) const {
    WriteKubernetes(k, out->mutable_kubernetes());
  }
  void operator()(const EntityStateData& s) const {
    WriteEntityState(s, out->mutable_entity_state());
  }
  void operator()(const UiInteractionData& u) const {
    WriteUi(u, out->mutable_ui());
  }
};

// --- reading
// -------------------------------------------------------------------

void ReadStrings(const google::protobuf::RepeatedPtrField<std::string>& in,
                 std::vector<std::string>* out) {
  out->resize(static_cast<size_t>(in.size()));
  for (int i = 0; i < in.size(); ++i) (*out)[static_cast<size_t>(i)] = in[i];
}

template <typename T>
T& PayloadAs(Payload* payload) {
  if (T* existing = std::get_if<T>(payload)) return *existing;
  return payload->emplace<T>();
}

template <typename T>
T& Engage(std::optional<T>* value) {
  return value->has_value() ? **value : value->emplace();
}

void ReadAttributeValue(const v1::AttributeValue& in, AttributeValue* out) {
  switch (in.value_case()) {
    case v1::AttributeValue::kIntValue:
      *out = static_cast<int64_t>(in.int_value());
      return;
    case v1::AttributeValue::kDoubleValue:
      *out = in.double_value();
      return;
    case v1::AttributeValue::kBoolValue:
      *out = in.bool_value();
      return;
    case v1::AttributeValue::kBytesValue: {
      const std::string& bytes = in.bytes_value();
      auto& v = std::holds_alternative<std::vector<uint8_t>>(*out)
                    ? std::get<std::vector<uint8_t>>(*out)
                    : out->emplace<std::vector<uint8_t>>();
      v.assign(bytes.begin(), bytes.end());
      return;
    }
    case v1::AttributeValue::kStringValue:
    case v1::AttributeValue::VALUE_NOT_SET:
      // An attribute without a value reads as the empty string.
      auto& s = std::holds_alternative<std::string>(*out)
                    ? std::get<std::string>(*out)
                    : out->emplace<std::string>();
      s = in.string_value();
      return;
  }
}

absl::Status ReadSpan(const v1::Span& in, SpanData* out) {
  TV_RETURN_IF_ERROR(EnumFromWire(in.kind(), "span.kind", &out->kind));
  out->duration_ns = in.duration_nano();
  TV_RETURN_IF_ERROR(EnumFromWire(in.status(), "span.status", &out->status));
  out->status_message = in.status_message();
  if (in.has_http()) {
    const v1::HttpInfo& h = in.http();
    HttpInfo& http = Engage(&out->http);
    http.method = h.method();
    http.route = h.route();
    http.url = h.url();
    http.status_code = h.status_code();
    http.client_ip = h.client_ip();
    http.request_size = h.request_size();
    http.response_size = h.response_size();
  } else {
    out->http.reset();
  }
  if (in.has_db()) {
    const v1::DbInfo& d = in.db();
    DbInfo& db = Engage(&out->db);
    db.system = d.system();
    db.namespace_ = d.namespace_();
    db.operation = d.operation();
    db.statement = d.statement();
    db.table = d.table();
  } else {
    out->db.reset();
  }
  if (in.has_rpc()) {
    const v1::RpcInfo& r = in.rpc();
    RpcInfo& rpc = Engage(&out->rpc);
    rpc.system = r.system();
    rpc.service = r.service();
    rpc.method = r.method();
    rpc.grpc_status_code = r.grpc_status_code();
  } else {
    out->rpc.reset();
  }
  out->peer_service = in.peer_service();
  return absl::OkStatus();
}

void ReadLog(const v1::Log& in, LogData* out) {
  out->body = in.body();
  out->logger = in.logger();
  out->code_file = in.code_file();
  out->code_line = in.code_line();
}

void ReadError(const v1::Error& in, ErrorData* out) {
  out->exception_type = in.exception_type();
  out->message = in.message();
  out->stacktrace = in.stacktrace();
  out->handled = in.handled();
  out->escaped = in.escaped();
}

absl::Status ReadMetric(const v1::Metric& in, MetricData* out) {
  const int bounds = in.bucket_bounds_size();
  const int counts = in.bucket_counts_size();
  if ((bounds != 0 || counts != 0) && counts != bounds + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric.bucket_counts: ", counts, " counts for ", bounds,
                     " bucket_bounds, expected ", bounds + 1));
  }
  TV_RETURN_IF_ERROR(EnumFromWire(in.kind(), "metric.kind", &out->kind));
  out->value = in.value();
  out->unit = in.unit();
  out->bucket_bounds.assign(in.bucket_bounds().begin(),
                            in.bucket_bounds().end());
  out->bucket_counts.assign(in.bucket_counts().begin(),
                            in.bucket_counts().end());
  out->sum = in.sum();
  out->count = in.count();
  return absl::OkStatus();
}

absl::Status ReadKernel(const v1::Kernel& in, KernelData* out) {
  TV_RETURN_IF_ERROR(EnumFromWire(in.kind(), "kernel.kind", &out->kind));
  out->pid = in.pid();
  out->tid = in.tid();
  out->ppid = in.ppid();
  out->comm = in.comm();
  out->cgroup_id = in.cgroup_id();
  out->syscall = in.syscall();
  out->syscall_nr = in.syscall_nr();
  out->errno_value = in.errno_value();
  out->return_value = in.return_value();
  out->exit_code = in.exit_code();
  out->signal = in.signal();
  out->filename = in.filename();
  out->saddr = in.saddr();
  out->daddr = in.daddr();
  out->sport = in.sport();
  out->dport = in.dport();
  return absl::OkStatus();
}

void ReadKubernetes(const v1::Kubernetes& in, KubernetesData* out) {
  out->namespace_ = in.namespace_();
  out->pod = in.pod();
  out->container = in.container();
  out->node = in.node();
  out->object_kind = in.object_kind();
  out->reason = in.reason();
  out->message = in.message();
}

void ReadEntityState(const v1::EntityState& in, EntityStateData* out) {
  out->entity = in.entity();
  out->entity_type = in.entity_type();
  out->fields.resize(static_cast<size_t>(in.fields_size()));
  for (int i = 0; i < in.fields_size(); ++i) {
    EntityField& field = out->fields[static_cast<size_t>(i)];
    field.name = in.fields(i).name();
    field.value = in.fields(i).value();
  }
  out->deleted = in.deleted();
}

void ReadUi(const v1::UiInteraction& in, UiInteractionData* out) {
  out->action = in.action();
  out->target = in.target();
  out->page = in.page();
  out->session_id = in.session_id();
  out->user_id = in.user_id();
}

absl::Status ReadPayload(const v1::Event& in, Payload* out) {
  switch (in.payload_case()) {
    case v1::Event::kSpan:
      return ReadSpan(in.span(), &PayloadAs<SpanData>(out));
    case v1::Event::kLog:
      ReadLog(in.log(), &PayloadAs<LogData>(out));
      return absl::OkStatus();
    case v1::Event::kError:
      ReadError(in.error(), &PayloadAs<ErrorData>(out));
      return absl::OkStatus();
    case v1::Event::kMetric:
      return ReadMetric(in.metric(), &PayloadAs<MetricData>(out));
    case v1::Event::kKernel:
      return ReadKernel(in.kernel(), &PayloadAs<KernelData>(out));
    case v1::Event::kKubernetes:
      ReadKubernetes(in.kubernetes(), &PayloadAs<KubernetesData>(out));
      return absl::OkStatus();
    case v1::Event::kEntityState:
      ReadEntityState(in.entity_state(), &PayloadAs<EntityStateData>(out));
      return absl::OkStatus();
    case v1::Event::kUi:
      ReadUi(in.ui(), &PayloadAs<UiInteractionData>(out));
      return absl::OkStatus();
    case v1::Event::PAYLOAD_NOT_SET:
      break;
  }
  out->emplace<std::monostate>();
  return absl::OkStatus();
}

}  // namespace

void EventToProto(const Event& e, v1::Event* out) {
  ClearUnknownFields(out);
  if (e.id.empty()) {
    out->clear_id();
  } else {
    WriteEventId(e.id, out->mutable_id());
  }
  out->set_time_unix_nano(e.time_ns);
  out->set_type(static_cast<v1::EventType>(e.effective_type()));
  TV_ASSIGN_STRING(out, source, e.source);
  if (IsEmpty(e.service)) {
    out->clear_service();
  } else {
    WriteService(e.service, out->mutable_service());
  }
  if (IsEmpty(e.trace)) {
    out->clear_trace();
  } else {
    WriteTrace(e.trace, out->mutable_trace());
  }
  out->set_severity(static_cast<v1::Severity>(e.severity));
  TV_ASSIGN_STRING(out, name, e.name);
  if (IsEmpty(e.semantic)) {
    out->clear_semantic();
  } else {
    WriteSemantic(e.semantic, out->mutable_semantic());
  }
  if (IsEmpty(e.impact)) {
    out->clear_impact();
  } else {
    WriteImpact(e.impact, out->mutable_impact());
  }
  WriteAttributes(e.attributes, out->mutable_attributes());
  AssignStrings(e.entity_refs, out->mutable_entity_refs());
  out->set_sample_rate(e.sample_rate);
  std::visit(PayloadWriter{out}, e.payload);
}

absl::Status EventFromProto(const v1::Event& in, Event* out) {
  if (in.id().empty()) {
    out->id = EventId{};
  } else {
    std::optional<EventId> id = EventId::Parse(in.id());
    if (!id) {
      constexpr size_t kShown = 40;
      return absl::InvalidArgumentError(absl::StrCat(
          "id: expected 32 hex digits, got \"",
          absl::CHexEscape(absl::string_view(in.id()).substr(0, kShown)),
          in.id().size() > kShown ? "...\"" : "\"", " (", in.id().size(),
          " bytes)"));
    }
    out->id = *id;
  }
  out->time_ns = in.time_unix_nano();
  TV_RETURN_IF_ERROR(EnumFromWire(in.type(), "type", &out->type));
  out->source = in.source();

  const v1::ServiceRef& service = in.service();
  out->service.name = service.name();
  out->service.instance = service.instance();
  out->service.host = service.host();
  out->service.version = service.version();
  out->service.namespace_ = service.namespace_();
  out->service.environment = service.environment();

  const v1::TraceContext& trace = in.trace();
  TV_RETURN_IF_ERROR(
      IdFromWire(trace.trace_id(), "trace.trace_id", &out->trace.trace_id));
  TV_RETURN_IF_ERROR(
      IdFromWire(trace.span_id(), "trace.span_id", &out->trace.span_id));
  TV_RETURN_IF_ERROR(IdFromWire(trace.parent_span_id(), "trace.parent_span_id",
                                &out->trace.parent_span_id));
  if (trace.trace_flags() > 0xff) {
    return absl::InvalidArgumentError(
        absl::StrCat("trace.trace_flags: ", trace.trace_flags(),
                     " does not fit the 8 bits of W3C trace flags"));
  }
  out->trace.trace_flags = static_cast<uint8_t>(trace.trace_flags());

  if (in.severity() < 0 || in.severity() > 24) {
    return absl::InvalidArgumentError(
        absl::StrCat("severity: ", static_cast<int>(in.severity()),
                     " is not an OpenTelemetry SeverityNumber (0..24)"));
  }
  out->severity = static_cast<Severity>(in.severity());
  out->name = in.name();

  out->semantic.intent = in.semantic().intent();
  out->semantic.category = in.semantic().category();
  ReadStrings(in.semantic().tags(), &out->semantic.tags);

  out->impact.customer_facing = in.impact().customer_facing();
  out->impact.slo = in.impact().slo();
  out->impact.severity_score = in.impact().severity_score();

  out->attributes.resize(static_cast<size_t>(in.attributes_size()));
  for (int i = 0; i < in.attributes_size(); ++i) {
    Attribute& attribute = out->attributes[static_cast<size_t>(i)];
    attribute.key = in.attributes(i).key();
    ReadAttributeValue(in.attributes(i).value(), &attribute.value);
  }
  ReadStrings(in.entity_refs(), &out->entity_refs);
  out->sample_rate = in.sample_rate();
  return ReadPayload(in, &out->payload);
}

#undef TV_ASSIGN_STRING

}  // namespace traversion::internal
