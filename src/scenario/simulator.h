// The scenario simulator: requests through a Topology with one fault
// injected, and the background every service emits (gauges, entity
// observations, Kubernetes and kernel events).
//
// The fault is a model of each service's condition over time (fault_model.cc):
// how long its work and its queries take, how often it fails and why, whether
// a replica is up, how much memory it holds, which version it runs. Requests
// (requests.cc) are simulated one at a time through that model, span by
// span; callers see what their callees did — latency, errors, timeouts,
// refused connections — and react: they retry, give up, fail in turn. The
// gauges (background.cc) are computed from the requests simulated, so a
// retry storm shows as a real multiplication of the request rate.
//
// Thread safety: a Simulator is used by one thread, once.
#ifndef TRAVERSION_SCENARIO_SIMULATOR_H_
#define TRAVERSION_SCENARIO_SIMULATOR_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "scenario/rng.h"
#include "scenario/topology.h"
#include "traversion/event.h"
#include "traversion/scenario.h"

namespace traversion::scenario {

inline constexpr uint64_t kMs = 1'000'000;
inline constexpr uint64_t kSecond = 1'000'000'000;
// Gauges and connection pools are sampled every tick.
inline constexpr uint64_t kTick = 10 * kSecond;

// Why a request failed in the service that served it.
enum class FailureKind : uint8_t {
  kNone,
  kPoolTimeout,      // no pooled connection in time
  kDiskFull,         // ENOSPC on write
  kNoDescriptors,    // EMFILE
  kOverloaded,       // request queue full
  kBadCode,          // an exception in new code
  kOutOfMemory,      // the heap is full
  kConnectionReset,  // the early error burst (a red herring)
  kBackground,       // the low background rate of unexpected errors
  kUpstream,         // a required callee failed
};

// Exception names and stack traces by language (text.cc).
struct ExceptionText {
  std::string type;       // "PoolTimeoutException"
  std::string qualified;  // "com.shop.payments.db.PoolTimeoutException"
  std::string message;    // the exception's message
};
ExceptionText DescribeFailure(const ServiceSpec& service, FailureKind kind,
                              absl::string_view detail);
// The caller-side exception for a timeout / a refused connection.
std::string TimeoutExceptionName(Language language);
std::string RefusedExceptionName(Language language);
std::string StackTrace(const ServiceSpec& service, const Endpoint& endpoint,
                       const ExceptionText& exception);

// One rollout of a new version: replica r switches at switch_ns[r].
struct Rollout {
  int service = -1;
  uint64_t start_ns = 0;
  std::array<uint64_t, 2> switch_ns = {0, 0};
};

// One OOM kill of a replica and its restart.
struct OomKill {
  int replica = 0;
  uint64_t leak_from_ns = 0;  // the memory started growing from here
  uint64_t kill_ns = 0;
  uint64_t restart_ns = 0;  // ready again
  double peak_mib = 0;
};

class Simulator {
 public:
  Simulator(const ScenarioOptions& options, Topology topology,
            int fault_service);
  Scenario Run();

 private:
  struct Trace;
  struct Outcome;

  // --- time -----------------------------------------------------------------
  uint64_t At(double fraction) const;
  double Fraction(uint64_t t) const;
  size_t TickOf(uint64_t t) const;
  // 0 before `from`, rising linearly to 1 at from + length.
  static double Ramp(uint64_t t, uint64_t from, uint64_t length);

  // --- the fault model (fault_model.cc) --------------------------------------
  void PlanIncident();
  bool Faulty(int s) const { return s == fault_; }
  int PoolMax(int s, uint64_t t) const;
  double PoolSaturation(int s, uint64_t t) const;
  int PoolActive(int s, uint64_t t) const;
  int PoolWaiting(int s, uint64_t t) const;
  double DbSlowdown(int s, uint64_t t) const;
  double SelfSlowdown(int s, int replica, uint64_t t) const;
  double QueueWaitMs(int s, int replica, uint64_t t) const;
  // The probability that a request fails in the service's own code, and why.
  double FaultFailureProbability(int s, int replica, int endpoint,
                                 uint64_t t) const;
  FailureKind FaultFailureKind() const;
  double BurstProbability(int s, uint64_t t) const;
  bool Available(int s, int replica, uint64_t t) const;
  double MemoryMiB(int s, int replica, uint64_t t) const;
  double GcPressure(int s, int replica, uint64_t t) const;
  int Generation(int s, int replica, uint64_t t) const;
  std::string Version(int s, int replica, uint64_t t) const;
  std::string Pod(int s, int replica, uint64_t t) const;
  int Restarts(int s, int replica, uint64_t t) const;
  bool IsFaultRelated(FailureKind kind) const;

