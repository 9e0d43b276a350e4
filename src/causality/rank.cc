// Root-cause ranking. A service's score is its strongest own anomaly (plus a
// tenth of its second strongest: two independent signals agreeing is worth
// a little more than one). Own means the statistics already exclude what
// callees caused: self time rather than duration, errors with no failing
// callee below, logs outside spans whose callee failed. On top:
//   - a discrete change (an entity stable through the baseline — a config,
//     a deployment) on the service shortly before its first anomaly raises
//     the score by a quarter, and the candidate names the entity;
//   - services on the analysed event's own trace are raised by half;
//   - of two services within 10 % of each other, a callee ranks above its
//     caller: effects travel up the call graph.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "causality/analysis.h"

namespace traversion::causality {
namespace {

constexpr double kSecondSignalWeight = 0.1;
constexpr double kChangeBoost = 1.25;
constexpr double kTraceBoost = 1.5;
constexpr double kTieRatio = 0.9;
constexpr size_t kMaxEvidence = 4;
constexpr size_t kMaxChain = 12;

struct Candidate {
  uint32_t service = kNone;
  double score = 0;
  std::vector<const Finding*> findings;  // strongest first
  const InfraRec* change = nullptr;
  uint64_t onset_ns = 0;
};

// The chain of a span up to its trace's root: cause first.
void AppendSpanChain(const Snapshot& snap, int32_t span,
                     std::vector<EventId>& chain) {
  for (int steps = 0; span >= 0 && chain.size() < kMaxChain && steps < 64;
       ++steps) {
    const EventId& id = snap.spans[span].id;
    if (std::find(chain.begin(), chain.end(), id) == chain.end()) {
      chain.push_back(id);
    }
    span = snap.spans[span].parent;
  }
}

}  // namespace

bool CallGraph::Reaches(uint32_t caller, uint32_t callee) const {
  std::vector<uint32_t> frontier = {caller};
  std::vector<uint32_t> seen = {caller};
  for (int hop = 0; hop < 4 && !frontier.empty(); ++hop) {
    std::vector<uint32_t> next;
    for (const auto& [key, call] : calls) {
      if (std::find(frontier.begin(), frontier.end(), key.first) ==
          frontier.end()) {
        continue;
      }
      if (key.second == callee) return true;
      if (std::find(seen.begin(), seen.end(), key.second) == seen.end()) {
        seen.push_back(key.second);
        next.push_back(key.second);
      }
    }
    frontier = std::move(next);
  }
  return false;
}

CallGraph BuildCallGraph(const Snapshot& snap, Phase phase) {
  CallGraph g;
  g.outgoing.assign(snap.services.size(), 0);
  for (const SpanRec& s : snap.spans) {
    if (s.phase != phase || s.parent < 0) continue;
    const SpanRec& p = snap.spans[s.parent];
    if (p.service == s.service) continue;
    ServiceCall& c = g.calls[{p.service, s.service}];
    if (c.calls == 0) {
      c.caller = snap.services[p.service];
      c.callee = snap.services[s.service];
    }
    ++c.calls;
    if (s.error) ++c.errors;
    ++g.outgoing[p.service];
  }
  return g;
}

std::vector<const InfraRec*> DiscreteChanges(const Snapshot& snap,
                                             const CausalityOptions& options) {
  absl::flat_hash_map<std::string, int> baseline_changes, all_changes;
  for (const InfraRec& r : snap.infra) {
    if (r.type != EventType::kEntityState) continue;
    ++all_changes[r.subject];
    if (r.phase == Phase::kBaseline) ++baseline_changes[r.subject];
  }
  std::vector<const InfraRec*> out;
  uint64_t from = snap.window.from_ns > options.dataflow_window_ns
                      ? snap.window.from_ns - options.dataflow_window_ns
                      : 0;
  for (const InfraRec& r : snap.infra) {
    if (r.type != EventType::kEntityState || r.time_ns < from) continue;
    // An entity that changes again and again (a pool's usage counters) is
    // a gauge, not a discrete change; a change and its revert are two.
    if (all_changes[r.subject] > 2) continue;
    if (baseline_changes[r.subject] > 0 && r.phase == Phase::kWindow) continue;
    if (r.phase == Phase::kBaseline && baseline_changes[r.subject] > 1)
      continue;
    out.push_back(&r);
  }
  return out;
}

std::vector<RootCause> RankRootCauses(const Snapshot& snap,
                                      const std::vector<Finding>& findings,
                                      const CausalityOptions& options,
                                      const std::vector<uint32_t>& boost,
                                      size_t limit) {
  std::vector<Candidate> by_service(snap.services.size());
  for (const Finding& f : findings) {
    if (f.service == kNone) continue;
    Candidate& c = by_service[f.service];
    c.service = f.service;
    c.findings.push_back(&f);  // findings come strongest first
    // The onset is that of the signals that make the candidate (at least
    // half the strongest's score): one early slow span among thousands,
    // a weak signal, must not date the trouble before its cause.
    if (f.first_ns != 0 && f.score >= 0.5 * c.findings[0]->score &&
        (c.onset_ns == 0 || f.first_ns < c.onset_ns)) {
      c.onset_ns = f.first_ns;
    }
  }
  std::vector<const InfraRec*> changes = DiscreteChanges(snap, options);
  std::vector<Candidate> ranked;
  for (Candidate& c : by_service) {
    if (c.findings.empty()) continue;
    c.score = c.findings[0]->score;
    if (c.findings.size() > 1) {
      c.score += kSecondSignalWeight * c.findings[1]->score;
    }
    for (const InfraRec* r : changes) {
      if (r->service != c.service) continue;
      if (c.onset_ns != 0 && r->time_ns > c.onset_ns) continue;
      if (c.onset_ns != 0 &&
          c.onset_ns - r->time_ns > options.dataflow_window_ns) {
        continue;
      }
      if (c.change == nullptr || r->time_ns > c.change->time_ns) c.change = r;
    }
    if (c.change != nullptr) c.score *= kChangeBoost;
    if (std::find(boost.begin(), boost.end(), c.service) != boost.end()) {
      c.score *= kTraceBoost;
    }
    ranked.push_back(std::move(c));
  }
  std::stable_sort(
      ranked.begin(), ranked.end(),
      [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  CallGraph graph = BuildCallGraph(snap, Phase::kWindow);
  for (size_t i = 0; i + 1 < ranked.size(); ++i) {
    Candidate& a = ranked[i];
    Candidate& b = ranked[i + 1];
    if (b.score >= kTieRatio * a.score && graph.Reaches(a.service, b.service) &&
        !graph.Reaches(b.service, a.service)) {
      std::swap(a, b);
    }
  }
  if (ranked.size() > limit) ranked.resize(limit);

  double total = 0;
  for (const Candidate& c : ranked) total += c.score;
  total += 2 * options.anomaly_threshold;  // a lone weak candidate is unsure

  std::vector<RootCause> out;
  for (const Candidate& c : ranked) {
    RootCause rc;
    const std::string& service = snap.services[c.service];
    rc.service = service;
    rc.confidence = c.score / total;
    const Finding& top = *c.findings[0];
    if (c.change != nullptr) {
      rc.kind = "entity";
      rc.name = c.change->subject;
      rc.evidence.push_back(absl::StrFormat(
          "%s changed (%s) %.0f s before the first anomaly on %s; it had "
          "not changed during the baseline",
          c.change->subject, c.change->what,
          static_cast<double>(c.onset_ns - c.change->time_ns) / 1e9, service));
      rc.chain.push_back(c.change->id);
    } else if (top.signal == Signal::kKernel) {
      rc.kind = "kernel";
      rc.name = absl::StrCat(service, " ", top.subject);
    } else if (top.signal == Signal::kLatency && !top.subject.empty()) {
      rc.kind = "operation";
      rc.name = absl::StrCat(service, " ", top.subject);
    } else {
      rc.kind = "service";
      rc.name = service;
    }
    for (size_t i = 0; i < c.findings.size() && i < kMaxEvidence; ++i) {
      rc.evidence.push_back(
          absl::StrCat(service, ": ", c.findings[i]->description));
    }
    // Who felt it: callers of this service with anomalies of their own.
    std::vector<std::string> affected;
    for (const Candidate& other : ranked) {
      if (other.service != c.service &&
          graph.Reaches(other.service, c.service)) {
        affected.push_back(snap.services[other.service]);
      }
    }
    if (!affected.empty()) {
      rc.evidence.push_back(absl::StrCat(
          "upstream of it, ", absl::StrJoin(affected, ", "),
          " (which call it) show anomalies too: effects, not causes"));
    }
    for (const EventId& id : top.examples) {
      if (rc.chain.size() >= kMaxChain) break;
      rc.chain.push_back(id);
    }
    if (top.example_span >= 0)
      AppendSpanChain(snap, top.example_span, rc.chain);
    out.push_back(std::move(rc));
  }
  return out;
}

}  // namespace traversion::causality
