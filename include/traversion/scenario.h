// traversion/scenario.h — generated incidents with known ground truth.
//
// GenerateScenario() simulates a few minutes of a multi-service system and
// injects one fault into one service: the events a real deployment would
// record (spans with parent links, logs inside spans, errors with stack
// traces, gauges every 5 s, entity states, Kubernetes and kernel events),
// and a ScenarioTruth that says what was injected, where and when. Tests of
// the causality engine assert its answers against the truth; `traversion
// demo` records one scenario and explains it. The topologies, the faults and
// what each produces are described in docs/scenarios.md.
//
//   traversion::ScenarioOptions options;
//   options.end_ns = now_ns;
//   options.fault = traversion::FaultKind::kRetryStorm;
//   options.topology = traversion::TopologyKind::kLayered;
//   options.seed = 7;
//   absl::StatusOr<traversion::Scenario> scenario =
//       traversion::GenerateScenario(options);
//   store->Write(scenario->events);
//   // scenario->truth.root_cause_service is what an analysis should find.
//
// Faults cascade the way they do in production: callers wait, time out,
// retry and fail in turn, so symptoms show on many services. Each scenario
// also holds red herrings — a harmless deployment and a harmless config
// change on other services, a short burst of errors long before the fault,
// and background errors at a low rate throughout — so that naming the root
// cause takes more than finding the first error.
//
// Deterministic: the same options give the same events, ids included (every
// random choice, the event id suffixes too, comes from `seed`).
//
// Thread safety: GenerateScenario is reentrant; the name functions are pure.
#ifndef TRAVERSION_SCENARIO_H_
#define TRAVERSION_SCENARIO_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "traversion/event.h"