  // --- events ----------------------------------------------------------------
  Event Base(int s, int replica, uint64_t t, EventType type, std::string name,
             Severity severity);
  SpanId NewSpanId();
  TraceId NewTraceId();

  // --- requests (requests.cc) ------------------------------------------------
  void Request();
  Outcome Serve(Trace& trace, int s, int endpoint, const SpanId* parent,
                uint64_t start, int replica, int attempt);
  // Takes a connection from the service's pool; the time it has one (or
  // gave up), and whether it gave up.
  uint64_t AcquireConnection(Trace& trace, int s, int replica,
                             const SpanId& parent, const Endpoint& endpoint,
                             uint64_t at, Outcome& out, bool* timed_out);
  uint64_t DbCall(Trace& trace, int s, int replica, const SpanId& parent,
                  uint64_t at, const DbQuery& query, Outcome& out);
  void EmitLog(Trace& trace, int s, int replica, const SpanId& span, uint64_t t,
               Severity severity, std::string name, std::string body,
               std::string logger, std::vector<std::string> entity_refs = {});
  void EmitError(Trace& trace, int s, int replica, const SpanId& span,
                 uint64_t t, const Endpoint& endpoint,
                 const ExceptionText& exception, bool handled,
                 Severity severity, std::vector<std::string> entity_refs = {});
  // A failed syscall seen by the kernel layer (no trace context).
  Event KernelEvent(int s, int replica, uint64_t t, FailureKind kind);
  std::string Fill(const std::string& pattern, const Trace& trace);
  void Commit(Trace& trace);

  // --- background (background.cc)
  // ---------------------------------------------
  void EntityObservations();
  void IncidentEvents();
  void Metrics();
  void Observe(int s, uint64_t t, const char* entity_type, std::string entity,
               std::vector<EntityField> fields, bool deleted = false);
  void ObserveConfig(int s, uint64_t t);
  void ObserveDeployment(int s, uint64_t t);
  void ObservePod(int s, int replica, uint64_t t, int generation, bool deleted);
  void Kubernetes(int s, int replica, uint64_t t, const char* object_kind,
                  std::string object, const char* reason, std::string message,
                  Severity severity);
  void Log(int s, int replica, uint64_t t, Severity severity, std::string name,
           std::string body, std::string logger);
  void Gauge(int s, int replica, uint64_t t, const char* name, double value,
             const char* unit);
  size_t MetricsPerTick() const;
  std::vector<EntityField> ConfigFields(int s, uint64_t t) const;
  int CallRetries(int caller) const;

  // --- truth -----------------------------------------------------------------
  ScenarioTruth Truth() const;

  const ScenarioOptions options_;
  const Topology topology_;
  const int fault_;
  Rng rng_;
  const uint64_t end_;
  const uint64_t duration_;
  const uint64_t start_;
  const uint64_t fault_at_;

  // Planned by PlanIncident().
  std::vector<Rollout> rollouts_;  // the red-herring deploy, a bad deploy
  std::vector<OomKill> oom_kills_;
  int pool_max_after_ = 0;
  bool disk_full_ = false;  // dependency errors: ENOSPC, else EMFILE
  int herring_deploy_ = -1;
  int herring_config_ = -1;
  uint64_t herring_config_at_ = 0;
  int burst_service_ = -1;
  uint64_t burst_at_ = 0;
  uint64_t cache_removed_at_ = 0;
  // Retry-storm policy: callers of the faulty service retry it at once.
  std::vector<int> storm_callers_;

  std::vector<Event> events_;
  // Per service, per tick: server spans and those answering >= 500.
  std::vector<std::vector<uint32_t>> requests_;
  std::vector<std::vector<uint32_t>> server_errors_;
  // Truth gathered from committed requests.
  uint64_t symptom_start_ = 0;
  std::map<int, uint64_t> affected_;  // service -> first hurt
};

}  // namespace traversion::scenario

#endif  // TRAVERSION_SCENARIO_SIMULATOR_H_
