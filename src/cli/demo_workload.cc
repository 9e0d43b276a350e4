#include "cli/demo_workload.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "traversion/event.h"

namespace traversion::demo {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kTick = 5 * kSecond;  // metric and pool sampling period

uint64_t Ms(double ms) { return static_cast<uint64_t>(std::llround(ms * 1e6)); }

// std::mt19937_64 is specified bit for bit by the standard; the
// distributions are ours because std::'s differ between library versions.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t Next() { return engine_(); }
  // [0, 1)
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : engine_() % n; }
  bool Chance(double p) { return Uniform() < p; }
  double Normal(double mean, double sd) {
    double u1 = Uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    double u2 = Uniform();
    return mean + sd * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
  }
  // A latency in ns whose median is `median_ms`: the usual long right tail.
  uint64_t LatencyMs(double median_ms, double sigma) {
    return Ms(median_ms * std::exp(Normal(0, sigma)));
  }

 private:
  std::mt19937_64 engine_;
};

enum ServiceIndex : int {
  kWeb = 0,
  kGateway,
  kOrders,
  kPayments,
  kInventory,
  kPostgres,
  kServiceCount,
};

struct ServiceInfo {
  const char* name;
  const char* version;
  const char* instances[2];
  const char* hosts[2];
  double base_cpu;     // %
  double base_memory;  // MiB
  int replicas;
};

constexpr ServiceInfo kServices[kServiceCount] = {
    {"web-frontend",
     "3.14.0",
     {"web-frontend-6f7c9-kx2lp", "web-frontend-6f7c9-q8z4m"},
     {"node-a", "node-b"},
     22,
     310,
     2},
    {"api-gateway",
     "1.22.3",
     {"api-gateway-58d4b-7hw2r", "api-gateway-58d4b-p9c1v"},
     {"node-a", "node-c"},
     18,
     180,
     2},
    {"orders-service",
     "2.8.1",
     {"orders-service-7b5f8-2mtdx", "orders-service-7b5f8-vq6kd"},
     {"node-b", "node-c"},
     26,
     520,
     2},
    {"payments-service",
     "2.4.1",
     {"payments-service-c47d2-9sfjw", "payments-service-c47d2-b2xnh"},
     {"node-b", "node-a"},
     21,
     640,
     2},
    {"inventory-service",
     "1.8.2",
     {"inventory-service-9d6c1-4lrzq", "inventory-service-9d6c1-tm3wc"},
     {"node-c", "node-a"},
     17,
     450,
     2},
    {"postgres",
     "15.4",
     {"postgres-0", "postgres-0"},
     {"node-d", "node-d"},
     31,
     2900,
     1},
};

constexpr const char* kInventoryNewVersion = "1.9.0";
constexpr int kPoolMaxBefore = 40;
constexpr int kPoolMaxAfter = 12;
constexpr int kOrdersPoolMax = 20;

constexpr const char* kPaymentsPool = "pool/payments-db";
constexpr const char* kOrdersPool = "pool/orders-db";
constexpr const char* kPaymentsConfig = "config/payments-service";
constexpr const char* kDeletedCache = "cache/inventory-node-3";

// Incident times as fractions of the window.
constexpr double kDeployAt = 0.30;
constexpr double kCacheRemovedAt = 0.45;
constexpr double kConfigChangeAt = 0.55;

const char* const kPoolTimeoutStack =
    "com.shop.payments.db.PoolTimeoutException: timed out after 5000 ms "
    "waiting for a connection from pool/payments-db\n"
    "\tat "
    "com.shop.payments.db.ConnectionPool.acquire(ConnectionPool.java:214)\n"
    "\tat "
    "com.shop.payments.db.PaymentRepository.insert(PaymentRepository.java:57)\n"
    "\tat com.shop.payments.ChargeService.charge(ChargeService.java:93)\n"
    "\tat "
    "com.shop.payments.api.ChargeController.post(ChargeController.java:41)\n"
    "\tat com.shop.http.Router.dispatch(Router.java:118)\n"
    "\tat com.shop.http.Server$Worker.run(Server.java:76)\n"
    "\tat java.base/java.lang.Thread.run(Thread.java:833)";

const char* const kCheckoutErrorStack =
    "CheckoutError: payment could not be completed (502 from api-gateway)\n"
    "    at submitOrder (/app/src/checkout/submit.ts:88:13)\n"
    "    at async handleCheckout (/app/src/routes/checkout.ts:41:5)\n"
    "    at async Router.handle (/app/node_modules/router/index.js:284:7)";

const char* const kCacheTimeoutStack =
    "inventory.cache.CacheTimeout: GET sku:* timed out after 50ms\n"
    "  File \"/srv/inventory/cache.py\", line 118, in get\n"
    "  File \"/srv/inventory/catalog.py\", line 64, in list_products\n"
    "  File \"/srv/inventory/api.py\", line 212, in products";

