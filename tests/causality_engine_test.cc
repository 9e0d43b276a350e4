// The causality engine end to end on a small synthetic incident with a
// known cause: frontend -> orders -> payments; a config change on payments
// (its pool shrinks) makes payments fail, and the failure climbs the call
// chain. The engine must name payments (and the config), not the services
// that merely relay the failure.
#include <memory>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "causality/window.h"
#include "gtest/gtest.h"
#include "support/test_support.h"
#include "traversion/causality.h"
#include "traversion/query.h"
#include "traversion/store.h"

namespace traversion {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kT0 = 1'700'000'000 * kSec;     // start of history
constexpr uint64_t kIncident = kT0 + 600 * kSec;   // the config change
constexpr uint64_t kEnd = kIncident + 300 * kSec;  // end of history

class Incident {
 public:
  // `span_status`: whether failing spans say so in their status; without
  // it (like the Train Ticket corpus) only the error logs tell.
  explicit Incident(bool span_status = true) : span_status_(span_status) {
    StoreOptions options;
    options.sync = SyncMode::kNoSync;
    auto store = Store::Open(dir_.Sub("store"), options);
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    Generate();
  }
  const Store& store() const { return *store_; }
  EventId first_payment_error() const { return first_payment_error_; }

 private:
  Event Base(uint64_t t, const std::string& service, const TraceId& trace,
             uint64_t span, uint64_t parent) {
    Event e;
    e.id = EventId{t, ++suffix_};
    e.time_ns = t;
    e.service.name = service;
    e.service.instance = service + "-1";
    e.trace.trace_id = trace;
    for (int i = 0; i < 8; ++i) {
      e.trace.span_id[i] = static_cast<uint8_t>(span >> (8 * (7 - i)));
      e.trace.parent_span_id[i] = static_cast<uint8_t>(parent >> (8 * (7 - i)));
    }
    return e;
  }
  Event Span(uint64_t t, const std::string& service, const std::string& name,
             const TraceId& trace, uint64_t span, uint64_t parent,
             uint64_t duration, bool error) {
    Event e = Base(t, service, trace, span, parent);
    e.name = name;
    SpanData s;
    s.duration_ns = duration;
    s.status = error && span_status_ ? SpanStatus::kError : SpanStatus::kOk;
    e.payload = s;
    return e;
  }
  Event Log(uint64_t t, const std::string& service, const TraceId& trace,
            uint64_t span, Severity severity, const std::string& logger,
            int line, const std::string& body) {
    Event e = Base(t, service, trace, span, 0);
    e.severity = severity;
    LogData l;
    l.logger = logger;
    l.code_line = line;
    l.body = body;
    e.payload = l;
    return e;
  }