namespace traversion {

// What goes wrong in the faulty service.
enum class FaultKind : uint8_t {
  // A config change shrinks the service's database connection pool; as
  // demand grows the pool runs dry, requests wait for a connection and then
  // fail with PoolTimeoutException; callers fail in turn.
  kPoolExhaustion,
  // The service's own database queries become slow (lock waits): its spans
  // and its callers' spans slow down, callers with short timeouts give up.
  kSlowDependency,
  // The service fails part of its requests on a local resource (a full disk,
  // or no file descriptors left): exceptions, failed syscalls in the kernel
  // layer, 500s that callers turn into 502s.
  kDependencyErrors,
  // The service is starved of CPU: its cpu gauge and throttling climb, its
  // self time (span time not spent in children) grows, requests queue.
  kCpuContention,
  // The service leaks memory until the container is OOM-killed and
  // restarted, again and again: GC pauses first, then connection refused to
  // the restarting instance.
  kMemoryLeakOom,
  // A brief hiccup of the service makes its callers retry at once, without
  // backoff; the retries multiply its load and keep it failing.
  kRetryStorm,
  // A new version of the service is deployed and fails part of its requests
  // with an exception in the new code.
  kBadDeploy,
};
inline constexpr int kFaultKindCount = 7;

// "pool_exhaustion", "slow_dependency", "dependency_errors",
// "cpu_contention", "memory_leak_oom", "retry_storm", "bad_deploy"; and the
// parse of those names (nullopt for anything else).
absl::string_view FaultKindName(FaultKind fault);
std::optional<FaultKind> ParseFaultKind(absl::string_view name);
// Every fault kind, in declaration order.
const std::vector<FaultKind>& AllFaultKinds();

// The shape of the simulated system.
enum class TopologyKind : uint8_t {
  // The shop: web-frontend -> api-gateway -> orders-service ->
  // {inventory-service, payments-service}, the gateway also calling
  // inventory (browsing) and orders (order status); orders, inventory and
  // payments query postgres; payments calls an external card processor.
  kShop,
  // A random layered call graph (a DAG) of ScenarioOptions::services
  // services drawn from the seed: a frontend, a gateway, then layers of
  // services each calling one to three services of deeper layers; the
  // deepest ones, and some others, own a database and a connection pool.
  kLayered,
};
absl::string_view TopologyKindName(TopologyKind topology);  // shop|layered
std::optional<TopologyKind> ParseTopologyKind(absl::string_view name);

struct ScenarioOptions {
  // Seeds every random choice: traffic, latencies, ids, the layered graph,
  // the faulty service (where not given).
  uint64_t seed = 1;
  FaultKind fault = FaultKind::kPoolExhaustion;
  TopologyKind topology = TopologyKind::kShop;
  // kLayered: how many services emit spans (4..40). Databases come on top.
  size_t services = 10;
  // The last instant of the window, in ns since the Unix epoch. Required.
  uint64_t end_ns = 0;
  // Length of the window; at least one minute. Default ten minutes.
  uint64_t duration_ns = uint64_t{600} * 1'000'000'000;
  // Roughly how many events to produce. The background (gauges, entity
  // observations: about 270 a minute for the shop) is always produced;
  // requests fill the rest, so the result is within a few percent of this
  // figure when it is larger than the background.
  size_t target_events = 20'000;
  // When the fault starts, as a fraction of the window (0.2..0.9).
  double fault_at_fraction = 0.55;
  // The faulty service. Empty: for the shop, the service docs/scenarios.md
  // names for the fault (payments-service for kPoolExhaustion); for a
  // layered graph, one drawn from the seed among the services that can
  // have the fault (a pool for kPoolExhaustion, a database for
  // kSlowDependency, a caller for all). InvalidArgument if the named
  // service cannot have it.
  std::string fault_service;
  // The harmless deployment, config change and early error burst. The low
  // background error rate is always there.
  bool red_herrings = true;
};

// What the scenario was built to contain.
struct ScenarioTruth {
  FaultKind fault = FaultKind::kPoolExhaustion;
  // The name of the causality engine's pattern that describes the incident
  // (include/traversion/causality.h): "pool_exhaustion", "slow_dependency",
  // "cascade_failure", "retry_storm", "oom_cascade" or "bad_change".
  std::string pattern;
  // The service at fault.
  std::string root_cause_service;
  // The entity whose change started it, if any: the config that shrank the
  // pool ("config/payments-service"), the deployment of a bad version
  // ("deployment/orders-service"). Empty for faults without a change.
  std::string root_cause_entity;
  // The resource that ran out, if any: the pool ("pool/payments-db") or the
  // pod that was OOM-killed ("pod/inventory-service-9d6c1-4lrzq").
  std::string resource_entity;
  // The exception the faulty service raises, if any ("PoolTimeoutException").
  std::string error_type;
  // When the fault began: the change, the first leaked megabyte, the first
  // slow query.
  uint64_t fault_start_ns = 0;
  // When the first request was hurt by it: the end of the first request that
  // failed or was slowed by at least 100 ms because of the fault, on any
  // service. 0 if none was (a window too short after the fault).
  uint64_t symptom_start_ns = 0;
  // The root-cause service first, then every service whose requests failed
  // or slowed because of the fault, callers after callees.
  std::vector<std::string> affected_services;
  // The red herrings, as "what: when" sentences, and their entities.
  std::vector<std::string> red_herrings;
  std::vector<std::string> red_herring_entities;
  // One paragraph on what happened, for people.
  std::string description;
};

// One edge of the call graph: `caller` sends requests to `callee`.
struct ScenarioCall {
  std::string caller;
  std::string callee;
};

struct Scenario {
  // Sorted by id (that is, by time); every event has its id and time.
  std::vector<Event> events;
  // The services that emit events: callers before callees, databases last.
  std::vector<std::string> services;
  // The call graph between services (database calls included).
  std::vector<ScenarioCall> calls;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  ScenarioTruth truth;
};

// Generates the scenario. InvalidArgument for options out of range (no
// end_ns, a window under a minute, services outside 4..40, a fault service
// that does not exist or cannot have the fault).
absl::StatusOr<Scenario> GenerateScenario(const ScenarioOptions& options);

}  // namespace traversion

#endif  // TRAVERSION_SCENARIO_H_
