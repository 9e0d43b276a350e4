// The data the causality engine reasons about: one read of the store over
// the analysed window and its baseline periods, boiled down to compact
// records (a span's service, operation, self time; a log's service, the
// operation of the span it was written in, its template...) with names
// interned. Full events are re-read by id only for the evidence shown.
//
// Edges and statistics are computed on demand from this snapshot, never on
// the write path (docs/design/causality.md).
#ifndef TRAVERSION_CAUSALITY_WINDOW_H_
#define TRAVERSION_CAUSALITY_WINDOW_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "traversion/causality.h"
#include "traversion/event.h"
#include "traversion/store.h"

namespace traversion::causality {

inline constexpr uint32_t kNone = 0xffffffffu;
inline constexpr uint32_t kSeveral = 0xfffffffeu;  // more than one callee

// A span's identity within the store: its trace id and span id.
using SpanKey = std::array<uint8_t, 24>;
inline SpanKey KeyOf(const TraceId& trace, const SpanId& span) {
  SpanKey key;
  std::copy(trace.begin(), trace.end(), key.begin());
  std::copy(span.begin(), span.end(), key.begin() + 16);
  return key;
}

// Strings to dense ids and back.
class Names {
 public:
  uint32_t Intern(absl::string_view name);
  uint32_t Find(absl::string_view name) const;  // kNone if unknown
  const std::string& operator[](uint32_t id) const { return names_[id]; }
  size_t size() const { return names_.size(); }

 private:
  absl::flat_hash_map<std::string, uint32_t> ids_;
  std::vector<std::string> names_;
};

enum class Phase : uint8_t { kBaseline, kWindow };

struct SpanRec {
  EventId id;
  uint64_t time_ns = 0;
  uint64_t duration_ns = 0;
  uint64_t child_ns = 0;  // sum of the children's durations
  uint32_t service = kNone;
  uint32_t op = kNone;  // "<service> <operation>" interned in `ops`
  int32_t parent = -1;  // index into spans, -1 when the parent is not loaded
  Phase phase = Phase::kBaseline;
  bool error = false;         // status error
  bool remote_child = false;  // has a child span on another service
  uint32_t callee = kNone;    // that service (kSeveral if more than one)
  uint64_t self_ns() const {
    return duration_ns > child_ns ? duration_ns - child_ns : 0;
  }
};

// Logs and error events: both are "something the service said".
struct LogRec {
  EventId id;
  uint64_t time_ns = 0;
  uint32_t service = kNone;
  uint32_t op = kNone;           // the enclosing span's operation, if known
  uint32_t template_id = kNone;  // in `templates`
  int32_t span = -1;             // index into spans, if loaded
  Severity severity = Severity::kUnspecified;
  Phase phase = Phase::kBaseline;
  bool error_event = false;  // an ErrorData event (exception)
};

struct MetricRec {
  EventId id;
  uint64_t time_ns = 0;
  uint32_t series = kNone;  // in `series`
  double value = 0;
  Phase phase = Phase::kBaseline;
};

struct SeriesInfo {
  uint32_t service = kNone;
  std::string name;  // metric name
  std::string unit;
  std::string instance;
};

// An entity-state observation, a Kubernetes event or a kernel event: the
// "infrastructure" that can explain an application's symptoms.
struct InfraRec {
  EventId id;
  uint64_t time_ns = 0;
  uint32_t service = kNone;
  EventType type = EventType::kUnspecified;
  std::string subject;  // the entity, the pod, the process
  std::string what;     // "deleted", "OOMKilled", "oom_kill", field changes
  Phase phase = Phase::kBaseline;
  bool is_change = false;  // an entity observation that changed its state
  bool severe = false;     // OOM kill, fatal signal, crash loop, ...
};

// What the engine needs from a store for one analysis.
struct Snapshot {
  TimeRange window;
  std::vector<TimeRange> baseline;  // clipped to end before window.from_ns
  uint64_t baseline_ns = 0;         // total length of the baseline periods
  uint64_t events_examined = 0;

  Names services;
  Names ops;                         // "<service> <operation>"
  Names templates;                   // "<service> <template>"
  std::vector<uint32_t> op_service;  // op id -> service id
  std::vector<SeriesInfo> series;
  absl::flat_hash_map<std::string, uint32_t> series_ids;

  std::vector<SpanRec> spans;
  std::vector<LogRec> logs;
  std::vector<MetricRec> metrics;
  std::vector<InfraRec> infra;

  uint64_t window_ns() const { return window.to_ns - window.from_ns; }
};

// The baseline periods for a window: the options' explicit periods, clipped
// to before the window, or else the `baseline_ns` just before it.
std::vector<TimeRange> BaselineFor(const CausalityOptions& options,
                                   TimeRange window);

// Reads the window and its baseline from the store. ResourceExhausted
// (naming CausalityOptions::max_events) past options.max_events.
absl::StatusOr<Snapshot> LoadSnapshot(const Store& store,
                                      const CausalityOptions& options,
                                      TimeRange window);

// Makes the part of the window before `t` the snapshot's only baseline
// (what LoadSnapshot with that baseline and the window from `t` would read,
// without reading again): records of the former baseline periods are
// dropped, those of the window before `t` become baseline records. For a
// snapshot whose baseline periods hold no spans or logs (their indices
// would shift); `t` inside the window.
void SplitWindowAt(Snapshot& snap, uint64_t t);

// The template of a log or error event: the logger and line when the event
// carries them ("c.s.ContactsServiceImpl#37"), the exception type for an
// error, else the message with numbers, hex strings and quoted values
// replaced by '*' (first 12 words).
std::string LogTemplate(const Event& event);
// The same, appended to `out` (no allocation once `out` has grown).
void AppendLogTemplate(const Event& event, std::string& out);

}  // namespace traversion::causality

#endif  // TRAVERSION_CAUSALITY_WINDOW_H_
