// What every service emits besides requests: entity observations (pools,
// configs, deployments, pods), the incident's own logs, Kubernetes and
// kernel events, and gauges computed from the requests simulated.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "scenario/simulator.h"
#include "scenario/topology.h"
#include "traversion/event.h"

namespace traversion::scenario {
namespace {

// A stable pid for a replica's main process.
uint32_t Pid(int s, int replica, int restarts) {
  return static_cast<uint32_t>(1000 + 97 * s + 31 * replica + 7 * restarts);
}

const char* Comm(const ServiceSpec& service) {
  switch (service.language) {
    case Language::kJava:
      return "java";
    case Language::kPython:
      return "python3";
    case Language::kNode:
      return "node";
    case Language::kGo:
      break;
  }
  return service.name.c_str();
}

}  // namespace

void Simulator::Observe(int s, uint64_t t, const char* entity_type,
                        std::string entity, std::vector<EntityField> fields,
                        bool deleted) {
  Event event =
      Base(s, 0, t, EventType::kEntityState, entity_type, Severity::kInfo);
  EntityStateData state;
  state.entity = std::move(entity);
  state.entity_type = entity_type;
  state.fields = std::move(fields);
  state.deleted = deleted;
  event.payload = std::move(state);
  events_.push_back(std::move(event));
}

int Simulator::CallRetries(int caller) const {
  int retries = 0;
  for (const Endpoint& e : topology_.services[caller].endpoints) {
    for (const DownstreamCall& c : e.calls) {
      int r = c.retries;
      if (options_.fault == FaultKind::kRetryStorm) {
        if (c.service == fault_) r = 3;
        if (std::find(storm_callers_.begin(), storm_callers_.end(),
                      c.service) != storm_callers_.end()) {
          r = std::max(r, 2);
        }
      }
      retries = std::max(retries, r);
    }
  }
  return retries;
}

std::vector<EntityField> Simulator::ConfigFields(int s, uint64_t t) const {
  const ServiceSpec& service = topology_.services[s];
  std::vector<EntityField> fields;
  if (!service.pool.empty()) {
    fields.push_back({"db.pool.max_size", absl::StrCat(PoolMax(s, t))});
    fields.push_back({"db.pool.timeout_ms", "5000"});
  }
  const Endpoint& first = service.endpoints[0];
  fields.push_back({absl::StrCat("feature.", first.intent, "_v2"),
                    service.name.size() % 2 == 0 ? "true" : "false"});
  if (!first.calls.empty()) {
    const int retries = CallRetries(s);
    fields.push_back({"http.retries", absl::StrCat(retries)});
    if (retries > 0) {
      const bool storm =
          options_.fault == FaultKind::kRetryStorm && retries >= 2;
      fields.push_back({"http.retry_backoff_ms", storm ? "0" : "250"});
    }
    fields.push_back(
        {"http.timeout_ms", absl::StrCat(first.calls[0].timeout_ns / kMs)});
  }
  fields.push_back({"log.level", s == herring_config_ && t >= herring_config_at_
                                     ? "debug"
                                     : "info"});
  return fields;
}

void Simulator::ObserveConfig(int s, uint64_t t) {
  Observe(s, t, "config", absl::StrCat("config/", topology_.services[s].name),
          ConfigFields(s, t));
}

void Simulator::ObserveDeployment(int s, uint64_t t) {
  const ServiceSpec& service = topology_.services[s];
  std::string version = service.version;
  for (const Rollout& rollout : rollouts_) {
    if (rollout.service == s && t >= rollout.start_ns) {
      version = service.next_version;
    }
  }
  Observe(s, t, "deployment", absl::StrCat("deployment/", service.name),
          {{"image", absl::StrCat("registry.", topology_.namespace_,
                                  ".internal/", service.name, ":", version)},
           {"replicas", absl::StrCat(service.replicas)},
           {"version", version}});
}

void Simulator::ObservePod(int s, int replica, uint64_t t, int generation,
                           bool deleted) {
  const ServiceSpec& service = topology_.services[s];
  const std::string pod = PodName(service, replica, generation);
  if (deleted) {
    Observe(s, t, "pod", absl::StrCat("pod/", pod), {}, /*deleted=*/true);
    return;
  }
  const int restarts = Restarts(s, replica, t);
  std::vector<EntityField> fields = {
      {"memory_limit_mib",
       absl::StrCat(static_cast<int>(service.memory_limit_mib))},
      {"node",
       service.hosts[static_cast<size_t>(replica) % service.hosts.size()]},
      {"phase", "Running"},
      {"ready", Available(s, replica, t) ? "true" : "false"},
      {"restarts", absl::StrCat(restarts)},
      {"version", generation > 0 ? service.next_version : service.version}};
  if (restarts > 0) fields.push_back({"last_termination", "OOMKilled"});
  Observe(s, t, "pod", absl::StrCat("pod/", pod), std::move(fields));
}

void Simulator::EntityObservations() {
  const size_t ticks = requests_[0].size();
  const int services = static_cast<int>(topology_.services.size());
  int cache_owner = -1;
  for (int s = 0; s < services; ++s) {
    if (topology_.services[s].name == topology_.cache_owner) cache_owner = s;
  }
  auto cache_node = [&](int node, uint64_t t) {
    Observe(cache_owner, t, "cache_node",
            absl::StrCat("cache/inventory-node-", node),
            {{"max_memory_mb", "2048"},
             {"role", node == 1 ? "primary" : "replica"},
             {"status", "up"}});
  };
  for (size_t tick = 0; tick < ticks; ++tick) {
    // The first tick is exactly at the start, so that the state at the
    // start of the window holds every entity.
    const uint64_t t = start_ + tick * kTick;
    for (int s = 0; s < services; ++s) {
      const ServiceSpec& service = topology_.services[s];
      if (service.database) continue;
      if (!service.pool.empty()) {
        const int max = PoolMax(s, t);
        const int active = PoolActive(s, t);
        Observe(s, t, "db_connection_pool", service.pool,
                {{"active", absl::StrCat(active)},
                 {"idle", absl::StrCat(max - active)},
                 {"max", absl::StrCat(max)},
                 {"waiting", absl::StrCat(PoolWaiting(s, t))}});
      }
      if (tick % 3 == 0) ObserveConfig(s, t);
      if (tick % 6 == 0) {
        ObserveDeployment(s, t);
        for (int r = 0; r < service.replicas; ++r) {
          ObservePod(s, r, t, Generation(s, r, t), /*deleted=*/false);
        }
      }
    }
    if (cache_owner >= 0 && tick % 6 == 0) {
      for (int node = 1; node <= 3; ++node) {
        if (node == 3 && cache_removed_at_ != 0 && t >= cache_removed_at_) {
          continue;
        }
        cache_node(node, t);
      }
    }
  }
  // Changes are reported when they happen, not at the next poll.
  if (options_.fault == FaultKind::kPoolExhaustion) {
    ObserveConfig(fault_, fault_at_);
  }
  if (herring_config_ >= 0) ObserveConfig(herring_config_, herring_config_at_);
  for (const Rollout& rollout : rollouts_) {
    ObserveDeployment(rollout.service, rollout.start_ns);
    for (int r = 0; r < topology_.services[rollout.service].replicas; ++r) {
      const uint64_t at = rollout.switch_ns[static_cast<size_t>(r) % 2];
      ObservePod(rollout.service, r, at, 1, /*deleted=*/false);
      ObservePod(rollout.service, r, at + 2 * kSecond, 0, /*deleted=*/true);
    }
  }
  for (const OomKill& kill : oom_kills_) {
    const int generation = Generation(fault_, kill.replica, kill.kill_ns);
    ObservePod(fault_, kill.replica, kill.kill_ns, generation, false);
    ObservePod(fault_, kill.replica, kill.restart_ns, generation, false);
  }
  if (cache_owner >= 0 && cache_removed_at_ != 0) {
    Observe(cache_owner, cache_removed_at_, "cache_node",
            "cache/inventory-node-3", {}, /*deleted=*/true);
  }
}

void Simulator::Log(int s, int replica, uint64_t t, Severity severity,
                    std::string name, std::string body, std::string logger) {
  Event event = Base(s, replica, t, EventType::kLog, std::move(name), severity);
  LogData log;
  log.body = std::move(body);
  log.logger = std::move(logger);
  event.payload = std::move(log);
  events_.push_back(std::move(event));
}

void Simulator::Kubernetes(int s, int replica, uint64_t t,
                           const char* object_kind, std::string object,
                           const char* reason, std::string message,
                           Severity severity) {
  Event event = Base(s, replica, t, EventType::kKubernetes, reason, severity);
  KubernetesData k8s;
  k8s.namespace_ = topology_.namespace_;
  k8s.object_kind = object_kind;
  const ServiceSpec& service = topology_.services[s];
  if (std::string(object_kind) == "Pod") {
    k8s.pod = object;
    k8s.container = service.name;
    k8s.node =
        service.hosts[static_cast<size_t>(replica) % service.hosts.size()];
  }
  k8s.reason = reason;
  k8s.message = std::move(message);
  event.attributes.push_back({"k8s.object", std::move(object)});
  event.payload = std::move(k8s);
  events_.push_back(std::move(event));
}

Event Simulator::KernelEvent(int s, int replica, uint64_t t, FailureKind kind) {
  const ServiceSpec& service = topology_.services[s];
  const bool disk = kind == FailureKind::kDiskFull;
  Event event = Base(s, replica, t, EventType::kKernel,
                     disk ? "write" : "accept4", Severity::kWarn);
  event.source = "ebpf";
  KernelData kernel;
  kernel.kind = KernelEventKind::kSyscallFailure;
  kernel.pid = Pid(s, replica, Restarts(s, replica, t));
  kernel.tid = kernel.pid + 1 + static_cast<uint32_t>(rng_.Below(40));
  kernel.comm = Comm(service);
  kernel.cgroup_id = 4096 + static_cast<uint64_t>(s) * 16 + replica;
  kernel.syscall = disk ? "write" : "accept4";
  kernel.syscall_nr = disk ? 1 : 288;
  kernel.errno_value = disk ? 28 : 24;
  kernel.return_value = -kernel.errno_value;
  if (disk) kernel.filename = absl::StrCat("/var/lib/", service.name, "/spool");
  event.payload = std::move(kernel);
  return event;
}

void Simulator::IncidentEvents() {
  const int services = static_cast<int>(topology_.services.size());
  const size_t ticks = requests_[0].size();
  for (const Rollout& rollout : rollouts_) {
    const ServiceSpec& service = topology_.services[rollout.service];
    Kubernetes(rollout.service, 0, rollout.start_ns, "Deployment", service.name,
               "ScalingReplicaSet",
               absl::StrFormat("Scaled up replica set %s-%s to 1", service.name,
                               service.rs_hash_next),
               Severity::kInfo);
    for (int r = 0; r < service.replicas; ++r) {
      const uint64_t at = rollout.switch_ns[static_cast<size_t>(r) % 2];
      const std::string fresh = PodName(service, r, 1);
      const std::string old = PodName(service, r, 0);
      Kubernetes(rollout.service, r, at - 4 * kSecond, "Pod", fresh, "Pulled",
                 absl::StrFormat("Successfully pulled image \"registry.%s."
                                 "internal/%s:%s\"",
                                 topology_.namespace_, service.name,
                                 service.next_version),
                 Severity::kInfo);
      Kubernetes(rollout.service, r, at, "Pod", fresh, "Started",
                 absl::StrCat("Started container ", service.name),
                 Severity::kInfo);
      Kubernetes(rollout.service, r, at + kSecond, "Pod", old, "Killing",
                 absl::StrCat("Stopping container ", service.name),
                 Severity::kInfo);
      Log(rollout.service, r, at + 2 * kSecond, Severity::kInfo,
          "service started",
          absl::StrFormat("starting %s v%s (%d replicas)", service.name,
                          service.next_version, service.replicas),
          absl::StrCat(service.package, ".main"));
    }
  }
  if (herring_config_ >= 0) {
    Log(herring_config_, 0, herring_config_at_ + kSecond / 4, Severity::kInfo,
        "configuration reloaded",
        "configuration reloaded: log.level info -> debug",
        absl::StrCat(topology_.services[herring_config_].package, ".config"));
  }
  if (cache_removed_at_ != 0) {
    for (int s = 0; s < services; ++s) {
      if (topology_.services[s].name != topology_.cache_owner) continue;
      Log(s, 0, cache_removed_at_ + kSecond / 2, Severity::kWarn,
          "cache node left",
          "cache node inventory-node-3 left the cluster; rebalancing keys",
          absl::StrCat(topology_.services[s].package, ".cache"));
    }
  }
  const ServiceSpec& faulty = topology_.services[fault_];
  const std::string logger = absl::StrCat(faulty.package, ".runtime");
  switch (options_.fault) {
    case FaultKind::kPoolExhaustion:
      Log(fault_, 0, fault_at_ + kSecond / 4, Severity::kInfo,
          "configuration reloaded",
          absl::StrFormat("configuration reloaded: db.pool.max_size %d -> %d",
                          faulty.pool_max, pool_max_after_),
          absl::StrCat(faulty.package, ".config"));
      break;
    case FaultKind::kDependencyErrors:
      for (int r = 0; r < faulty.replicas; ++r) {
        Log(fault_, r, fault_at_ + (2 + 3 * r) * kSecond, Severity::kError,
            disk_full_ ? "disk full" : "file descriptors exhausted",
            disk_full_
                ? absl::StrFormat("disk usage 100%% on /var/lib/%s (0 bytes "
                                  "free)",
                                  faulty.name)
                : std::string("open files 1024 of 1024 (ulimit -n); new "
                              "connections fail"),
            logger);
      }
      break;
    case FaultKind::kRetryStorm:
      Log(fault_, 0, fault_at_, Severity::kWarn, "stall",
          faulty.database_service >= 0
              ? absl::StrFormat(
                    "lost connection to %s; reconnecting",
                    topology_.services[faulty.database_service].name)
              : std::string("stop-the-world pause of 1.9 s"),
          logger);
      break;
    case FaultKind::kMemoryLeakOom:
      for (const OomKill& kill : oom_kills_) {
        const int r = kill.replica;
        const std::string pod =
            PodName(faulty, r, Generation(fault_, r, kill.kill_ns));
        const int restarts = Restarts(fault_, r, kill.kill_ns);
        Event oom = Base(fault_, r, kill.kill_ns, EventType::kKernel,
                         "oom_kill", Severity::kError);
        oom.source = "ebpf";
        KernelData kernel;
        kernel.kind = KernelEventKind::kOomKill;
        kernel.pid = Pid(fault_, r, restarts - 1);
        kernel.tid = kernel.pid;
        kernel.comm = Comm(faulty);
        kernel.cgroup_id = 4096 + static_cast<uint64_t>(fault_) * 16 + r;
        kernel.signal = 9;
        oom.payload = std::move(kernel);
        events_.push_back(std::move(oom));
        Kubernetes(fault_, r, kill.kill_ns + 200 * kMs, "Pod", pod, "OOMKilled",
                   absl::StrFormat("Container %s exceeded its memory limit "
                                   "(%dMi) and was killed (exit code 137)",
                                   faulty.name,
                                   static_cast<int>(faulty.memory_limit_mib)),
                   Severity::kWarn);
        Kubernetes(fault_, r, kill.kill_ns + 1200 * kMs, "Pod", pod, "BackOff",
                   absl::StrFormat("Back-off restarting failed container %s",
                                   faulty.name),
                   Severity::kWarn);
        Kubernetes(fault_, r, kill.restart_ns, "Pod", pod, "Started",
                   absl::StrCat("Started container ", faulty.name),
                   Severity::kInfo);
        Log(fault_, r, kill.restart_ns + kSecond, Severity::kInfo,
            "service started",
            absl::StrFormat("starting %s v%s (restart %d)", faulty.name,
                            Version(fault_, r, kill.restart_ns), restarts),
            absl::StrCat(faulty.package, ".main"));
      }
      break;
    default:
      break;
  }
  // Per tick: what a struggling process says about itself.
  for (size_t tick = 0; tick < ticks; ++tick) {
    const uint64_t t = start_ + tick * kTick + 3 * kSecond;
    if (t > end_) break;
    for (int r = 0; r < faulty.replicas; ++r) {
      if (options_.fault == FaultKind::kMemoryLeakOom &&
          Available(fault_, r, t) && GcPressure(fault_, r, t) > 0.3) {
        const double gc = GcPressure(fault_, r, t);
        Log(fault_, r, t, Severity::kWarn, "memory pressure",
            absl::StrFormat("memory pressure: heap %d MiB of %d MiB limit; "
                            "GC took %d%% of the last 10 s",
                            static_cast<int>(MemoryMiB(fault_, r, t)),
                            static_cast<int>(faulty.memory_limit_mib),
                            static_cast<int>(20 + 70 * gc)),
            logger);
      }
      if (options_.fault == FaultKind::kCpuContention &&
          Ramp(t, fault_at_, 60 * kSecond) > 0.3) {
        Log(fault_, r, t, Severity::kWarn, "worker pool saturated",
            absl::StrFormat("worker pool saturated: %d requests queued, cpu "
                            "throttled %d%% of the last period",
                            10 + rng_.Index(40), 40 + rng_.Index(45)),
            logger);
      }
      if (options_.fault == FaultKind::kRetryStorm && r == 0 &&
          t > fault_at_ + 20 * kSecond) {
        Log(fault_, r, t, Severity::kWarn, "shedding load",
            absl::StrFormat("request queue at %d (limit 256); shedding load",
                            200 + rng_.Index(56)),
            logger);
      }
    }
  }
}

size_t Simulator::MetricsPerTick() const {
  size_t n = 0;
  for (const ServiceSpec& service : topology_.services) {
    if (service.database) {
      n += 3;
      continue;
    }
    n += 2 * static_cast<size_t>(service.replicas) + 2 +
         (service.pool.empty() ? 0 : 1);
  }
  return n;
}

void Simulator::Gauge(int s, int replica, uint64_t t, const char* name,
                      double value, const char* unit) {
  Event event =
      Base(s, replica, t, EventType::kMetric, name, Severity::kUnspecified);
  if (replica < 0) event.service.instance.clear();
  MetricData metric;
  metric.kind = MetricKind::kGauge;
  metric.value = std::round(value * 100) / 100;
  metric.unit = unit;
  event.payload = std::move(metric);
  events_.push_back(std::move(event));
}

void Simulator::Metrics() {
  const int services = static_cast<int>(topology_.services.size());
  const size_t ticks = requests_[0].size();
  // Each service's typical requests per tick before the fault.
  const size_t fault_tick = std::max<size_t>(1, TickOf(fault_at_));
  std::vector<double> baseline(services, 1);
  for (int s = 0; s < services; ++s) {
    double sum = 0;
    for (size_t tick = 0; tick < fault_tick; ++tick) sum += requests_[s][tick];
    baseline[s] = std::max(1.0, sum / static_cast<double>(fault_tick));
  }
  for (size_t tick = 0; tick < ticks; ++tick) {
    const uint64_t t =
        std::min(end_, start_ + tick * kTick + Rng::Ns(rng_.Uniform(0, 40)));
    const double x = Fraction(t);
    for (int s = 0; s < services; ++s) {
      const ServiceSpec& service = topology_.services[s];
      if (service.database) {
        int connections = 6;
        for (int c = 0; c < services; ++c) {
          if (topology_.services[c].database_service == s) {
            connections += std::max(2, PoolActive(c, t));
          }
        }
        Gauge(s, 0, t, "cpu.utilization",
              std::clamp(service.base_cpu * (0.8 + 0.5 * x) +
                             0.4 * connections + rng_.Normal(0, 2),
                         1.0, 99.0),
              "%");
        Gauge(s, 0, t, "memory.usage",
              service.base_memory_mib * (1 + 0.04 * x) + rng_.Normal(0, 4),
              "MiB");
        Gauge(s, 0, t, "db.connections", connections, "{connection}");
        continue;
      }
      const double load = static_cast<double>(requests_[s][tick]) / baseline[s];
      const double saturation = PoolSaturation(s, t);
      for (int r = 0; r < service.replicas; ++r) {
        double cpu = service.base_cpu * (0.6 + 0.4 * load) + rng_.Normal(0, 2);
        double memory = MemoryMiB(s, r, t) + rng_.Normal(0, 4);
        if (Faulty(s)) {
          cpu += 12 * saturation + 35 * GcPressure(s, r, t);
          memory += 220 * saturation;
          if (options_.fault == FaultKind::kCpuContention && t >= fault_at_) {
            cpu = std::max(cpu, 60 + 38 * Ramp(t, fault_at_, 60 * kSecond) +
                                    rng_.Normal(0, 1.5));
          }
          if (!Available(s, r, t)) cpu = 2;
        }
        Gauge(s, r, t, "cpu.utilization", std::clamp(cpu, 1.0, 99.5), "%");
        Gauge(s, r, t, "memory.usage", std::max(16.0, memory), "MiB");
      }
      const double requests = requests_[s][tick];
      Gauge(s, -1, t, "http.server.request_rate",
            requests / static_cast<double>(kTick / kSecond), "req/s");
      Gauge(s, -1, t, "http.server.error_rate",
            requests == 0 ? 0 : 100.0 * server_errors_[s][tick] / requests,
            "%");
      if (!service.pool.empty()) {
        Gauge(s, -1, t, "db.pool.usage",
              100.0 * PoolActive(s, t) / std::max(1, PoolMax(s, t)), "%");
      }
    }
  }
}

}  // namespace traversion::scenario
