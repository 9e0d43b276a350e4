#include "timeql/fields.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "timeql/diagnostics.h"

namespace traversion::timeql {
namespace {

struct CatalogEntry {
  const char* name;  // canonical first, then aliases with the same id
  FieldId id;
  std::optional<ColumnType> type;
};

constexpr auto kStr = ColumnType::kString;
constexpr auto kInt = ColumnType::kInt64;
constexpr auto kDbl = ColumnType::kDouble;
constexpr auto kBool = ColumnType::kBool;

// The first entry of an id is its canonical name.
const std::vector<CatalogEntry>& Catalog() {
  static const auto* catalog = new std::vector<CatalogEntry>{
      {"id", FieldId::kId, kStr},
      {"event_id", FieldId::kId, kStr},
      {"time", FieldId::kTime, ColumnType::kTime},
      {"timestamp", FieldId::kTime, ColumnType::kTime},
      {"type", FieldId::kType, kStr},
      {"service", FieldId::kService, kStr},
      {"service.name", FieldId::kService, kStr},
      {"service.version", FieldId::kServiceVersion, kStr},
      {"version", FieldId::kServiceVersion, kStr},
      {"service.instance", FieldId::kServiceInstance, kStr},
      {"instance", FieldId::kServiceInstance, kStr},
      {"service.instance.id", FieldId::kServiceInstance, kStr},
      {"service.namespace", FieldId::kServiceNamespace, kStr},
      {"environment", FieldId::kEnvironment, kStr},
      {"deployment.environment", FieldId::kEnvironment, kStr},
      {"deployment.environment.name", FieldId::kEnvironment, kStr},
      {"host", FieldId::kHost, kStr},
      {"host.name", FieldId::kHost, kStr},
      {"source", FieldId::kSource, kStr},
      {"severity", FieldId::kSeverity, kStr},
      {"severity_number", FieldId::kSeverityNumber, kInt},
      {"severity.number", FieldId::kSeverityNumber, kInt},
      {"name", FieldId::kName, kStr},
      {"metric", FieldId::kName, kStr},
      {"metric.name", FieldId::kName, kStr},
      {"span.name", FieldId::kName, kStr},
      {"trace_id", FieldId::kTraceId, kStr},
      {"trace.id", FieldId::kTraceId, kStr},
      {"span_id", FieldId::kSpanId, kStr},
      {"span.id", FieldId::kSpanId, kStr},
      {"parent_span_id", FieldId::kParentSpanId, kStr},
      {"span.parent_id", FieldId::kParentSpanId, kStr},
      {"duration", FieldId::kDuration, ColumnType::kDuration},
      {"span.duration", FieldId::kDuration, ColumnType::kDuration},
      {"duration_ms", FieldId::kDurationMs, kDbl},
      {"status", FieldId::kStatus, kStr},
      {"span.status", FieldId::kStatus, kStr},
      {"status_message", FieldId::kStatusMessage, kStr},
      {"span.status_message", FieldId::kStatusMessage, kStr},
      {"kind", FieldId::kKind, kStr},
      {"span.kind", FieldId::kKind, kStr},
      {"peer.service", FieldId::kPeerService, kStr},
      {"peer_service", FieldId::kPeerService, kStr},
      {"message", FieldId::kMessage, kStr},
      {"body", FieldId::kMessage, kStr},
      {"log.body", FieldId::kMessage, kStr},
      {"logger", FieldId::kLogger, kStr},
      {"log.logger", FieldId::kLogger, kStr},
      {"error.type", FieldId::kErrorType, kStr},
      {"exception.type", FieldId::kErrorType, kStr},
      {"error.message", FieldId::kErrorMessage, kStr},
      {"exception.message", FieldId::kErrorMessage, kStr},
      {"error.stacktrace", FieldId::kStacktrace, kStr},
      {"exception.stacktrace", FieldId::kStacktrace, kStr},
      {"error.handled", FieldId::kErrorHandled, kBool},
      {"error_occurred", FieldId::kErrorOccurred, kBool},
      {"value", FieldId::kMetricValue, kDbl},
      {"metric.value", FieldId::kMetricValue, kDbl},
      {"unit", FieldId::kMetricUnit, kStr},
      {"metric.unit", FieldId::kMetricUnit, kStr},
      {"metric.kind", FieldId::kMetricKind, kStr},
      {"entity", FieldId::kEntity, kStr},
      {"entity.name", FieldId::kEntity, kStr},
      {"entity_type", FieldId::kEntityType, kStr},
      {"entity.type", FieldId::kEntityType, kStr},
      {"entity.deleted", FieldId::kEntityDeleted, kBool},
      {"sample_rate", FieldId::kSampleRate, kDbl},
      {"impact.customer_facing", FieldId::kCustomerFacing, kBool},
      {"customer_facing", FieldId::kCustomerFacing, kBool},
      {"impact.slo", FieldId::kSlo, kStr},
      {"slo", FieldId::kSlo, kStr},
      {"impact.severity_score", FieldId::kImpactScore, kDbl},
      {"impact.score", FieldId::kImpactScore, kDbl},
      {"intent", FieldId::kIntent, kStr},
      {"semantic.intent", FieldId::kIntent, kStr},
      {"category", FieldId::kCategory, kStr},
      {"semantic.category", FieldId::kCategory, kStr},
      {"http.method", FieldId::kHttpMethod, kStr},
      {"http.request.method", FieldId::kHttpMethod, kStr},
      {"http.route", FieldId::kHttpRoute, kStr},
      {"http.url", FieldId::kHttpUrl, kStr},
      {"url.full", FieldId::kHttpUrl, kStr},
      {"http.status_code", FieldId::kHttpStatusCode, kInt},
      {"http.response.status_code", FieldId::kHttpStatusCode, kInt},
      {"db.system", FieldId::kDbSystem, kStr},
      {"db.system.name", FieldId::kDbSystem, kStr},
      {"db.operation", FieldId::kDbOperation, kStr},
      {"db.operation.name", FieldId::kDbOperation, kStr},
      {"db.statement", FieldId::kDbStatement, kStr},
      {"db.query.text", FieldId::kDbStatement, kStr},
      {"db.table", FieldId::kDbTable, kStr},
      {"db.collection.name", FieldId::kDbTable, kStr},
      {"rpc.system", FieldId::kRpcSystem, kStr},
      {"rpc.service", FieldId::kRpcService, kStr},
      {"rpc.method", FieldId::kRpcMethod, kStr},
      {"kernel.kind", FieldId::kKernelKind, kStr},
      {"pid", FieldId::kPid, kInt},
      {"kernel.pid", FieldId::kPid, kInt},
      {"process.pid", FieldId::kPid, kInt},
      {"tid", FieldId::kTid, kInt},
      {"kernel.tid", FieldId::kTid, kInt},
      {"comm", FieldId::kComm, kStr},
      {"kernel.comm", FieldId::kComm, kStr},
      {"syscall", FieldId::kSyscall, kStr},
      {"kernel.syscall", FieldId::kSyscall, kStr},
      {"errno", FieldId::kErrno, kInt},
      {"kernel.errno", FieldId::kErrno, kInt},
      {"exit_code", FieldId::kExitCode, kInt},
      {"kernel.exit_code", FieldId::kExitCode, kInt},
      {"signal", FieldId::kSignal, kInt},
      {"kernel.signal", FieldId::kSignal, kInt},
      {"k8s.namespace", FieldId::kK8sNamespace, kStr},
      {"k8s.namespace.name", FieldId::kK8sNamespace, kStr},
      {"k8s.pod", FieldId::kK8sPod, kStr},
      {"k8s.pod.name", FieldId::kK8sPod, kStr},
      {"k8s.container", FieldId::kK8sContainer, kStr},
      {"k8s.container.name", FieldId::kK8sContainer, kStr},
      {"k8s.node", FieldId::kK8sNode, kStr},
      {"k8s.node.name", FieldId::kK8sNode, kStr},
      {"k8s.reason", FieldId::kK8sReason, kStr},
      {"ui.action", FieldId::kUiAction, kStr},
      {"ui.target", FieldId::kUiTarget, kStr},
      {"ui.page", FieldId::kUiPage, kStr},
  };
  return *catalog;
}

const absl::flat_hash_map<std::string, const CatalogEntry*>& CatalogIndex() {
  static const auto* index = [] {
    auto* map = new absl::flat_hash_map<std::string, const CatalogEntry*>();
    for (const CatalogEntry& e : Catalog()) map->emplace(e.name, &e);
    return map;
  }();
  return *index;
}

const CatalogEntry* Canonical(FieldId id) {
  for (const CatalogEntry& e : Catalog()) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

Value Str(absl::string_view s) { return std::string(s); }
Value NonEmpty(absl::string_view s) {
  if (s.empty()) return std::monostate{};
  return std::string(s);
}
Value Int(int64_t v) { return v; }

Value AttributeToValue(const AttributeValue& v) {
  return std::visit(
      [](const auto& x) -> Value {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::vector<uint8_t>>) {
          return std::string(x.begin(), x.end());
        } else {
          return x;
        }
      },
      v);
}

}  // namespace

bool ErrorOccurred(const Event& event) {
  if (event.effective_type() == EventType::kError) return true;
  if (static_cast<int>(event.severity) >= static_cast<int>(Severity::kError)) {
    return true;
  }
  const SpanData* span = event.span();
  return span != nullptr && span->status == SpanStatus::kError;
}

absl::string_view SpanKindText(SpanKind kind) {
  switch (kind) {
    case SpanKind::kUnspecified:
      return "unspecified";
    case SpanKind::kInternal:
      return "internal";
    case SpanKind::kServer:
      return "server";
    case SpanKind::kClient:
      return "client";
    case SpanKind::kProducer:
      return "producer";
    case SpanKind::kConsumer:
      return "consumer";
  }
  return "unknown";
}

absl::string_view SpanStatusText(SpanStatus status) {
  switch (status) {
    case SpanStatus::kUnset:
      return "unset";
    case SpanStatus::kOk:
      return "ok";
    case SpanStatus::kError:
      return "error";
  }
  return "unknown";
}

absl::string_view MetricKindText(MetricKind kind) {
  switch (kind) {
    case MetricKind::kUnspecified:
      return "unspecified";
    case MetricKind::kGauge:
      return "gauge";
    case MetricKind::kCounter:
      return "counter";
    case MetricKind::kHistogram:
      return "histogram";
  }
  return "unknown";
}

absl::string_view KernelKindText(KernelEventKind kind) {
  switch (kind) {
    case KernelEventKind::kUnspecified:
      return "unspecified";
    case KernelEventKind::kExec:
      return "exec";
    case KernelEventKind::kExit:
      return "exit";
    case KernelEventKind::kSyscallFailure:
      return "syscall_failure";
    case KernelEventKind::kOomKill:
      return "oom_kill";
    case KernelEventKind::kTcpRetransmit:
      return "tcp_retransmit";
    case KernelEventKind::kFatalSignal:
      return "fatal_signal";
  }
  return "unknown";
}

std::string EventMessage(const Event& event) {
  if (const LogData* log = event.log()) return log->body;
  if (const ErrorData* error = event.error()) return error->message;
  if (const SpanData* span = event.span()) return span->status_message;
  if (const KubernetesData* k8s = event.kubernetes()) return k8s->message;
  return "";
}

bool MetricNameMatches(absl::string_view metric, absl::string_view word) {
  if (absl::EqualsIgnoreCase(metric, word)) return true;
  if (word.size() >= metric.size()) return false;
  for (absl::string_view part : absl::StrSplit(metric, '.')) {
    if (absl::EqualsIgnoreCase(part, word)) return true;
  }
  return false;
}

const std::vector<std::string>& EventFieldNames() {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>();
    for (const CatalogEntry& e : Catalog()) v->push_back(e.name);
    v->push_back("attributes['key']");
    return v;
  }();
  return *names;
}

