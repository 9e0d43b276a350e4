// traversion/query_extensions.h — the two places where TimeQL asks for more
// than the store can answer by itself.
//
//  - CausalityProvider answers `TRAVERSE ... FOLLOWING causality|backward|
//    forward`, `ROOT CAUSE OF ...` and named patterns (`MATCH PATTERN
//    retry_storm`). When QueryOptions::causality is nullptr, the causality
//    engine answers (DefaultCausalityEngine(), causality.h).
//    BuiltinCausalityProvider() below follows trace context only (a span's
//    parent and children, the logs and errors recorded inside a span); the
//    engine falls back to its ROOT CAUSE heuristic when no signal departs
//    from a baseline.
//  - Forecaster answers `PREDICT NEXT d FROM t`. When
//    QueryOptions::forecaster is nullptr, the engine's Theil-Sen trend
//    answers; BuiltinForecaster() is a least-squares line (docs/timeql.md).
//
// Both are set per query in QueryOptions and are not owned by it.
//
// Thread safety: an implementation must allow concurrent calls from several
// threads (queries may run in parallel on one Store); the built-in ones hold
// no mutable state.
#ifndef TRAVERSION_QUERY_EXTENSIONS_H_
#define TRAVERSION_QUERY_EXTENSIONS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "traversion/event.h"
#include "traversion/store.h"

namespace traversion {

// --- causality ---------------------------------------------------------------

enum class TraverseDirection : uint8_t {
  // Every causal link in either direction, nearest first.
  kCausality,
  // Towards causes: a span's parent, a log's or error's enclosing span, up
  // to the root.
  kBackward,
  // Towards effects: a span's children and the logs and errors inside it.
  kForward,
};

// One event reached by a traversal.
struct CausalStep {
  Event event;
  int depth = 0;               // links from the start event (the start is 0)
  std::string edge;            // how it was reached: "parent", "child",
                               // "in_span", "contains", "start", ...
  double confidence = 1.0;     // of that link, 0..1
  std::optional<EventId> via;  // the event it was reached from
};

// Called for each event reached, in order of discovery (the start first).
// Returning false ends the traversal (TRAVERSE ... UNTIL found its event, or
// a limit was hit).
using CausalVisitor = std::function<bool(const CausalStep&)>;

struct RootCauseRequest {
  // ROOT CAUSE OF <event>: the event to explain. Unset for a window.
  std::optional<Event> event;
  // ROOT CAUSE OF WINDOW t1 TO t2: the incident window [from_ns, to_ns).
  uint64_t from_ns = 0;
  uint64_t to_ns = 0;
  // The query's WHERE, already planned into a store filter (services,
  // types...) for the provider to narrow its scan; the full condition is
  // applied by the evaluator to the events the provider reports.
  EventFilter filter;
  size_t limit = 10;  // candidates wanted
  // How many events the provider may examine (QueryOptions budget left).
  uint64_t max_events_examined = 0;
};

// One explanation, best first.
struct RootCauseCandidate {
  std::string kind;  // "service", "operation", "entity", "kernel", "event"
  std::string name;  // e.g. "payments-service" or "payments-service POST /pay"
  double score = 0;  // 0..1, comparable within one answer
  std::string explanation;        // one sentence for people
  std::vector<EventId> evidence;  // the chain, cause first
};

// A detected occurrence of a named pattern (cascade_failure, retry_storm...).
struct PatternOccurrence {
  std::string pattern;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  std::string key;  // what it is about: a service, an entity
  double confidence = 0;
  std::string description;
  std::vector<EventId> events;
};

class CausalityProvider {
 public:
  virtual ~CausalityProvider() = default;

  // Visits the events causally linked to `start` in `direction`, at most
  // `max_depth` links away, calling `visit` for each (the start included, at
  // depth 0) until it returns false or nothing is left.
  virtual absl::Status Traverse(const Store& store, const Event& start,
                                TraverseDirection direction, int max_depth,
                                const CausalVisitor& visit) const = 0;

  // Ranked root-cause candidates for an event or a window.
  virtual absl::StatusOr<std::vector<RootCauseCandidate>> FindRootCause(
      const Store& store, const RootCauseRequest& request) const = 0;

  // Occurrences of the named pattern in [from_ns, to_ns). Unimplemented for
  // a name the provider does not know (the message lists the names it does).
  virtual absl::StatusOr<std::vector<PatternOccurrence>> DetectPattern(
      const Store& store, absl::string_view name, uint64_t from_ns,
      uint64_t to_ns) const = 0;
};

// Trace context only (see above). Never null.
const CausalityProvider* BuiltinCausalityProvider();

// --- forecasting -------------------------------------------------------------

struct SeriesPoint {
  uint64_t time_ns = 0;
  double value = 0;
};

struct ForecastRequest {
  std::string metric;   // the metric's name
  std::string service;  // whose series it is
  std::string unit;
  // The series before `from_ns`, oldest first, at most history_ns() long.
  std::vector<SeriesPoint> history;
  uint64_t from_ns = 0;     // PREDICT ... FROM t
  uint64_t horizon_ns = 0;  // PREDICT NEXT d
};

struct Forecast {
  uint64_t time_ns = 0;  // from_ns + horizon_ns
  double value = 0;      // the point forecast
  double lower = 0;      // a ~95 % prediction interval
  double upper = 0;
  std::string method;  // e.g. "linear trend over 30m (n=360)"
};

class Forecaster {
 public:
  virtual ~Forecaster() = default;
  // How much history before FROM the evaluator should hand over.
  virtual uint64_t history_ns(uint64_t horizon_ns) const = 0;
  // FailedPrecondition if the history is too short to say anything.
  virtual absl::StatusOr<Forecast> Predict(
      const ForecastRequest& request) const = 0;
};

// A least-squares linear trend over the last max(30 minutes, 6 x horizon) of
// history (at least 3 points), the interval +-1.96 residual standard
// deviations scaled for the distance extrapolated. For a percentage (unit
// "%") or a ratio (unit "1") the point and the interval are clamped to
// [0, 100] or [0, 1]. Never null.
const Forecaster* BuiltinForecaster();

}  // namespace traversion

#endif  // TRAVERSION_QUERY_EXTENSIONS_H_
