// Event validation and its binary and JSON codecs.
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>

#include <climits>
#include <cmath>
#include <exception>
#include <new>
#include <string>

#include "absl/strings/str_cat.h"
#include "event/proto_convert.h"
#include "event/utf8.h"
#include "traversion/event_codec.h"
#include "traversion/v1/event.pb.h"
#include "util/status_macros.h"

namespace traversion {
namespace {

// A field of an event for error messages, e.g. "attributes[2].key": `field`,
// then `[index]` when index >= 0, then `.sub` when sub is set. Cheap to make;
// rendered only when an error is reported.
struct FieldPath {
  const char* field;
  int index = -1;
  const char* sub = nullptr;

  std::string ToString() const {
    std::string out = field;
    if (index >= 0) absl::StrAppend(&out, "[", index, "]");
    if (sub != nullptr) absl::StrAppend(&out, ".", sub);
    return out;
  }
};

// Calls `visit(value, path)` for every string field of `e` (not bytes)
// until it returns false; returns whether all were visited. Paths use the
// proto field names.
template <typename Visit>
bool ForEachString(const Event& e, Visit&& visit) {
#define TV_VISIT(value, ...) \
  if (!visit((value), FieldPath{__VA_ARGS__})) return false
  TV_VISIT(e.source, "source");
  TV_VISIT(e.service.name, "service.name");
  TV_VISIT(e.service.instance, "service.instance");
  TV_VISIT(e.service.host, "service.host");
  TV_VISIT(e.service.version, "service.version");
  TV_VISIT(e.service.namespace_, "service.namespace");
  TV_VISIT(e.service.environment, "service.environment");
  TV_VISIT(e.name, "name");
  TV_VISIT(e.semantic.intent, "semantic.intent");
  TV_VISIT(e.semantic.category, "semantic.category");
  for (size_t i = 0; i < e.semantic.tags.size(); ++i) {
    TV_VISIT(e.semantic.tags[i], "semantic.tags", static_cast<int>(i));
  }
  TV_VISIT(e.impact.slo, "impact.slo");
  for (size_t i = 0; i < e.attributes.size(); ++i) {
    const Attribute& attribute = e.attributes[i];
    TV_VISIT(attribute.key, "attributes", static_cast<int>(i), "key");
    if (const auto* s = std::get_if<std::string>(&attribute.value)) {
      TV_VISIT(*s, "attributes", static_cast<int>(i), "value");
    }
  }
  for (size_t i = 0; i < e.entity_refs.size(); ++i) {
    TV_VISIT(e.entity_refs[i], "entity_refs", static_cast<int>(i));
  }
  if (const SpanData* span = e.span()) {
    TV_VISIT(span->status_message, "span.status_message");
    if (span->http) {
      TV_VISIT(span->http->method, "span.http.method");
      TV_VISIT(span->http->route, "span.http.route");
      TV_VISIT(span->http->url, "span.http.url");
      TV_VISIT(span->http->client_ip, "span.http.client_ip");
    }
    if (span->db) {
      TV_VISIT(span->db->system, "span.db.system");
      TV_VISIT(span->db->namespace_, "span.db.namespace");
      TV_VISIT(span->db->operation, "span.db.operation");
      TV_VISIT(span->db->statement, "span.db.statement");
      TV_VISIT(span->db->table, "span.db.table");
    }
    if (span->rpc) {
      TV_VISIT(span->rpc->system, "span.rpc.system");
      TV_VISIT(span->rpc->service, "span.rpc.service");
      TV_VISIT(span->rpc->method, "span.rpc.method");
    }
    TV_VISIT(span->peer_service, "span.peer_service");
  } else if (const LogData* log = e.log()) {
    TV_VISIT(log->body, "log.body");
    TV_VISIT(log->logger, "log.logger");
    TV_VISIT(log->code_file, "log.code_file");
  } else if (const ErrorData* error = e.error()) {
    TV_VISIT(error->exception_type, "error.exception_type");
    TV_VISIT(error->message, "error.message");
    TV_VISIT(error->stacktrace, "error.stacktrace");
  } else if (const MetricData* metric = e.metric()) {
    TV_VISIT(metric->unit, "metric.unit");
  } else if (const KernelData* kernel = e.kernel()) {
    TV_VISIT(kernel->comm, "kernel.comm");
    TV_VISIT(kernel->syscall, "kernel.syscall");
    TV_VISIT(kernel->filename, "kernel.filename");
    TV_VISIT(kernel->saddr, "kernel.saddr");
    TV_VISIT(kernel->daddr, "kernel.daddr");
  } else if (const KubernetesData* k8s = e.kubernetes()) {
    TV_VISIT(k8s->namespace_, "kubernetes.namespace");
    TV_VISIT(k8s->pod, "kubernetes.pod");
    TV_VISIT(k8s->container, "kubernetes.container");
    TV_VISIT(k8s->node, "kubernetes.node");
    TV_VISIT(k8s->object_kind, "kubernetes.object_kind");
    TV_VISIT(k8s->reason, "kubernetes.reason");
    TV_VISIT(k8s->message, "kubernetes.message");
  } else if (const EntityStateData* state = e.entity_state()) {
    TV_VISIT(state->entity, "entity_state.entity");
    TV_VISIT(state->entity_type, "entity_state.entity_type");
    for (size_t i = 0; i < state->fields.size(); ++i) {
      TV_VISIT(state->fields[i].name, "entity_state.fields",
               static_cast<int>(i), "name");
      TV_VISIT(state->fields[i].value, "entity_state.fields",
               static_cast<int>(i), "value");
    }
  } else if (const UiInteractionData* ui = e.ui()) {
    TV_VISIT(ui->action, "ui.action");
    TV_VISIT(ui->target, "ui.target");
    TV_VISIT(ui->page, "ui.page");
    TV_VISIT(ui->session_id, "ui.session_id");
    TV_VISIT(ui->user_id, "ui.user_id");
  }
  return true;
#undef TV_VISIT
}

// Overheads of the size estimate, in bytes: what the wire format adds around
// a string (tag and length), an attribute (two message headers), a numeric
// value (tag and at most a 10-byte varint) and the fixed-size parts of every
// event (id, time, enums, trace context, message headers).
constexpr size_t kStringOverhead = 4;
constexpr size_t kAttributeOverhead = 8;
constexpr size_t kNumberOverhead = 11;
constexpr size_t kEventOverhead = 160;

// Close to the protobuf encoding's size, from lengths alone: cheap enough to
// run on every event before the UTF-8 scan.
size_t EstimateEncodedSize(const Event& e) {
  size_t size = kEventOverhead;
  ForEachString(e, [&size](const std::string& value, const FieldPath&) {
    size += value.size() + kStringOverhead;
    return true;
  });
  for (const Attribute& attribute : e.attributes) {
    size += kAttributeOverhead;
    if (const auto* bytes =
            std::get_if<std::vector<uint8_t>>(&attribute.value)) {
      size += bytes->size() + kStringOverhead;
    } else if (!std::holds_alternative<std::string>(attribute.value)) {
      size += kNumberOverhead;
    }
  }
  if (const MetricData* metric = e.metric()) {
    size += (metric->bucket_bounds.size() + metric->bucket_counts.size()) *
            kNumberOverhead;
  }
  if (const EntityStateData* state = e.entity_state()) {
    size += state->fields.size() * kAttributeOverhead;
  }
  return size;
}

absl::Status CheckUtf8(const Event& e) {
  absl::Status status;
  ForEachString(e, [&status](const std::string& value, const FieldPath& path) {
    const size_t bad = internal::FindInvalidUtf8(value);
    if (bad == absl::string_view::npos) return true;
    status = absl::InvalidArgumentError(
        absl::StrCat(path.ToString(), ": invalid UTF-8 at byte ", bad));
    return false;
  });
  return status;
}

template <size_t N>
bool AllZero(const std::array<uint8_t, N>& bytes) {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

absl::Status CheckHistogram(const MetricData& metric) {
  const size_t bounds = metric.bucket_bounds.size();
  const size_t counts = metric.bucket_counts.size();
  if ((bounds != 0 || counts != 0) && counts != bounds + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric.bucket_counts: ", counts, " counts for ", bounds,
                     " bucket_bounds, expected ", bounds + 1));
  }
  for (size_t i = 1; i < bounds; ++i) {
    // Written so that a NaN bound fails too.
    if (!(metric.bucket_bounds[i - 1] < metric.bucket_bounds[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric.bucket_bounds[", i, "]: bounds must be strictly ascending"));
    }
  }
  return absl::OkStatus();
}

// protobuf prints -0.0 as `-0`, which its own parser (like most) reads as
// the integer 0. Spelling it `-0.0` keeps the sign through a round trip.
// Outside strings a '-' can only start a number, so this needs no parser.
void KeepNegativeZeroSign(std::string* json) {
  if (json->find("-0") == std::string::npos) return;
  const std::string& in = *json;
  std::string out;
  out.reserve(in.size() + 16);
  bool in_string = false;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    out.push_back(c);
    if (in_string) {
      if (c == '\\' && i + 1 < in.size()) {
        out.push_back(in[++i]);
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '-' && i + 2 < in.size() && in[i + 1] == '0' &&
               (in[i + 2] == ',' || in[i + 2] == '}' || in[i + 2] == ']')) {
      out.append("0.0");
      ++i;
    }
  }
  json->swap(out);
}

absl::Status FromProtobufStatus(const google::protobuf::util::Status& status,
                                absl::string_view context) {
  return absl::Status(
      static_cast<absl::StatusCode>(static_cast<int>(status.code())),
      absl::StrCat(context, absl::string_view(status.message().data(),
                                              status.message().size())));
}

}  // namespace

absl::Status ValidateEvent(const Event& event, const ValidationLimits& limits) {
  // Size first: it needs only lengths, and spares scanning a huge value.
  const size_t size = EstimateEncodedSize(event);
  if (size > limits.max_event_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "event is ", size, " bytes, over the limit of ", limits.max_event_bytes,
        " (ValidationLimits::max_event_bytes)"));
  }
  TV_RETURN_IF_ERROR(CheckUtf8(event));