absl::StatusOr<FieldRef> ResolveField(const FieldPath& path, SourceRange range,
                                      absl::string_view text,
                                      const FieldScope& scope) {
  if (path.parts.empty()) {
    return SyntaxError(text, range, "empty field name");
  }
  const std::string joined = absl::StrJoin(path.parts, ".");
  const std::string lower = absl::AsciiStrToLower(joined);
  FieldRef ref;
  if (scope.columns != nullptr) {
    std::vector<absl::string_view> names;
    for (size_t i = 0; i < scope.columns->size(); ++i) {
      const Column& c = (*scope.columns)[i];
      names.push_back(c.name);
      if (absl::EqualsIgnoreCase(c.name, joined)) {
        ref.id = FieldId::kColumn;
        ref.column = static_cast<int>(i);
        ref.type = c.type;
        ref.name = c.name;
        return ref;
      }
    }
    std::string suggestion = SuggestClosest(joined, names);
    return SyntaxError(
        text, range,
        absl::StrCat("unknown field '", joined, "'",
                     suggestion.empty()
                         ? absl::StrCat("; this statement has: ",
                                        absl::StrJoin(names, ", "))
                         : absl::StrCat("; did you mean '", suggestion, "'?")));
  }
  const absl::string_view first = path.parts.front();
  if ((absl::EqualsIgnoreCase(first, "attributes") ||
       absl::EqualsIgnoreCase(first, "attribute") ||
       absl::EqualsIgnoreCase(first, "attr")) &&
      path.parts.size() > 1) {
    ref.id = FieldId::kAttribute;
    std::vector<std::string> rest(path.parts.begin() + 1, path.parts.end());
    ref.key = absl::StrJoin(rest, ".");
    ref.name = absl::StrCat("attributes['", ref.key, "']");
    return ref;
  }
  auto it = CatalogIndex().find(lower);
  if (it != CatalogIndex().end()) {
    ref.id = it->second->id;
    ref.type = it->second->type;
    ref.name = Canonical(ref.id)->name;
    return ref;
  }
  if (scope.metric_refs) {
    ref.id = FieldId::kMetricRef;
    ref.key = joined;
    ref.name = joined;
    return ref;
  }
  std::vector<absl::string_view> names;
  for (const CatalogEntry& e : Catalog()) names.push_back(e.name);
  std::string suggestion = SuggestClosest(joined, names);
  std::string message = absl::StrCat("unknown field '", joined, "'");
  if (!suggestion.empty()) {
    absl::StrAppend(&message, "; did you mean '", suggestion, "'?");
  } else {
    absl::StrAppend(&message, "; for an attribute write attributes['", joined,
                    "']");
  }
  return SyntaxError(text, range, message);
}