class Generator {
 public:
  explicit Generator(const DemoWorkloadOptions& options)
      : options_(options),
        rng_(options.seed),
        end_(options.end_ns),
        duration_(std::min(options.duration_ns, options.end_ns)),
        start_(options.end_ns - duration_) {}

  DemoWorkload Run() {
    DemoWorkload workload;
    workload.start_ns = start_;
    workload.end_ns = end_;
    for (const ServiceInfo& service : kServices) {
      workload.services.push_back(service.name);
    }
    size_t ticks = duration_ / kTick + 1;
    requests_.assign(ticks, 0);
    server_errors_.assign(ticks, 0);

    EntityObservations();
    IncidentLogs();
    // Every tick emits the same number of metrics, known in advance, so the
    // traces can fill exactly the rest of the target.
    const size_t metric_events = ticks * kMetricsPerTick;
    const size_t target =
        std::max(options_.target_events, events_.size() + metric_events + 50);
    while (events_.size() + metric_events < target) Request();
    Metrics();

    std::sort(events_.begin(), events_.end(),
              [](const Event& a, const Event& b) { return a.id < b.id; });
    workload.events = std::move(events_);
    workload.truth.root_cause_service = kServices[kPayments].name;
    workload.truth.root_cause_entity = kPaymentsConfig;
    workload.truth.root_cause_time_ns = ConfigChangeTime();
    workload.truth.saturated_entity = kPaymentsPool;
    workload.truth.root_cause_error_type = "PoolTimeoutException";
    workload.truth.first_error_ns = first_pool_timeout_ns_;
    workload.truth.red_herring_entity = "deployment/inventory-service";
    workload.truth.red_herring_time_ns = DeployTime();
    workload.truth.deleted_entity = kDeletedCache;
    workload.truth.deleted_time_ns = CacheRemovedTime();
    return workload;
  }

 private:
  static constexpr size_t kMetricsPerTick = 18;

  // --- time and the incident model ------------------------------------------

  uint64_t At(double fraction) const {
    return start_ +
           static_cast<uint64_t>(fraction * static_cast<double>(duration_));
  }
  double Fraction(uint64_t t) const {
    return duration_ == 0 ? 1.0
                          : static_cast<double>(t - start_) /
                                static_cast<double>(duration_);
  }
  size_t TickOf(uint64_t t) const {
    size_t tick = (t - start_) / kTick;
    return std::min(tick, requests_.size() - 1);
  }

  // The incident's moments fall between two polls, so each change is
  // reported once when it happens and confirmed by the next poll.
  uint64_t DeployTime() const {
    return std::min(end_, At(kDeployAt) + Ms(2300));
  }
  uint64_t CacheRemovedTime() const {
    return std::min(end_, At(kCacheRemovedAt) + Ms(3100));
  }
  uint64_t ConfigChangeTime() const {
    return std::min(end_, At(kConfigChangeAt) + Ms(1700));
  }

  int PoolMax(uint64_t t) const {
    return t < ConfigChangeTime() ? kPoolMaxBefore : kPoolMaxAfter;
  }
  // Connections the payments service holds: grows steadily over the window
  // (more traffic, longer transactions) from 4 to 13.
  double PoolDemand(uint64_t t) const { return 4 + 9 * Fraction(t); }
  // Share of acquisitions that find the pool exhausted: none while there is
  // headroom; all once demand reaches the maximum.
  double PoolSaturation(uint64_t t) const {
    double headroom_left = PoolDemand(t) - (PoolMax(t) - 3);
    return std::clamp(headroom_left / 3.0, 0.0, 1.0);
  }
  std::string Version(int service, uint64_t t) const {
    if (service == kInventory && t >= DeployTime()) return kInventoryNewVersion;
    return kServices[service].version;
  }

  // --- event building -------------------------------------------------------

  Event Base(int service, int instance, uint64_t t, EventType type,
             std::string name, Severity severity) {
    Event event;
    event.id = EventId{t, rng_.Next()};
    event.time_ns = t;
    event.type = type;
    event.source = "demo";
    const ServiceInfo& info = kServices[service];
    event.service.name = info.name;
    event.service.instance = info.instances[instance];
    event.service.host = info.hosts[instance];
    event.service.version = Version(service, t);
    event.service.namespace_ = "shop";
    event.service.environment = "production";
    event.name = std::move(name);
    event.severity = severity;
    return event;
  }

  struct Trace {
    TraceId id{};
    int instance[kServiceCount] = {};
    std::string order_id;
  };

