// traversion/event.h — the UnifiedEvent as plain C++ values.
//
// Users fill these structs without touching protobuf; the store converts them
// to the `traversion.v1.Event` wire format (proto/traversion/v1/) on write and
// back on read. Field meanings and their OpenTelemetry names are documented in
// docs/event-model.md.
//
// Thread safety: these are value types with no shared state; distinct objects
// may be used from distinct threads freely, one object needs external
// synchronization like any std::string.
#ifndef TRAVERSION_EVENT_H_
#define TRAVERSION_EVENT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"

namespace traversion {

// A unique event id whose byte form sorts by time: the big-endian timestamp in
// nanoseconds since the Unix epoch, then an 8-byte suffix that makes it unique.
// Text form: 32 lowercase hex digits.
struct EventId {
  uint64_t time_ns = 0;
  uint64_t suffix = 0;

  // Creates an id at `time_ns` whose suffix is unique within this process
  // (a per-process random tag and a counter), so ids made in one process
  // sort in creation order for equal timestamps.
  static EventId Generate(uint64_t time_ns);
  // Parses the 32-hex-digit form; nullopt if malformed.
  static std::optional<EventId> Parse(absl::string_view text);
  std::string ToString() const;
  // The 16-byte big-endian key form.
  std::array<uint8_t, 16> ToBytes() const;
  static EventId FromBytes(const uint8_t* bytes16);

  bool empty() const { return time_ns == 0 && suffix == 0; }
  friend bool operator==(const EventId& a, const EventId& b) {
    return a.time_ns == b.time_ns && a.suffix == b.suffix;
  }
  friend bool operator!=(const EventId& a, const EventId& b) {
    return !(a == b);
  }
  friend bool operator<(const EventId& a, const EventId& b) {
    return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.suffix < b.suffix;
  }
  template <typename H>
  friend H AbslHashValue(H h, const EventId& id) {
    return H::combine(std::move(h), id.time_ns, id.suffix);
  }
};

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

// Lowercase hex of a trace or span id, and its parse (nullopt if malformed).
std::string ToHex(const TraceId& id);
std::string ToHex(const SpanId& id);
std::optional<TraceId> ParseTraceId(absl::string_view hex);
std::optional<SpanId> ParseSpanId(absl::string_view hex);

enum class EventType : uint8_t {
  kUnspecified = 0,
  kSpan = 1,
  kLog = 2,
  kError = 3,
  kMetric = 4,
  kKernel = 5,
  kKubernetes = 6,
  kEntityState = 7,
  kUiInteraction = 8,
  kCustom = 9,
};
// "span", "log", "error", "metric", "kernel", "kubernetes", "entity_state",
// "ui", "custom", "unspecified"; and the parse of those names.
absl::string_view EventTypeName(EventType type);
std::optional<EventType> ParseEventType(absl::string_view name);

// OpenTelemetry SeverityNumber: the first number of each range.
enum class Severity : uint8_t {
  kUnspecified = 0,
  kTrace = 1,
  kDebug = 5,
  kInfo = 9,
  kWarn = 13,
  kError = 17,
  kFatal = 21,
};
absl::string_view SeverityName(Severity severity);  // "info", "error", ...
std::optional<Severity> ParseSeverity(absl::string_view name);

struct ServiceRef {
  std::string name;         // service.name
  std::string instance;     // service.instance.id
  std::string host;         // host.name
  std::string version;      // service.version
  std::string namespace_;   // service.namespace
  std::string environment;  // deployment.environment.name
};

struct TraceContext {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};
  uint8_t trace_flags = 0;

  bool has_trace() const;
  bool has_parent() const;
};

struct Semantic {
  std::string intent;
  std::string category;
  std::vector<std::string> tags;
};

struct Impact {
  bool customer_facing = false;
  std::string slo;
  double severity_score = 0;
};

// Attribute values keep their type: string, integer, float, bool. Bytes are
// carried as std::vector<uint8_t>.
using AttributeValue =
    std::variant<std::string, int64_t, double, bool, std::vector<uint8_t>>;

struct Attribute {
  std::string key;
  AttributeValue value;
};

// --- layer payloads --------------------------------------------------------

struct HttpInfo {
  std::string method;
  std::string route;
  std::string url;
  int32_t status_code = 0;
  std::string client_ip;
  int64_t request_size = 0;
  int64_t response_size = 0;
};

struct DbInfo {
  std::string system;
  std::string namespace_;
  std::string operation;
  std::string statement;
  std::string table;
};

struct RpcInfo {
  std::string system;
  std::string service;
  std::string method;
  int32_t grpc_status_code = 0;
};

enum class SpanKind : uint8_t {
  kUnspecified = 0,
  kInternal = 1,
  kServer = 2,
  kClient = 3,
  kProducer = 4,
  kConsumer = 5,
};
enum class SpanStatus : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