  if (!event.trace.has_trace()) {
    if (!AllZero(event.trace.span_id)) {
      return absl::InvalidArgumentError(
          "trace.span_id: set without a trace.trace_id");
    }
    if (event.trace.has_parent()) {
      return absl::InvalidArgumentError(
          "trace.parent_span_id: set without a trace.trace_id");
    }
  }
  if (static_cast<int>(event.severity) > 24) {
    return absl::InvalidArgumentError(
        absl::StrCat("severity: ", static_cast<int>(event.severity),
                     " is not an OpenTelemetry SeverityNumber (0..24)"));
  }
  if (!std::isfinite(event.sample_rate) || event.sample_rate < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sample_rate: ", event.sample_rate, " is not a finite number >= 0"));
  }

  const EntityStateData* state = event.entity_state();
  if (event.effective_type() == EventType::kEntityState && state == nullptr) {
    return absl::InvalidArgumentError(
        "entity_state: an event of type entity_state needs an entity_state "
        "payload");
  }
  if (state != nullptr && state->entity.empty()) {
    return absl::InvalidArgumentError(
        "entity_state.entity: an entity_state event must name its entity");
  }
  if (const MetricData* metric = event.metric()) {
    TV_RETURN_IF_ERROR(CheckHistogram(*metric));
  }
  return absl::OkStatus();
}