  void Generate() {
    absl::BitGen rng;
    std::vector<Event> events;
    uint64_t span_seq = 0;
    int trace_no = 0;
    for (uint64_t t = kT0; t < kEnd; t += kSec / 2) {  // 2 requests/s
      bool incident = t >= kIncident;
      bool fail = incident && absl::Bernoulli(rng, 0.6);
      TraceId trace{};
      ++trace_no;
      trace[12] = static_cast<uint8_t>(trace_no >> 24);
      trace[13] = static_cast<uint8_t>(trace_no >> 16);
      trace[14] = static_cast<uint8_t>(trace_no >> 8);
      trace[15] = static_cast<uint8_t>(trace_no);
      uint64_t fe = ++span_seq, ord = ++span_seq, pay = ++span_seq;
      uint64_t pay_ms = fail ? 150 : absl::Uniform<uint64_t>(rng, 4, 7);
      uint64_t pay_ns = pay_ms * 1'000'000;
      events.push_back(Span(t, "frontend", "GET /checkout", trace, fe, 0,
                            pay_ns + 4'000'000, fail));
      events.push_back(Span(t + 1'000'000, "orders", "POST /orders", trace, ord,
                            fe, pay_ns + 2'000'000, fail));
      Event p = Span(t + 2'000'000, "payments", "POST /charge", trace, pay, ord,
                     pay_ns, fail);
      p.entity_refs.push_back("config/payments");
      events.push_back(p);
      events.push_back(Log(t + 2'500'000, "payments", trace, pay,
                           Severity::kInfo, "p.PaymentService", 40,
                           "charging card"));
      if (fail) {
        Event err = Log(t + 2'000'000 + pay_ns - 1000, "payments", trace, pay,
                        Severity::kError, "p.PaymentService", 77,
                        "PoolTimeoutException: no connection in 150 ms");
        if (first_payment_error_.empty()) first_payment_error_ = err.id;
        events.push_back(err);
        events.push_back(Log(t + pay_ns + 3'000'000, "orders", trace, ord,
                             Severity::kError, "o.OrderService", 12,
                             "payment failed: 503"));
      } else {
        events.push_back(Log(t + 2'000'000 + pay_ns - 1000, "payments", trace,
                             pay, Severity::kInfo, "p.PaymentService", 52,
                             "charged"));
      }
    }
    // The config, observed every 30 s; its pool shrinks at the incident.
    for (uint64_t t = kT0 + 1; t < kEnd; t += 30 * kSec) {
      Event e;
      e.id = EventId{t, ++suffix_};
      e.time_ns = t;
      e.service.name = "payments";
      EntityStateData st;
      st.entity = "config/payments";
      st.entity_type = "config";
      st.fields.push_back(
          {"db.pool.max_size", t >= kIncident - 10 * kSec ? "4" : "40"});
      e.payload = st;
      events.push_back(e);
    }
    std::sort(events.begin(), events.end(),
              [](const Event& a, const Event& b) { return a.id < b.id; });
    auto written = store_->Write(events);
    ASSERT_TRUE(written.ok()) << written.status();
  }

  bool span_status_;
  testing::ScratchDir dir_;
  std::unique_ptr<Store> store_;
  uint64_t suffix_ = 0;
  EventId first_payment_error_;
};

CausalityEngine EngineWithBaseline() {
  CausalityOptions options;
  options.baseline.push_back({kT0, kIncident - 20 * kSec});
  return CausalityEngine(options);
}

TEST(CausalityEngineTest, NamesTheFailingServiceNotTheRelays) {
  Incident incident;
  CausalityEngine engine = EngineWithBaseline();
  auto report =
      engine.FindRootCause(incident.store(), kIncident - 15 * kSec, kEnd);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_FALSE(report->candidates.empty());
  const RootCause& top = report->candidates[0];
  EXPECT_EQ(top.service, "payments");
  // The config changed just before payments' first anomaly and had not
  // changed in the baseline: the candidate names it.
  EXPECT_EQ(top.kind, "entity");
  EXPECT_EQ(top.name, "config/payments");
  ASSERT_FALSE(top.evidence.empty());
  EXPECT_NE(top.evidence[0].find("db.pool.max_size 40 -> 4"), std::string::npos)
      << top.evidence[0];
  EXPECT_FALSE(top.chain.empty());
  EXPECT_GT(top.confidence, 0.3);
  // The relays are not above it.
  for (size_t i = 1; i < report->candidates.size(); ++i) {
    EXPECT_LE(report->candidates[i].confidence, top.confidence);
  }
  // What the anomalies say about payments: its own errors and the new
  // error log.
  bool own_errors = false, new_log = false;
  for (const Anomaly& a : report->anomalies) {
    if (a.service == "payments" && a.signal == "error_rate") own_errors = true;
    if (a.service == "payments" && a.signal == "log_pattern" &&
        a.subject == "p.PaymentService#77") {
      new_log = true;
    }
    // orders' errors are reactions to payments' (a failing callee below).
    EXPECT_FALSE(a.service == "orders" && a.signal == "error_rate")
        << a.description;
  }
  EXPECT_TRUE(own_errors);
  EXPECT_TRUE(new_log);
}

// Without span status, a span that logged an error failed: the callers
// above payments' failing spans react, their error logs are not theirs.
TEST(CausalityEngineTest, ErrorLogsMarkAFailedSpanWithoutStatus) {
  Incident incident(/*span_status=*/false);
  CausalityEngine engine = EngineWithBaseline();
  auto report =
      engine.FindRootCause(incident.store(), kIncident - 15 * kSec, kEnd);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_FALSE(report->candidates.empty());
  EXPECT_EQ(report->candidates[0].service, "payments");
  for (const Anomaly& a : report->anomalies) {
    EXPECT_NE(a.service, "orders") << a.signal << ": " << a.description;
  }
}

// A young store, with nothing recorded before the window (the demo's ten
// minutes): the window's quiet part, before its errors rose, becomes the
// baseline, and the answer is the one a real baseline gives.
TEST(CausalityEngineTest, YoungStoreTakesTheQuietPartOfTheWindowAsBaseline) {
  Incident incident;
  CausalityEngine engine;  // default baseline: the 30 min before, empty here
  auto report = engine.FindRootCause(incident.store(), kT0, kEnd);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->baseline.size(), 1u);
  EXPECT_EQ(report->baseline[0].from_ns, kT0);
  // Requests fail from kIncident on: the error rate rises there.
  EXPECT_GE(report->baseline[0].to_ns, kIncident);
  EXPECT_LE(report->baseline[0].to_ns, kIncident + 5 * kSec);
  EXPECT_EQ(report->from_ns, report->baseline[0].to_ns);
  ASSERT_FALSE(report->candidates.empty());
  EXPECT_EQ(report->candidates[0].name, "config/payments");
}

