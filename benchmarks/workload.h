// Deterministic workloads shared by the benchmarks: a realistic multi-service
// event stream and an entity-revision stream. The same seed gives the same
// events, so our store and its peers are fed identical data in one run.
//
// Thread safety: a generator is used by one thread at a time.
#ifndef TRAVERSION_BENCHMARKS_WORKLOAD_H_
#define TRAVERSION_BENCHMARKS_WORKLOAD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "traversion/event.h"

namespace traversion::bench {

// Bumped whenever the generated data changes, so cached stores built from an
// older generator are not reused.
inline constexpr int kWorkloadVersion = 2;

// 2024-01-15 00:00:00 UTC: the simulated start of every workload.
inline constexpr uint64_t kWorkloadStartNs = 1705276800ULL * 1000000000ULL;

// splitmix64: fast, deterministic, and good enough to look like real ids.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0.
  uint64_t Uniform(uint64_t n) { return Next() % n; }
  // True with probability percent/100.
  bool Percent(unsigned percent) { return Uniform(100) < percent; }

 private:
  uint64_t state_;
};

// The trace id of the n-th trace a ServiceWorkload starts: random-looking
// (as real trace ids are), so the trace index sees random inserts.
TraceId WorkloadTraceId(uint64_t n);

// A stream shaped like a real service mesh: ~70 % spans carrying HTTP fields
// in traces of 3–7 spans (5 on average) that interleave in time, 20 % logs
// and 5 % errors (most inside a trace), 5 % metric samples; across 10
// services with several instances each. Events carry explicit ids and
// strictly increasing timestamps (~10 µs apart), so keys arrive in order.
class ServiceWorkload {
 public:
  explicit ServiceWorkload(uint64_t seed = 42);

  // Replaces *out with the next `n` events.
  void Next(size_t n, std::vector<Event>* out);

  // Events generated so far.
  uint64_t events() const { return events_; }
  // Traces with at least one event so far: WorkloadTraceId(i) exists for
  // every i below this.
  uint64_t traces() const { return traces_; }
  // Timestamp of the last generated event.
  uint64_t last_time_ns() const { return last_time_ns_; }

 private:
  struct OpenTrace {
    int64_t number = -1;  // assigned when its first span is emitted
    int spans_left = 0;
    int spans_emitted = 0;
    uint64_t root_span = 0;
    uint64_t last_span = 0;
    int root_service = 0;
    int last_service = 0;
  };

  Event MakeSpan(OpenTrace& trace);
  Event MakeLog(const OpenTrace* trace);
  Event MakeError(const OpenTrace* trace);
  Event MakeMetric();
  void Stamp(Event& event, int service);
  const OpenTrace* TraceForSideEvent(unsigned in_trace_percent);
  void Restart(OpenTrace& trace);

  Rng rng_;
  uint64_t events_ = 0;
  uint64_t traces_ = 0;
  uint64_t spans_ = 0;
  uint64_t last_time_ns_ = 0;
  std::vector<OpenTrace> open_;
};

// Entity observations: `entities` entities (connection pools, configs,
// deployments, cloud resources) across 10 services. The first `entities`
// events create each entity once; every later event changes one field of a
// random entity, so each event is exactly one new revision. Timestamps are
// strictly increasing, `spacing_ns` apart.
class EntityWorkload {
 public:
  EntityWorkload(size_t entities, uint64_t spacing_ns, uint64_t seed = 7);

  void Next(size_t n, std::vector<Event>* out);

  static std::string EntityName(size_t index);
  size_t entities() const { return generation_.size(); }
  uint64_t events() const { return events_; }
  // Time of the event that created the last entity (all exist after it).
  uint64_t all_created_ns() const;
  uint64_t last_time_ns() const { return last_time_ns_; }
  uint64_t spacing_ns() const { return spacing_ns_; }

 private:
  Rng rng_;
  uint64_t spacing_ns_;
  uint64_t events_ = 0;
  uint64_t last_time_ns_ = 0;
  std::vector<uint32_t> generation_;
};

}  // namespace traversion::bench

#endif  // TRAVERSION_BENCHMARKS_WORKLOAD_H_
