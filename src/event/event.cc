// Event value types: id generation and text forms, names, deep equality.
#include "traversion/event.h"

#include <pthread.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "absl/strings/match.h"
#include "util/coding.h"

namespace traversion {
namespace {

// --- hex -------------------------------------------------------------------

constexpr char kHexDigits[] = "0123456789abcdef";

// The value of each hex digit (either case), -1 for any other byte.
constexpr std::array<int8_t, 256> MakeHexValues() {
  std::array<int8_t, 256> values{};
  for (int c = 0; c < 256; ++c) {
    values[c] = c >= '0' && c <= '9'   ? static_cast<int8_t>(c - '0')
                : c >= 'a' && c <= 'f' ? static_cast<int8_t>(c - 'a' + 10)
                : c >= 'A' && c <= 'F' ? static_cast<int8_t>(c - 'A' + 10)
                                       : int8_t{-1};
  }
  return values;
}
constexpr std::array<int8_t, 256> kHexValues = MakeHexValues();

void WriteHex(const uint8_t* bytes, size_t n, char* out) {
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHexDigits[bytes[i] >> 4];
    out[2 * i + 1] = kHexDigits[bytes[i] & 0xf];
  }
}

// Decodes exactly 2 * n hex digits (either case) into `out`.
bool DecodeHex(absl::string_view hex, uint8_t* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    const int hi = kHexValues[static_cast<uint8_t>(hex[2 * i])];
    const int lo = kHexValues[static_cast<uint8_t>(hex[2 * i + 1])];
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

template <size_t N>
bool AllZero(const std::array<uint8_t, N>& bytes) {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

// --- id suffixes -------------------------------------------------------------

// A generated suffix is a 24-bit per-process tag above a 40-bit counter. The
// tag keeps processes writing to one store apart; the counter orders ids of
// one process that share a timestamp. The counter wraps after 2^40 ids, by
// which time the timestamp has long moved on, so (time_ns, suffix) stays
// unique.
constexpr int kCounterBits = 40;
constexpr uint64_t kCounterMask = (uint64_t{1} << kCounterBits) - 1;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The shifted random tag. Uses only system calls, because it also runs in
// the child of a fork() where little else is safe.
uint64_t NewProcessTag() {
  uint64_t entropy = 0;
  if (getrandom(&entropy, sizeof(entropy), GRND_NONBLOCK) !=
      static_cast<ssize_t>(sizeof(entropy))) {
    entropy = 0;
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t mixed =
      SplitMix64(entropy ^ SplitMix64(static_cast<uint64_t>(getpid())) ^
                 static_cast<uint64_t>(ts.tv_nsec) ^
                 (static_cast<uint64_t>(ts.tv_sec) << 32));
  return (mixed >> kCounterBits) << kCounterBits;
}

struct IdSource {
  std::atomic<uint64_t> tag{NewProcessTag()};
  std::atomic<uint64_t> counter{0};
};

IdSource& Source();

// A forked child shares the parent's tag and counter; a fresh tag keeps the
// two processes' ids apart.
void ReseedAfterFork() {
  // relaxed: the child runs a single thread at this point.
  Source().tag.store(NewProcessTag(), std::memory_order_relaxed);
}

IdSource& Source() {
  // Leaked on purpose: ids may still be generated during static destruction.
  static IdSource* const source = [] {
    auto* s = new IdSource;
    pthread_atfork(nullptr, nullptr, &ReseedAfterFork);
    return s;
  }();
  return *source;
}

// --- equality ----------------------------------------------------------------

// Bitwise equality, except that any two NaNs are equal: a round trip through
// JSON keeps NaN but not its payload bits.
bool SameDouble(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b) ||
         (std::isnan(a) && std::isnan(b));
}

bool SameDoubles(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!SameDouble(a[i], b[i])) return false;
  }
  return true;
}

bool Equal(const ServiceRef& a, const ServiceRef& b) {
  return a.name == b.name && a.instance == b.instance && a.host == b.host &&
         a.version == b.version && a.namespace_ == b.namespace_ &&
         a.environment == b.environment;
}

bool Equal(const TraceContext& a, const TraceContext& b) {
  return a.trace_id == b.trace_id && a.span_id == b.span_id &&
         a.parent_span_id == b.parent_span_id && a.trace_flags == b.trace_flags;
}

bool Equal(const Semantic& a, const Semantic& b) {
  return a.intent == b.intent && a.category == b.category && a.tags == b.tags;
}

bool Equal(const Impact& a, const Impact& b) {
  return a.customer_facing == b.customer_facing && a.slo == b.slo &&
         SameDouble(a.severity_score, b.severity_score);
}

bool Equal(const AttributeValue& a, const AttributeValue& b) {
  if (a.index() != b.index()) return false;
  if (const double* x = std::get_if<double>(&a)) {
    return SameDouble(*x, std::get<double>(b));
  }
  return a == b;
}

bool Equal(const std::vector<Attribute>& a, const std::vector<Attribute>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].key != b[i].key || !Equal(a[i].value, b[i].value)) return false;
  }
  return true;
}