  Trace NewTrace() {
    Trace trace;
    uint64_t hi = rng_.Next();
    uint64_t lo = rng_.Next();
    for (int i = 0; i < 8; ++i) {
      trace.id[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
      trace.id[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
    }
    for (int& instance : trace.instance)
      instance = static_cast<int>(rng_.Below(2));
    trace.order_id = absl::StrCat("ord-", 40000 + rng_.Below(60000));
    return trace;
  }

  SpanId NewSpanId() {
    SpanId id{};
    uint64_t v = rng_.Next() | 1;  // never all zero
    for (int i = 0; i < 8; ++i) id[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
    return id;
  }

  void SetContext(Event& event, const Trace& trace, const SpanId& span,
                  const SpanId* parent) {
    event.trace.trace_id = trace.id;
    event.trace.span_id = span;
    if (parent != nullptr) event.trace.parent_span_id = *parent;
    event.trace.trace_flags = 1;
  }

  struct SpanSpec {
    int service = 0;
    SpanId id{};
    const SpanId* parent = nullptr;  // nullptr for a root span
    uint64_t start = 0;
    uint64_t end = 0;
    std::string name;
    SpanKind kind = SpanKind::kServer;
    std::optional<HttpInfo> http;
    std::optional<DbInfo> db;
    std::string peer_service;
    bool error = false;
    std::string status_message;
    std::vector<std::string> entity_refs;
    std::vector<Attribute> attributes;
    const char* intent = "";
  };

  static SpanSpec Spec(int service, const SpanId& id, const SpanId* parent,
                       uint64_t start, uint64_t end, std::string name) {
    SpanSpec spec;
    spec.service = service;
    spec.id = id;
    spec.parent = parent;
    spec.start = start;
    spec.end = end;
    spec.name = std::move(name);
    return spec;
  }

  void EmitSpan(const Trace& trace, SpanSpec spec) {
    Event event = Base(spec.service, trace.instance[spec.service], spec.start,
                       EventType::kSpan, std::move(spec.name),
                       spec.error ? Severity::kError : Severity::kInfo);
    SetContext(event, trace, spec.id, spec.parent);
    SpanData span;
    span.kind = spec.kind;
    span.duration_ns = spec.end - spec.start;
    span.status = spec.error ? SpanStatus::kError : SpanStatus::kOk;
    span.status_message = std::move(spec.status_message);
    span.http = std::move(spec.http);
    span.db = std::move(spec.db);
    span.peer_service = std::move(spec.peer_service);
    event.payload = std::move(span);
    event.entity_refs = std::move(spec.entity_refs);
    event.attributes = std::move(spec.attributes);
    if (*spec.intent != '\0') {
      event.semantic.intent = spec.intent;
      event.semantic.category = "commerce";
    }
    if (spec.service == kWeb) {
      event.impact.customer_facing = true;
      if (absl::string_view(spec.intent) == "checkout") {
        event.impact.slo = "checkout-availability";
      }
    }
    events_.push_back(std::move(event));
  }

  void EmitLog(const Trace& trace, int service, const SpanId& span, uint64_t t,
               Severity severity, std::string name, std::string body,
               const char* logger, std::vector<std::string> entity_refs = {}) {
    Event event = Base(service, trace.instance[service], t, EventType::kLog,
                       std::move(name), severity);
    SetContext(event, trace, span, nullptr);
    LogData log;
    log.body = std::move(body);
    log.logger = logger;
    event.payload = std::move(log);
    event.entity_refs = std::move(entity_refs);
    events_.push_back(std::move(event));
  }

  void EmitError(const Trace& trace, int service, const SpanId& span,
                 uint64_t t, std::string type, std::string message,
                 const char* stack, bool handled, Severity severity,
                 std::vector<std::string> entity_refs = {}) {
    Event event = Base(service, trace.instance[service], t, EventType::kError,
                       type, severity);
    SetContext(event, trace, span, nullptr);
    ErrorData error;
    error.exception_type = std::move(type);
    error.message = std::move(message);
    error.stacktrace = stack;
    error.handled = handled;
    error.escaped = !handled;
    event.payload = std::move(error);
    event.entity_refs = std::move(entity_refs);
    events_.push_back(std::move(event));
  }

  static HttpInfo Http(const char* method, std::string route, int status,
                       std::string url = "") {
    HttpInfo http;
    http.method = method;
    http.route = std::move(route);
    http.url = std::move(url);
    http.status_code = status;
    return http;
  }

  static DbInfo Db(const char* operation, const char* table,
                   const char* statement, const char* database) {
    DbInfo db;
    db.system = "postgresql";
    db.namespace_ = database;
    db.operation = operation;
    db.table = table;
    db.statement = statement;
    return db;
  }

  // A postgres client span of `service` under `parent`; returns its end.
  uint64_t DbCall(const Trace& trace, int service, const SpanId& parent,
                  uint64_t start, uint64_t duration, const char* operation,
                  const char* table, const char* statement,
                  const char* database, const char* pool) {
    SpanSpec spec = Spec(service, NewSpanId(), &parent, start, start + duration,
                         absl::StrCat(operation, " ", database, ".", table));
    spec.kind = SpanKind::kClient;
    spec.db = Db(operation, table, statement, database);
    spec.peer_service = "postgres";
    if (pool != nullptr) spec.entity_refs.push_back(pool);
    EmitSpan(trace, std::move(spec));
    return start + duration;
  }

  uint64_t Gap() { return Ms(rng_.Uniform(0.05, 0.4)); }

  // --- requests -------------------------------------------------------------

  // One user request at a time drawn from the traffic curve (growing by 60 %
  // over the window).
  void Request() {
    // Inverse of the CDF of the density 1 + 0.6x on [0, 1].
    double u = rng_.Uniform();
    double x = (-1 + std::sqrt(1 + 1.56 * u)) / 0.6;
    uint64_t t =
        start_ + static_cast<uint64_t>(x * static_cast<double>(duration_));
    // Requests end before the window does (a timeout takes 5 s).
    if (duration_ > 20 * kSecond && t > end_ - 6 * kSecond) {
      t = end_ - 6 * kSecond - rng_.Below(kSecond);
    }
    double kind = rng_.Uniform();
    if (kind < 0.30) {
      Checkout(t);
    } else if (kind < 0.75) {
      Browse(t);
    } else {
      OrderStatus(t);
    }
  }

  void CountAtGateway(uint64_t t, int status) {
    size_t tick = TickOf(t);
    ++requests_[tick];
    if (status >= 500) ++server_errors_[tick];
  }

  void Checkout(uint64_t t) {
    Trace trace = NewTrace();
    const SpanId web = NewSpanId();
    const SpanId gateway = NewSpanId();
    const SpanId orders = NewSpanId();
    const SpanId inventory = NewSpanId();
    const SpanId payments = NewSpanId();
    const SpanId acquire = NewSpanId();
    const int items = 1 + static_cast<int>(rng_.Below(5));
    const double total = std::round(rng_.Uniform(9, 240) * 100) / 100;
    const std::string sku = absl::StrCat("sku-", 10000 + rng_.Below(900));

    const uint64_t gateway_start = t + Ms(rng_.Uniform(0.5, 2.5));
    const uint64_t orders_start = gateway_start + Ms(rng_.Uniform(0.3, 1.2));
    uint64_t cursor = orders_start + Ms(rng_.Uniform(0.2, 0.8));
    cursor = DbCall(trace, kOrders, orders, cursor, rng_.LatencyMs(2.5, 0.4),
                    "SELECT", "products",
                    "SELECT id, price FROM products WHERE id = ANY($1)",
                    "orders", kOrdersPool) +
             Gap();

    // inventory-service reserves the items.
    const uint64_t inventory_start = cursor;
    uint64_t inner = inventory_start + Ms(rng_.Uniform(0.2, 0.6));
    const bool slow_query = rng_.Chance(0.02);
    uint64_t query =
        slow_query ? Ms(rng_.Uniform(300, 900)) : rng_.LatencyMs(4, 0.5);
    inner = DbCall(trace, kInventory, inventory, inner, query, "UPDATE",
                   "inventory",
                   "UPDATE inventory SET reserved = reserved + $1 WHERE sku = "
                   "$2",
                   "inventory", nullptr);
    if (slow_query) {
      EmitLog(trace, kInventory, inventory, inner + Ms(0.1), Severity::kWarn,
              "slow query",
              absl::StrFormat("slow query: UPDATE inventory took %dms",
                              query / kMs),
              "inventory.db");
    }
    inner += Ms(rng_.Uniform(0.2, 0.9));
    EmitLog(trace, kInventory, inventory, inner, Severity::kInfo,
            "items reserved",
            absl::StrFormat("reserved %d units of %s for order %s", items, sku,
                            trace.order_id),
            "inventory.reservations");
    inner += Ms(rng_.Uniform(0.2, 0.8));
    {
      SpanSpec spec = Spec(kInventory, inventory, &orders, inventory_start,
                           inner, "POST /inventory/reserve");
      spec.http = Http("POST", "/inventory/reserve", 200);
      spec.intent = "checkout";
      EmitSpan(trace, std::move(spec));
    }
    cursor = inner + Gap();

    // payments-service charges the card: it needs a pooled connection.
    const uint64_t payments_start = cursor;
    inner = payments_start + Ms(rng_.Uniform(0.2, 0.6));
    const double saturation = PoolSaturation(inner);
    const bool exhausted = rng_.Chance(saturation);
    const bool timed_out = exhausted && rng_.Chance(0.45 + 0.45 * saturation);
    const uint64_t wait = !exhausted  ? Ms(rng_.Uniform(0.05, 0.6))
                          : timed_out ? Ms(5000)
                                      : Ms(rng_.Uniform(150, 4500));
    const int pool_max = PoolMax(inner);
    const int waiting = 1 + static_cast<int>(std::lround(saturation * 7)) +
                        static_cast<int>(rng_.Below(3));
    if (exhausted) {
      EmitLog(trace, kPayments, acquire, inner + Ms(100), Severity::kWarn,
              "waiting for connection",
              absl::StrFormat("waiting for a connection from %s "
                              "(active=%d/%d, waiting=%d)",
                              kPaymentsPool, pool_max, pool_max, waiting),
              "payments.db.pool", {kPaymentsPool});
    }
    {
      SpanSpec spec = Spec(kPayments, acquire, &payments, inner, inner + wait,
                           "db.pool.acquire");
      spec.kind = SpanKind::kInternal;
      spec.entity_refs.push_back(kPaymentsPool);
      spec.attributes.push_back(
          {"db.client.connection.pool.name", std::string(kPaymentsPool)});
      spec.attributes.push_back(
          {"db.client.connection.pool.max", int64_t{pool_max}});
      if (timed_out) {
        spec.error = true;
        spec.status_message = "PoolTimeoutException";
      }
      EmitSpan(trace, std::move(spec));
    }
    inner += wait;

    if (timed_out) {
      if (first_pool_timeout_ns_ == 0 || inner < first_pool_timeout_ns_) {
        first_pool_timeout_ns_ = inner;
      }
      EmitError(trace, kPayments, acquire, inner, "PoolTimeoutException",
                absl::StrFormat("timed out after 5000 ms waiting for a "
                                "connection from %s (active=%d, max=%d, "
                                "waiting=%d)",
                                kPaymentsPool, pool_max, pool_max, waiting),
                kPoolTimeoutStack, /*handled=*/false, Severity::kError,
                {kPaymentsPool});
      inner += Ms(rng_.Uniform(0.3, 1.0));
      EmitLog(trace, kPayments, payments, inner, Severity::kError,
              "charge failed",
              absl::StrFormat("charge for order %s failed: no database "
                              "connection",
                              trace.order_id),
              "payments.charges", {kPaymentsPool});
      inner += Ms(rng_.Uniform(0.2, 0.6));
      {
        SpanSpec spec = Spec(kPayments, payments, &orders, payments_start,
                             inner, "POST /payments/charge");
        spec.http = Http("POST", "/payments/charge", 503);
        spec.error = true;
        spec.status_message =
            "PoolTimeoutException: timed out waiting for a connection";
        spec.intent = "checkout";
        EmitSpan(trace, std::move(spec));
      }
      cursor = inner + Gap();
      EmitLog(trace, kOrders, orders, cursor, Severity::kError,
              "payment failed",
              absl::StrFormat("payment failed for order %s: payments-service "
                              "returned 503",
                              trace.order_id),
              "orders.checkout");
      cursor += Ms(rng_.Uniform(0.3, 1.0));
      FinishCheckout(trace, t, web, gateway, orders, gateway_start,
                     orders_start, cursor, items, total, /*failed=*/true);
      return;
    }

    inner = DbCall(trace, kPayments, payments, inner, rng_.LatencyMs(3, 0.4),
                   "INSERT", "payments",
                   "INSERT INTO payments (order_id, amount, currency, status) "
                   "VALUES ($1, $2, $3, $4)",
                   "payments", kPaymentsPool) +
            Gap();
    {
      const uint64_t call = rng_.LatencyMs(140, 0.35);
      SpanSpec spec = Spec(kPayments, NewSpanId(), &payments, inner,
                           inner + call, "POST /v1/charges");
      spec.kind = SpanKind::kClient;
      spec.http = Http("POST", "/v1/charges", 200,
                       "https://card-processor.example/v1/charges");
      spec.peer_service = "card-processor";
      EmitSpan(trace, std::move(spec));
      inner += call + Gap();
    }
    EmitLog(trace, kPayments, payments, inner, Severity::kInfo, "card charged",
            absl::StrFormat("charged %.2f EUR for order %s (auth %06d)", total,
                            trace.order_id, rng_.Below(1000000)),
            "payments.charges");
    inner += Ms(rng_.Uniform(0.2, 0.8));
    {
      SpanSpec spec = Spec(kPayments, payments, &orders, payments_start, inner,
                           "POST /payments/charge");
      spec.http = Http("POST", "/payments/charge", 200);
      spec.entity_refs.push_back(kPaymentsPool);
      spec.intent = "checkout";
      EmitSpan(trace, std::move(spec));
    }
    cursor = inner + Gap();
    cursor = DbCall(trace, kOrders, orders, cursor, rng_.LatencyMs(3, 0.4),
                    "INSERT", "orders",
                    "INSERT INTO orders (id, customer_id, total, status) "
                    "VALUES ($1, $2, $3, 'paid')",
                    "orders", kOrdersPool) +
             Gap();
    EmitLog(trace, kOrders, orders, cursor, Severity::kInfo, "order created",
            absl::StrFormat("order %s created: %d items, %.2f EUR",
                            trace.order_id, items, total),
            "orders.checkout");
    cursor += Ms(rng_.Uniform(0.2, 0.8));
    FinishCheckout(trace, t, web, gateway, orders, gateway_start, orders_start,
                   cursor, items, total, /*failed=*/false);
  }

  // The orders, gateway and web spans of a checkout whose orders-service
  // work ended at `orders_end`.
  void FinishCheckout(const Trace& trace, uint64_t t, const SpanId& web,
                      const SpanId& gateway, const SpanId& orders,
                      uint64_t gateway_start, uint64_t orders_start,
                      uint64_t orders_end, int items, double total,
                      bool failed) {
    {
      SpanSpec spec = Spec(kOrders, orders, &gateway, orders_start, orders_end,
                           "POST /orders");
      spec.http = Http("POST", "/orders", failed ? 502 : 201);
      spec.error = failed;
      if (failed)
        spec.status_message = "payment failed: 503 from payments-service";
      spec.attributes.push_back({"order.id", trace.order_id});
      spec.intent = "checkout";
      EmitSpan(trace, std::move(spec));
    }
    const uint64_t gateway_end = orders_end + Ms(rng_.Uniform(0.3, 1.2));
    {
      SpanSpec spec = Spec(kGateway, gateway, &web, gateway_start, gateway_end,
                           "POST /api/orders");
      spec.http = Http("POST", "/api/orders", failed ? 502 : 201);
      spec.error = failed;
      if (failed) spec.status_message = "upstream orders-service returned 502";
      spec.peer_service = "orders-service";
      spec.intent = "checkout";
      EmitSpan(trace, std::move(spec));
    }
    CountAtGateway(gateway_start, failed ? 502 : 201);
    uint64_t web_end = gateway_end + Ms(rng_.Uniform(1, 6));
    if (failed) {
      EmitError(trace, kWeb, web, web_end - Ms(0.5), "CheckoutError",
                "payment could not be completed (502 from api-gateway)",
                kCheckoutErrorStack, /*handled=*/true, Severity::kError);
    }
    {
      SpanSpec spec = Spec(kWeb, web, nullptr, t, web_end, "POST /checkout");
      spec.http = Http("POST", "/checkout", failed ? 502 : 200);
      spec.error = failed;
      if (failed) spec.status_message = "checkout failed";
      spec.attributes.push_back(
          {"user.id", absl::StrCat("u-", 1000 + rng_.Below(9000))});
      spec.attributes.push_back({"cart.items", int64_t{items}});
      spec.attributes.push_back({"cart.total", total});
      spec.attributes.push_back({"user.returning", rng_.Chance(0.6)});
      spec.intent = "checkout";
      EmitSpan(trace, std::move(spec));
    }
  }

  void Browse(uint64_t t) {
    Trace trace = NewTrace();
    const SpanId web = NewSpanId();
    const SpanId gateway = NewSpanId();
    const SpanId inventory = NewSpanId();
    const bool not_found = rng_.Chance(0.01);
    const bool cache_timeout = rng_.Chance(0.004);
    const uint64_t gateway_start = t + Ms(rng_.Uniform(0.5, 2.0));
    const uint64_t inventory_start = gateway_start + Ms(rng_.Uniform(0.3, 1.0));
    uint64_t inner = inventory_start + Ms(rng_.Uniform(0.2, 0.6));
    const std::string route = not_found ? "/products/:id" : "/products";
    if (cache_timeout) {
      inner += Ms(50);
      EmitError(trace, kInventory, inventory, inner, "CacheTimeout",
                "GET sku:* timed out after 50ms; reading from postgres",
                kCacheTimeoutStack, /*handled=*/true, Severity::kWarn);
    }
    const bool slow_query = rng_.Chance(0.01);
    const uint64_t query =
        slow_query ? Ms(rng_.Uniform(200, 800)) : rng_.LatencyMs(5, 0.5);
    inner =
        DbCall(trace, kInventory, inventory, inner, query, "SELECT", "products",
               not_found ? "SELECT * FROM products WHERE id = $1"
                         : "SELECT * FROM products ORDER BY rank LIMIT 50",
               "inventory", nullptr);
    if (slow_query) {
      EmitLog(
          trace, kInventory, inventory, inner + Ms(0.1), Severity::kWarn,
          "slow query",
          absl::StrFormat("slow query: SELECT products took %dms", query / kMs),
          "inventory.db");
    }
    if (not_found) {
      EmitLog(
          trace, kInventory, inventory, inner + Ms(0.2), Severity::kWarn,
          "product not found",
          absl::StrFormat("product sku-%d not found", 90000 + rng_.Below(999)),
          "inventory.catalog");
    }
    inner += Ms(rng_.Uniform(0.3, 1.5));
    const int status = not_found ? 404 : 200;
    {
      SpanSpec spec = Spec(kInventory, inventory, &gateway, inventory_start,
                           inner, absl::StrCat("GET /inventory", route));
      spec.http = Http("GET", absl::StrCat("/inventory", route), status);
      spec.intent = "browse";
      EmitSpan(trace, std::move(spec));
    }
    const uint64_t gateway_end = inner + Ms(rng_.Uniform(0.3, 1.0));
    {
      SpanSpec spec = Spec(kGateway, gateway, &web, gateway_start, gateway_end,
                           absl::StrCat("GET /api", route));
      spec.http = Http("GET", absl::StrCat("/api", route), status);
      spec.peer_service = "inventory-service";
      spec.intent = "browse";
      EmitSpan(trace, std::move(spec));
    }
    CountAtGateway(gateway_start, status);
    {
      SpanSpec spec =
          Spec(kWeb, web, nullptr, t, gateway_end + Ms(rng_.Uniform(2, 12)),
               absl::StrCat("GET ", route));
      spec.http = Http("GET", route, status);
      spec.intent = "browse";
      EmitSpan(trace, std::move(spec));
    }
  }

  void OrderStatus(uint64_t t) {
    Trace trace = NewTrace();
    const SpanId web = NewSpanId();
    const SpanId gateway = NewSpanId();
    const SpanId orders = NewSpanId();
    const uint64_t gateway_start = t + Ms(rng_.Uniform(0.5, 2.0));
    const uint64_t orders_start = gateway_start + Ms(rng_.Uniform(0.3, 1.0));
    uint64_t inner = orders_start + Ms(rng_.Uniform(0.2, 0.5));
    inner = DbCall(trace, kOrders, orders, inner, rng_.LatencyMs(2.5, 0.4),
                   "SELECT", "orders",
                   "SELECT id, status, total FROM orders WHERE id = $1",
                   "orders", kOrdersPool);
    inner += Ms(rng_.Uniform(0.2, 0.8));
    {
      SpanSpec spec = Spec(kOrders, orders, &gateway, orders_start, inner,
                           "GET /orders/:id");
      spec.http = Http("GET", "/orders/:id", 200);
      spec.attributes.push_back({"order.id", trace.order_id});
      spec.intent = "order-status";
      EmitSpan(trace, std::move(spec));
    }
    const uint64_t gateway_end = inner + Ms(rng_.Uniform(0.3, 1.0));
    {
      SpanSpec spec = Spec(kGateway, gateway, &web, gateway_start, gateway_end,
                           "GET /api/orders/:id");
      spec.http = Http("GET", "/api/orders/:id", 200);
      spec.peer_service = "orders-service";
      spec.intent = "order-status";
      EmitSpan(trace, std::move(spec));
    }
    CountAtGateway(gateway_start, 200);
    {
      SpanSpec spec =
          Spec(kWeb, web, nullptr, t, gateway_end + Ms(rng_.Uniform(2, 10)),
               "GET /orders/:id");
      spec.http = Http("GET", "/orders/:id", 200);
      spec.intent = "order-status";
      EmitSpan(trace, std::move(spec));
    }
  }

  // --- background: metrics, entities, operational logs ---------------------

  void Gauge(int service, uint64_t t, const char* name, double value,
             const char* unit) {
    Event event =
        Base(service, 0, t, EventType::kMetric, name, Severity::kUnspecified);
    MetricData metric;
    metric.kind = MetricKind::kGauge;
    metric.value = std::round(value * 100) / 100;
    metric.unit = unit;
    event.payload = std::move(metric);
    events_.push_back(std::move(event));
  }

  // Keep in step with kMetricsPerTick.
  void Metrics() {
    for (size_t tick = 0; tick < requests_.size(); ++tick) {
      const uint64_t t =
          std::min(end_, start_ + tick * kTick + Ms(rng_.Uniform(0, 40)));
      const double x = Fraction(t);
      const double saturation = PoolSaturation(t);
      for (int s = 0; s < kServiceCount; ++s) {
        const ServiceInfo& info = kServices[s];
        double cpu = info.base_cpu * (0.8 + 0.5 * x) + rng_.Normal(0, 2);
        double memory = info.base_memory * (1 + 0.04 * x) + rng_.Normal(0, 4);
        if (s == kPayments) {
          cpu += 12 * saturation;
          memory += 220 * saturation;
        }
        Gauge(s, t, "cpu.utilization", std::clamp(cpu, 1.0, 99.0), "%");
        Gauge(s, t, "memory.usage", memory, "MiB");
      }
      const int active = PaymentsPoolActive(t);
      Gauge(kPayments, t, "db.pool.usage", 100.0 * active / PoolMax(t), "%");
      Gauge(kOrders, t, "db.pool.usage",
            100.0 * OrdersPoolActive(tick) / kOrdersPoolMax, "%");
      Gauge(kInventory, t, "db.pool.usage", 25 + rng_.Normal(0, 3), "%");
      const double requests = requests_[tick];
      Gauge(kGateway, t, "http.server.request_rate",
            requests / (kTick / kSecond), "req/s");
      Gauge(kGateway, t, "http.server.error_rate",
            requests == 0 ? 0 : 100.0 * server_errors_[tick] / requests, "%");
      Gauge(kPostgres, t, "db.connections", active + OrdersPoolActive(tick) + 6,
            "{connection}");
    }
  }

  int PaymentsPoolActive(uint64_t t) const {
    const int max = PoolMax(t);
    return std::min(max,
                    static_cast<int>(PoolDemand(t) + 4 * PoolSaturation(t)));
  }
  static int OrdersPoolActive(size_t tick) { return 3 + (tick / 17) % 3; }

  void Observe(int service, uint64_t t, const char* entity_type,
               std::string entity, std::vector<EntityField> fields,
               bool deleted = false) {
    Event event = Base(service, 0, t, EventType::kEntityState, entity_type,
                       Severity::kInfo);
    EntityStateData state;
    state.entity = std::move(entity);
    state.entity_type = entity_type;
    state.fields = std::move(fields);
    state.deleted = deleted;
    event.payload = std::move(state);
    events_.push_back(std::move(event));
  }

  void EntityObservations() {
    const uint64_t deploy_at = DeployTime();
    const uint64_t cache_removed_at = CacheRemovedTime();
    const uint64_t config_at = ConfigChangeTime();
    for (size_t tick = 0; tick < requests_.size(); ++tick) {
      // The first tick is exactly at the start, so that the state at the
      // start of the window holds every entity.
      const uint64_t t = start_ + tick * kTick;
      const int max = PoolMax(t);
      const int active = PaymentsPoolActive(t);
      const int waiting =
          active < max ? 0
                       : static_cast<int>(std::lround(PoolSaturation(t) * 8));
      Observe(kPayments, t, "db_connection_pool", kPaymentsPool,
              {{"active", absl::StrCat(active)},
               {"idle", absl::StrCat(max - active)},
               {"max", absl::StrCat(max)},
               {"waiting", absl::StrCat(waiting)}});
      const int orders_active = OrdersPoolActive(tick);
      Observe(kOrders, t, "db_connection_pool", kOrdersPool,
              {{"active", absl::StrCat(orders_active)},
               {"idle", absl::StrCat(kOrdersPoolMax - orders_active)},
               {"max", absl::StrCat(kOrdersPoolMax)},
               {"waiting", "0"}});
      if (tick % 6 == 0)
        PaymentsConfig(t, t < config_at ? kPoolMaxBefore : kPoolMaxAfter);
      if (tick % 12 == 0) {
        for (int s = kWeb; s <= kInventory; ++s) Deployment(s, t);
        for (int node = 1; node <= 3; ++node) {
          if (node == 3 && t >= cache_removed_at) continue;
          CacheNode(node, t);
        }
      }
    }
    // The changes are reported when they happen, not at the next poll.
    Deployment(kInventory, deploy_at);
    Observe(kInventory, cache_removed_at, "cache_node", kDeletedCache, {},
            /*deleted=*/true);
    PaymentsConfig(config_at, kPoolMaxAfter);
  }

  void PaymentsConfig(uint64_t t, int pool_max) {
    Observe(kPayments, t, "config", kPaymentsConfig,
            {{"db.pool.max_size", absl::StrCat(pool_max)},
             {"db.pool.timeout_ms", "5000"},
             {"feature.new_checkout_flow", "true"},
             {"http.retries", "2"}});
  }

  void Deployment(int service, uint64_t t) {
    const std::string version = Version(service, t);
    const ServiceInfo& info = kServices[service];
    Observe(service, t, "deployment", absl::StrCat("deployment/", info.name),
            {{"image",
              absl::StrCat("registry.shop.internal/", info.name, ":", version)},
             {"replicas", absl::StrCat(info.replicas)},
             {"version", version}});
  }

  void CacheNode(int node, uint64_t t) {
    Observe(kInventory, t, "cache_node",
            absl::StrCat("cache/inventory-node-", node),
            {{"max_memory_mb", "2048"},
             {"role", node == 1 ? "primary" : "replica"},
             {"status", "up"}});
  }

  void Log(int service, uint64_t t, Severity severity, const char* name,
           std::string body, const char* logger) {
    Event event = Base(service, 0, t, EventType::kLog, name, severity);
    LogData log;
    log.body = std::move(body);
    log.logger = logger;
    event.payload = std::move(log);
    events_.push_back(std::move(event));
  }

  void IncidentLogs() {
    const uint64_t deploy_at = DeployTime();
    Log(kInventory, deploy_at + 2 * kSecond, Severity::kInfo, "service started",
        absl::StrFormat("starting inventory-service v%s (2 replicas)",
                        kInventoryNewVersion),
        "inventory.main");
    Log(kInventory, CacheRemovedTime() + kSecond / 2, Severity::kWarn,
        "cache node left",
        "cache node inventory-node-3 left the cluster; rebalancing keys",
        "inventory.cache");
    Log(kPayments, ConfigChangeTime() + kSecond / 4, Severity::kInfo,
        "configuration reloaded",
        absl::StrFormat("configuration reloaded: db.pool.max_size %d -> %d",
                        kPoolMaxBefore, kPoolMaxAfter),
        "payments.config");
  }

  const DemoWorkloadOptions options_;
  Rng rng_;
  const uint64_t end_;
  const uint64_t duration_;
  const uint64_t start_;
  std::vector<Event> events_;
  std::vector<uint32_t> requests_;       // per tick, at the gateway
  std::vector<uint32_t> server_errors_;  // per tick, 5xx at the gateway
  uint64_t first_pool_timeout_ns_ = 0;
};

}  // namespace

DemoWorkload GenerateDemoWorkload(const DemoWorkloadOptions& options) {
  return Generator(options).Run();
}

}  // namespace traversion::demo
