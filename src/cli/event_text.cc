#include "cli/event_text.h"

#include <string>
#include <variant>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "cli/common.h"
#include "traversion/event.h"

namespace traversion::cli {
namespace {

absl::string_view KernelKindName(KernelEventKind kind) {
  switch (kind) {
    case KernelEventKind::kExec:
      return "exec";
    case KernelEventKind::kExit:
      return "exit";
    case KernelEventKind::kSyscallFailure:
      return "syscall failed";
    case KernelEventKind::kOomKill:
      return "oom kill";
    case KernelEventKind::kTcpRetransmit:
      return "tcp retransmit";
    case KernelEventKind::kFatalSignal:
      return "fatal signal";
    case KernelEventKind::kUnspecified:
      break;
  }
  return "kernel";
}

std::string HttpText(const HttpInfo& http) {
  std::vector<std::string> parts;
  if (!http.method.empty()) parts.push_back(http.method);
  if (!http.route.empty()) {
    parts.push_back(http.route);
  } else if (!http.url.empty()) {
    parts.push_back(http.url);
  }
  return absl::StrJoin(parts, " ");
}

std::string DbText(const DbInfo& db) {
  std::string what = db.statement;
  if (what.empty()) {
    what = absl::StrJoin(std::vector<absl::string_view>{db.operation, db.table},
                         " ");
  }
  if (db.system.empty()) return what;
  return absl::StrCat(db.system, ": ", what);
}

std::string MetricText(const MetricData& metric) {
  if (metric.kind == MetricKind::kHistogram) {
    double mean = metric.count == 0 ? 0 : metric.sum / metric.count;
    return absl::StrFormat("count=%d sum=%g mean=%g%s", metric.count,
                           metric.sum, mean,
                           metric.unit.empty() ? "" : " " + metric.unit);
  }
  std::string out = absl::StrFormat("%g", metric.value);
  if (!metric.unit.empty()) {
    absl::StrAppend(&out, metric.unit == "%" ? "" : " ", metric.unit);
  }
  return out;
}

}  // namespace

std::string SeverityLabel(Severity severity) {
  if (severity == Severity::kUnspecified) return "-";
  return std::string(SeverityName(severity));
}

std::string AttributeText(const AttributeValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::vector<uint8_t>>) {
          return absl::StrCat(
              "0x", absl::BytesToHexString(absl::string_view(
                        reinterpret_cast<const char*>(v.data()), v.size())));
        } else if constexpr (std::is_same_v<T, double>) {
          return absl::StrFormat("%g", v);
        } else {
          return absl::StrCat(v);
        }
      },
      value);
}

std::string SpanOutcome(const SpanData& span) {
  std::string out = FormatDuration(span.duration_ns);
  if (span.http.has_value() && span.http->status_code != 0) {
    absl::StrAppend(&out, " ", span.http->status_code);
  }
  if (span.rpc.has_value() && span.rpc->grpc_status_code != 0) {
    absl::StrAppend(&out, " grpc=", span.rpc->grpc_status_code);
  }
  if (span.status == SpanStatus::kError) {
    absl::StrAppend(&out, " ERROR");
    if (!span.status_message.empty()) {
      absl::StrAppend(&out, ": ", span.status_message);
    }
  }
  return out;
}

std::string EventDetail(const Event& event) {
  if (const SpanData* span = event.span()) {
    std::vector<std::string> parts;
    if (span->http.has_value()) {
      // Span names are usually "METHOD route" already.
      std::string http = HttpText(*span->http);
      if (!http.empty() && http != event.name) parts.push_back(std::move(http));
    }
    if (span->db.has_value()) parts.push_back(DbText(*span->db));
    if (span->rpc.has_value()) {
      parts.push_back(absl::StrCat(span->rpc->service, "/", span->rpc->method));
    }
    if (!span->peer_service.empty()) {
      parts.push_back(absl::StrCat("-> ", span->peer_service));
    }
    std::string outcome = SpanOutcome(*span);
    if (parts.empty()) return outcome;
    return absl::StrCat(outcome, "  ", absl::StrJoin(parts, " "));
  }
  if (const LogData* log = event.log()) return log->body;
  if (const ErrorData* error = event.error()) {
    if (error->exception_type.empty()) return error->message;
    if (error->message.empty()) return error->exception_type;
    return absl::StrCat(error->exception_type, ": ", error->message);
  }
  if (const MetricData* metric = event.metric()) return MetricText(*metric);
  if (const EntityStateData* state = event.entity_state()) {
    std::string out = state->entity;
    if (state->deleted) {
      absl::StrAppend(&out, " deleted");
      return out;
    }
    for (const EntityField& field : state->fields) {
      absl::StrAppend(&out, " ", field.name, "=", field.value);
    }
    return out;
  }
  if (const KernelData* kernel = event.kernel()) {
    std::string out = absl::StrFormat("%s %s[%d]", KernelKindName(kernel->kind),
                                      kernel->comm, kernel->pid);
    if (!kernel->syscall.empty()) {
      absl::StrAppend(&out, " ", kernel->syscall,
                      " errno=", kernel->errno_value);
    }
    if (kernel->signal != 0) absl::StrAppend(&out, " signal=", kernel->signal);
    if (kernel->kind == KernelEventKind::kExit) {
      absl::StrAppend(&out, " code=", kernel->exit_code);
    }
    if (!kernel->filename.empty()) absl::StrAppend(&out, " ", kernel->filename);
    if (!kernel->daddr.empty()) {
      absl::StrAppendFormat(&out, " %s:%d -> %s:%d", kernel->saddr,
                            kernel->sport, kernel->daddr, kernel->dport);
    }
    return out;
  }
  if (const KubernetesData* k8s = event.kubernetes()) {
    std::string out = absl::StrCat(k8s->namespace_, "/", k8s->pod);
    if (!k8s->reason.empty()) absl::StrAppend(&out, " ", k8s->reason);
    if (!k8s->message.empty()) absl::StrAppend(&out, ": ", k8s->message);
    return out;
  }
  if (const UiInteractionData* ui = event.ui()) {
    std::string out = absl::StrCat(ui->action, " ", ui->target);
    if (!ui->page.empty()) absl::StrAppend(&out, " on ", ui->page);
    return out;
  }
  std::vector<std::string> attributes;
  for (const Attribute& attribute : event.attributes) {
    attributes.push_back(
        absl::StrCat(attribute.key, "=", AttributeText(attribute.value)));
  }
  return absl::StrJoin(attributes, " ");
}

}  // namespace traversion::cli
