// traversion/causality.h — why did it fail? The causality engine.
//
// The engine reads a window of a Store's history and answers three kinds of
// question:
//
//   - TraceCausalityChain(event): the events that led to an event (backward)
//     or followed from it (forward), over edges of four kinds (EdgeKind);
//   - FindRootCause(event | window): ranked candidates — a service, an
//     operation, an entity or a kernel event — each with a confidence and an
//     evidence chain in plain words and event ids;
//   - DetectAnomalies / DetectPatterns: what deviates from each service's own
//     baseline, and which named failure patterns (cascade_failure,
//     pool_exhaustion, retry_storm, slow_dependency, oom_cascade, bad_change)
//     the window matches.
//
// Edges are built on demand for the window asked about, never on the write
// path (docs/design/causality.md argues why). Every statistic is robust and
// explainable: medians and median absolute deviations, rates with Poisson
// tails, log templates — see docs/design/causality.md.
//
//   traversion::CausalityEngine engine;
//   auto report = engine.FindRootCause(*store, from_ns, to_ns);
//   if (report.ok() && !report->candidates.empty())
//     std::cout << report->candidates[0].name << ": "
//               << report->candidates[0].evidence[0] << "\n";
//
// The engine is also TimeQL's CausalityProvider (TRAVERSE, ROOT CAUSE OF,
// MATCH PATTERN <name>) and Forecaster (PREDICT): pass it in QueryOptions, or
// leave those null — the default provider and forecaster are this engine
// with default options.
//
// Thread safety: a CausalityEngine holds only its options; every method is
// const and may be called from many threads at once, on one or several
// stores.
#ifndef TRAVERSION_CAUSALITY_H_
#define TRAVERSION_CAUSALITY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "traversion/event.h"
#include "traversion/query_extensions.h"
#include "traversion/store.h"

namespace traversion {

// A half-open interval of time [from_ns, to_ns).
struct TimeRange {
  uint64_t from_ns = 0;
  uint64_t to_ns = 0;
};

// --- edges -------------------------------------------------------------------

enum class EdgeKind : uint8_t {
  // Recorded trace context: parent -> child span, span -> a log or error
  // recorded inside it. Confidence 1.
  kDirect,
  // Close in time on the same service instance, host or process: an earlier
  // event may have caused a later one. Confidence falls with the gap.
  kTemporal,
  // A shared entity or key: an entity-state change -> later events that name
  // the entity. Confidence falls with the gap.
  kDataFlow,
  // The call graph learned from spans: a callee service's anomaly -> its
  // callers' symptoms. Confidence is the share of the caller's traffic that
  // goes through the callee.
  kServiceLevel,
};
absl::string_view EdgeKindName(EdgeKind kind);  // "direct", "temporal", ...

struct CausalEdge {
  EventId cause;
  EventId effect;
  EdgeKind kind = EdgeKind::kDirect;
  double confidence = 0;  // 0..1
  std::string reason;     // e.g. "parent span", "same host, 12 ms before"
};

// One call-graph edge learned from spans (caller span -> child span on
// another service).
struct ServiceCall {
  std::string caller;
  std::string callee;
  uint64_t calls = 0;
  uint64_t errors = 0;  // child spans with error status
};

// The causal graph of a window: its events and the edges between them.
struct CausalGraph {
  uint64_t from_ns = 0;
  uint64_t to_ns = 0;
  std::vector<Event> events;  // time order
  std::vector<CausalEdge> edges;
  std::vector<ServiceCall> calls;
  uint64_t edges_by_kind[4] = {0, 0, 0, 0};  // indexed by EdgeKind
};

// --- chains ------------------------------------------------------------------

enum class ChainDirection : uint8_t {
  kBackward,  // towards causes
  kForward,   // towards effects
  kBoth,
};

struct ChainLink {
  Event event;
  int depth = 0;  // links from the start event (the start is 0)
  EdgeKind kind = EdgeKind::kDirect;
  double confidence = 1;       // of the link that reached it
  double path_confidence = 1;  // product along the path from the start
  std::string reason;          // of that link, in words
  std::optional<EventId> via;  // the event it was reached from
};

// --- anomalies, root causes --------------------------------------------------

// One signal of one service that departs from the service's own baseline.
struct Anomaly {
  std::string service;
  // "latency" (self time of an operation), "error_rate", "log_pattern",
  // "metric", "state_change", "kernel".
  std::string signal;
  std::string subject;      // the operation, log template, metric or entity
  double baseline = 0;      // typical value in the baseline (median, or rate)
  double observed = 0;      // value in the window
  double score = 0;         // strength: a robust z-score or -log10(p)
  uint64_t first_ns = 0;    // first anomalous event in the window
  std::string description;  // one sentence for people
  std::vector<EventId> examples;  // a few events that show it
};

struct RootCause {
  std::string kind;       // "service", "operation", "entity", "kernel"
  std::string name;       // "payments-service", "payments-service POST /pay"
  std::string service;    // the service it belongs to ("" for none)
  double confidence = 0;  // 0..1; candidates of one report sum to <= 1
  // The evidence, cause first, each a sentence a person can check
  // ("payments-service: 412 ERROR logs 'PoolTimeoutException ...' in the
  // window, 0 in the baseline").
  std::vector<std::string> evidence;
  // The events behind it, cause first: the causing event, then the chain of
  // effects to the symptom.
  std::vector<EventId> chain;
};

struct RootCauseReport {
  uint64_t from_ns = 0;  // the window analysed
  uint64_t to_ns = 0;
  std::vector<TimeRange> baseline;  // what it was compared with
  uint64_t events_examined = 0;
  std::vector<RootCause> candidates;  // best first
  std::vector<Anomaly> anomalies;     // strongest first
  std::vector<PatternOccurrence> patterns;
};

struct CausalityOptions {
  // The periods a window is compared with, known to be healthy. Empty: the
  // `baseline_ns` just before the window.
  std::vector<TimeRange> baseline;
  uint64_t baseline_ns = uint64_t{30} * 60 * 1'000'000'000;
  // FindRootCause(event): how far before the event its window reaches.
  uint64_t lookback_ns = uint64_t{10} * 60 * 1'000'000'000;
  // Temporal edges join events at most this far apart.
  uint64_t temporal_window_ns = 50'000'000;
  // Data-flow edges join an entity change to events at most this far later.
  uint64_t dataflow_window_ns = uint64_t{5} * 60 * 1'000'000'000;
  // A signal is anomalous from this robust score on.
  double anomaly_threshold = 3.0;
  // At most this many events are read per analysis (ResourceExhausted
  // beyond, naming this option).
  uint64_t max_events = 20'000'000;
  // The window and baseline are read as this many parallel time slices
  // (decoding events is most of an analysis); 0: one per core, at most 8.
  // The result does not depend on it.
  size_t read_threads = 0;
};

class CausalityEngine final : public CausalityProvider, public Forecaster {
 public:
  explicit CausalityEngine(CausalityOptions options = {});