Value ReadEventField(const FieldRef& field, const Event& e) {
  const SpanData* span = e.span();
  switch (field.id) {
    case FieldId::kId:
      return e.id.ToString();
    case FieldId::kTime:
      return TimeValue{static_cast<int64_t>(e.time_ns)};
    case FieldId::kType:
      return Str(EventTypeName(e.effective_type()));
    case FieldId::kService:
      return NonEmpty(e.service.name);
    case FieldId::kServiceVersion:
      return NonEmpty(e.service.version);
    case FieldId::kServiceInstance:
      return NonEmpty(e.service.instance);
    case FieldId::kServiceNamespace:
      return NonEmpty(e.service.namespace_);
    case FieldId::kEnvironment:
      return NonEmpty(e.service.environment);
    case FieldId::kHost:
      return NonEmpty(e.service.host);
    case FieldId::kSource:
      return NonEmpty(e.source);
    case FieldId::kSeverity:
      if (e.severity == Severity::kUnspecified) return std::monostate{};
      return Str(SeverityName(e.severity));
    case FieldId::kSeverityNumber:
      if (e.severity == Severity::kUnspecified && !field.key.empty()) {
        return std::monostate{};
      }
      return Int(static_cast<int64_t>(e.severity));
    case FieldId::kName:
      return NonEmpty(e.name);
    case FieldId::kTraceId:
      if (!e.trace.has_trace()) return std::monostate{};
      return ToHex(e.trace.trace_id);
    case FieldId::kSpanId:
      if (!e.trace.has_trace()) return std::monostate{};
      return ToHex(e.trace.span_id);
    case FieldId::kParentSpanId:
      if (!e.trace.has_parent()) return std::monostate{};
      return ToHex(e.trace.parent_span_id);
    case FieldId::kDuration:
      if (span == nullptr) return std::monostate{};
      return DurationValue{static_cast<int64_t>(span->duration_ns)};
    case FieldId::kDurationMs:
      if (span == nullptr) return std::monostate{};
      return static_cast<double>(span->duration_ns) / 1e6;
    case FieldId::kStatus:
      if (span == nullptr) return std::monostate{};
      return Str(SpanStatusText(span->status));
    case FieldId::kStatusMessage:
      if (span == nullptr) return std::monostate{};
      return NonEmpty(span->status_message);
    case FieldId::kKind:
      if (span == nullptr) return std::monostate{};
      return Str(SpanKindText(span->kind));
    case FieldId::kPeerService:
      if (span == nullptr) return std::monostate{};
      return NonEmpty(span->peer_service);
    case FieldId::kMessage: {
      std::string m = EventMessage(e);
      if (m.empty()) return std::monostate{};
      return m;
    }
    case FieldId::kLogger:
      if (e.log() == nullptr) return std::monostate{};
      return NonEmpty(e.log()->logger);
    case FieldId::kErrorType:
      if (e.error() == nullptr) return std::monostate{};
      return NonEmpty(e.error()->exception_type);
    case FieldId::kErrorMessage:
      if (e.error() == nullptr) return std::monostate{};
      return NonEmpty(e.error()->message);
    case FieldId::kStacktrace:
      if (e.error() == nullptr) return std::monostate{};
      return NonEmpty(e.error()->stacktrace);
    case FieldId::kErrorHandled:
      if (e.error() == nullptr) return std::monostate{};
      return e.error()->handled;
    case FieldId::kErrorOccurred:
      return ErrorOccurred(e);
    case FieldId::kMetricValue:
      if (e.metric() == nullptr) return std::monostate{};
      return e.metric()->value;
    case FieldId::kMetricUnit:
      if (e.metric() == nullptr) return std::monostate{};
      return NonEmpty(e.metric()->unit);
    case FieldId::kMetricKind:
      if (e.metric() == nullptr) return std::monostate{};
      return Str(MetricKindText(e.metric()->kind));
    case FieldId::kEntity:
      if (e.entity_state() == nullptr) return std::monostate{};
      return Str(e.entity_state()->entity);
    case FieldId::kEntityType:
      if (e.entity_state() == nullptr) return std::monostate{};
      return NonEmpty(e.entity_state()->entity_type);
    case FieldId::kEntityDeleted:
      if (e.entity_state() == nullptr) return std::monostate{};
      return e.entity_state()->deleted;
    case FieldId::kSampleRate:
      return e.sample_rate;
    case FieldId::kCustomerFacing:
      return e.impact.customer_facing;
    case FieldId::kSlo:
      return NonEmpty(e.impact.slo);
    case FieldId::kImpactScore:
      return e.impact.severity_score;
    case FieldId::kIntent:
      return NonEmpty(e.semantic.intent);
    case FieldId::kCategory:
      return NonEmpty(e.semantic.category);
    case FieldId::kHttpMethod:
      if (span == nullptr || !span->http) return std::monostate{};
      return NonEmpty(span->http->method);
    case FieldId::kHttpRoute:
      if (span == nullptr || !span->http) return std::monostate{};
      return NonEmpty(span->http->route);
    case FieldId::kHttpUrl:
      if (span == nullptr || !span->http) return std::monostate{};
      return NonEmpty(span->http->url);
    case FieldId::kHttpStatusCode:
      if (span == nullptr || !span->http || span->http->status_code == 0) {
        return std::monostate{};
      }
      return Int(span->http->status_code);
    case FieldId::kDbSystem:
      if (span == nullptr || !span->db) return std::monostate{};
      return NonEmpty(span->db->system);
    case FieldId::kDbOperation:
      if (span == nullptr || !span->db) return std::monostate{};
      return NonEmpty(span->db->operation);
    case FieldId::kDbStatement:
      if (span == nullptr || !span->db) return std::monostate{};
      return NonEmpty(span->db->statement);
    case FieldId::kDbTable:
      if (span == nullptr || !span->db) return std::monostate{};
      return NonEmpty(span->db->table);
    case FieldId::kRpcSystem:
      if (span == nullptr || !span->rpc) return std::monostate{};
      return NonEmpty(span->rpc->system);
    case FieldId::kRpcService:
      if (span == nullptr || !span->rpc) return std::monostate{};
      return NonEmpty(span->rpc->service);
    case FieldId::kRpcMethod:
      if (span == nullptr || !span->rpc) return std::monostate{};
      return NonEmpty(span->rpc->method);
    case FieldId::kKernelKind:
      if (e.kernel() == nullptr) return std::monostate{};
      return Str(KernelKindText(e.kernel()->kind));
    case FieldId::kPid:
      if (e.kernel() == nullptr) return std::monostate{};
      return Int(e.kernel()->pid);
    case FieldId::kTid:
      if (e.kernel() == nullptr) return std::monostate{};
      return Int(e.kernel()->tid);
    case FieldId::kComm:
      if (e.kernel() == nullptr) return std::monostate{};
      return NonEmpty(e.kernel()->comm);
    case FieldId::kSyscall:
      if (e.kernel() == nullptr) return std::monostate{};
      return NonEmpty(e.kernel()->syscall);
    case FieldId::kErrno:
      if (e.kernel() == nullptr) return std::monostate{};
      return Int(e.kernel()->errno_value);
    case FieldId::kExitCode:
      if (e.kernel() == nullptr) return std::monostate{};
      return Int(e.kernel()->exit_code);
    case FieldId::kSignal:
      if (e.kernel() == nullptr) return std::monostate{};
      return Int(e.kernel()->signal);
    case FieldId::kK8sNamespace:
      if (e.kubernetes() == nullptr) return std::monostate{};
      return NonEmpty(e.kubernetes()->namespace_);
    case FieldId::kK8sPod:
      if (e.kubernetes() == nullptr) return std::monostate{};
      return NonEmpty(e.kubernetes()->pod);
    case FieldId::kK8sContainer:
      if (e.kubernetes() == nullptr) return std::monostate{};
      return NonEmpty(e.kubernetes()->container);
    case FieldId::kK8sNode:
      if (e.kubernetes() == nullptr) return std::monostate{};
      return NonEmpty(e.kubernetes()->node);
    case FieldId::kK8sReason:
      if (e.kubernetes() == nullptr) return std::monostate{};
      return NonEmpty(e.kubernetes()->reason);
    case FieldId::kUiAction:
      if (e.ui() == nullptr) return std::monostate{};
      return NonEmpty(e.ui()->action);
    case FieldId::kUiTarget:
      if (e.ui() == nullptr) return std::monostate{};
      return NonEmpty(e.ui()->target);
    case FieldId::kUiPage:
      if (e.ui() == nullptr) return std::monostate{};
      return NonEmpty(e.ui()->page);
    case FieldId::kAttribute: {
      const AttributeValue* v = e.FindAttribute(field.key);
      if (v == nullptr) return std::monostate{};
      return AttributeToValue(*v);
    }
    case FieldId::kMetricRef: {
      const MetricData* m = e.metric();
      if (m == nullptr || !MetricNameMatches(e.name, field.key)) {
        return std::monostate{};
      }
      return m->value;
    }
    case FieldId::kColumn:
      return std::monostate{};
  }
  return std::monostate{};
}

}  // namespace traversion::timeql
