// The field catalog: which names a TimeQL expression may use over events,
// what type each has, and how to read it from an Event.
//
//   service = 'api' AND duration > 200ms AND attributes['http.route'] = '/pay'
//
// Names are case-insensitive; attribute keys are not. `attributes['k']`,
// `attributes.k` and `attr.k` name the attribute `k`. In pattern, COMPARE and
// PREDICT conditions a bare name that is not a field (`cpu`) is a metric
// reference: the value of metric events whose name is that word or has it
// as a dot-separated component (`cpu` reads `cpu.utilization`).
//
// Thread safety: everything here is immutable after static initialization.
#ifndef TRAVERSION_TIMEQL_FIELDS_H_
#define TRAVERSION_TIMEQL_FIELDS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "timeql/ast.h"
#include "traversion/event.h"
#include "traversion/query.h"

namespace traversion::timeql {

enum class FieldId : uint8_t {
  kId,
  kTime,
  kType,
  kService,
  kServiceVersion,
  kServiceInstance,
  kServiceNamespace,
  kEnvironment,
  kHost,
  kSource,
  kSeverity,
  kSeverityNumber,
  kName,
  kTraceId,
  kSpanId,
  kParentSpanId,
  kDuration,
  kDurationMs,
  kStatus,
  kStatusMessage,
  kKind,
  kPeerService,
  kMessage,
  kLogger,
  kErrorType,
  kErrorMessage,
  kStacktrace,
  kErrorHandled,
  kErrorOccurred,
  kMetricValue,
  kMetricUnit,
  kMetricKind,
  kEntity,
  kEntityType,
  kEntityDeleted,
  kSampleRate,
  kCustomerFacing,
  kSlo,
  kImpactScore,
  kIntent,
  kCategory,
  kHttpMethod,
  kHttpRoute,
  kHttpUrl,
  kHttpStatusCode,
  kDbSystem,
  kDbOperation,
  kDbStatement,
  kDbTable,
  kRpcSystem,
  kRpcService,
  kRpcMethod,
  kKernelKind,
  kPid,
  kTid,
  kComm,
  kSyscall,
  kErrno,
  kExitCode,
  kSignal,
  kK8sNamespace,
  kK8sPod,
  kK8sContainer,
  kK8sNode,
  kK8sReason,
  kUiAction,
  kUiTarget,
  kUiPage,
  kAttribute,  // key: the attribute's key
  kMetricRef,  // key: the metric word (cpu)
  kColumn,     // column: an index into a row (state, aggregate, ...)
};

struct FieldRef {
  FieldId id = FieldId::kId;
  std::string key;
  int column = -1;
  // The static type, when known (attributes and metric references are
  // dynamically typed: nullopt).
  std::optional<ColumnType> type;
  std::string name;  // canonical name, for column headers
};

// How names are resolved in one context.
struct FieldScope {
  // Bare unknown names are metric references (MATCH, COMPARE, PREDICT).
  bool metric_refs = false;
  // Non-empty: the row has these columns instead of event fields (STATE,
  // HISTORY, CHANGES, the output of an aggregate). Names are matched
  // case-insensitively against them.
  const std::vector<Column>* columns = nullptr;
};

// Resolves `path` (written at `range` of `text`) in `scope`. Unknown names
// are InvalidArgument with the position and the closest known name.
absl::StatusOr<FieldRef> ResolveField(const FieldPath& path, SourceRange range,
                                      absl::string_view text,
                                      const FieldScope& scope);

// The value of `field` for `event` (NULL when the event has no such field).
Value ReadEventField(const FieldRef& field, const Event& event);

// Whether a metric named `metric` answers the reference `word`: equal, or
// `word` is one of its dot-separated components (case-insensitive).
bool MetricNameMatches(absl::string_view metric, absl::string_view word);

// Every event field name (for suggestions and documentation).
const std::vector<std::string>& EventFieldNames();

// error_occurred: an error event, severity ERROR or above, or a span whose
// status is error.
bool ErrorOccurred(const Event& event);

// Names of enum values as TimeQL shows them.
absl::string_view SpanKindText(SpanKind kind);
absl::string_view SpanStatusText(SpanStatus status);
absl::string_view MetricKindText(MetricKind kind);
absl::string_view KernelKindText(KernelEventKind kind);

// The text of an event's "message": log body, error message, span status
// message or Kubernetes message; empty if none.
std::string EventMessage(const Event& event);

}  // namespace traversion::timeql

#endif  // TRAVERSION_TIMEQL_FIELDS_H_
