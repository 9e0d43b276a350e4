#include "workload.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace traversion::bench {
namespace {

constexpr int kServices = 10;
constexpr int kInstancesPerService = 3;
// Traces in flight at once: their events interleave in time as they would
// in a real service mesh.
constexpr size_t kOpenTraces = 64;
// Mean gap between events; the jitter keeps timestamps strictly increasing.
constexpr uint64_t kEventSpacingNs = 10'000;

struct ServiceInfo {
  const char* name;
  const char* version;
  std::array<const char*, 3> routes;
  const char* logger;
};

constexpr std::array<ServiceInfo, kServices> kServiceInfo = {{
    {"api-gateway",
     "2.14.1",
     {"/api/v1/orders/{id}", "/api/v1/cart", "/api/v1/search"},
     "gateway.router"},
    {"auth", "1.8.0", {"/token", "/token/refresh", "/userinfo"}, "auth.jwt"},
    {"orders",
     "3.2.7",
     {"/orders/{id}", "/orders", "/orders/{id}/items"},
     "orders.handler"},
    {"payments",
     "5.0.3",
     {"/payments", "/payments/{id}/capture", "/refunds"},
     "payments.processor"},
    {"inventory",
     "1.21.0",
     {"/stock/{sku}", "/reservations", "/reservations/{id}"},
     "inventory.stock"},
    {"shipping",
     "0.9.4",
     {"/quotes", "/shipments", "/shipments/{id}"},
     "shipping.carrier"},
    {"users",
     "4.4.0",
     {"/users/{id}", "/users/{id}/prefs", "/users"},
     "users.repo"},
    {"search",
     "2.0.0",
     {"/search", "/suggest", "/index/{doc}"},
     "search.query"},
    {"recommendations",
     "1.3.2",
     {"/recs/{user}", "/recs/similar/{sku}", "/recs/trending"},
     "recs.model"},
    {"notifications",
     "0.4.1",
     {"/notify", "/templates/{id}", "/webhooks"},
     "notify.sender"},
}};

constexpr std::array<const char*, 4> kMethods = {"GET", "GET", "POST", "PUT"};

constexpr std::array<const char*, 5> kExceptionTypes = {
    "TimeoutError", "ConnectionResetError", "SQLTransientException",
    "NullPointerException", "CircuitBreakerOpenError"};

constexpr std::array<const char*, 4> kMetricNames = {
    "process.cpu.utilization", "process.memory.rss",
    "http.server.active_requests", "db.client.connections.usage"};
constexpr std::array<const char*, 4> kMetricUnits = {"1", "By", "{request}",
                                                     "{connection}"};

constexpr std::array<const char*, 4> kEntityTypes = {
    "connection_pool", "config", "deployment", "cloud_resource"};

}  // namespace