// The config is observed every 30 s; a window that starts after its last
// observation before the change still sees the change: the state before
// the first observation read comes from the store's entity history.
TEST(CausalityEngineTest, ChangeJudgedAgainstTheStateBeforeTheWindow) {
  Incident incident;
  CausalityOptions options;
  options.baseline.push_back({kT0 + 2 * kSec, kT0 + 25 * kSec});
  CausalityEngine engine(options);
  auto report =
      engine.FindRootCause(incident.store(), kIncident - 5 * kSec, kEnd);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_FALSE(report->candidates.empty());
  EXPECT_EQ(report->candidates[0].name, "config/payments");
  ASSERT_FALSE(report->candidates[0].evidence.empty());
  EXPECT_NE(report->candidates[0].evidence[0].find("40 -> 4"),
            std::string::npos)
      << report->candidates[0].evidence[0];
}

TEST(CausalityEngineTest, DetectsCascadeAndBadChange) {
  Incident incident;
  CausalityEngine engine = EngineWithBaseline();
  auto patterns =
      engine.DetectPatterns(incident.store(), kIncident - 15 * kSec, kEnd);
  ASSERT_TRUE(patterns.ok()) << patterns.status();
  bool cascade = false, bad_change = false;
  for (const PatternOccurrence& p : *patterns) {
    if (p.pattern == "cascade_failure" && p.key == "payments") cascade = true;
    if (p.pattern == "bad_change" && p.key == "payments") bad_change = true;
  }
  EXPECT_TRUE(cascade);
  EXPECT_TRUE(bad_change);
  auto retry = engine.DetectPattern(incident.store(), "retry_storm",
                                    kIncident - 15 * kSec, kEnd);
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->empty());  // nobody retried
  auto unknown = engine.DetectPattern(incident.store(), "no_such_pattern",
                                      kIncident, kEnd);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnimplemented);
}

TEST(CausalityEngineTest, QuietWindowHasNoStrongCandidate) {
  Incident incident;
  CausalityEngine engine = EngineWithBaseline();
  // Five quiet minutes of the baseline period compared with its start.
  CausalityOptions options;
  options.baseline.push_back({kT0, kT0 + 200 * kSec});
  CausalityEngine quiet_engine(options);
  auto report = quiet_engine.FindRootCause(incident.store(), kT0 + 300 * kSec,
                                           kT0 + 500 * kSec);
  ASSERT_TRUE(report.ok()) << report.status();
  for (const RootCause& rc : report->candidates) {
    EXPECT_LT(rc.confidence, 0.5) << rc.name;
  }
}

