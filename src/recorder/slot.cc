#include "recorder/slot.h"

#include <cxxabi.h>

#include <cstdlib>

namespace traversion::recorder_internal {
namespace {

std::string Demangle(absl::string_view mangled) {
  const std::string name(mangled);
  int status = 0;
  char* out = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  if (out == nullptr) return name;
  std::string result(out);
  std::free(out);
  return result;
}

struct FieldRef {
  Tag tag;
  uint8_t aux;
  absl::string_view key;  // attributes and entity fields
  absl::string_view value;
};

// Calls `f(FieldRef)` for each field of the arena.
template <typename F>
void ForEachField(const Slot& slot, F&& f) {
  const char* p = slot.arena;
  const char* end = slot.arena + slot.used;
  while (end - p >= 4) {
    FieldRef field;
    field.tag = static_cast<Tag>(p[0]);
    field.aux = static_cast<uint8_t>(p[1]);
    uint16_t len;
    std::memcpy(&len, p + 2, 2);
    p += 4;
    if (len > end - p) return;  // cannot happen: the writer checks room
    absl::string_view body(p, len);
    p += len;
    if (field.tag == Tag::kAttr || field.tag == Tag::kEntityField) {
      if (body.empty()) continue;
      const auto klen = static_cast<uint8_t>(body[0]);
      if (klen + 1u > body.size()) continue;
      field.key = body.substr(1, klen);
      body.remove_prefix(1 + klen);
    }
    field.value = body;
    f(field);
  }
}

template <typename T>
T Load(absl::string_view bytes) {
  T v{};
  if (bytes.size() == sizeof(T)) std::memcpy(&v, bytes.data(), sizeof(T));
  return v;
}

AttributeValue ToAttributeValue(const FieldRef& f) {
  switch (static_cast<AttrValue::Type>(f.aux)) {
    case AttrValue::Type::kInt:
      return Load<int64_t>(f.value);
    case AttrValue::Type::kDouble:
      return Load<double>(f.value);
    case AttrValue::Type::kBool:
      return !f.value.empty() && f.value[0] != 0;
    case AttrValue::Type::kString:
      break;
  }
  return std::string(f.value);
}

}  // namespace

void DecodeSlot(const Slot& slot, const TscTimeBase& time_base, Event* out) {
  Event& e = *out;
  e = Event();
  const bool tsc = (slot.flags & kFlagTscTime) != 0;
  e.time_ns = tsc ? time_base.ToNs(slot.time_ns) : slot.time_ns;
  e.trace.trace_id = slot.trace_id;
  e.trace.span_id = slot.span_id;
  e.trace.parent_span_id = slot.parent_span_id;
  e.trace.trace_flags = slot.trace_flags;
  e.severity = static_cast<Severity>(slot.severity);

  SpanData* span = nullptr;
  LogData* log = nullptr;
  ErrorData* error = nullptr;
  MetricData* metric = nullptr;
  EntityStateData* entity = nullptr;
  switch (slot.kind) {
    case SlotKind::kSpan:
      span = &e.payload.emplace<SpanData>();
      span->kind = static_cast<SpanKind>(slot.sub);
      span->duration_ns = tsc ? time_base.Duration(slot.u64) : slot.u64;
      span->status = static_cast<SpanStatus>(slot.status);
      break;
    case SlotKind::kLog:
      log = &e.payload.emplace<LogData>();
      break;
    case SlotKind::kError:
      error = &e.payload.emplace<ErrorData>();
      error->handled = (slot.flags & kFlagHandled) != 0;
      error->escaped = (slot.flags & kFlagEscaped) != 0;
      break;
    case SlotKind::kMetric:
      metric = &e.payload.emplace<MetricData>();
      metric->kind = static_cast<MetricKind>(slot.sub);
      metric->value = slot.value;
      metric->sum = slot.sum;
      metric->count = slot.u64;
      break;
    case SlotKind::kEntity:
      entity = &e.payload.emplace<EntityStateData>();
      entity->deleted = (slot.flags & kFlagDeleted) != 0;
      break;
    case SlotKind::kCustom:
      e.type = EventType::kCustom;
      break;
  }

  ForEachField(slot, [&](const FieldRef& f) {
    switch (f.tag) {
      case Tag::kName:
        e.name.assign(f.value.data(), f.value.size());
        return;
      case Tag::kAttr:
        e.attributes.push_back({std::string(f.key), ToAttributeValue(f)});
        return;
      default:
        break;
    }
    if (span != nullptr) {
      switch (f.tag) {
        case Tag::kStatusMessage:
          span->status_message.assign(f.value.data(), f.value.size());
          break;
        case Tag::kHttpMethod:
          if (!span->http) span->http.emplace();
          span->http->method.assign(f.value.data(), f.value.size());
          break;
        case Tag::kHttpRoute:
          if (!span->http) span->http.emplace();
          span->http->route.assign(f.value.data(), f.value.size());
          break;
        case Tag::kHttpUrl:
          if (!span->http) span->http.emplace();
          span->http->url.assign(f.value.data(), f.value.size());
          break;
        case Tag::kHttpStatus:
          if (!span->http) span->http.emplace();
          span->http->status_code = Load<int32_t>(f.value);
          break;
        case Tag::kDbSystem:
          if (!span->db) span->db.emplace();
          span->db->system.assign(f.value.data(), f.value.size());
          break;
        case Tag::kDbOperation:
          if (!span->db) span->db.emplace();
          span->db->operation.assign(f.value.data(), f.value.size());
          break;
        case Tag::kDbStatement:
          if (!span->db) span->db.emplace();
          span->db->statement.assign(f.value.data(), f.value.size());
          break;
        case Tag::kPeerService:
          span->peer_service.assign(f.value.data(), f.value.size());
          break;
        default:
          break;
      }
    } else if (log != nullptr) {
      if (f.tag == Tag::kBody) log->body.assign(f.value.data(), f.value.size());
    } else if (error != nullptr) {
      switch (f.tag) {
        case Tag::kExceptionType:
          error->exception_type = (slot.flags & kFlagMangledType)
                                      ? Demangle(f.value)
                                      : std::string(f.value);
          break;
        case Tag::kMessage:
          error->message.assign(f.value.data(), f.value.size());
          break;
        case Tag::kStacktrace:
          error->stacktrace.assign(f.value.data(), f.value.size());
          break;
        default:
          break;
      }
    } else if (metric != nullptr) {
      switch (f.tag) {
        case Tag::kUnit:
          metric->unit.assign(f.value.data(), f.value.size());
          break;
        case Tag::kBucketBounds:
          metric->bucket_bounds.resize(f.value.size() / sizeof(double));
          std::memcpy(metric->bucket_bounds.data(), f.value.data(),
                      metric->bucket_bounds.size() * sizeof(double));
          break;
        case Tag::kBucketCounts:
          metric->bucket_counts.resize(f.value.size() / sizeof(uint64_t));
          std::memcpy(metric->bucket_counts.data(), f.value.data(),
                      metric->bucket_counts.size() * sizeof(uint64_t));
          break;
        default:
          break;
      }
    } else if (entity != nullptr) {
      switch (f.tag) {
        case Tag::kEntity:
          entity->entity.assign(f.value.data(), f.value.size());
          break;
        case Tag::kEntityType:
          entity->entity_type.assign(f.value.data(), f.value.size());
          break;
        case Tag::kEntityField:
          entity->fields.push_back({std::string(f.key), std::string(f.value)});
          break;
        default:
          break;
      }
    }
  });
  if (metric != nullptr && !metric->bucket_bounds.empty() &&
      metric->bucket_counts.size() != metric->bucket_bounds.size() + 1) {
    // The counts did not fit: a histogram without buckets beats a
    // malformed one.
    metric->bucket_bounds.clear();
    metric->bucket_counts.clear();
  }
  if (slot.flags & kFlagTruncated) {
    e.attributes.push_back({"traversion.truncated", true});
  }
}

}  // namespace traversion::recorder_internal