bool Equal(const HttpInfo& a, const HttpInfo& b) {
  return a.method == b.method && a.route == b.route && a.url == b.url &&
         a.status_code == b.status_code && a.client_ip == b.client_ip &&
         a.request_size == b.request_size && a.response_size == b.response_size;
}

bool Equal(const DbInfo& a, const DbInfo& b) {
  return a.system == b.system && a.namespace_ == b.namespace_ &&
         a.operation == b.operation && a.statement == b.statement &&
         a.table == b.table;
}

bool Equal(const RpcInfo& a, const RpcInfo& b) {
  return a.system == b.system && a.service == b.service &&
         a.method == b.method && a.grpc_status_code == b.grpc_status_code;
}

template <typename T>
bool Equal(const std::optional<T>& a, const std::optional<T>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a.has_value() || Equal(*a, *b);
}

bool Equal(std::monostate, std::monostate) { return true; }

bool Equal(const SpanData& a, const SpanData& b) {
  return a.kind == b.kind && a.duration_ns == b.duration_ns &&
         a.status == b.status && a.status_message == b.status_message &&
         Equal(a.http, b.http) && Equal(a.db, b.db) && Equal(a.rpc, b.rpc) &&
         a.peer_service == b.peer_service;
}

bool Equal(const LogData& a, const LogData& b) {
  return a.body == b.body && a.logger == b.logger &&
         a.code_file == b.code_file && a.code_line == b.code_line;
}

bool Equal(const ErrorData& a, const ErrorData& b) {
  return a.exception_type == b.exception_type && a.message == b.message &&
         a.stacktrace == b.stacktrace && a.handled == b.handled &&
         a.escaped == b.escaped;
}

bool Equal(const MetricData& a, const MetricData& b) {
  return a.kind == b.kind && SameDouble(a.value, b.value) && a.unit == b.unit &&
         SameDoubles(a.bucket_bounds, b.bucket_bounds) &&
         a.bucket_counts == b.bucket_counts && SameDouble(a.sum, b.sum) &&
         a.count == b.count;
}

bool Equal(const KernelData& a, const KernelData& b) {
  return a.kind == b.kind && a.pid == b.pid && a.tid == b.tid &&
         a.ppid == b.ppid && a.comm == b.comm && a.cgroup_id == b.cgroup_id &&
         a.syscall == b.syscall && a.syscall_nr == b.syscall_nr &&
         a.errno_value == b.errno_value && a.return_value == b.return_value &&
         a.exit_code == b.exit_code && a.signal == b.signal &&
         a.filename == b.filename && a.saddr == b.saddr && a.daddr == b.daddr &&
         a.sport == b.sport && a.dport == b.dport;
}

bool Equal(const KubernetesData& a, const KubernetesData& b) {
  return a.namespace_ == b.namespace_ && a.pod == b.pod &&
         a.container == b.container && a.node == b.node &&
         a.object_kind == b.object_kind && a.reason == b.reason &&
         a.message == b.message;
}

bool Equal(const EntityStateData& a, const EntityStateData& b) {
  return a.entity == b.entity && a.entity_type == b.entity_type &&
         a.fields == b.fields && a.deleted == b.deleted;
}

bool Equal(const UiInteractionData& a, const UiInteractionData& b) {
  return a.action == b.action && a.target == b.target && a.page == b.page &&
         a.session_id == b.session_id && a.user_id == b.user_id;
}

bool Equal(const Payload& a, const Payload& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&b](const auto& x) {
        return Equal(x, std::get<std::decay_t<decltype(x)>>(b));
      },
      a);
}

}  // namespace

// --- EventId -----------------------------------------------------------------

EventId EventId::Generate(uint64_t time_ns) {
  IdSource& source = Source();
  // relaxed: the tag is written before any id is made (published by the
  // static initialization above) or in a single-threaded fork child.
  const uint64_t tag = source.tag.load(std::memory_order_relaxed);
  // relaxed: read-modify-writes of one atomic form a single order that agrees
  // with happens-before, which is all that uniqueness and creation order
  // need; no other memory is published through the counter.
  const uint64_t n = source.counter.fetch_add(1, std::memory_order_relaxed);
  return EventId{time_ns, tag | (n & kCounterMask)};
}

std::optional<EventId> EventId::Parse(absl::string_view text) {
  uint8_t bytes[16];
  if (!DecodeHex(text, bytes, sizeof(bytes))) return std::nullopt;
  return FromBytes(bytes);
}

std::string EventId::ToString() const {
  const std::array<uint8_t, 16> bytes = ToBytes();
  std::string out(32, '\0');
  WriteHex(bytes.data(), bytes.size(), out.data());
  return out;
}

std::array<uint8_t, 16> EventId::ToBytes() const {
  std::array<uint8_t, 16> out;
  coding::PutBigEndian64(out.data(), time_ns);
  coding::PutBigEndian64(out.data() + 8, suffix);
  return out;
}

EventId EventId::FromBytes(const uint8_t* bytes16) {
  return EventId{coding::GetBigEndian64(bytes16),
                 coding::GetBigEndian64(bytes16 + 8)};
}

