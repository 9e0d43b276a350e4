// The condition of each service over time: what the fault does to it, and
// the planned moments of the incident and of the red herrings.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "scenario/simulator.h"
#include "scenario/topology.h"

namespace traversion::scenario {
namespace {

// Picks a service for a red herring: the first of `preferred` (shop) that is
// not excluded, else one drawn from the seed among the inner services.
int PickOther(const Topology& topology, Rng& rng,
              const std::vector<std::string>& preferred,
              const std::vector<int>& excluded) {
  auto allowed = [&](int s) {
    const ServiceSpec& service = topology.services[s];
    return !service.database &&
           std::find(excluded.begin(), excluded.end(), s) == excluded.end();
  };
  for (const std::string& name : preferred) {
    for (int s = 0; s < static_cast<int>(topology.services.size()); ++s) {
      if (topology.services[s].name == name && allowed(s)) return s;
    }
  }
  std::vector<int> candidates;
  for (int s = 0; s < static_cast<int>(topology.services.size()); ++s) {
    if (allowed(s)) candidates.push_back(s);
  }
  if (candidates.empty()) return -1;
  return candidates[rng.Below(candidates.size())];
}

}  // namespace

double Simulator::Ramp(uint64_t t, uint64_t from, uint64_t length) {
  if (t <= from) return 0;
  if (length == 0 || t - from >= length) return 1;
  return static_cast<double>(t - from) / static_cast<double>(length);
}

void Simulator::PlanIncident() {
  const double f = options_.fault_at_fraction;
  const bool shop = topology_.kind == TopologyKind::kShop;
  if (options_.red_herrings) {
    // A harmless deployment, then a harmless config change closer to the
    // fault, each on another service; an early burst of errors on a third.
    herring_deploy_ = PickOther(
        topology_, rng_,
        shop ? std::vector<std::string>{"inventory-service", "web-frontend"}
             : std::vector<std::string>{},
        {fault_});
    if (herring_deploy_ >= 0) {
      Rollout rollout;
      rollout.service = herring_deploy_;
      rollout.start_ns = At(f * 0.55) + 2300 * kMs;
      rollout.switch_ns = {rollout.start_ns + 8 * kSecond,
                           rollout.start_ns + 31 * kSecond};
      rollouts_.push_back(rollout);
    }
    herring_config_ =
        PickOther(topology_, rng_,
                  shop ? std::vector<std::string>{"api-gateway", "web-frontend"}
                       : std::vector<std::string>{},
                  {fault_, herring_deploy_});
    herring_config_at_ = At(f * 0.8) + 1100 * kMs;
    burst_service_ = PickOther(
        topology_, rng_,
        shop ? std::vector<std::string>{"inventory-service", "orders-service",
                                        "payments-service"}
             : std::vector<std::string>{},
        {fault_});
    burst_at_ = At(f * 0.25) + 4200 * kMs;
    if (shop) cache_removed_at_ = At(f * 0.82) + 3100 * kMs;
  }
  switch (options_.fault) {
    case FaultKind::kPoolExhaustion: {
      // The pool shrinks to what demand will have reached 60 % of the way
      // from the change to the end: it runs dry gradually, not at once.
      const ServiceSpec& service = topology_.services[fault_];
      const uint64_t full = fault_at_ + (end_ - fault_at_) * 6 / 10;
      const double demand =
          service.pool_base_active * (1 + 2.25 * Fraction(full));
      pool_max_after_ = std::clamp(static_cast<int>(std::ceil(demand)), 3,
                                   std::max(3, service.pool_max - 5));
      break;
    }
    case FaultKind::kDependencyErrors:
      disk_full_ = rng_.Chance(0.5);
      break;
    case FaultKind::kMemoryLeakOom: {
      const ServiceSpec& service = topology_.services[fault_];
      const uint64_t left = end_ - fault_at_;
      for (int r = 0; r < service.replicas; ++r) {
        // The replicas leak at different speeds: the first is killed about
        // 40 % of the way to the end, the second later.
        const double share = (r == 0 ? 0.38 : 0.62) * rng_.Uniform(0.9, 1.1);
        const uint64_t to_limit = std::max<uint64_t>(
            20 * kSecond,
            static_cast<uint64_t>(share * static_cast<double>(left)));
        uint64_t leak_from = fault_at_;
        while (leak_from + to_limit < end_) {
          OomKill kill;
          kill.replica = r;
          kill.leak_from_ns = leak_from;
          kill.kill_ns = leak_from + to_limit;
          kill.restart_ns =
              kill.kill_ns + static_cast<uint64_t>(rng_.Uniform(18, 30) * 1e9);
          kill.peak_mib = service.memory_limit_mib;
          oom_kills_.push_back(kill);
          leak_from = kill.restart_ns;
        }
      }
      std::sort(oom_kills_.begin(), oom_kills_.end(),
                [](const OomKill& a, const OomKill& b) {
                  return a.kill_ns < b.kill_ns;
                });
      break;
    }
    case FaultKind::kRetryStorm:
      for (const ServiceSpec& service : topology_.services) {
        for (const Endpoint& e : service.endpoints) {
          for (const DownstreamCall& c : e.calls) {
            if (c.service != fault_) continue;
            const int caller =
                static_cast<int>(&service - &topology_.services[0]);
            if (std::find(storm_callers_.begin(), storm_callers_.end(),
                          caller) == storm_callers_.end()) {
              storm_callers_.push_back(caller);
            }
          }
        }
      }
      break;
    case FaultKind::kBadDeploy: {
      Rollout rollout;
      rollout.service = fault_;
      rollout.start_ns = fault_at_;
      rollout.switch_ns = {fault_at_ + 12 * kSecond, fault_at_ + 38 * kSecond};
      rollouts_.push_back(rollout);
      break;
    }
    default:
      break;
  }
}

// --- connection pools
// ---------------------------------------------------------

int Simulator::PoolMax(int s, uint64_t t) const {
  const ServiceSpec& service = topology_.services[s];
  if (Faulty(s) && options_.fault == FaultKind::kPoolExhaustion &&
      t >= fault_at_) {
    return pool_max_after_;
  }
  return service.pool_max;
}

// Connections the service wants: grows with traffic and with longer
// transactions over the window.
static double PoolDemand(const ServiceSpec& service, double x) {
  return service.pool_base_active * (1 + 2.25 * x);
}

double Simulator::PoolSaturation(int s, uint64_t t) const {
  if (!Faulty(s) || options_.fault != FaultKind::kPoolExhaustion ||
      t < fault_at_) {
    return 0;
  }
  const double headroom_left =
      PoolDemand(topology_.services[s], Fraction(t)) - (PoolMax(s, t) - 3);
  return std::clamp(headroom_left / 3.0, 0.0, 1.0);
}

int Simulator::PoolActive(int s, uint64_t t) const {
  const ServiceSpec& service = topology_.services[s];
  if (service.pool.empty()) return 0;
  const double x = Fraction(t);
  if (Faulty(s) && options_.fault == FaultKind::kPoolExhaustion) {
    return std::min(PoolMax(s, t), static_cast<int>(PoolDemand(service, x) +
                                                    4 * PoolSaturation(s, t)));
  }
  // A healthy pool: a few connections, following the traffic.
  const int wobble = static_cast<int>((TickOf(t) / 7) % 2);
  return std::min(
      service.pool_max,
      static_cast<int>(std::lround(service.pool_base_active * (1 + 0.5 * x))) +
          wobble);
}

int Simulator::PoolWaiting(int s, uint64_t t) const {
  if (PoolActive(s, t) < PoolMax(s, t)) return 0;
  return static_cast<int>(std::lround(PoolSaturation(s, t) * 8));
}

// --- latency
// --------------------------------------------------------------------

double Simulator::DbSlowdown(int s, uint64_t t) const {
  if (!Faulty(s) || options_.fault != FaultKind::kSlowDependency) return 1;
  // Lock waits on the service's tables: queries of a few milliseconds take
  // most of a second once it has built up.
  return 1 + 180 * Ramp(t, fault_at_, 90 * kSecond);
}

// How hard the retry storm presses on the faulty service: a hiccup of 20 s,
// then the retries keep it overloaded.
static double StormIntensity(uint64_t t, uint64_t fault_at) {
  if (t < fault_at) return 0;
  if (t < fault_at + 20 * kSecond) return 0.7;
  const uint64_t from = fault_at + 20 * kSecond;
  const double ramp = t >= from + 120 * kSecond
                          ? 1
                          : static_cast<double>(t - from) / (120.0 * 1e9);
  return 0.3 + 0.3 * ramp;
}

double Simulator::SelfSlowdown(int s, int replica, uint64_t t) const {
  if (!Faulty(s)) return 1;
  switch (options_.fault) {
    case FaultKind::kCpuContention:
      return 1 + 14 * Ramp(t, fault_at_, 60 * kSecond);
    case FaultKind::kMemoryLeakOom: {
      const double gc = GcPressure(s, replica, t);
      return 1 + 8 * gc * gc;
    }
    case FaultKind::kRetryStorm:
      return 1 + 2 * StormIntensity(t, fault_at_);
    default:
      return 1;
  }
}

double Simulator::QueueWaitMs(int s, int replica, uint64_t t) const {
  if (!Faulty(s)) return 0;
  switch (options_.fault) {
    case FaultKind::kCpuContention:
      return 700 * Ramp(t, fault_at_, 60 * kSecond);
    case FaultKind::kMemoryLeakOom:
      return 300 * GcPressure(s, replica, t);
    case FaultKind::kRetryStorm:
      return 250 * StormIntensity(t, fault_at_);
    default:
      return 0;
  }
}

// --- failures
// -------------------------------------------------------------------

double Simulator::FaultFailureProbability(int s, int replica, int endpoint,
                                          uint64_t t) const {
  if (!Faulty(s)) return 0;
  switch (options_.fault) {
    case FaultKind::kDependencyErrors:
      return 0.5 * Ramp(t, fault_at_, 45 * kSecond);
    case FaultKind::kBadDeploy:
      // The new code path is on the first endpoint; the others fail less.
      if (Generation(s, replica, t) == 0) return 0;
      return endpoint == 0 ? 0.6 : 0.2;
    case FaultKind::kRetryStorm:
      return StormIntensity(t, fault_at_);
    case FaultKind::kMemoryLeakOom:
      // Close to the limit, allocations start to fail before the kernel
      // kills the process.
      return 0.5 * std::max(0.0, GcPressure(s, replica, t) - 0.2) / 0.8;
    default:
      return 0;
  }
}

FailureKind Simulator::FaultFailureKind() const {
  switch (options_.fault) {
    case FaultKind::kDependencyErrors:
      return disk_full_ ? FailureKind::kDiskFull : FailureKind::kNoDescriptors;
    case FaultKind::kBadDeploy:
      return FailureKind::kBadCode;
    case FaultKind::kRetryStorm:
      return FailureKind::kOverloaded;
    case FaultKind::kPoolExhaustion:
      return FailureKind::kPoolTimeout;
    case FaultKind::kMemoryLeakOom:
      return FailureKind::kOutOfMemory;
    default:
      return FailureKind::kNone;
  }
}

double Simulator::BurstProbability(int s, uint64_t t) const {
  if (s != burst_service_ || t < burst_at_ || t >= burst_at_ + 15 * kSecond) {
    return 0;
  }
  return 0.25;
}

// --- replicas
// -------------------------------------------------------------------

bool Simulator::Available(int s, int replica, uint64_t t) const {
  if (!Faulty(s)) return true;
  for (const OomKill& kill : oom_kills_) {
    if (kill.replica == replica && t >= kill.kill_ns && t < kill.restart_ns) {
      return false;
    }
  }
  return true;
}

double Simulator::MemoryMiB(int s, int replica, uint64_t t) const {
  const ServiceSpec& service = topology_.services[s];
  const double healthy = service.base_memory_mib * (1 + 0.04 * Fraction(t));
  if (!Faulty(s) || options_.fault != FaultKind::kMemoryLeakOom ||
      t < fault_at_) {
    return healthy;
  }
  // The leak since the last (re)start, at this replica's rate.
  uint64_t leak_from = fault_at_;
  uint64_t to_limit = 0;
  for (const OomKill& kill : oom_kills_) {
    if (kill.replica != replica) continue;
    to_limit = kill.kill_ns - kill.leak_from_ns;
    if (t >= kill.restart_ns) {
      leak_from = kill.restart_ns;
      continue;
    }
    if (t >= kill.kill_ns) return service.base_memory_mib * 0.3;  // starting
    leak_from = kill.leak_from_ns;
    break;
  }
  if (to_limit == 0) {
    // No kill of this replica in the window: leak towards one after it.
    to_limit = (end_ - fault_at_) * 2;
  }
  const double slope = (service.memory_limit_mib * 0.98 - healthy) /
                       static_cast<double>(to_limit);
  return healthy + slope * static_cast<double>(t - leak_from);
}

double Simulator::GcPressure(int s, int replica, uint64_t t) const {
  if (!Faulty(s) || options_.fault != FaultKind::kMemoryLeakOom) return 0;
  const double used =
      MemoryMiB(s, replica, t) / topology_.services[s].memory_limit_mib;
  return std::clamp((used - 0.75) / 0.23, 0.0, 1.0);
}

int Simulator::Generation(int s, int replica, uint64_t t) const {
  for (const Rollout& rollout : rollouts_) {
    if (rollout.service == s &&
        t >= rollout.switch_ns[static_cast<size_t>(replica) % 2]) {
      return 1;
    }
  }
  return 0;
}

std::string Simulator::Version(int s, int replica, uint64_t t) const {
  const ServiceSpec& service = topology_.services[s];
  return Generation(s, replica, t) > 0 ? service.next_version : service.version;
}

std::string Simulator::Pod(int s, int replica, uint64_t t) const {
  return PodName(topology_.services[s], replica, Generation(s, replica, t));
}

int Simulator::Restarts(int s, int replica, uint64_t t) const {
  if (!Faulty(s)) return 0;
  int restarts = 0;
  for (const OomKill& kill : oom_kills_) {
    if (kill.replica == replica && kill.kill_ns <= t) ++restarts;
  }
  return restarts;
}

bool Simulator::IsFaultRelated(FailureKind kind) const {
  return kind != FailureKind::kNone && kind != FailureKind::kConnectionReset &&
         kind != FailureKind::kBackground && kind != FailureKind::kUpstream;
}

}  // namespace traversion::scenario
