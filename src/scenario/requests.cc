// Requests through the topology, span by span, under the fault model.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "scenario/simulator.h"
#include "scenario/topology.h"
#include "traversion/event.h"

namespace traversion::scenario {

// One request in flight: its trace, the values its logs mention, and the
// events it produced, committed only if the request ends inside the window.
struct Simulator::Trace {
  TraceId id{};
  const EntryPoint* entry = nullptr;
  std::vector<int> replica;  // per service, the replica that serves it
  std::string order, sku, user, request, auth;
  int items = 1;
  double amount = 0;
  std::vector<Event> events;
  // Services hurt by the fault in this request, and when.
  std::vector<std::pair<int, uint64_t>> hurt;
};

// What a service did with a request, as its caller sees it.
struct Simulator::Outcome {
  uint64_t end = 0;
  int code = 200;
  bool failed = false;
  // The failure goes back to the fault (through any number of callees).
  bool fault_caused = false;
  // Latency the fault added to this request, children included.
  uint64_t fault_delay_ns = 0;
  std::string reason;  // for the caller's messages
};

namespace {

constexpr double kBackgroundErrorRate = 0.0008;

std::string DbSystem(const ServiceSpec& db) {
  return db.name.rfind("mysql", 0) == 0 ? "mysql" : "postgresql";
}

// Why a request failed, in a few words, for the failing service's log.
const char* ShortReason(FailureKind kind) {
  switch (kind) {
    case FailureKind::kPoolTimeout:
      return "no database connection";
    case FailureKind::kDiskFull:
      return "could not write to disk";
    case FailureKind::kNoDescriptors:
      return "could not open a socket";
    case FailureKind::kOverloaded:
      return "rejected, request queue full";
    case FailureKind::kConnectionReset:
      return "connection reset";
    case FailureKind::kOutOfMemory:
      return "out of memory";
    default:
      return "unexpected error";
  }
}

int FailureCode(FailureKind kind) {
  return kind == FailureKind::kPoolTimeout || kind == FailureKind::kOverloaded
             ? 503
             : 500;
}

}  // namespace

SpanId Simulator::NewSpanId() {
  SpanId id{};
  const uint64_t v = rng_.Next() | 1;  // never all zero
  for (int i = 0; i < 8; ++i) id[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return id;
}

TraceId Simulator::NewTraceId() {
  TraceId id{};
  const uint64_t hi = rng_.Next();
  const uint64_t lo = rng_.Next() | 1;
  for (int i = 0; i < 8; ++i) {
    id[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    id[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return id;
}

std::string Simulator::Fill(const std::string& pattern, const Trace& trace) {
  return absl::StrReplaceAll(
      pattern, {{"{order}", trace.order},
                {"{sku}", trace.sku},
                {"{items}", absl::StrCat(trace.items)},
                {"{amount}", absl::StrFormat("%.2f", trace.amount)},
                {"{auth}", trace.auth},
                {"{user}", trace.user},
                {"{id}", trace.request}});
}

void Simulator::Request() {
  // The traffic grows by 60 % over the window: the inverse of the CDF of
  // the density 1 + 0.6x on [0, 1].
  const double u = rng_.Uniform();
  const double x = (-1 + std::sqrt(1 + 1.56 * u)) / 0.6;
  uint64_t t =
      start_ + static_cast<uint64_t>(x * static_cast<double>(duration_));
  t = std::min(t, end_ - kSecond);
  double total = 0;
  for (const EntryPoint& entry : topology_.entries) total += entry.weight;
  double pick = rng_.Uniform() * total;
  const EntryPoint* entry = &topology_.entries.back();
  for (const EntryPoint& e : topology_.entries) {
    if (pick < e.weight) {
      entry = &e;
      break;
    }
    pick -= e.weight;
  }
  Trace trace;
  trace.id = NewTraceId();
  trace.entry = entry;
  for (const ServiceSpec& service : topology_.services) {
    trace.replica.push_back(rng_.Index(std::max(1, service.replicas)));
  }
  trace.order = absl::StrCat("ord-", 40000 + rng_.Below(60000));
  trace.sku = absl::StrCat("sku-", 10000 + rng_.Below(900));
  trace.user = absl::StrCat("u-", 1000 + rng_.Below(9000));
  trace.request = absl::StrFormat("req-%06x", rng_.Below(1 << 24));
  trace.auth = absl::StrFormat("%06d", rng_.Below(1000000));
  trace.items = 1 + rng_.Index(5);
  trace.amount = std::round(rng_.Uniform(9, 240) * 100) / 100;
  Serve(trace, entry->service, entry->endpoint, nullptr, t,
        trace.replica[entry->service], 0);
  Commit(trace);
}

void Simulator::Commit(Trace& trace) {
  // A request still running at the end of the window is not recorded: a
  // store never holds events from after the instant it was read.
  for (const Event& event : trace.events) {
    if (event.time_ns > end_) return;
    const SpanData* span = event.span();
    if (span != nullptr && span->kind == SpanKind::kServer &&
        event.time_ns + span->duration_ns > end_) {
      return;
    }
  }
  for (Event& event : trace.events) {
    const SpanData* span = event.span();
    if (span != nullptr && span->kind == SpanKind::kServer) {
      for (size_t s = 0; s < topology_.services.size(); ++s) {
        if (topology_.services[s].name != event.service.name) continue;
        const size_t tick = TickOf(event.time_ns);
        ++requests_[s][tick];
        if (span->http.has_value() && span->http->status_code >= 500) {
          ++server_errors_[s][tick];
        }
      }
    }
    events_.push_back(std::move(event));
  }
  for (const auto& [service, when] : trace.hurt) {
    auto [it, inserted] = affected_.emplace(service, when);
    if (!inserted) it->second = std::min(it->second, when);
    if (symptom_start_ == 0 || when < symptom_start_) symptom_start_ = when;
  }
}

void Simulator::EmitLog(Trace& trace, int s, int replica, const SpanId& span,
                        uint64_t t, Severity severity, std::string name,
                        std::string body, std::string logger,
                        std::vector<std::string> entity_refs) {
  Event event = Base(s, replica, t, EventType::kLog, std::move(name), severity);
  event.trace.trace_id = trace.id;
  event.trace.span_id = span;
  event.trace.trace_flags = 1;
  event.entity_refs = std::move(entity_refs);
  LogData log;
  log.body = std::move(body);
  log.logger = std::move(logger);
  event.payload = std::move(log);
  trace.events.push_back(std::move(event));
}

void Simulator::EmitError(Trace& trace, int s, int replica, const SpanId& span,
                          uint64_t t, const Endpoint& endpoint,
                          const ExceptionText& exception, bool handled,
                          Severity severity,
                          std::vector<std::string> entity_refs) {
  Event event =
      Base(s, replica, t, EventType::kError, exception.type, severity);
  event.trace.trace_id = trace.id;
  event.trace.span_id = span;
  event.trace.trace_flags = 1;
  event.entity_refs = std::move(entity_refs);
  ErrorData error;
  error.exception_type = exception.type;
  error.message = exception.message;
  error.stacktrace = StackTrace(topology_.services[s], endpoint, exception);
  error.handled = handled;
  error.escaped = !handled;
  event.payload = std::move(error);
  trace.events.push_back(std::move(event));
}

uint64_t Simulator::AcquireConnection(Trace& trace, int s, int replica,
                                      const SpanId& parent,
                                      const Endpoint& endpoint, uint64_t at,
                                      Outcome& out, bool* timed_out) {
  const ServiceSpec& service = topology_.services[s];
  const double saturation = PoolSaturation(s, at);
  const bool exhausted = rng_.Chance(saturation);
  *timed_out = exhausted && rng_.Chance(0.45 + 0.45 * saturation);
  const uint64_t wait = !exhausted   ? Rng::Ns(rng_.Uniform(0.05, 0.6))
                        : *timed_out ? 5000 * kMs
                                     : Rng::Ns(rng_.Uniform(150, 4500));
  if (exhausted) out.fault_delay_ns += wait;
  const int max = PoolMax(s, at);
  const int waiting =
      1 + static_cast<int>(std::lround(saturation * 7)) + rng_.Index(3);
  const SpanId acquire = NewSpanId();
  if (exhausted) {
    EmitLog(trace, s, replica, acquire, at + 100 * kMs, Severity::kWarn,
            "waiting for connection",
            absl::StrFormat(
                "waiting for a connection from %s (active=%d/%d, waiting=%d)",
                service.pool, max, max, waiting),
            absl::StrCat(service.package, ".db.pool"), {service.pool});
  }
  if (*timed_out) {
    const ExceptionText exception = DescribeFailure(
        service, FailureKind::kPoolTimeout,
        absl::StrFormat("timed out after 5000 ms waiting for a connection "
                        "from %s (active=%d, max=%d, waiting=%d)",
                        service.pool, max, max, waiting));
    EmitError(trace, s, replica, acquire, at + wait, endpoint, exception,
              /*handled=*/false, Severity::kError, {service.pool});
  }
  Event event = Base(s, replica, at, EventType::kSpan, "db.pool.acquire",
                     *timed_out ? Severity::kError : Severity::kInfo);
  event.trace.trace_id = trace.id;
  event.trace.span_id = acquire;
  event.trace.parent_span_id = parent;
  event.trace.trace_flags = 1;
  event.entity_refs = {service.pool};
  event.attributes = {{"db.client.connection.pool.name", service.pool},
                      {"db.client.connection.pool.max", int64_t{max}}};
  SpanData span;
  span.kind = SpanKind::kInternal;
  span.duration_ns = wait;
  span.status = *timed_out ? SpanStatus::kError : SpanStatus::kOk;
  if (*timed_out) {
    span.status_message =
        DescribeFailure(service, FailureKind::kPoolTimeout, "").type;
  }
  event.payload = std::move(span);
  trace.events.push_back(std::move(event));
  return at + wait;
}

uint64_t Simulator::DbCall(Trace& trace, int s, int replica,
                           const SpanId& parent, uint64_t at,
                           const DbQuery& query, Outcome& out) {
  const ServiceSpec& service = topology_.services[s];
  const ServiceSpec& db = topology_.services[service.database_service];
  const bool slow_query = rng_.Chance(0.01);
  const uint64_t normal = slow_query ? Rng::Ns(rng_.Uniform(200, 900))
                                     : rng_.LatencyNs(query.median_ms, 0.4);
  const double slowdown = DbSlowdown(s, at);
  const uint64_t duration =
      slowdown > 1
          ? normal + rng_.LatencyNs(query.median_ms * (slowdown - 1), 0.6)
          : normal;
  out.fault_delay_ns += duration - normal;
  Event event = Base(s, replica, at, EventType::kSpan,
                     absl::StrCat(query.operation, " ", service.db_namespace,
                                  ".", query.table),
                     Severity::kInfo);
  event.trace.trace_id = trace.id;
  event.trace.span_id = NewSpanId();
  event.trace.parent_span_id = parent;
  event.trace.trace_flags = 1;
  if (!service.pool.empty()) event.entity_refs = {service.pool};
  SpanData span;
  span.kind = SpanKind::kClient;
  span.duration_ns = duration;
  span.status = SpanStatus::kOk;
  DbInfo info;
  info.system = DbSystem(db);
  info.namespace_ = service.db_namespace;
  info.operation = query.operation;
  info.statement = query.statement;
  info.table = query.table;
  span.db = std::move(info);
  span.peer_service = db.name;
  event.payload = std::move(span);
  trace.events.push_back(std::move(event));
  const uint64_t end = at + duration;
  if (duration > 200 * kMs) {
    EmitLog(trace, s, replica, parent, end + 100'000, Severity::kWarn,
            "slow query",
            absl::StrFormat("slow query: %s %s took %dms", query.operation,
                            query.table, duration / kMs),
            absl::StrCat(service.package, ".db"));
  }
  return end;
}

Simulator::Outcome Simulator::Serve(Trace& trace, int s, int endpoint_index,
                                    const SpanId* parent, uint64_t start,
                                    int replica, int attempt) {
  const ServiceSpec& service = topology_.services[s];
  const Endpoint& endpoint = service.endpoints[endpoint_index];
  Outcome out;
  const SpanId span = NewSpanId();
  auto gap = [&] { return Rng::Ns(rng_.Uniform(0.05, 0.4)); };

  // Waiting for a worker, then the service's own work, half before the
  // calls and half after.
  const double queue_ms = QueueWaitMs(s, replica, start);
  const uint64_t queued =
      queue_ms > 0 ? Rng::Ns(rng_.Exponential(queue_ms)) : 0;
  const uint64_t self_normal = rng_.LatencyNs(endpoint.self_ms, 0.35);
  const uint64_t self = static_cast<uint64_t>(static_cast<double>(self_normal) *
                                              SelfSlowdown(s, replica, start));
  out.fault_delay_ns += queued + (self - self_normal);
  uint64_t cursor = start + queued + self / 2;

  FailureKind failure = FailureKind::kNone;
  bool fault_failure = false;
  std::string upstream_reason;
  int code = endpoint.success_code;

  if (endpoint.uses_pool && !service.pool.empty()) {
    bool timed_out = false;
    cursor = AcquireConnection(trace, s, replica, span, endpoint, cursor, out,
                               &timed_out);
    if (timed_out) {
      failure = FailureKind::kPoolTimeout;
      fault_failure = true;
    }
  }
  for (const DbQuery& query : endpoint.queries) {
    if (failure != FailureKind::kNone || query.after_calls) continue;
    cursor = DbCall(trace, s, replica, span, cursor, query, out) + gap();
  }
  bool not_found = false;
  if (failure == FailureKind::kNone) {
    const double p =
        FaultFailureProbability(s, replica, endpoint_index, cursor);
    if (p > 0 && rng_.Chance(p)) {
      failure = FaultFailureKind();
      fault_failure = true;
    } else if (rng_.Chance(BurstProbability(s, cursor))) {
      failure = FailureKind::kConnectionReset;
    } else if (rng_.Chance(kBackgroundErrorRate)) {
      failure = FailureKind::kBackground;
    } else if (rng_.Chance(endpoint.not_found_rate)) {
      not_found = true;
      code = 404;
      EmitLog(trace, s, replica, span, cursor + 200'000, Severity::kWarn,
              "not found",
              Fill(absl::StrCat(endpoint.intent, " {id} not found"), trace),
              absl::StrCat(service.package, ".", endpoint.intent));
    }
    if (failure != FailureKind::kNone && failure != FailureKind::kPoolTimeout) {
      cursor += Rng::Ns(rng_.Uniform(0.5, 4));
    }
  }

  // The downstream calls, in order; a required one that fails ends the
  // request.
  for (const DownstreamCall& call : endpoint.calls) {
    if (failure != FailureKind::kNone || not_found) break;
    const ServiceSpec& callee = topology_.services[call.service];
    const Endpoint& callee_endpoint = callee.endpoints[call.endpoint];
    int retries = call.retries;
    uint64_t backoff = call.retry_backoff_ns;
    if (options_.fault == FaultKind::kRetryStorm) {
      if (call.service == fault_) {
        retries = 3;
        backoff = 0;
      } else if (std::find(storm_callers_.begin(), storm_callers_.end(),
                           call.service) != storm_callers_.end()) {
        retries = 2;
        backoff = 0;
      }
    }
    Outcome result;
    for (int k = 0; k <= retries; ++k) {
      const uint64_t attempt_start = cursor + gap();
      const int r =
          (trace.replica[call.service] + k) % std::max(1, callee.replicas);
      if (!Available(call.service, r, attempt_start)) {
        result = Outcome();
        result.end = attempt_start + Rng::Ns(rng_.Uniform(0.5, 3));
        result.failed = true;
        result.code = 503;
        result.fault_caused = Faulty(call.service);
        const std::string pod = Pod(call.service, r, attempt_start);
        result.reason = absl::StrCat("connection refused by ", pod);
        EmitLog(trace, s, replica, span, result.end, Severity::kError,
                "connection refused",
                absl::StrFormat("%s: connect to %s (%s:8080) refused",
                                RefusedExceptionName(service.language),
                                callee.name, pod),
                absl::StrCat(service.package, ".client"));
      } else {
        result = Serve(trace, call.service, call.endpoint, &span, attempt_start,
                       r, k);
        if (result.end - attempt_start > call.timeout_ns) {
          // The caller gives up; the callee's span still ends when it does.
          result.end = attempt_start + call.timeout_ns;
          result.failed = true;
          result.code = 504;
          result.fault_caused =
              result.fault_caused || result.fault_delay_ns > 0;
          result.reason = absl::StrFormat("no answer from %s within %d ms",
                                          callee.name, call.timeout_ns / kMs);
          EmitLog(trace, s, replica, span, result.end, Severity::kError,
                  "call timed out",
                  absl::StrFormat("%s: %s %s did not answer within %d ms",
                                  TimeoutExceptionName(service.language),
                                  callee.name, callee_endpoint.Name(),
                                  call.timeout_ns / kMs),
                  absl::StrCat(service.package, ".client"));
        }
      }
      if (result.failed && result.fault_caused) {
        out.fault_delay_ns += result.end - attempt_start;
      } else {
        out.fault_delay_ns += result.fault_delay_ns;
      }
      cursor = result.end;
      if (!result.failed) break;
      if (k < retries) {
        EmitLog(trace, s, replica, span, cursor + 50'000, Severity::kWarn,
                "retrying call",
                absl::StrFormat("retrying %s on %s (attempt %d of %d) after "
                                "%s",
                                callee_endpoint.Name(), callee.name, k + 2,
                                retries + 1, result.reason),
                absl::StrCat(service.package, ".client"));
        cursor += backoff;
      }
    }
    if (result.code == 404) {
      not_found = true;
      code = 404;
      break;
    }
    if (!result.failed) continue;
    if (call.optional) {
      EmitLog(trace, s, replica, span, cursor + 100'000, Severity::kWarn,
              "dependency unavailable",
              absl::StrFormat("%s unavailable (%s); answering without it",
                              callee.name, result.reason),
              absl::StrCat(service.package, ".client"));
      continue;
    }
    failure = FailureKind::kUpstream;
    out.fault_caused = result.fault_caused;
    code = result.code == 504 ? 504 : 502;
    upstream_reason =
        result.code == 504
            ? result.reason
            : absl::StrCat(callee.name, " returned ", result.code);
  }

  if (failure == FailureKind::kNone && !not_found) {
    if (!endpoint.external_peer.empty()) {
      const uint64_t call = rng_.LatencyNs(endpoint.external_ms, 0.35);
      Event event =
          Base(s, replica, cursor, EventType::kSpan,
               absl::StrCat("POST ", endpoint.external_url.substr(
                                         endpoint.external_url.find('/', 8))),
               Severity::kInfo);
      event.trace.trace_id = trace.id;
      event.trace.span_id = NewSpanId();
      event.trace.parent_span_id = span;
      event.trace.trace_flags = 1;
      SpanData data;
      data.kind = SpanKind::kClient;
      data.duration_ns = call;
      data.status = SpanStatus::kOk;
      HttpInfo http;
      http.method = "POST";
      http.route =
          endpoint.external_url.substr(endpoint.external_url.find('/', 8));
      http.url = endpoint.external_url;
      http.status_code = 200;
      data.http = std::move(http);
      data.peer_service = endpoint.external_peer;
      event.payload = std::move(data);
      trace.events.push_back(std::move(event));
      cursor += call + gap();
    }
    for (const DbQuery& query : endpoint.queries) {
      if (!query.after_calls) continue;
      cursor = DbCall(trace, s, replica, span, cursor, query, out) + gap();
    }
    for (const std::string& pattern : endpoint.success_logs) {
      EmitLog(trace, s, replica, span, cursor, Severity::kInfo, endpoint.intent,
              Fill(pattern, trace),
              absl::StrCat(service.package, ".", endpoint.intent));
      cursor += Rng::Ns(rng_.Uniform(0.1, 0.5));
    }
  }

  // What the failure leaves behind in this service.
  std::string status_message;
  if (failure == FailureKind::kUpstream) {
    status_message = absl::StrCat("upstream failure: ", upstream_reason);
    EmitLog(trace, s, replica, span, cursor + 100'000, Severity::kError,
            "request failed",
            Fill(absl::StrCat(endpoint.Name(),
                              " failed for {id}: ", upstream_reason),
                 trace),
            absl::StrCat(service.package, ".", endpoint.intent));
  } else if (failure != FailureKind::kNone) {
    code = FailureCode(failure);
    out.fault_caused = fault_failure;
    std::string detail;
    if (failure == FailureKind::kOverloaded) {
      detail = absl::StrCat(200 + rng_.Below(56));
    } else if (failure == FailureKind::kBadCode) {
      detail = absl::StrCat("in ", endpoint.Name());
    } else if (failure == FailureKind::kPoolTimeout) {
      detail = absl::StrCat(
          "timed out after 5000 ms waiting for a connection "
          "from ",
          service.pool);
    } else if (failure == FailureKind::kDiskFull) {
      detail = absl::StrFormat("%s.tmp", trace.request);
    }
    const ExceptionText exception = DescribeFailure(service, failure, detail);
    if (failure != FailureKind::kPoolTimeout) {
      // (A pool timeout was recorded in the acquire span.)
      EmitError(trace, s, replica, span, cursor, endpoint, exception,
                /*handled=*/false, Severity::kError);
    }
    if (failure == FailureKind::kDiskFull ||
        failure == FailureKind::kNoDescriptors) {
      trace.events.push_back(KernelEvent(s, replica, cursor - 30'000, failure));
    }
    status_message = absl::StrCat(exception.type, ": ", exception.message);
    EmitLog(trace, s, replica, span, cursor + 200'000, Severity::kError,
            "request failed",
            Fill(absl::StrCat(endpoint.Name(),
                              " failed for {id}: ", ShortReason(failure)),
                 trace),
            absl::StrCat(service.package, ".", endpoint.intent),
            failure == FailureKind::kPoolTimeout
                ? std::vector<std::string>{service.pool}
                : std::vector<std::string>{});
  }
  const bool failed = failure != FailureKind::kNone;
  cursor += self - self / 2 + Rng::Ns(rng_.Uniform(0.2, 0.6));
  if (failed && parent == nullptr && trace.entry != nullptr) {
    // The entry service tells the user, and records why.
    ExceptionText exception;
    exception.type = trace.entry->error_type;
    exception.qualified = exception.type;
    exception.message = absl::StrFormat(
        "%s (%d: %s)", trace.entry->error_what, code,
        upstream_reason.empty() ? ShortReason(failure) : upstream_reason);
    EmitError(trace, s, replica, span, cursor - 300'000, endpoint, exception,
              /*handled=*/true, Severity::kError);
  }

  Event event = Base(s, replica, start, EventType::kSpan, endpoint.Name(),
                     failed ? Severity::kError : Severity::kInfo);
  event.trace.trace_id = trace.id;
  event.trace.span_id = span;
  if (parent != nullptr) event.trace.parent_span_id = *parent;
  event.trace.trace_flags = 1;
  event.semantic.intent = endpoint.intent;
  if (parent == nullptr) {
    event.attributes.push_back({"user.id", trace.user});
    event.impact.customer_facing = true;
  }
  if (attempt > 0) {
    event.attributes.push_back({"http.request.resend_count", int64_t{attempt}});
  }
  if (endpoint.uses_pool && !service.pool.empty()) {
    event.entity_refs = {service.pool};
  }
  SpanData data;
  data.kind = SpanKind::kServer;
  data.duration_ns = cursor - start;
  data.status = failed ? SpanStatus::kError : SpanStatus::kOk;
  data.status_message = std::move(status_message);
  HttpInfo http;
  http.method = endpoint.method;
  http.route = endpoint.route;
  http.status_code = code;
  data.http = std::move(http);
  if (endpoint.calls.size() == 1) {
    data.peer_service = topology_.services[endpoint.calls[0].service].name;
  }
  event.payload = std::move(data);
  trace.events.push_back(std::move(event));

  out.end = cursor;
  out.code = code;
  out.failed = failed;
  if (failed) {
    out.reason = absl::StrCat(code, " from ", service.name);
  }
  if ((failed && out.fault_caused) || out.fault_delay_ns >= 100 * kMs) {
    trace.hurt.push_back({s, cursor});
  }
  return out;
}

}  // namespace traversion::scenario