  const CausalityOptions& options() const { return options_; }

  // The events causally linked to `event`, nearest first, at most
  // `max_depth` links away and at most `max_links` of them (the start is the
  // first link, at depth 0).
  absl::StatusOr<std::vector<ChainLink>> TraceCausalityChain(
      const Store& store, const Event& event, ChainDirection direction,
      int max_depth = 16, size_t max_links = 1000) const;

  // Root cause of one event (an error, a slow span...): its own trace's
  // evidence plus the analysis of the `lookback_ns` before it.
  absl::StatusOr<RootCauseReport> FindRootCause(const Store& store,
                                                const Event& event) const;
  // Root cause of whatever went wrong in [from_ns, to_ns).
  absl::StatusOr<RootCauseReport> FindRootCause(const Store& store,
                                                uint64_t from_ns,
                                                uint64_t to_ns) const;

  // The window's causal graph (all four edge kinds).
  absl::StatusOr<CausalGraph> BuildGraph(const Store& store, uint64_t from_ns,
                                         uint64_t to_ns) const;

  absl::StatusOr<std::vector<Anomaly>> DetectAnomalies(const Store& store,
                                                       uint64_t from_ns,
                                                       uint64_t to_ns) const;
  // Every named pattern found in [from_ns, to_ns).
  absl::StatusOr<std::vector<PatternOccurrence>> DetectPatterns(
      const Store& store, uint64_t from_ns, uint64_t to_ns) const;
  // The pattern names DetectPattern knows.
  static const std::vector<std::string>& PatternNames();

  // --- CausalityProvider (TimeQL) ---
  absl::Status Traverse(const Store& store, const Event& start,
                        TraverseDirection direction, int max_depth,
                        const CausalVisitor& visit) const override;
  absl::StatusOr<std::vector<RootCauseCandidate>> FindRootCause(
      const Store& store, const RootCauseRequest& request) const override;
  absl::StatusOr<std::vector<PatternOccurrence>> DetectPattern(
      const Store& store, absl::string_view name, uint64_t from_ns,
      uint64_t to_ns) const override;

  // --- Forecaster (TimeQL PREDICT) ---
  uint64_t history_ns(uint64_t horizon_ns) const override;
  absl::StatusOr<Forecast> Predict(
      const ForecastRequest& request) const override;

 private:
  CausalityOptions options_;
};

// The engine with default options: TimeQL's provider and forecaster when
// QueryOptions leaves them null. Never null.
const CausalityEngine* DefaultCausalityEngine();

}  // namespace traversion

#endif  // TRAVERSION_CAUSALITY_H_