TEST(CausalityEngineTest, ChainFromErrorLogClimbsTheTrace) {
  Incident incident;
  CausalityEngine engine = EngineWithBaseline();
  auto error = incident.store().GetEvent(incident.first_payment_error());
  ASSERT_TRUE(error.ok()) << error.status();
  auto chain = engine.TraceCausalityChain(incident.store(), *error,
                                          ChainDirection::kBackward);
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_GE(chain->size(), 4u);
  EXPECT_EQ((*chain)[0].event.id, error->id);
  std::vector<std::string> services;
  bool config_reached = false;
  for (const ChainLink& link : *chain) {
    if (link.kind == EdgeKind::kDirect && link.event.span() != nullptr) {
      services.push_back(link.event.service.name);
    }
    if (link.kind == EdgeKind::kDataFlow) config_reached = true;
    EXPECT_LE(link.path_confidence, 1.0);
  }
  // The error's span, then its callers, in that order.
  ASSERT_GE(services.size(), 3u);
  EXPECT_EQ(services[0], "payments");
  EXPECT_EQ(services[1], "orders");
  EXPECT_EQ(services[2], "frontend");
  // The config change reaches the payments span by data flow.
  EXPECT_TRUE(config_reached);
}

TEST(CausalityEngineTest, GraphHasAllEdgeKindsAndTheCallGraph) {
  Incident incident;
  CausalityEngine engine = EngineWithBaseline();
  auto graph = engine.BuildGraph(incident.store(), kIncident - 60 * kSec, kEnd);
  ASSERT_TRUE(graph.ok()) << graph.status();
  EXPECT_GT(graph->edges_by_kind[static_cast<int>(EdgeKind::kDirect)], 1000u);
  EXPECT_GT(graph->edges_by_kind[static_cast<int>(EdgeKind::kDataFlow)], 100u);
  EXPECT_GE(graph->edges_by_kind[static_cast<int>(EdgeKind::kServiceLevel)],
            2u);
  ASSERT_EQ(graph->calls.size(), 2u);
  for (const ServiceCall& c : graph->calls) {
    EXPECT_TRUE((c.caller == "frontend" && c.callee == "orders") ||
                (c.caller == "orders" && c.callee == "payments"))
        << c.caller << " -> " << c.callee;
    EXPECT_GT(c.errors, 0u);
  }
}