TraceId WorkloadTraceId(uint64_t n) {
  Rng rng(n * 0x2545F4914F6CDD1DULL + 1);
  TraceId id;
  uint64_t hi = rng.Next();
  uint64_t lo = rng.Next();
  for (int i = 0; i < 8; ++i) {
    id[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    id[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return id;
}

namespace {

SpanId MakeSpanId(uint64_t n) {
  SpanId id;
  uint64_t v = Rng(n ^ 0x5bd1e995ULL).Next() | 1;  // never all zero
  for (int i = 0; i < 8; ++i) id[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return id;
}

}  // namespace

ServiceWorkload::ServiceWorkload(uint64_t seed) : rng_(seed) {
  open_.resize(kOpenTraces);
  for (OpenTrace& trace : open_) Restart(trace);
}

void ServiceWorkload::Restart(OpenTrace& trace) {
  trace = OpenTrace{};
  trace.spans_left = 3 + static_cast<int>(rng_.Uniform(5));  // 3..7, mean 5
}

void ServiceWorkload::Stamp(Event& event, int service) {
  last_time_ns_ = kWorkloadStartNs + events_ * kEventSpacingNs +
                  rng_.Uniform(kEventSpacingNs);
  event.time_ns = last_time_ns_;
  event.id = EventId{last_time_ns_, 0x7476000000000000ULL | events_};
  ++events_;
  const ServiceInfo& info = kServiceInfo[service];
  int instance = static_cast<int>(rng_.Uniform(kInstancesPerService));
  event.source = "traversion-cpp";
  event.service.name = info.name;
  event.service.instance =
      absl::StrFormat("%s-7d9f8c%02d-%d", info.name, service, instance);
  event.service.host =
      absl::StrFormat("node-%02d", (service * 3 + instance) % 8);
  event.service.version = info.version;
  event.service.environment = "production";
}

const ServiceWorkload::OpenTrace* ServiceWorkload::TraceForSideEvent(
    unsigned in_trace_percent) {
  if (!rng_.Percent(in_trace_percent)) return nullptr;
  const OpenTrace& trace = open_[rng_.Uniform(open_.size())];
  return trace.spans_emitted > 0 ? &trace : nullptr;
}

Event ServiceWorkload::MakeSpan(OpenTrace& trace) {
  Event event;
  bool root = trace.spans_emitted == 0;
  int service = root ? 0 : 1 + static_cast<int>(rng_.Uniform(kServices - 1));
  Stamp(event, service);
  if (root) {
    trace.number = static_cast<int64_t>(traces_++);
    trace.root_service = service;
  }
  uint64_t span_number = ++spans_;
  const ServiceInfo& info = kServiceInfo[service];
  const char* route = info.routes[rng_.Uniform(info.routes.size())];
  const char* method = kMethods[rng_.Uniform(kMethods.size())];
  bool failed = rng_.Percent(3);

  event.trace.trace_id = WorkloadTraceId(static_cast<uint64_t>(trace.number));
  event.trace.span_id = MakeSpanId(span_number);
  if (!root) event.trace.parent_span_id = MakeSpanId(trace.last_span);
  event.trace.trace_flags = 1;
  event.severity = failed ? Severity::kError : Severity::kInfo;
  event.name = absl::StrCat(method, " ", route);

  SpanData span;
  span.kind = root ? SpanKind::kServer
                   : (rng_.Percent(50) ? SpanKind::kServer : SpanKind::kClient);
  span.duration_ns = 200'000 + rng_.Uniform(40'000'000);
  span.status = failed ? SpanStatus::kError : SpanStatus::kOk;
  if (failed) span.status_message = "upstream request timed out";
  HttpInfo http;
  http.method = method;
  http.route = route;
  http.url = absl::StrFormat("https://%s.internal:8443%s?id=%d", info.name,
                             route, rng_.Uniform(1'000'000));
  http.status_code = failed ? 504 : (rng_.Percent(5) ? 404 : 200);
  http.client_ip = absl::StrFormat("10.%d.%d.%d", rng_.Uniform(4),
                                   rng_.Uniform(256), rng_.Uniform(256));
  http.request_size = static_cast<int64_t>(rng_.Uniform(2048));
  http.response_size = static_cast<int64_t>(200 + rng_.Uniform(16384));
  span.http = std::move(http);
  if (!root) span.peer_service = kServiceInfo[trace.last_service].name;
  event.payload = std::move(span);

  event.attributes.push_back(
      {"user.id", absl::StrFormat("u-%07d", rng_.Uniform(5'000'000))});
  event.attributes.push_back({"cloud.region", std::string("eu-west-1")});
  if (rng_.Percent(20)) {
    event.attributes.push_back(
        {"retry.count", static_cast<int64_t>(1 + rng_.Uniform(3))});
  }

  if (root) trace.root_span = span_number;
  trace.last_span = span_number;
  trace.last_service = service;
  ++trace.spans_emitted;
  --trace.spans_left;
  return event;
}

Event ServiceWorkload::MakeLog(const OpenTrace* trace) {
  Event event;
  int service =
      trace ? trace->last_service : static_cast<int>(rng_.Uniform(kServices));
  Stamp(event, service);
  if (trace) {
    event.trace.trace_id =
        WorkloadTraceId(static_cast<uint64_t>(trace->number));
    event.trace.span_id = MakeSpanId(trace->last_span);
    event.trace.trace_flags = 1;
  }
  uint64_t r = rng_.Uniform(100);
  event.severity = r < 80   ? Severity::kInfo
                   : r < 90 ? Severity::kDebug
                            : Severity::kWarn;
  LogData log;
  log.body = absl::StrFormat(
      "request %d for customer %d handled: %d items, cache %s, took %d ms",
      rng_.Uniform(100'000'000), rng_.Uniform(1'000'000), 1 + rng_.Uniform(9),
      rng_.Percent(70) ? "hit" : "miss", 1 + rng_.Uniform(250));
  log.logger = kServiceInfo[service].logger;
  log.code_file =
      absl::StrCat("src/", kServiceInfo[service].name, "/handler.cc");
  log.code_line = static_cast<int32_t>(40 + rng_.Uniform(400));
  event.payload = std::move(log);
  return event;
}

Event ServiceWorkload::MakeError(const OpenTrace* trace) {
  Event event;
  int service =
      trace ? trace->last_service : static_cast<int>(rng_.Uniform(kServices));
  Stamp(event, service);
  if (trace) {
    event.trace.trace_id =
        WorkloadTraceId(static_cast<uint64_t>(trace->number));
    event.trace.span_id = MakeSpanId(trace->last_span);
    event.trace.trace_flags = 1;
  }
  event.severity = Severity::kError;
  const ServiceInfo& info = kServiceInfo[service];
  ErrorData error;
  error.exception_type = kExceptionTypes[rng_.Uniform(kExceptionTypes.size())];
  error.message =
      absl::StrFormat("%s: call to %s failed after %d ms", error.exception_type,
                      info.routes[0], 100 + rng_.Uniform(5000));
  error.stacktrace = absl::StrFormat(
      "at %s::Client::Call(client.cc:%d)\nat %s::Handler::Serve(handler.cc:%d)"
      "\nat server::Dispatch(dispatch.cc:88)",
      info.name, 100 + rng_.Uniform(200), info.name, 40 + rng_.Uniform(400));
  error.handled = rng_.Percent(80);
  event.payload = std::move(error);
  return event;
}

Event ServiceWorkload::MakeMetric() {
  Event event;
  int service = static_cast<int>(rng_.Uniform(kServices));
  Stamp(event, service);
  size_t which = rng_.Uniform(kMetricNames.size());
  event.name = kMetricNames[which];
  event.severity = Severity::kUnspecified;
  MetricData metric;
  metric.kind = MetricKind::kGauge;
  metric.value = static_cast<double>(rng_.Uniform(1'000'000)) / 1000.0;
  metric.unit = kMetricUnits[which];
  event.payload = std::move(metric);
  return event;
}

void ServiceWorkload::Next(size_t n, std::vector<Event>* out) {
  out->clear();
  out->reserve(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t r = rng_.Uniform(100);
    if (r < 70) {
      OpenTrace& trace = open_[rng_.Uniform(open_.size())];
      out->push_back(MakeSpan(trace));
      if (trace.spans_left == 0) Restart(trace);
    } else if (r < 90) {
      out->push_back(MakeLog(TraceForSideEvent(80)));
    } else if (r < 95) {
      out->push_back(MakeError(TraceForSideEvent(90)));
    } else {
      out->push_back(MakeMetric());
    }
  }
}

EntityWorkload::EntityWorkload(size_t entities, uint64_t spacing_ns,
                               uint64_t seed)
    : rng_(seed), spacing_ns_(spacing_ns), generation_(entities, 0) {}

std::string EntityWorkload::EntityName(size_t index) {
  const ServiceInfo& info = kServiceInfo[index % kServices];
  return absl::StrFormat(
      "%s/%s/%06d", info.name,
      kEntityTypes[(index / kServices) % kEntityTypes.size()], index);
}

uint64_t EntityWorkload::all_created_ns() const {
  return kWorkloadStartNs + generation_.size() * spacing_ns_;
}

void EntityWorkload::Next(size_t n, std::vector<Event>* out) {
  out->clear();
  out->reserve(n);
  const size_t count = generation_.size();
  for (size_t i = 0; i < n; ++i) {
    size_t index = events_ < count ? static_cast<size_t>(events_)
                                   : static_cast<size_t>(rng_.Uniform(count));
    uint32_t generation = ++generation_[index];
    Event event;
    last_time_ns_ = kWorkloadStartNs + (events_ + 1) * spacing_ns_;
    event.time_ns = last_time_ns_;
    event.id = EventId{last_time_ns_, 0x656e000000000000ULL | events_};
    ++events_;
    const ServiceInfo& info = kServiceInfo[index % kServices];
    event.source = "traversion-cpp";
    event.service.name = info.name;
    event.service.instance = absl::StrCat(info.name, "-0");
    event.service.host = "node-01";
    event.service.environment = "production";
    EntityStateData state;
    state.entity = EntityName(index);
    state.entity_type = kEntityTypes[(index / kServices) % kEntityTypes.size()];
    // Sorted by name; `generation` makes every observation a change.
    state.fields = {
        {"generation", absl::StrCat(generation)},
        {"in_use", absl::StrCat(rng_.Uniform(100))},
        {"limit", "100"},
        {"status", rng_.Percent(95) ? "healthy" : "degraded"},
        {"version", absl::StrCat(info.version, "+", generation / 10)},
    };
    event.payload = std::move(state);
    out->push_back(std::move(event));
  }
}

}  // namespace traversion::bench