struct SpanData {
  SpanKind kind = SpanKind::kUnspecified;
  uint64_t duration_ns = 0;
  SpanStatus status = SpanStatus::kUnset;
  std::string status_message;
  std::optional<HttpInfo> http;
  std::optional<DbInfo> db;
  std::optional<RpcInfo> rpc;
  std::string peer_service;
};

struct LogData {
  std::string body;
  std::string logger;
  std::string code_file;
  int32_t code_line = 0;
};

struct ErrorData {
  std::string exception_type;
  std::string message;
  std::string stacktrace;
  bool handled = false;
  bool escaped = false;
};

enum class MetricKind : uint8_t {
  kUnspecified = 0,
  kGauge = 1,
  kCounter = 2,
  kHistogram = 3,
};

struct MetricData {
  MetricKind kind = MetricKind::kGauge;
  double value = 0;
  std::string unit;
  std::vector<double> bucket_bounds;
  std::vector<uint64_t> bucket_counts;
  double sum = 0;
  uint64_t count = 0;
};

enum class KernelEventKind : uint8_t {
  kUnspecified = 0,
  kExec = 1,
  kExit = 2,
  kSyscallFailure = 3,
  kOomKill = 4,
  kTcpRetransmit = 5,
  kFatalSignal = 6,
};

struct KernelData {
  KernelEventKind kind = KernelEventKind::kUnspecified;
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint32_t ppid = 0;
  std::string comm;
  uint64_t cgroup_id = 0;
  std::string syscall;
  int32_t syscall_nr = 0;
  int32_t errno_value = 0;
  int64_t return_value = 0;
  int32_t exit_code = 0;
  int32_t signal = 0;
  std::string filename;
  std::string saddr;
  std::string daddr;
  uint32_t sport = 0;
  uint32_t dport = 0;
};

struct KubernetesData {
  std::string namespace_;
  std::string pod;
  std::string container;
  std::string node;
  std::string object_kind;
  std::string reason;
  std::string message;
};

// One field of an entity's state, in canonical text form.
struct EntityField {
  std::string name;
  std::string value;
  friend bool operator==(const EntityField& a, const EntityField& b) {
    return a.name == b.name && a.value == b.value;
  }
};

// An observation of an entity's state. The store assigns a new revision only
// when the observed fields (compared as a set, order-insensitive) differ from
// the entity's state at that time, or when `deleted` changes.
struct EntityStateData {
  std::string entity;
  std::string entity_type;
  std::vector<EntityField> fields;
  bool deleted = false;
};

struct UiInteractionData {
  std::string action;
  std::string target;
  std::string page;
  std::string session_id;
  std::string user_id;
};

using Payload = std::variant<std::monostate, SpanData, LogData, ErrorData,
                             MetricData, KernelData, KubernetesData,
                             EntityStateData, UiInteractionData>;

// --- the event --------------------------------------------------------------

struct Event {
  // Empty: the store assigns EventId::Generate(time_ns) on write.
  EventId id;
  // Nanoseconds since the Unix epoch. Zero: the store stamps the write time.
  uint64_t time_ns = 0;
  // kUnspecified: derived from the payload (kCustom when there is none).
  EventType type = EventType::kUnspecified;
  std::string source;
  ServiceRef service;
  TraceContext trace;
  Severity severity = Severity::kUnspecified;
  std::string name;
  Semantic semantic;
  Impact impact;
  std::vector<Attribute> attributes;
  std::vector<std::string> entity_refs;
  double sample_rate = 0;
  Payload payload;

  // The type this event is stored as: `type` if set, else the payload's.
  EventType effective_type() const;
  // The attribute named `key`, or nullptr.
  const AttributeValue* FindAttribute(absl::string_view key) const;

  // Typed payload access; nullptr if the payload is of another layer.
  const SpanData* span() const { return std::get_if<SpanData>(&payload); }
  const LogData* log() const { return std::get_if<LogData>(&payload); }
  const ErrorData* error() const { return std::get_if<ErrorData>(&payload); }
  const MetricData* metric() const { return std::get_if<MetricData>(&payload); }
  const KernelData* kernel() const { return std::get_if<KernelData>(&payload); }
  const KubernetesData* kubernetes() const {
    return std::get_if<KubernetesData>(&payload);
  }
  const EntityStateData* entity_state() const {
    return std::get_if<EntityStateData>(&payload);
  }
  const UiInteractionData* ui() const {
    return std::get_if<UiInteractionData>(&payload);
  }
};

// Deep equality of every field (used by round-trip tests and dedup checks).
bool operator==(const Event& a, const Event& b);
inline bool operator!=(const Event& a, const Event& b) { return !(a == b); }

}  // namespace traversion

#endif  // TRAVERSION_EVENT_H_