TEST(CausalityEngineTest, TimeQLUsesTheEngine) {
  Incident incident;
  QueryOptions options;
  CausalityEngine engine = EngineWithBaseline();
  options.causality = &engine;
  auto result = Query(incident.store(),
                      "ROOT CAUSE OF WINDOW 1700000585000000000 TO "
                      "1700000900000000000",
                      options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->Next());
  bool found = false;
  for (const Value& v : result->row()) {
    if (const auto* s = std::get_if<std::string>(&v)) {
      if (*s == "config/payments") found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(CausalityEngineTest, RejectsEmptyWindowAndHonoursEventLimit) {
  Incident incident;
  CausalityEngine engine = EngineWithBaseline();
  EXPECT_EQ(engine.FindRootCause(incident.store(), kEnd, kEnd).status().code(),
            absl::StatusCode::kInvalidArgument);
  CausalityOptions small;
  small.max_events = 100;
  CausalityEngine bounded(small);
  auto report = bounded.FindRootCause(incident.store(), kIncident, kEnd);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(report.status().message().find("max_events"), std::string::npos);
}

// The snapshot is read as parallel time slices and merged: spans whose
// parent sits in another slice, entity changes judged against an
// observation in an earlier slice, names interned per slice. Any number of
// slices must give the one-slice snapshot, record for record.
TEST(CausalityWindowTest, ParallelSlicesGiveTheSameSnapshot) {
  Incident incident;
  CausalityOptions options;
  options.baseline.push_back({kT0, kIncident - 20 * kSec});
  options.read_threads = 1;
  TimeRange window{kIncident - 20 * kSec, kEnd};
  auto one = causality::LoadSnapshot(incident.store(), options, window);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_GT(one->spans.size(), 1000u);
  int changes = 0;
  for (const causality::InfraRec& r : one->infra) {
    changes += r.type == EventType::kEntityState;
  }
  // 40 -> 4 at the incident; repeats of an unchanged state are not changes.
  EXPECT_EQ(changes, 1);
  for (size_t threads : {2, 3, 7}) {
    SCOPED_TRACE(threads);
    options.read_threads = threads;
    auto many = causality::LoadSnapshot(incident.store(), options, window);
    ASSERT_TRUE(many.ok()) << many.status();
    EXPECT_EQ(many->events_examined, one->events_examined);
    ASSERT_EQ(many->spans.size(), one->spans.size());
    for (size_t i = 0; i < one->spans.size(); ++i) {
      const causality::SpanRec& a = one->spans[i];
      const causality::SpanRec& b = many->spans[i];
      ASSERT_EQ(a.id, b.id);
      EXPECT_EQ(one->ops[a.op], many->ops[b.op]);
      EXPECT_EQ(one->services[a.service], many->services[b.service]);
      EXPECT_EQ(a.parent, b.parent);
      EXPECT_EQ(a.child_ns, b.child_ns);
      EXPECT_EQ(a.phase, b.phase);
      EXPECT_EQ(a.remote_child, b.remote_child);
      if (a.callee != causality::kNone) {
        EXPECT_EQ(one->services[a.callee], many->services[b.callee]);
      }
    }
    ASSERT_EQ(many->logs.size(), one->logs.size());
    for (size_t i = 0; i < one->logs.size(); ++i) {
      const causality::LogRec& a = one->logs[i];
      const causality::LogRec& b = many->logs[i];
      ASSERT_EQ(a.id, b.id);
      EXPECT_EQ(one->templates[a.template_id], many->templates[b.template_id]);
      EXPECT_EQ(a.span, b.span);
      ASSERT_EQ(a.op == causality::kNone, b.op == causality::kNone);
      if (a.op != causality::kNone) {
        EXPECT_EQ(one->ops[a.op], many->ops[b.op]);
      }
    }
    ASSERT_EQ(many->infra.size(), one->infra.size());
    for (size_t i = 0; i < one->infra.size(); ++i) {
      EXPECT_EQ(many->infra[i].id, one->infra[i].id);
      EXPECT_EQ(many->infra[i].what, one->infra[i].what);
    }
    for (uint32_t op = 0; op < many->ops.size(); ++op) {
      uint32_t same = one->ops.Find(many->ops[op]);
      ASSERT_NE(same, causality::kNone);
      EXPECT_EQ(one->services[one->op_service[same]],
                many->services[many->op_service[op]]);
    }
  }
}

TEST(ForecastTest, RobustTrendIgnoresASpikeAndGivesAnInterval) {
  CausalityEngine engine;
  ForecastRequest request;
  request.metric = "queue.depth";
  request.from_ns = kT0 + 600 * kSec;
  request.horizon_ns = 60 * kSec;
  absl::BitGen rng;
  for (int i = 0; i < 60; ++i) {
    double t = i * 10.0;  // seconds from kT0
    double v = 100 + 0.5 * t + absl::Gaussian(rng, 0.0, 2.0);
    if (i == 30) v = 5000;  // one wild sample
    request.history.push_back({kT0 + static_cast<uint64_t>(t) * kSec, v});
  }
  auto f = engine.Predict(request);
  ASSERT_TRUE(f.ok()) << f.status();
  double truth = 100 + 0.5 * 660;
  EXPECT_NEAR(f->value, truth, 10);
  EXPECT_LT(f->lower, truth);
  EXPECT_GT(f->upper, truth);
  EXPECT_LT(f->upper - f->lower, 40);  // the spike did not blow it up
  request.history.resize(2);
  EXPECT_EQ(engine.Predict(request).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace traversion