// --- trace ids ---------------------------------------------------------------

std::string ToHex(const TraceId& id) {
  std::string out(2 * id.size(), '\0');
  WriteHex(id.data(), id.size(), out.data());
  return out;
}

std::string ToHex(const SpanId& id) {
  std::string out(2 * id.size(), '\0');
  WriteHex(id.data(), id.size(), out.data());
  return out;
}

std::optional<TraceId> ParseTraceId(absl::string_view hex) {
  TraceId id;
  if (!DecodeHex(hex, id.data(), id.size())) return std::nullopt;
  return id;
}

std::optional<SpanId> ParseSpanId(absl::string_view hex) {
  SpanId id;
  if (!DecodeHex(hex, id.data(), id.size())) return std::nullopt;
  return id;
}

bool TraceContext::has_trace() const { return !AllZero(trace_id); }
bool TraceContext::has_parent() const { return !AllZero(parent_span_id); }

// --- names -------------------------------------------------------------------

absl::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kUnspecified:
      return "unspecified";
    case EventType::kSpan:
      return "span";
    case EventType::kLog:
      return "log";
    case EventType::kError:
      return "error";
    case EventType::kMetric:
      return "metric";
    case EventType::kKernel:
      return "kernel";
    case EventType::kKubernetes:
      return "kubernetes";
    case EventType::kEntityState:
      return "entity_state";
    case EventType::kUiInteraction:
      return "ui";
    case EventType::kCustom:
      return "custom";
  }
  // A value from a newer writer, kept as is by the reader.
  return "unknown";
}

std::optional<EventType> ParseEventType(absl::string_view name) {
  static constexpr EventType kAll[] = {
      EventType::kUnspecified,   EventType::kSpan,
      EventType::kLog,           EventType::kError,
      EventType::kMetric,        EventType::kKernel,
      EventType::kKubernetes,    EventType::kEntityState,
      EventType::kUiInteraction, EventType::kCustom};
  for (EventType type : kAll) {
    if (absl::EqualsIgnoreCase(name, EventTypeName(type))) return type;
  }
  return std::nullopt;
}

absl::string_view SeverityName(Severity severity) {
  // By OpenTelemetry range, so that a read SeverityNumber such as 10 (INFO2)
  // is named for its range.
  const int n = static_cast<int>(severity);
  if (n >= 1 && n <= 4) return "trace";
  if (n >= 5 && n <= 8) return "debug";
  if (n >= 9 && n <= 12) return "info";
  if (n >= 13 && n <= 16) return "warn";
  if (n >= 17 && n <= 20) return "error";
  if (n >= 21 && n <= 24) return "fatal";
  return "unspecified";
}

std::optional<Severity> ParseSeverity(absl::string_view name) {
  static constexpr Severity kAll[] = {Severity::kUnspecified, Severity::kTrace,
                                      Severity::kDebug,       Severity::kInfo,
                                      Severity::kWarn,        Severity::kError,
                                      Severity::kFatal};
  for (Severity severity : kAll) {
    if (absl::EqualsIgnoreCase(name, SeverityName(severity))) return severity;
  }
  if (absl::EqualsIgnoreCase(name, "warning")) return Severity::kWarn;
  return std::nullopt;
}

// --- Event -------------------------------------------------------------------

EventType Event::effective_type() const {
  if (type != EventType::kUnspecified) return type;
  struct FromPayload {
    EventType operator()(std::monostate) const { return EventType::kCustom; }
    EventType operator()(const SpanData&) const { return EventType::kSpan; }
    EventType operator()(const LogData&) const { return EventType::kLog; }
    EventType operator()(const ErrorData&) const { return EventType::kError; }
    EventType operator()(const MetricData&) const { return EventType::kMetric; }
    EventType operator()(const KernelData&) const { return EventType::kKernel; }
    EventType operator()(const KubernetesData&) const {
      return EventType::kKubernetes;
    }
    EventType operator()(const EntityStateData&) const {
      return EventType::kEntityState;
    }
    EventType operator()(const UiInteractionData&) const {
      return EventType::kUiInteraction;
    }
  };
  return std::visit(FromPayload{}, payload);
}

const AttributeValue* Event::FindAttribute(absl::string_view key) const {
  for (const Attribute& attribute : attributes) {
    if (attribute.key == key) return &attribute.value;
  }
  return nullptr;
}

// `type` is compared as effective_type(): an unspecified type means "the
// payload's", which is what the store writes and reads back.
bool operator==(const Event& a, const Event& b) {
  return a.id == b.id && a.time_ns == b.time_ns &&
         a.effective_type() == b.effective_type() && a.source == b.source &&
         Equal(a.service, b.service) && Equal(a.trace, b.trace) &&
         a.severity == b.severity && a.name == b.name &&
         Equal(a.semantic, b.semantic) && Equal(a.impact, b.impact) &&
         Equal(a.attributes, b.attributes) && a.entity_refs == b.entity_refs &&
         SameDouble(a.sample_rate, b.sample_rate) &&
         Equal(a.payload, b.payload);
}

}  // namespace traversion
