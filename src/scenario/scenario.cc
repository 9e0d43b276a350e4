// The public face of the scenario generator: names, options, and
// GenerateScenario().
#include "traversion/scenario.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "scenario/rng.h"
#include "scenario/simulator.h"
#include "scenario/topology.h"

namespace traversion {
namespace {

constexpr absl::string_view kFaultNames[kFaultKindCount] = {
    "pool_exhaustion", "slow_dependency", "dependency_errors", "cpu_contention",
    "memory_leak_oom", "retry_storm",     "bad_deploy"};

}  // namespace

absl::string_view FaultKindName(FaultKind fault) {
  const auto i = static_cast<size_t>(fault);
  return i < kFaultKindCount ? kFaultNames[i] : "unknown";
}

std::optional<FaultKind> ParseFaultKind(absl::string_view name) {
  for (size_t i = 0; i < kFaultKindCount; ++i) {
    if (kFaultNames[i] == name) return static_cast<FaultKind>(i);
  }
  return std::nullopt;
}

const std::vector<FaultKind>& AllFaultKinds() {
  static const std::vector<FaultKind>* const kAll = [] {
    auto* all = new std::vector<FaultKind>;
    for (size_t i = 0; i < kFaultKindCount; ++i) {
      all->push_back(static_cast<FaultKind>(i));
    }
    return all;
  }();
  return *kAll;
}

absl::string_view TopologyKindName(TopologyKind topology) {
  return topology == TopologyKind::kShop ? "shop" : "layered";
}

std::optional<TopologyKind> ParseTopologyKind(absl::string_view name) {
  if (name == "shop") return TopologyKind::kShop;
  if (name == "layered") return TopologyKind::kLayered;
  return std::nullopt;
}

absl::StatusOr<Scenario> GenerateScenario(const ScenarioOptions& options) {
  using scenario::kSecond;
  if (options.end_ns == 0) {
    return absl::InvalidArgumentError("ScenarioOptions::end_ns is required");
  }
  if (options.duration_ns < 60 * kSecond ||
      options.duration_ns > options.end_ns) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ScenarioOptions::duration_ns must be at least one minute and end "
        "after the Unix epoch; got ",
        options.duration_ns, " ns"));
  }
  if (options.duration_ns > uint64_t{7} * 24 * 3600 * kSecond) {
    return absl::InvalidArgumentError(
        "ScenarioOptions::duration_ns is at most a week");
  }
  if (!(options.fault_at_fraction >= 0.2 && options.fault_at_fraction <= 0.9)) {
    return absl::InvalidArgumentError(
        "ScenarioOptions::fault_at_fraction must be within 0.2..0.9");
  }
  if (static_cast<size_t>(options.fault) >= kFaultKindCount) {
    return absl::InvalidArgumentError("unknown ScenarioOptions::fault");
  }
  if (options.topology == TopologyKind::kLayered &&
      (options.services < 4 || options.services > 40)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ScenarioOptions::services must be within 4..40; got ",
                     options.services));
  }
  // The graph and the choice of the faulty service draw from their own
  // stream, so they stay the same whatever the simulation does.
  scenario::Rng shape_rng(options.seed ^ 0x5ca1ab1e0ddba11ull);
  scenario::Topology topology =
      options.topology == TopologyKind::kShop
          ? scenario::BuildShop()
          : scenario::BuildLayered(options.services, shape_rng);
  const int count = static_cast<int>(topology.services.size());
  int fault = -1;
  if (!options.fault_service.empty()) {
    for (int s = 0; s < count; ++s) {
      if (topology.services[s].name == options.fault_service) fault = s;
    }
    if (fault < 0) {
      std::vector<std::string> names;
      for (const scenario::ServiceSpec& s : topology.services) {
        names.push_back(s.name);
      }
      return absl::InvalidArgumentError(
          absl::StrCat("no service '", options.fault_service, "' in the ",
                       TopologyKindName(options.topology),
                       " topology; it has: ", absl::StrJoin(names, ", ")));
    }
    if (!scenario::CanHaveFault(topology, fault, options.fault)) {
      return absl::InvalidArgumentError(
          absl::StrCat("service '", options.fault_service,
                       "' cannot have fault ", FaultKindName(options.fault),
                       options.fault == FaultKind::kPoolExhaustion
                           ? " (it has no connection pool)"
                       : options.fault == FaultKind::kSlowDependency
                           ? " (it queries no database)"
                           : " (it is the entry point or a database)"));
    }
  } else if (topology
                 .canonical_fault_service[static_cast<int>(options.fault)] >=
             0) {
    fault = topology.canonical_fault_service[static_cast<int>(options.fault)];
  } else {
    // Below the gateway when possible, so the cascade has room to show.
    std::vector<int> candidates;
    for (int pass = 0; pass < 2 && candidates.empty(); ++pass) {
      for (int s = 0; s < count; ++s) {
        if (scenario::CanHaveFault(topology, s, options.fault) &&
            (pass == 1 || topology.services[s].layer >= 2)) {
          candidates.push_back(s);
        }
      }
    }
    if (candidates.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("no service of this graph can have fault ",
                       FaultKindName(options.fault)));
    }
    fault = candidates[shape_rng.Below(candidates.size())];
  }
  scenario::Simulator simulator(options, std::move(topology), fault);
  return simulator.Run();
}

}  // namespace traversion
