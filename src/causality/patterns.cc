// Named failure patterns, each a conjunction of findings and graph facts
// that a person can check:
//   cascade_failure   errors that start on one service and make spans on
//                     two or more other services (its callers, directly or
//                     not) fail.
//   pool_exhaustion   a resource gauge (a name with pool, connection,
//                     thread, queue, semaphore, worker) rising on a service,
//                     or a log of an exhausted or timed-out resource
//                     appearing, together with errors or slowness there.
//   retry_storm       a caller repeating calls to the same operation of a
//                     callee within one parent span (retries) at least 3x as
//                     often per call as in the baseline, while the callee
//                     fails or slows.
//   slow_dependency   a service slow on its own (self time or inbound wire
//                     time) whose callers' calls to it take longer too.
//   oom_cascade       an OOM kill (kernel or Kubernetes), or memory rising
//                     on a service, followed by errors on it or its callers.
//   bad_change        an entity stable through the baseline (a config, a
//                     deployment) that changed shortly before errors or
//                     slowness on its service.
#include <algorithm>
#include <cctype>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "causality/analysis.h"
#include "causality/stats.h"

namespace traversion::causality {
namespace {

constexpr double kRetryGrowth = 3.0;
constexpr double kMinRetryShare = 0.1;

std::string Lower(absl::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool Mentions(absl::string_view text,
              std::initializer_list<const char*> words) {
  std::string lower = Lower(text);
  for (const char* w : words) {
    if (lower.find(w) != std::string::npos) return true;
  }
  return false;
}

double Confidence(double score) { return std::min(1.0, score / 20.0); }

const Finding* Strongest(const std::vector<Finding>& findings, uint32_t svc,
                         std::initializer_list<Signal> signals) {
  for (const Finding& f : findings) {  // strongest first
    if (f.service != svc) continue;
    if (std::find(signals.begin(), signals.end(), f.signal) != signals.end()) {
      return &f;
    }
  }
  return nullptr;
}

uint64_t EndOf(const Snapshot& snap) { return snap.window.to_ns; }

}  // namespace

std::vector<PatternOccurrence> FindPatterns(
    const Snapshot& snap, const std::vector<Finding>& findings,
    const CausalityOptions& options) {
  std::vector<PatternOccurrence> out;
  const uint32_t n = static_cast<uint32_t>(snap.services.size());
  auto occurrence = [&](const char* name, uint32_t svc, uint64_t start,
                        double score, std::string description,
                        std::vector<EventId> events) {
    PatternOccurrence p;
    p.pattern = name;
    p.key = snap.services[svc];
    p.start_ns = start != 0 ? start : snap.window.from_ns;
    p.end_ns = EndOf(snap);
    p.confidence = Confidence(score);
    p.description = std::move(description);
    p.events = std::move(events);
    out.push_back(std::move(p));
  };

  // cascade_failure: walk up from each own error (an error span with no
  // failing span on another service below it) collecting the other
  // services whose spans fail above it.
  {
    std::vector<absl::flat_hash_set<uint32_t>> affected(n);
    std::vector<std::vector<EventId>> events(n);
    std::vector<uint64_t> first(n, 0);
    std::vector<char> has_failing_child(snap.spans.size(), 0);
    for (const SpanRec& s : snap.spans) {
      if (s.phase == Phase::kWindow && s.error && s.parent >= 0) {
        has_failing_child[s.parent] = 1;
      }
    }
    for (size_t i = 0; i < snap.spans.size(); ++i) {
      const SpanRec& s = snap.spans[i];
      if (s.phase != Phase::kWindow || !s.error || has_failing_child[i])
        continue;
      int32_t p = s.parent;
      for (int steps = 0; p >= 0 && steps < 64; ++steps) {
        const SpanRec& up = snap.spans[p];
        if (up.error && up.service != s.service) {
          affected[s.service].insert(up.service);
        }
        p = up.parent;
      }
      if (events[s.service].size() < 5) events[s.service].push_back(s.id);
      if (first[s.service] == 0) first[s.service] = s.time_ns;
    }
    for (uint32_t svc = 0; svc < n; ++svc) {
      if (affected[svc].size() < 2) continue;
      const Finding* f = Strongest(findings, svc, {Signal::kErrorRate});
      if (f == nullptr) continue;
      std::vector<std::string> names;
      for (uint32_t a : affected[svc]) names.push_back(snap.services[a]);
      std::sort(names.begin(), names.end());
      occurrence(
          "cascade_failure", svc, first[svc], f->score,
          absl::StrCat("errors starting in ", snap.services[svc],
                       " made calls fail in ", names.size(),
                       " services above it: ", absl::StrJoin(names, ", ")),
          events[svc]);
    }
  }

  // pool_exhaustion.
  for (uint32_t svc = 0; svc < n; ++svc) {
    const Finding* resource = nullptr;
    for (const Finding& f : findings) {
      if (f.service != svc || !f.increase) continue;
      bool gauge = f.signal == Signal::kMetric &&
                   Mentions(f.subject, {"pool", "connection", "thread", "queue",
                                        "semaphore", "worker"});
      bool log = f.signal == Signal::kLogPattern &&
                 Mentions(f.subject, {"pool", "exhaust", "too many conn",
                                      "acquire", "rejected"});
      if (gauge || log) {
        resource = &f;
        break;
      }
    }
    if (resource == nullptr) continue;
    const Finding* effect =
        Strongest(findings, svc,
                  {Signal::kErrorRate, Signal::kLatency, Signal::kLogPattern});
    if (effect == nullptr || effect == resource) {
      // The resource log itself may be the error: require something else
      // unless it is an error-level exhaustion message.
      if (resource->signal != Signal::kLogPattern) continue;
      effect = resource;
    }
    occurrence("pool_exhaustion", svc, resource->first_ns,
               std::min(resource->score, effect->score),
               absl::StrCat(snap.services[svc], ": ", resource->description,
                            "; with ", effect->description),
               resource->examples);
  }

  // retry_storm: per (parent span, child operation on another service),
  // calls beyond the first are retries.
  {
    struct Retries {
      uint64_t calls[2] = {0, 0};
      uint64_t repeats[2] = {0, 0};
      std::vector<EventId> events;
    };
    absl::flat_hash_map<std::pair<int32_t, uint32_t>, uint32_t> per_parent;
    for (const SpanRec& s : snap.spans) {
      if (s.parent < 0 || snap.spans[s.parent].service == s.service) continue;
      ++per_parent[{s.parent, s.op}];
    }
    absl::flat_hash_map<std::pair<uint32_t, uint32_t>, Retries> edges;
    for (const auto& [key, count] : per_parent) {
      const SpanRec& parent = snap.spans[key.first];
      uint32_t callee = snap.op_service[key.second];
      Retries& r = edges[{parent.service, callee}];
      int p = static_cast<int>(parent.phase);
      r.calls[p] += count;
      r.repeats[p] += count - 1;
      if (count > 1 && parent.phase == Phase::kWindow && r.events.size() < 5) {
        r.events.push_back(parent.id);
      }
    }
    for (const auto& [key, r] : edges) {
      if (r.calls[1] == 0 || r.repeats[1] == 0) continue;
      double share1 = static_cast<double>(r.repeats[1]) / r.calls[1];
      double share0 =
          r.calls[0] == 0 ? 0 : static_cast<double>(r.repeats[0]) / r.calls[0];
      if (share1 < kMinRetryShare || share1 < kRetryGrowth * share0) continue;
      uint32_t callee = key.second;
      const Finding* trouble =
          Strongest(findings, callee,
                    {Signal::kErrorRate, Signal::kLatency, Signal::kNetwork,
                     Signal::kLogPattern});
      if (trouble == nullptr) continue;
      double p0 = std::max(share0, 0.01);
      double score = BinomialUpperScore(r.repeats[1], r.calls[1], p0);
      if (score < options.anomaly_threshold) continue;
      occurrence(
          "retry_storm", callee, trouble->first_ns, score,
          absl::StrFormat("%s retried calls to %s: %d repeats in %d calls "
                          "(%.0f%%, %.0f%% in the baseline) while %s",
                          snap.services[key.first], snap.services[callee],
                          r.repeats[1], r.calls[1], 100 * share1, 100 * share0,
                          trouble->description),
          r.events);
    }
  }

  // slow_dependency: own slowness plus callers waiting longer on it.
  {
    // Median duration of caller spans waiting on each callee, per phase.
    absl::flat_hash_map<uint32_t, std::vector<double>> waits[2];
    for (const SpanRec& s : snap.spans) {
      if (!s.remote_child || s.callee == kSeveral || s.callee == kNone)
        continue;
      waits[static_cast<int>(s.phase)][s.callee].push_back(
          static_cast<double>(s.duration_ns));
    }
    for (uint32_t svc = 0; svc < n; ++svc) {
      const Finding* slow =
          Strongest(findings, svc, {Signal::kLatency, Signal::kNetwork});
      if (slow == nullptr ||
          (slow->signal == Signal::kNetwork &&
           slow->description.find("outbound") != std::string::npos)) {
        continue;
      }
      auto b = waits[0].find(svc);
      auto w = waits[1].find(svc);
      if (b == waits[0].end() || w == waits[1].end()) continue;
      double before = Median(b->second), during = Median(w->second);
      if (during < 1.5 * before) continue;
      occurrence("slow_dependency", svc, slow->first_ns, slow->score,
                 absl::StrFormat("%s is slow (%s) and its callers wait %.1fx "
                                 "longer on it (median %.1f ms against %.1f "
                                 "ms)",
                                 snap.services[svc], slow->description,
                                 during / std::max(before, 1.0), during / 1e6,
                                 before / 1e6),
                 slow->examples);
    }
  }

  // oom_cascade.
  for (uint32_t svc = 0; svc < n; ++svc) {
    const Finding* oom = nullptr;
    for (const Finding& f : findings) {
      if (f.service != svc) continue;
      if ((f.signal == Signal::kKernel && Mentions(f.subject, {"oom"})) ||
          (f.signal == Signal::kMetric && f.increase &&
           Mentions(f.subject, {"memory", "heap", "rss"}))) {
        oom = &f;
        break;
      }
    }
    if (oom == nullptr) continue;
    const Finding* errors = Strongest(findings, svc, {Signal::kErrorRate});
    if (errors == nullptr) continue;
    occurrence("oom_cascade", svc, oom->first_ns,
               std::min(oom->score, errors->score) + 2,
               absl::StrCat(snap.services[svc], ": ", oom->description,
                            "; then ", errors->description),
               oom->examples);
  }

  // bad_change.
  for (const InfraRec* change : DiscreteChanges(snap, options)) {
    const Finding* after = nullptr;
    for (const Finding& f : findings) {
      if (f.service != change->service || f.first_ns < change->time_ns)
        continue;
      if (f.first_ns - change->time_ns > options.dataflow_window_ns) continue;
      if (f.signal == Signal::kMetric) continue;
      after = &f;
      break;
    }
    if (after == nullptr) continue;
    occurrence("bad_change", change->service, change->time_ns, after->score,
               absl::StrFormat(
                   "%s changed (%s), %.0f s later %s: %s", change->subject,
                   change->what,
                   static_cast<double>(after->first_ns - change->time_ns) / 1e9,
                   snap.services[change->service], after->description),
               {change->id});
  }

  std::stable_sort(out.begin(), out.end(),
                   [](const PatternOccurrence& a, const PatternOccurrence& b) {
                     return a.confidence > b.confidence;
                   });
  return out;
}

}  // namespace traversion::causality
