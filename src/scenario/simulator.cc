#include "scenario/simulator.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "scenario/topology.h"
#include "traversion/event.h"

namespace traversion::scenario {

Simulator::Simulator(const ScenarioOptions& options, Topology topology,
                     int fault_service)
    : options_(options),
      topology_(std::move(topology)),
      fault_(fault_service),
      // The topology drew from its own generator; the simulation's stream
      // is another, so the shop's events do not depend on the layered
      // builder and vice versa.
      rng_(options.seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull),
      end_(options.end_ns),
      duration_(std::min(options.duration_ns, options.end_ns)),
      start_(options.end_ns - duration_),
      // The change happens between two polls, so it is reported once when
      // it happens and confirmed by the next poll.
      fault_at_(
          std::min(options.end_ns - kSecond,
                   start_ +
                       static_cast<uint64_t>(options.fault_at_fraction *
                                             static_cast<double>(duration_)) +
                       1700 * kMs)) {}

uint64_t Simulator::At(double fraction) const {
  return start_ +
         static_cast<uint64_t>(fraction * static_cast<double>(duration_));
}

double Simulator::Fraction(uint64_t t) const {
  if (duration_ == 0 || t <= start_) return 0;
  return static_cast<double>(t - start_) / static_cast<double>(duration_);
}

size_t Simulator::TickOf(uint64_t t) const {
  const size_t tick = t <= start_ ? 0 : (t - start_) / kTick;
  return std::min(tick, requests_[0].size() - 1);
}

Event Simulator::Base(int s, int replica, uint64_t t, EventType type,
                      std::string name, Severity severity) {
  const ServiceSpec& service = topology_.services[s];
  Event event;
  event.id = EventId{t, rng_.Next()};
  event.time_ns = t;
  event.type = type;
  event.source = "scenario";
  event.service.name = service.name;
  const int r = std::max(0, replica);
  if (replica >= 0) {
    event.service.instance = Pod(s, r, t);
    event.service.host =
        service.hosts[static_cast<size_t>(r) % service.hosts.size()];
  }
  event.service.version = Version(s, r, t);
  event.service.namespace_ = topology_.namespace_;
  event.service.environment = "production";
  event.name = std::move(name);
  event.severity = severity;
  return event;
}

Scenario Simulator::Run() {
  const size_t ticks = duration_ / kTick + 1;
  requests_.assign(topology_.services.size(), std::vector<uint32_t>(ticks));
  server_errors_.assign(topology_.services.size(),
                        std::vector<uint32_t>(ticks));
  PlanIncident();
  EntityObservations();
  IncidentEvents();
  // Every tick emits the same number of gauges, known in advance, so the
  // requests can fill exactly the rest of the target.
  const size_t metric_events = ticks * MetricsPerTick();
  const size_t target =
      std::max(options_.target_events, events_.size() + metric_events + 50);
  // A request that would end after the window is dropped; the bound only
  // guards against a window too short for any request.
  for (size_t tries = 0;
       events_.size() + metric_events < target && tries < target * 4; ++tries) {
    Request();
  }
  Metrics();
  // A restart or a pod observation planned past the end is not recorded:
  // the window ends there.
  std::erase_if(events_, [&](const Event& e) { return e.time_ns > end_; });
  std::sort(events_.begin(), events_.end(),
            [](const Event& a, const Event& b) { return a.id < b.id; });

  Scenario scenario;
  scenario.events = std::move(events_);
  scenario.start_ns = start_;
  scenario.end_ns = end_;
  std::vector<int> order;
  for (int s = 0; s < static_cast<int>(topology_.services.size()); ++s) {
    order.push_back(s);
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return topology_.services[a].layer < topology_.services[b].layer;
  });
  for (int s : order) scenario.services.push_back(topology_.services[s].name);
  for (int s : order) {
    const ServiceSpec& service = topology_.services[s];
    std::vector<std::string> callees;
    for (const Endpoint& e : service.endpoints) {
      for (const DownstreamCall& c : e.calls) {
        callees.push_back(topology_.services[c.service].name);
      }
    }
    if (service.database_service >= 0) {
      callees.push_back(topology_.services[service.database_service].name);
    }
    for (const std::string& callee : callees) {
      bool seen = false;
      for (const ScenarioCall& call : scenario.calls) {
        seen = seen || (call.caller == service.name && call.callee == callee);
      }
      if (!seen) scenario.calls.push_back({service.name, callee});
    }
  }
  scenario.truth = Truth();
  return scenario;
}

