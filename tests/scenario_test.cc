// The scenario generator: determinism, valid events that the store accepts,
// and a ground truth that the events bear out — every fault kind on both
// topologies, on several seeds.
#include "traversion/scenario.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "support/test_support.h"
#include "traversion/event.h"
#include "traversion/event_codec.h"
#include "traversion/store.h"

namespace traversion {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;
// 2024-01-15T15:50:00Z
constexpr uint64_t kEnd = 1705333800ull * kSecond;

ScenarioOptions Options(FaultKind fault, TopologyKind topology, uint64_t seed,
                        size_t events = 12'000) {
  ScenarioOptions options;
  options.seed = seed;
  options.fault = fault;
  options.topology = topology;
  options.end_ns = kEnd;
  options.target_events = events;
  return options;
}

Scenario Generate(const ScenarioOptions& options) {
  absl::StatusOr<Scenario> scenario = GenerateScenario(options);
  EXPECT_TRUE(scenario.ok()) << scenario.status();
  return scenario.ok() ? *std::move(scenario) : Scenario{};
}

bool IsFailedServerSpan(const Event& e) {
  const SpanData* span = e.span();
  return span != nullptr && span->kind == SpanKind::kServer &&
         span->status == SpanStatus::kError;
}

// Per service: server spans and failed ones in [from, to).
struct Rates {
  std::map<std::string, uint64_t> spans, failed;
  std::map<std::string, uint64_t> duration_sum;  // server spans, ns
};
Rates RatesIn(const Scenario& scenario, uint64_t from, uint64_t to) {
  Rates rates;
  for (const Event& e : scenario.events) {
    if (e.time_ns < from || e.time_ns >= to) continue;
    const SpanData* span = e.span();
    if (span == nullptr || span->kind != SpanKind::kServer) continue;
    ++rates.spans[e.service.name];
    rates.duration_sum[e.service.name] += span->duration_ns;
    if (IsFailedServerSpan(e)) ++rates.failed[e.service.name];
  }
  return rates;
}

double Share(const std::map<std::string, uint64_t>& part,
             const std::map<std::string, uint64_t>& whole,
             const std::string& key) {
  auto w = whole.find(key);
  if (w == whole.end() || w->second == 0) return 0;
  auto p = part.find(key);
  return p == part.end()
             ? 0
             : static_cast<double>(p->second) / static_cast<double>(w->second);
}

double MeanMs(const Rates& rates, const std::string& service) {
  auto n = rates.spans.find(service);
  if (n == rates.spans.end() || n->second == 0) return 0;
  return static_cast<double>(rates.duration_sum.at(service)) / 1e6 /
         static_cast<double>(n->second);
}

// The mean of a gauge of a service in [from, to); -1 if none.
double GaugeMean(const Scenario& scenario, const std::string& service,
                 const std::string& name, uint64_t from, uint64_t to) {
  double sum = 0;
  int n = 0;
  for (const Event& e : scenario.events) {
    if (e.time_ns < from || e.time_ns >= to || e.service.name != service ||
        e.name != name || e.metric() == nullptr) {
      continue;
    }
    sum += e.metric()->value;
    ++n;
  }
  return n == 0 ? -1 : sum / n;
}

// The deepest-layer share of error events of the truth's error type.
uint64_t CountErrors(const Scenario& scenario, const std::string& service,
                     const std::string& type, uint64_t from, uint64_t to) {
  uint64_t n = 0;
  for (const Event& e : scenario.events) {
    if (e.time_ns >= from && e.time_ns < to && e.service.name == service &&
        e.error() != nullptr && e.error()->exception_type == type) {
      ++n;
    }
  }
  return n;
}

TEST(ScenarioNames, RoundTrip) {
  EXPECT_EQ(AllFaultKinds().size(), static_cast<size_t>(kFaultKindCount));
  for (FaultKind fault : AllFaultKinds()) {
    EXPECT_EQ(ParseFaultKind(FaultKindName(fault)), fault);
  }
  EXPECT_EQ(ParseFaultKind("retry_storm"), FaultKind::kRetryStorm);
  EXPECT_FALSE(ParseFaultKind("Retry_Storm").has_value());
  EXPECT_FALSE(ParseFaultKind("").has_value());
  EXPECT_EQ(ParseTopologyKind("shop"), TopologyKind::kShop);
  EXPECT_EQ(ParseTopologyKind("layered"), TopologyKind::kLayered);
  EXPECT_FALSE(ParseTopologyKind("mesh").has_value());
}

TEST(ScenarioOptionsCheck, BadOptionsAreInvalidArgument) {
  ScenarioOptions options =
      Options(FaultKind::kPoolExhaustion, TopologyKind::kShop, 1);
  options.end_ns = 0;
  EXPECT_EQ(GenerateScenario(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = Options(FaultKind::kPoolExhaustion, TopologyKind::kShop, 1);
  options.duration_ns = 30 * kSecond;
  EXPECT_EQ(GenerateScenario(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = Options(FaultKind::kPoolExhaustion, TopologyKind::kShop, 1);
  options.fault_at_fraction = 0.95;
  EXPECT_EQ(GenerateScenario(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = Options(FaultKind::kPoolExhaustion, TopologyKind::kLayered, 1);
  options.services = 3;
  EXPECT_EQ(GenerateScenario(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = Options(FaultKind::kPoolExhaustion, TopologyKind::kShop, 1);
  options.fault_service = "no-such-service";
  absl::Status status = GenerateScenario(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("payments-service"), std::string::npos)
      << status;
  // web-frontend is the entry; api-gateway has no pool.
  options.fault_service = "web-frontend";
  EXPECT_EQ(GenerateScenario(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.fault_service = "api-gateway";
  status = GenerateScenario(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("no connection pool"), std::string::npos);
  options.fault_service = "orders-service";
  EXPECT_TRUE(GenerateScenario(options).ok());
}

TEST(Scenario, SameOptionsSameEventsIdsIncluded) {
  for (TopologyKind topology : {TopologyKind::kShop, TopologyKind::kLayered}) {
    ScenarioOptions options =
        Options(FaultKind::kRetryStorm, topology, 11, 6'000);
    Scenario a = Generate(options);
    Scenario b = Generate(options);
    ASSERT_EQ(a.events.size(), b.events.size());
    for (size_t i = 0; i < a.events.size(); ++i) {
      ASSERT_EQ(a.events[i], b.events[i]) << "event " << i;
    }
    EXPECT_EQ(a.services, b.services);
    EXPECT_EQ(a.truth.affected_services, b.truth.affected_services);
    EXPECT_EQ(a.truth.symptom_start_ns, b.truth.symptom_start_ns);
    options.seed = 12;
    Scenario c = Generate(options);
    EXPECT_FALSE(c.events.size() == a.events.size() &&
                 std::equal(a.events.begin(), a.events.end(), c.events.begin()))
        << "seeds 11 and 12 gave the same events";
  }
}

TEST(Scenario, LayeredGraphsDifferBySeedAndHaveTheRequestedSize) {
  std::set<std::vector<std::string>> shapes;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    ScenarioOptions options = Options(FaultKind::kCpuContention,
                                      TopologyKind::kLayered, seed, 15'000);
    options.services = 6 + 2 * seed;
    Scenario s = Generate(options);
    size_t spans = 0;
    std::set<std::string> emitting;
    for (const Event& e : s.events) {
      if (e.span() != nullptr && e.span()->kind == SpanKind::kServer) {
        emitting.insert(e.service.name);
        ++spans;
      }
    }
    EXPECT_EQ(emitting.size(), options.services) << "seed " << seed;
    EXPECT_GT(spans, 0u);
    shapes.insert(s.services);
    // Every call edge is used by some trace (a span whose parent is on the
    // caller), so the call graph is what the spans show.
    for (const ScenarioCall& call : s.calls) {
      EXPECT_TRUE(std::find(s.services.begin(), s.services.end(),
                            call.callee) != s.services.end());
    }
  }
  EXPECT_EQ(shapes.size(), 4u);
}

TEST(Scenario, TargetEventsIsHonoured) {
  for (size_t target : {4'000u, 20'000u}) {
    Scenario s = Generate(
        Options(FaultKind::kPoolExhaustion, TopologyKind::kShop, 1, target));
    EXPECT_GE(s.events.size(), target * 95 / 100);
    EXPECT_LE(s.events.size(), target * 105 / 100);
  }
}

// Structural checks that hold for every scenario.
void CheckWellFormed(const Scenario& s, const std::string& label) {
  ASSERT_FALSE(s.events.empty()) << label;
  absl::flat_hash_set<EventId> ids;
  absl::flat_hash_map<std::string, const Event*> spans;  // trace+span -> span
  auto key = [](const TraceId& t, const SpanId& sp) {
    return absl::StrCat(ToHex(t), ToHex(sp));
  };
  for (size_t i = 0; i < s.events.size(); ++i) {
    const Event& e = s.events[i];
    ASSERT_TRUE(ValidateEvent(e).ok()) << label << ": " << ValidateEvent(e);
    ASSERT_FALSE(e.id.empty());
    ASSERT_EQ(e.id.time_ns, e.time_ns);
    ASSERT_TRUE(ids.insert(e.id).second) << label << ": duplicate id";
    if (i > 0) {
      ASSERT_LT(s.events[i - 1].id, e.id) << label;
    }
    ASSERT_GE(e.time_ns, s.start_ns) << label;
    ASSERT_LE(e.time_ns, s.end_ns) << label;
    ASSERT_FALSE(e.service.name.empty());
    if (e.span() != nullptr) {
      ASSERT_LE(e.time_ns + e.span()->duration_ns, s.end_ns + 10 * kSecond)
          << label;
      spans[key(e.trace.trace_id, e.trace.span_id)] = &e;
    }
  }
  // Every parent link and every log or error inside a span points at a span
  // of the same trace that encloses it in time.
  for (const Event& e : s.events) {
    if (!e.trace.has_trace()) continue;
    if (e.span() != nullptr && e.trace.has_parent()) {
      auto parent = spans.find(key(e.trace.trace_id, e.trace.parent_span_id));
      ASSERT_NE(parent, spans.end()) << label << ": orphan span " << e.name;
      ASSERT_LE(parent->second->time_ns, e.time_ns) << label << " " << e.name;
    }
    if (e.span() == nullptr) {
      auto owner = spans.find(key(e.trace.trace_id, e.trace.span_id));
      ASSERT_NE(owner, spans.end()) << label << ": log outside any span";
      ASSERT_GE(e.time_ns, owner->second->time_ns) << label << " " << e.name;
      ASSERT_LE(e.time_ns,
                owner->second->time_ns + owner->second->span()->duration_ns)
          << label << ": " << e.name << " after its span ended";
    }
  }
}

// The truth is borne out by the events: the fault's evidence is on its
// service and only after it started, and symptoms spread upstream.
void CheckTruth(const Scenario& s, const ScenarioOptions& options,
                const std::string& label) {
  const ScenarioTruth& t = s.truth;
  const std::string& root = t.root_cause_service;
  EXPECT_EQ(t.fault, options.fault) << label;
  EXPECT_FALSE(t.pattern.empty()) << label;
  ASSERT_TRUE(std::find(s.services.begin(), s.services.end(), root) !=
              s.services.end())
      << label;
  EXPECT_GT(t.fault_start_ns, s.start_ns) << label;
  EXPECT_LT(t.fault_start_ns, s.end_ns) << label;
  ASSERT_GT(t.symptom_start_ns, 0u) << label << ": the fault hurt nobody";
  EXPECT_GE(t.symptom_start_ns, t.fault_start_ns) << label;
  EXPECT_LT(t.symptom_start_ns, s.end_ns) << label;
  ASSERT_FALSE(t.affected_services.empty());
  EXPECT_EQ(t.affected_services[0], root) << label;
  EXPECT_GE(t.affected_services.size(), 2u)
      << label << ": the fault did not spread upstream";
  for (const std::string& herring : t.red_herring_entities) {
    EXPECT_NE(herring, t.root_cause_entity) << label;
  }
  EXPECT_GE(t.red_herrings.size(), 2u) << label;

  // Before / after: the window before the fault against the last 40 % of
  // the window after it.
  const uint64_t before_from = s.start_ns;
  const uint64_t before_to = t.fault_start_ns;
  const uint64_t after_from =
      t.fault_start_ns + (s.end_ns - t.fault_start_ns) * 6 / 10;
  const Rates before = RatesIn(s, before_from, before_to);
  const Rates after = RatesIn(s, after_from, s.end_ns);

  // The callers' requests that went to the root are hurt: more of them
  // fail, or they are slower.
  {
    absl::flat_hash_map<std::string, const Event*> by_span;
    for (const Event& e : s.events) {
      if (e.span() != nullptr) {
        by_span[absl::StrCat(ToHex(e.trace.trace_id), ToHex(e.trace.span_id))] =
            &e;
      }
    }
    absl::flat_hash_set<const Event*> callers;
    for (const Event& e : s.events) {
      if (e.service.name != root || e.span() == nullptr ||
          e.span()->kind != SpanKind::kServer || !e.trace.has_parent()) {
        continue;
      }
      auto parent = by_span.find(
          absl::StrCat(ToHex(e.trace.trace_id), ToHex(e.trace.parent_span_id)));
      if (parent != by_span.end()) callers.insert(parent->second);
    }
    // A refused connection leaves no span on the root, only the caller's
    // log naming it.
    for (const Event& e : s.events) {
      if (e.log() == nullptr || e.service.name == root ||
          e.log()->body.find(root) == std::string::npos) {
        continue;
      }
      auto owner = by_span.find(
          absl::StrCat(ToHex(e.trace.trace_id), ToHex(e.trace.span_id)));
      if (owner != by_span.end()) callers.insert(owner->second);
    }
    double n[2] = {0, 0}, failed[2] = {0, 0}, ms[2] = {0, 0};
    for (const Event* c : callers) {
      int phase = c->time_ns < before_to     ? 0
                  : c->time_ns >= after_from ? 1
                                             : -1;
      if (phase < 0) continue;
      n[phase] += 1;
      failed[phase] += IsFailedServerSpan(*c) ? 1 : 0;
      ms[phase] += static_cast<double>(c->span()->duration_ns) / 1e6;
    }
    ASSERT_GT(n[0], 0) << label;
    ASSERT_GT(n[1], 0) << label;
    const bool failing = failed[1] / n[1] > failed[0] / n[0] + 0.03;
    const bool slower = ms[1] / n[1] > 1.5 * ms[0] / n[0];
    EXPECT_TRUE(failing || slower)
        << label << ": callers of the root failed " << failed[1] / n[1]
        << " vs " << failed[0] / n[0] << ", mean " << ms[1] / n[1] << " ms vs "
        << ms[0] / n[0];
  }

  // Fault-specific evidence on the root-cause service, none before.
  switch (options.fault) {
    case FaultKind::kPoolExhaustion:
    case FaultKind::kDependencyErrors:
    case FaultKind::kRetryStorm:
    case FaultKind::kBadDeploy:
    case FaultKind::kMemoryLeakOom: {
      ASSERT_FALSE(t.error_type.empty()) << label;
      EXPECT_EQ(
          CountErrors(s, root, t.error_type, s.start_ns, t.fault_start_ns), 0u)
          << label << ": " << t.error_type << " before the fault";
      // (Out of memory fails only the requests that arrive near the limit:
      // a service with little traffic may have none.)
      EXPECT_GE(CountErrors(s, root, t.error_type, t.fault_start_ns, s.end_ns),
                options.fault == FaultKind::kMemoryLeakOom ? 0u : 10u)
          << label;
      // Nobody else raises it.
      for (const std::string& other : s.services) {
        if (other == root) continue;
        EXPECT_EQ(CountErrors(s, other, t.error_type, s.start_ns, s.end_ns), 0u)
            << label << ": " << other << " raises " << t.error_type;
      }
      if (options.fault != FaultKind::kMemoryLeakOom) {
        EXPECT_GT(Share(after.failed, after.spans, root), 0.1) << label;
      }
      // (The early burst of errors may reach the root from a callee.)
      EXPECT_LT(Share(before.failed, before.spans, root), 0.05) << label;
      break;
    }
    default:
      break;
  }
  switch (options.fault) {
    case FaultKind::kPoolExhaustion: {
      EXPECT_EQ(t.root_cause_entity, "config/" + root) << label;
      EXPECT_FALSE(t.resource_entity.empty());
      // The config change lowers the pool's maximum, once, at the fault.
      uint64_t changed_at = 0;
      std::string max_before;
      for (const Event& e : s.events) {
        const EntityStateData* st = e.entity_state();
        if (st == nullptr || st->entity != t.root_cause_entity) continue;
        for (const EntityField& f : st->fields) {
          if (f.name != "db.pool.max_size") continue;
          if (max_before.empty()) max_before = f.value;
          if (f.value != max_before && changed_at == 0) changed_at = e.time_ns;
        }
      }
      EXPECT_EQ(changed_at, t.fault_start_ns) << label;
      EXPECT_GT(GaugeMean(s, root, "db.pool.usage", after_from, s.end_ns), 90)
          << label;
      EXPECT_LT(GaugeMean(s, root, "db.pool.usage", before_from, before_to), 60)
          << label;
      break;
    }
    case FaultKind::kSlowDependency: {
      // The root's own database spans slow down.
      auto db_mean = [&](uint64_t from, uint64_t to) {
        double sum = 0;
        int n = 0;
        for (const Event& e : s.events) {
          if (e.time_ns < from || e.time_ns >= to || e.service.name != root ||
              e.span() == nullptr || !e.span()->db.has_value()) {
            continue;
          }
          sum += static_cast<double>(e.span()->duration_ns) / 1e6;
          ++n;
        }
        return n == 0 ? 0.0 : sum / n;
      };
      EXPECT_GT(db_mean(after_from, s.end_ns),
                20 * db_mean(before_from, before_to))
          << label;
      EXPECT_GT(MeanMs(after, root), 5 * MeanMs(before, root)) << label;
      break;
    }
    case FaultKind::kCpuContention: {
      EXPECT_GT(GaugeMean(s, root, "cpu.utilization", after_from, s.end_ns), 90)
          << label;
      EXPECT_LT(GaugeMean(s, root, "cpu.utilization", before_from, before_to),
                50)
          << label;
      EXPECT_GT(MeanMs(after, root), 5 * MeanMs(before, root)) << label;
      // Nobody else runs hot.
      for (const std::string& other : s.services) {
        if (other == root) continue;
        EXPECT_LT(GaugeMean(s, other, "cpu.utilization", after_from, s.end_ns),
                  80)
            << label << " " << other;
      }
      break;
    }
    case FaultKind::kMemoryLeakOom: {
      int oom_kills = 0, k8s_oom = 0;
      for (const Event& e : s.events) {
        if (e.kernel() != nullptr &&
            e.kernel()->kind == KernelEventKind::kOomKill) {
          EXPECT_EQ(e.service.name, root) << label;
          EXPECT_GT(e.time_ns, t.fault_start_ns) << label;
          ++oom_kills;
        }
        if (e.kubernetes() != nullptr &&
            e.kubernetes()->reason == "OOMKilled") {
          EXPECT_EQ(e.service.name, root) << label;
          ++k8s_oom;
        }
      }
      EXPECT_GE(oom_kills, 1) << label;
      EXPECT_EQ(oom_kills, k8s_oom) << label;
      EXPECT_FALSE(t.resource_entity.empty()) << label;
      EXPECT_GT(GaugeMean(s, root, "memory.usage", t.fault_start_ns, s.end_ns),
                GaugeMean(s, root, "memory.usage", before_from, before_to))
          << label;
      break;
    }
    case FaultKind::kRetryStorm: {
      // The root's request rate multiplies; its callers retry.
      const double rate_before = static_cast<double>(before.spans.at(root)) /
                                 static_cast<double>(before_to - before_from);
      const double rate_after = static_cast<double>(after.spans.at(root)) /
                                static_cast<double>(s.end_ns - after_from);
      EXPECT_GT(rate_after, 1.8 * rate_before) << label;
      // Callers retry far more often after the fault than before (when
      // only background errors make them).
      double retries_before = 0, retries_after = 0;
      for (const Event& e : s.events) {
        if (e.log() == nullptr || e.name != "retrying call") continue;
        (e.time_ns < t.fault_start_ns ? retries_before : retries_after) += 1;
      }
      const double minutes_before =
          static_cast<double>(t.fault_start_ns - s.start_ns) / 60e9;
      const double minutes_after =
          static_cast<double>(s.end_ns - t.fault_start_ns) / 60e9;
      EXPECT_GE(retries_after, 20) << label;
      EXPECT_GT(retries_after / minutes_after,
                5 * (1 + retries_before / minutes_before))
          << label;
      break;
    }
    case FaultKind::kBadDeploy: {
      EXPECT_EQ(t.root_cause_entity, "deployment/" + root) << label;
      // The deployment's version changes at the fault and not before.
      std::string first_version;
      uint64_t changed_at = 0;
      for (const Event& e : s.events) {
        const EntityStateData* st = e.entity_state();
        if (st == nullptr || st->entity != t.root_cause_entity) continue;
        for (const EntityField& f : st->fields) {
          if (f.name != "version") continue;
          if (first_version.empty()) first_version = f.value;
          if (f.value != first_version && changed_at == 0) {
            changed_at = e.time_ns;
          }
        }
      }
      EXPECT_EQ(changed_at, t.fault_start_ns) << label;
      break;
    }
    case FaultKind::kDependencyErrors: {
      int syscalls = 0;
      for (const Event& e : s.events) {
        if (e.kernel() != nullptr &&
            e.kernel()->kind == KernelEventKind::kSyscallFailure) {
          EXPECT_EQ(e.service.name, root) << label;
          EXPECT_GE(e.time_ns, t.fault_start_ns) << label;
          ++syscalls;
        }
      }
      EXPECT_GE(syscalls, 10) << label;
      break;
    }
  }
}

class EveryFault
    : public ::testing::TestWithParam<std::tuple<FaultKind, TopologyKind>> {};

TEST_P(EveryFault, WellFormedAndTruthful) {
  const auto [fault, topology] = GetParam();
  for (uint64_t seed : {1u, 2u, 3u}) {
    ScenarioOptions options = Options(fault, topology, seed);
    const std::string label = absl::StrCat(
        FaultKindName(fault), "/", TopologyKindName(topology), "/seed ", seed);
    Scenario s = Generate(options);
    CheckWellFormed(s, label);
    CheckTruth(s, options, label);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Scenarios, EveryFault,
    ::testing::Combine(::testing::ValuesIn(AllFaultKinds()),
                       ::testing::Values(TopologyKind::kShop,
                                         TopologyKind::kLayered)),
    [](const auto& param_info) {
      return absl::StrCat(FaultKindName(std::get<0>(param_info.param)), "_",
                          TopologyKindName(std::get<1>(param_info.param)));
    });

TEST(Scenario, ShopFaultsOnOtherServices) {
  const std::pair<FaultKind, const char*> cases[] = {
      {FaultKind::kPoolExhaustion, "orders-service"},
      {FaultKind::kSlowDependency, "payments-service"},
      {FaultKind::kBadDeploy, "inventory-service"},
      {FaultKind::kMemoryLeakOom, "api-gateway"},
  };
  for (const auto& [fault, service] : cases) {
    ScenarioOptions options = Options(fault, TopologyKind::kShop, 5);
    options.fault_service = service;
    const std::string label = absl::StrCat(FaultKindName(fault), "@", service);
    Scenario s = Generate(options);
    EXPECT_EQ(s.truth.root_cause_service, service);
    CheckWellFormed(s, label);
    CheckTruth(s, options, label);
  }
}

TEST(Scenario, ShopPoolExhaustionIsTheDemoIncident) {
  Scenario s = Generate(
      Options(FaultKind::kPoolExhaustion, TopologyKind::kShop, 1, 20'000));
  EXPECT_EQ(s.truth.root_cause_service, "payments-service");
  EXPECT_EQ(s.truth.root_cause_entity, "config/payments-service");
  EXPECT_EQ(s.truth.resource_entity, "pool/payments-db");
  EXPECT_EQ(s.truth.error_type, "PoolTimeoutException");
  EXPECT_EQ(s.truth.pattern, "pool_exhaustion");
  EXPECT_EQ(s.services,
            (std::vector<std::string>{"web-frontend", "api-gateway",
                                      "orders-service", "payments-service",
                                      "inventory-service", "postgres"}));
  // The change is the one the demo has always shown.
  bool reloaded = false;
  for (const Event& e : s.events) {
    if (e.log() != nullptr &&
        e.log()->body == "configuration reloaded: db.pool.max_size 40 -> 12") {
      reloaded = true;
      EXPECT_EQ(e.service.name, "payments-service");
    }
  }
  EXPECT_TRUE(reloaded);
  // The cascade reaches the user: payments, orders, gateway and frontend.
  for (const char* service :
       {"payments-service", "orders-service", "api-gateway", "web-frontend"}) {
    EXPECT_TRUE(std::find(s.truth.affected_services.begin(),
                          s.truth.affected_services.end(),
                          service) != s.truth.affected_services.end())
        << service;
  }
  EXPECT_EQ(std::find(s.truth.affected_services.begin(),
                      s.truth.affected_services.end(), "inventory-service"),
            s.truth.affected_services.end());
}

TEST(Scenario, WithoutRedHerringsThereAreNone) {
  ScenarioOptions options =
      Options(FaultKind::kBadDeploy, TopologyKind::kShop, 1, 5'000);
  options.red_herrings = false;
  Scenario s = Generate(options);
  EXPECT_TRUE(s.truth.red_herrings.empty());
  for (const Event& e : s.events) {
    const EntityStateData* st = e.entity_state();
    if (st == nullptr || st->entity_type != "deployment") continue;
    if (st->entity == s.truth.root_cause_entity) continue;
    for (const EntityField& f : st->fields) {
      if (f.name == "version") {
        EXPECT_EQ(f.value, e.service.version) << st->entity;
      }
    }
  }
}

TEST(Scenario, TheStoreAcceptsEveryEvent) {
  for (TopologyKind topology : {TopologyKind::kShop, TopologyKind::kLayered}) {
    for (FaultKind fault :
         {FaultKind::kMemoryLeakOom, FaultKind::kDependencyErrors,
          FaultKind::kBadDeploy}) {
      testing::ScratchDir dir;
      Scenario s = Generate(Options(fault, topology, 4, 6'000));
      absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir.path());
      ASSERT_TRUE(store.ok()) << store.status();
      absl::StatusOr<WriteResult> written = (*store)->Write(s.events);
      ASSERT_TRUE(written.ok()) << written.status();
      EXPECT_EQ(written->written, s.events.size());
      EXPECT_EQ(written->duplicates, 0u);
      absl::StatusOr<StoreStats> stats = (*store)->Stats();
      ASSERT_TRUE(stats.ok());
      EXPECT_EQ(stats->events, s.events.size());
      EXPECT_GT(stats->revisions, 0u);
      // The store's state just before the symptoms holds the root cause's
      // entities.
      absl::StatusOr<std::vector<EntityRevision>> state =
          (*store)->StateAt(s.truth.symptom_start_ns - 1);
      ASSERT_TRUE(state.ok());
      bool has_deployment = false;
      for (const EntityRevision& r : *state) {
        has_deployment = has_deployment ||
                         r.entity == "deployment/" + s.truth.root_cause_service;
      }
      EXPECT_TRUE(has_deployment);
    }
  }
}

}  // namespace
}  // namespace traversion
