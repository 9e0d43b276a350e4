// The causality engine on generated incidents (include/traversion/
// scenario.h): every fault kind on the shop and on seeded layered graphs,
// each on fixed seeds. FindRootCause over the incident window must name the
// service the fault was injected into, and DetectPatterns must find the
// pattern the scenario's truth names.
//
// The window is what an on-call engineer would ask about: from two minutes
// before the first request that went wrong to the end of the recording.
// The engine's baseline is the history before it.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "support/test_support.h"
#include "traversion/causality.h"
#include "traversion/scenario.h"
#include "traversion/store.h"

namespace traversion {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;
// 2024-01-15T15:50:00Z
constexpr uint64_t kEnd = 1705333800ull * kSecond;

struct Case {
  FaultKind fault;
  TopologyKind topology;
  uint64_t seed;
};

struct Outcome {
  int rank = 0;  // of the true service among the candidates; 0: absent
  std::string top;
  bool pattern_found = false;
  std::string patterns;
  bool names_red_herring = false;  // the top candidate names one as cause
};

Outcome Analyse(const Case& c) {
  ScenarioOptions options;
  options.seed = c.seed;
  options.fault = c.fault;
  options.topology = c.topology;
  options.end_ns = kEnd;
  options.target_events = 12'000;
  absl::StatusOr<Scenario> scenario = GenerateScenario(options);
  EXPECT_TRUE(scenario.ok()) << scenario.status();
  if (!scenario.ok()) return {};
  testing::ScratchDir dir;
  StoreOptions store_options;
  store_options.sync = SyncMode::kNoSync;
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(dir.path(), store_options);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return {};
  EXPECT_TRUE((*store)->Write(scenario->events).ok());

  const ScenarioTruth& truth = scenario->truth;
  const uint64_t from =
      std::max(scenario->start_ns, truth.symptom_start_ns - 120 * kSecond);
  const uint64_t to = scenario->end_ns + 1;
  CausalityEngine engine;
  absl::StatusOr<RootCauseReport> report =
      engine.FindRootCause(**store, from, to);
  EXPECT_TRUE(report.ok()) << report.status();
  Outcome out;
  if (!report.ok()) return out;
  for (size_t i = 0; i < report->candidates.size(); ++i) {
    const RootCause& candidate = report->candidates[i];
    if (i == 0) {
      out.top = absl::StrCat(candidate.kind, " ", candidate.name);
      out.names_red_herring =
          candidate.kind == "entity" &&
          std::find(truth.red_herring_entities.begin(),
                    truth.red_herring_entities.end(),
                    candidate.name) != truth.red_herring_entities.end();
    }
    const bool names_it = candidate.service == truth.root_cause_service ||
                          candidate.name == truth.root_cause_service;
    if (names_it && out.rank == 0) out.rank = static_cast<int>(i) + 1;
  }
  absl::StatusOr<std::vector<PatternOccurrence>> patterns =
      engine.DetectPatterns(**store, from, to);
  EXPECT_TRUE(patterns.ok()) << patterns.status();
  if (patterns.ok()) {
    for (const PatternOccurrence& p : *patterns) {
      absl::StrAppend(&out.patterns, p.pattern, "(", p.key, ") ");
      if (p.pattern == truth.pattern && p.key == truth.root_cause_service) {
        out.pattern_found = true;
      }
    }
  }
  return out;
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (FaultKind fault : AllFaultKinds()) {
    for (TopologyKind topology :
         {TopologyKind::kShop, TopologyKind::kLayered}) {
      for (uint64_t seed : {1u, 2u, 3u})
        cases.push_back({fault, topology, seed});
    }
  }
  return cases;
}

// 42 incidents: 7 faults x 2 topologies x 3 seeds. Thresholds, not every
// case: the red herrings are there to fool an analysis now and then (a
// harmless change close before the fault on the same service does). The
// table of every case is printed, and shown again on failure.
TEST(CausalityScenarioTest, RootCauseAccuracyOnEveryFault) {
  int top1 = 0, top3 = 0, patterns = 0, red_herrings = 0, total = 0;
  std::string table;
  for (const Case& c : AllCases()) {
    const Outcome out = Analyse(c);
    ++total;
    top1 += out.rank == 1;
    top3 += out.rank >= 1 && out.rank <= 3;
    patterns += out.pattern_found;
    red_herrings += out.names_red_herring;
    absl::StrAppendFormat(
        &table,
        "%-18s %-8s seed %d: rank %d (top: %s)%s%s; patterns: "
        "%s\n",
        FaultKindName(c.fault), TopologyKindName(c.topology), c.seed, out.rank,
        out.top, out.names_red_herring ? " NAMES A RED HERRING" : "",
        out.pattern_found ? "" : " PATTERN MISSED", out.patterns);
  }
  absl::StrAppendFormat(&table,
                        "AC@1 %d/%d, AC@3 %d/%d, pattern %d/%d, red herring "
                        "named first %d/%d\n",
                        top1, total, top3, total, patterns, total, red_herrings,
                        total);
  std::fputs(table.c_str(), stdout);
  EXPECT_GE(top1, total * 95 / 100) << table;
  EXPECT_GE(top3, total * 95 / 100) << table;
  EXPECT_GE(patterns, total * 75 / 100) << table;
  // The right service with a harmless change as its explanation misleads:
  // rare, but it happens (a cache node removed 86 s before an OOM cascade
  // on the same service).
  EXPECT_LE(red_herrings, total * 10 / 100) << table;
}

// The incident of `traversion demo`: the engine must name payments-service
// first and find the pool exhaustion.
TEST(CausalityScenarioTest, TheDemoIncidentIsExplained) {
  const Outcome out =
      Analyse({FaultKind::kPoolExhaustion, TopologyKind::kShop, 1});
  EXPECT_EQ(out.rank, 1) << out.top;
  // Not just the service: the change that started it (the pool shrunk by
  // a config change), though one slow pool acquisition came before it.
  EXPECT_EQ(out.top, "entity config/payments-service");
  EXPECT_TRUE(out.pattern_found) << out.patterns;
}

}  // namespace
}  // namespace traversion