ScenarioTruth Simulator::Truth() const {
  const ServiceSpec& faulty = topology_.services[fault_];
  ScenarioTruth truth;
  truth.fault = options_.fault;
  truth.root_cause_service = faulty.name;
  truth.fault_start_ns = fault_at_;
  truth.symptom_start_ns = symptom_start_;
  switch (options_.fault) {
    case FaultKind::kPoolExhaustion:
      truth.pattern = "pool_exhaustion";
      truth.root_cause_entity = absl::StrCat("config/", faulty.name);
      truth.resource_entity = faulty.pool;
      truth.error_type =
          DescribeFailure(faulty, FailureKind::kPoolTimeout, "").type;
      truth.description = absl::StrFormat(
          "A config change lowers %s's db.pool.max_size from %d to %d. As "
          "demand grows, %s runs dry: requests wait for a connection, then "
          "fail with %s after 5 s, and the callers fail in turn.",
          faulty.name, faulty.pool_max, pool_max_after_, faulty.pool,
          truth.error_type);
      break;
    case FaultKind::kSlowDependency:
      truth.pattern = "slow_dependency";
      truth.description = absl::StrFormat(
          "%s's queries on %s start waiting on locks and take most of a "
          "second; its requests slow down, and callers with short timeouts "
          "give up on it.",
          faulty.name, topology_.services[faulty.database_service].name);
      break;
    case FaultKind::kDependencyErrors:
      truth.pattern = "cascade_failure";
      truth.error_type =
          DescribeFailure(
              faulty,
              disk_full_ ? FailureKind::kDiskFull : FailureKind::kNoDescriptors,
              "")
              .type;
      truth.description = absl::StrFormat(
          "%s runs out of %s and fails half of its requests with %s; its "
          "callers answer 502 in turn.",
          faulty.name, disk_full_ ? "disk space" : "file descriptors",
          truth.error_type);
      break;
    case FaultKind::kCpuContention:
      truth.pattern = "slow_dependency";
      truth.description = absl::StrFormat(
          "%s is starved of CPU: its cpu.utilization climbs to ~98 %%, its "
          "own work in each request takes 15 times longer and requests queue; "
          "callers slow down and some time out.",
          faulty.name);
      break;
    case FaultKind::kMemoryLeakOom:
      truth.pattern = "oom_cascade";
      truth.error_type =
          DescribeFailure(faulty, FailureKind::kOutOfMemory, "").type;
      if (!oom_kills_.empty()) {
        const OomKill& first = oom_kills_.front();
        truth.resource_entity = absl::StrCat(
            "pod/", PodName(faulty, first.replica,
                            Generation(fault_, first.replica, first.kill_ns)));
      }
      truth.description = absl::StrFormat(
          "%s leaks memory; as its heap nears the %d MiB limit GC pauses slow "
          "it down and allocations fail with %s, then its pods are "
          "OOM-killed (%d kills) and restarted, and callers get connection "
          "refused meanwhile.",
          faulty.name, static_cast<int>(faulty.memory_limit_mib),
          truth.error_type, oom_kills_.size());
      break;
    case FaultKind::kRetryStorm:
      truth.pattern = "retry_storm";
      truth.error_type =
          DescribeFailure(faulty, FailureKind::kOverloaded, "").type;
      truth.description = absl::StrFormat(
          "A 20 s stall of %s makes its callers retry at once, up to 3 times "
          "and without backoff (as their config allows); the retries multiply "
          "its load and it keeps rejecting requests with %s.",
          faulty.name, truth.error_type);
      break;
    case FaultKind::kBadDeploy:
      truth.pattern = "bad_change";
      truth.root_cause_entity = absl::StrCat("deployment/", faulty.name);
      truth.error_type =
          DescribeFailure(faulty, FailureKind::kBadCode, "").type;
      truth.description = absl::StrFormat(
          "%s v%s is rolled out; the new version fails part of its requests "
          "with %s, and its callers fail in turn.",
          faulty.name, faulty.next_version, truth.error_type);
      break;
  }
  // The root cause first, then callees before callers.
  truth.affected_services.push_back(faulty.name);
  std::vector<int> others;
  for (const auto& [s, when] : affected_) {
    if (s != fault_) others.push_back(s);
  }
  std::sort(others.begin(), others.end(), [&](int a, int b) {
    const ServiceSpec& x = topology_.services[a];
    const ServiceSpec& y = topology_.services[b];
    return x.layer != y.layer ? x.layer > y.layer : x.name < y.name;
  });
  for (int s : others) {
    truth.affected_services.push_back(topology_.services[s].name);
  }
  auto when = [](uint64_t t) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                            absl::FromUnixNanos(static_cast<int64_t>(t)),
                            absl::UTCTimeZone());
  };
  for (const Rollout& rollout : rollouts_) {
    if (rollout.service == fault_) continue;
    const ServiceSpec& service = topology_.services[rollout.service];
    truth.red_herrings.push_back(absl::StrFormat(
        "harmless deployment of %s v%s -> v%s at %s", service.name,
        service.version, service.next_version, when(rollout.start_ns)));
    truth.red_herring_entities.push_back(
        absl::StrCat("deployment/", service.name));
  }
  if (herring_config_ >= 0) {
    const ServiceSpec& service = topology_.services[herring_config_];
    truth.red_herrings.push_back(
        absl::StrFormat("harmless config change of %s (log.level info -> "
                        "debug) at %s",
                        service.name, when(herring_config_at_)));
    truth.red_herring_entities.push_back(absl::StrCat("config/", service.name));
  }
  if (burst_service_ >= 0) {
    truth.red_herrings.push_back(absl::StrFormat(
        "15 s burst of connection resets on %s at %s, long before the fault",
        topology_.services[burst_service_].name, when(burst_at_)));
  }
  if (cache_removed_at_ != 0) {
    truth.red_herrings.push_back(
        absl::StrFormat("cache node cache/inventory-node-3 removed at %s",
                        when(cache_removed_at_)));
    truth.red_herring_entities.push_back("cache/inventory-node-3");
  }
  return truth;
}

}  // namespace traversion::scenario