std::string EventToBinary(const Event& event) {
  v1::Event message;
  internal::EventToProto(event, &message);
  return message.SerializeAsString();
}

absl::StatusOr<Event> EventFromBinary(absl::string_view bytes) {
  try {
    if (bytes.size() > static_cast<size_t>(INT_MAX)) {
      return absl::InvalidArgumentError("malformed protobuf event: over 2 GiB");
    }
    v1::Event message;
    {
      // Invalid UTF-8 in a string field fails the parse and is reported by
      // the status; protobuf's own log line about it would only be noise.
      google::protobuf::LogSilencer silence;
      if (!message.ParseFromArray(bytes.data(),
                                  static_cast<int>(bytes.size()))) {
        return absl::InvalidArgumentError("malformed protobuf event");
      }
    }
    Event event;
    TV_RETURN_IF_ERROR(internal::EventFromProto(message, &event));
    return event;
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        "out of memory decoding a protobuf event");
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("decoding a protobuf event: ", e.what()));
  }
}

absl::StatusOr<std::string> EventToJson(const Event& event) {
  // JSON text must be UTF-8; say which field is not, rather than emit
  // something no parser accepts.
  TV_RETURN_IF_ERROR(CheckUtf8(event));
  try {
    v1::Event message;
    internal::EventToProto(event, &message);
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = false;
    options.preserve_proto_field_names = true;
    std::string json;
    const auto status =
        google::protobuf::util::MessageToJsonString(message, &json, options);
    if (!status.ok()) return FromProtobufStatus(status, "event to JSON: ");
    KeepNegativeZeroSign(&json);
    return json;
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory encoding event JSON");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("encoding event JSON: ", e.what()));
  }
}

absl::StatusOr<Event> EventFromJson(absl::string_view json) {
  const size_t bad = internal::FindInvalidUtf8(json);
  if (bad != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid event JSON: invalid UTF-8 at byte ", bad));
  }
  try {
    v1::Event message;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    google::protobuf::util::Status status;
    {
      google::protobuf::LogSilencer silence;  // the status says it all
      status = google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(json.data(), json.size()), &message,
          options);
    }
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid event JSON: ",
          absl::string_view(status.message().data(), status.message().size())));
    }
    Event event;
    TV_RETURN_IF_ERROR(internal::EventFromProto(message, &event));
    return event;
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory decoding event JSON");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("decoding event JSON: ", e.what()));
  }
}

}  // namespace traversion
