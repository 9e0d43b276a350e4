// CausalityEngine: the public face of src/causality/. Each call reads what
// it needs from the store (LoadSnapshot or BuildCausalGraph), analyses it
// and returns; nothing is cached, so the engine is stateless and
// thread-safe.
#include <algorithm>
#include <cmath>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "causality/analysis.h"
#include "causality/anomaly.h"
#include "causality/forecast.h"
#include "causality/graph.h"
#include "causality/window.h"
#include "traversion/causality.h"
#include "util/status_macros.h"

namespace traversion {

using causality::Finding;
using causality::Snapshot;

absl::string_view EdgeKindName(EdgeKind kind) {
  switch (kind) {
    case EdgeKind::kDirect:
      return "direct";
    case EdgeKind::kTemporal:
      return "temporal";
    case EdgeKind::kDataFlow:
      return "data_flow";
    case EdgeKind::kServiceLevel:
      return "service";
  }
  return "unknown";
}

CausalityEngine::CausalityEngine(CausalityOptions options)
    : options_(std::move(options)) {}

namespace {

uint64_t Before(uint64_t t, uint64_t d) { return t > d ? t - d : 0; }
uint64_t After(uint64_t t, uint64_t d) {
  return t > UINT64_MAX - d ? UINT64_MAX : t + d;
}

RootCauseReport Analyse(const Snapshot& snap, const CausalityOptions& options,
                        const std::vector<uint32_t>& boost, size_t limit) {
  std::vector<Finding> findings = causality::FindAnomalies(snap, options);
  RootCauseReport report;
  report.from_ns = snap.window.from_ns;
  report.to_ns = snap.window.to_ns;
  report.baseline = snap.baseline;
  report.events_examined = snap.events_examined;
  report.candidates =
      causality::RankRootCauses(snap, findings, options, boost, limit);
  for (const Finding& f : findings) {
    report.anomalies.push_back(causality::ToAnomaly(snap, f));
  }
  report.patterns = causality::FindPatterns(snap, findings, options);
  return report;
}

// When nothing departs from a baseline (no baseline yet, or too little data
// for any test to be significant), the trace evidence alone still points
// somewhere: the built-in provider's deepest-error heuristic, said as such.
constexpr const char* kFallbackNote =
    " [no signal departs significantly from a baseline: trace evidence "
    "only]";
absl::Status AddTraceFallback(const Store& store,
                              const RootCauseRequest& request,
                              RootCauseReport& report) {
  if (!report.candidates.empty()) return absl::OkStatus();
  TV_ASSIGN_OR_RETURN(
      std::vector<RootCauseCandidate> found,
      BuiltinCausalityProvider()->FindRootCause(store, request));
  for (RootCauseCandidate& c : found) {
    RootCause rc;
    rc.kind = c.kind;
    rc.name = c.name;
    rc.service = c.name.substr(0, c.name.find(' '));
    rc.confidence = c.score;
    rc.evidence.push_back(c.explanation + kFallbackNote);
    rc.chain = std::move(c.evidence);
    report.candidates.push_back(std::move(rc));
  }
  return absl::OkStatus();
}

// The services on an event's own trace: where its story is.
std::vector<uint32_t> TraceServices(const Store& store, const Snapshot& snap,
                                    const Event& event) {
  std::vector<uint32_t> boost;
  if (!event.trace.has_trace()) return boost;
  absl::StatusOr<std::vector<Event>> trace =
      store.GetTrace(event.trace.trace_id);
  if (!trace.ok()) return boost;
  for (const Event& e : *trace) {
    uint32_t svc = snap.services.Find(e.service.name);
    if (svc != causality::kNone &&
        std::find(boost.begin(), boost.end(), svc) == boost.end()) {
      boost.push_back(svc);
    }
  }
  return boost;
}

// Whether any span or log was read from the baseline periods.
bool HasBaselineData(const Snapshot& snap) {
  for (const causality::SpanRec& s : snap.spans) {
    if (s.phase == causality::Phase::kBaseline) return true;
  }
  for (const causality::LogRec& l : snap.logs) {
    if (l.phase == causality::Phase::kBaseline) return true;
  }
  return false;
}

// The healthy part of a window taken as its baseline must be at least
// this long for any statistic to mean something.
constexpr uint64_t kMinOnsetBaselineNs = uint64_t{60} * 1'000'000'000;

// When the window's errors began: the instant that best splits them into
// a quiet and a busier Poisson rate (maximum likelihood over 1 s steps; a
// lone early error does not move it), with at least kMinOnsetBaselineNs
// before it. nullopt when no split raises the rate convincingly (a
// likelihood ratio under e^10).
std::optional<uint64_t> ErrorOnset(const Snapshot& snap) {
  constexpr uint64_t kStepNs = 1'000'000'000;
  const uint64_t from = snap.window.from_ns;
  const size_t steps = static_cast<size_t>(snap.window_ns() / kStepNs) + 1;
  std::vector<double> errors(steps + 1, 0);  // prefix sums per step
  auto count = [&](uint64_t t) {
    if (t >= from) errors[1 + (t - from) / kStepNs] += 1;
  };
  for (const causality::LogRec& l : snap.logs) {
    if (l.phase == causality::Phase::kWindow &&
        l.severity >= Severity::kError) {
      count(l.time_ns);
    }
  }
  for (const causality::SpanRec& s : snap.spans) {
    if (s.phase == causality::Phase::kWindow && s.error) count(s.time_ns);
  }
  for (size_t i = 1; i <= steps; ++i) errors[i] += errors[i - 1];
  auto loglik = [](double k, double d) {
    return k > 0 ? k * std::log(k / d) - k : 0.0;
  };
  const double total = errors[steps];
  const double whole = loglik(total, static_cast<double>(steps));
  std::optional<uint64_t> best;
  double best_ratio = 10;
  for (size_t i = kMinOnsetBaselineNs / kStepNs; i < steps; ++i) {
    const double left = errors[i], right = total - errors[i];
    const double left_d = static_cast<double>(i);
    const double right_d = static_cast<double>(steps - i);
    if (right / right_d <= left / left_d) continue;  // errors must rise
    const double ratio = loglik(left, left_d) + loglik(right, right_d) - whole;
    if (ratio > best_ratio) {
      best_ratio = ratio;
      best = from + i * kStepNs;
    }
  }
  return best;
}

// Root cause of the request's event (its `lookback_ns`, with its own trace's
// services raised) or of its window; the trace fallback when nothing
// departs from a baseline. An event is appended to every chain: it is the
// symptom.
absl::StatusOr<RootCauseReport> Explain(const Store& store,
                                        const CausalityOptions& options,
                                        const RootCauseRequest& request) {
  const std::optional<Event>& event = request.event;
  TimeRange window =
      event.has_value() ? TimeRange{Before(event->time_ns, options.lookback_ns),
                                    After(event->time_ns, 1)}
                        : TimeRange{request.from_ns, request.to_ns};
  TV_ASSIGN_OR_RETURN(Snapshot snap,
                      causality::LoadSnapshot(store, options, window));
  if (options.baseline.empty() && !HasBaselineData(snap)) {
    // Nothing was recorded before the window (a young store): the window's
    // own healthy part, before its errors rose, becomes the baseline.
    if (std::optional<uint64_t> onset = ErrorOnset(snap); onset.has_value()) {
      causality::SplitWindowAt(snap, *onset);
    }
  }
  std::vector<uint32_t> boost;
  if (event.has_value()) boost = TraceServices(store, snap, *event);
  RootCauseReport report = Analyse(snap, options, boost, 10);
  TV_RETURN_IF_ERROR(AddTraceFallback(store, request, report));
  if (event.has_value()) {
    for (RootCause& rc : report.candidates) {
      if (std::find(rc.chain.begin(), rc.chain.end(), event->id) ==
          rc.chain.end()) {
        rc.chain.push_back(event->id);
      }
    }
  }
  return report;
}

}  // namespace

absl::StatusOr<std::vector<ChainLink>> CausalityEngine::TraceCausalityChain(
    const Store& store, const Event& event, ChainDirection direction,
    int max_depth, size_t max_links) const {
  // Causes lie before the event, effects after it: read as far as the
  // slowest edge (data flow) reaches in the walking direction.
  TimeRange window;
  window.from_ns = direction == ChainDirection::kForward
                       ? Before(event.time_ns, options_.temporal_window_ns)
                       : Before(event.time_ns, options_.dataflow_window_ns);
  window.to_ns = direction == ChainDirection::kBackward
                     ? After(event.time_ns, options_.temporal_window_ns + 1)
                     : After(event.time_ns, options_.dataflow_window_ns + 1);
  // A span's children end after it starts: reach at least its end.
  if (const SpanData* s = event.span()) {
    window.to_ns =
        std::max(window.to_ns, After(event.time_ns, s->duration_ns + 1));
  }
  TV_ASSIGN_OR_RETURN(CausalGraph graph,
                      causality::BuildCausalGraph(store, options_, window));
  return causality::WalkChain(graph, event, direction, max_depth, max_links);
}

absl::StatusOr<RootCauseReport> CausalityEngine::FindRootCause(
    const Store& store, uint64_t from_ns, uint64_t to_ns) const {
  RootCauseRequest request;
  request.from_ns = from_ns;
  request.to_ns = to_ns;
  return Explain(store, options_, request);
}

absl::StatusOr<RootCauseReport> CausalityEngine::FindRootCause(
    const Store& store, const Event& event) const {
  RootCauseRequest request;
  request.event = event;
  return Explain(store, options_, request);
}

absl::StatusOr<CausalGraph> CausalityEngine::BuildGraph(const Store& store,
                                                        uint64_t from_ns,
                                                        uint64_t to_ns) const {
  return causality::BuildCausalGraph(store, options_, {from_ns, to_ns});
}

absl::StatusOr<std::vector<Anomaly>> CausalityEngine::DetectAnomalies(
    const Store& store, uint64_t from_ns, uint64_t to_ns) const {
  TV_ASSIGN_OR_RETURN(Snapshot snap, causality::LoadSnapshot(store, options_,
                                                             {from_ns, to_ns}));
  std::vector<Anomaly> out;
  for (const Finding& f : causality::FindAnomalies(snap, options_)) {
    out.push_back(causality::ToAnomaly(snap, f));
  }
  return out;
}

absl::StatusOr<std::vector<PatternOccurrence>> CausalityEngine::DetectPatterns(
    const Store& store, uint64_t from_ns, uint64_t to_ns) const {
  TV_ASSIGN_OR_RETURN(Snapshot snap, causality::LoadSnapshot(store, options_,
                                                             {from_ns, to_ns}));
  std::vector<Finding> findings = causality::FindAnomalies(snap, options_);
  return causality::FindPatterns(snap, findings, options_);
}

const std::vector<std::string>& CausalityEngine::PatternNames() {
  static const std::vector<std::string>* names = new std::vector<std::string>{
      "cascade_failure", "pool_exhaustion", "retry_storm",
      "slow_dependency", "oom_cascade",     "bad_change"};
  return *names;
}

// --- CausalityProvider -------------------------------------------------------

absl::Status CausalityEngine::Traverse(const Store& store, const Event& start,
                                       TraverseDirection direction,
                                       int max_depth,
                                       const CausalVisitor& visit) const {
  ChainDirection d =
      direction == TraverseDirection::kBackward  ? ChainDirection::kBackward
      : direction == TraverseDirection::kForward ? ChainDirection::kForward
                                                 : ChainDirection::kBoth;
  TV_ASSIGN_OR_RETURN(std::vector<ChainLink> chain,
                      TraceCausalityChain(store, start, d, max_depth, 100000));
  // Whether each event reached is a span, and its parent span id.
  absl::flat_hash_map<EventId, bool> is_span;
  absl::flat_hash_map<EventId, SpanId> parent_of;
  for (const ChainLink& link : chain) {
    is_span[link.event.id] = link.event.span() != nullptr;
    parent_of[link.event.id] = link.event.trace.parent_span_id;
  }
  auto start_parent = [&](const EventId& id) {
    auto it = parent_of.find(id);
    return it == parent_of.end() ? SpanId{} : it->second;
  };
  for (ChainLink& link : chain) {
    CausalStep step;
    step.depth = link.depth;
    step.confidence = link.confidence;
    step.via = link.via;
    if (link.depth == 0) {
      step.edge = "start";
    } else if (link.kind == EdgeKind::kDirect && link.via.has_value()) {
      // Trace links are named from the walker's side: from a span to its
      // parent or child span, from a log or error to the span it was
      // recorded in, from a span to what was recorded in it.
      auto from = is_span.find(*link.via);
      bool from_span = from != is_span.end() && from->second;
      bool to_span = link.event.span() != nullptr;
      if (from_span && to_span) {
        step.edge = link.event.trace.span_id == start_parent(*link.via)
                        ? "parent"
                        : "child";
      } else {
        step.edge = to_span ? "in_span" : "contains";
      }
    } else {
      step.edge = std::string(EdgeKindName(link.kind));
    }
    step.event = std::move(link.event);
    if (!visit(step)) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RootCauseCandidate>> CausalityEngine::FindRootCause(
    const Store& store, const RootCauseRequest& request) const {
  CausalityOptions options = options_;
  if (request.max_events_examined > 0) {
    options.max_events =
        std::min(options.max_events, request.max_events_examined);
  }
  TV_ASSIGN_OR_RETURN(RootCauseReport report, Explain(store, options, request));
  std::vector<RootCauseCandidate> out;
  for (RootCause& rc : report.candidates) {
    if (!request.filter.services.empty() &&
        std::find(request.filter.services.begin(),
                  request.filter.services.end(),
                  rc.service) == request.filter.services.end()) {
      continue;
    }
    if (out.size() >= request.limit) break;
    RootCauseCandidate c;
    c.kind = rc.kind;
    c.name = rc.name;
    c.score = rc.confidence;
    c.explanation = absl::StrJoin(rc.evidence, "; ");
    c.evidence = std::move(rc.chain);
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<std::vector<PatternOccurrence>> CausalityEngine::DetectPattern(
    const Store& store, absl::string_view name, uint64_t from_ns,
    uint64_t to_ns) const {
  const auto& names = PatternNames();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    return absl::UnimplementedError(absl::StrCat(
        "unknown pattern '", name,
        "'; the causality engine knows: ", absl::StrJoin(names, ", ")));
  }
  TV_ASSIGN_OR_RETURN(std::vector<PatternOccurrence> all,
                      DetectPatterns(store, from_ns, to_ns));
  std::vector<PatternOccurrence> out;
  for (PatternOccurrence& p : all) {
    if (p.pattern == name) out.push_back(std::move(p));
  }
  return out;
}

// --- Forecaster --------------------------------------------------------------

uint64_t CausalityEngine::history_ns(uint64_t horizon_ns) const {
  return causality::RobustTrendHistoryNs(horizon_ns);
}

absl::StatusOr<Forecast> CausalityEngine::Predict(
    const ForecastRequest& request) const {
  return causality::RobustTrendForecast(request);
}

const CausalityEngine* DefaultCausalityEngine() {
  static const CausalityEngine* engine = new CausalityEngine();
  return engine;
}

}  // namespace traversion
