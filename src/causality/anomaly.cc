#include "causality/anomaly.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "causality/stats.h"

namespace traversion::causality {
namespace {

constexpr size_t kMaxExamples = 5;
// A span's self time is "slow" past kSlowFactor x its operation's baseline
// p95 plus kSlowSlackNs (so that microsecond jitter on fast operations does
// not count), tested against kSlowShare of spans.
constexpr double kSlowFactor = 2.0;
constexpr double kSlowSlackNs = 100'000;
constexpr double kSlowShare = 0.05;
constexpr size_t kMinBaselineSpans = 5;
constexpr size_t kMinBaselinePoints = 10;
constexpr double kMetricWeight = 0.5;
constexpr double kMetricCap = 20;
constexpr double kKernelScore = 12;  // an OOM kill: about 1e-12 by chance

// The part of an interned "<service> <rest>" name after the service.
std::string AfterService(const std::string& name) {
  size_t space = name.find(' ');
  return space == std::string::npos ? name : name.substr(space + 1);
}

void AddExample(Finding& f, const EventId& id, uint64_t time_ns) {
  if (f.first_ns == 0 || time_ns < f.first_ns) f.first_ns = time_ns;
  if (f.examples.size() < kMaxExamples) f.examples.push_back(id);
}

// Per operation, the other service it calls in at least half of its
// baseline calls, when that service went down in the window: its spans
// significantly fewer than the baseline rate predicts, or a crash (an OOM
// kill, a fatal signal, a pod killed or backing off). A failed call of the
// operation with no span of that callee below then went unanswered. kNone
// otherwise: a callee still up is not blamed for a caller that failed
// before calling it.
std::vector<uint32_t> UsualCallees(const Snapshot& snap, double threshold) {
  std::vector<uint64_t> calls(snap.ops.size(), 0);
  std::vector<uint64_t> spans[2];
  spans[0].assign(snap.services.size(), 0);
  spans[1].assign(snap.services.size(), 0);
  absl::flat_hash_map<std::pair<uint32_t, uint32_t>, uint64_t> to;
  for (const SpanRec& s : snap.spans) {
    ++spans[static_cast<int>(s.phase)][s.service];
    if (s.phase != Phase::kBaseline) continue;
    ++calls[s.op];
    if (s.remote_child && s.callee != kSeveral) ++to[{s.op, s.callee}];
  }
  std::vector<char> crashed(snap.services.size(), 0);
  for (const InfraRec& r : snap.infra) {
    if (r.phase == Phase::kWindow && r.severe && r.service != kNone) {
      crashed[r.service] = 1;
    }
  }
  const double base_s = static_cast<double>(snap.baseline_ns) / 1e9;
  const double window_s = static_cast<double>(snap.window_ns()) / 1e9;
  auto down = [&](uint32_t svc) {
    if (crashed[svc]) return true;
    if (base_s <= 0 || spans[0][svc] == 0) return false;
    const double expected =
        static_cast<double>(spans[0][svc]) / base_s * window_s;
    return PoissonLowerScore(static_cast<double>(spans[1][svc]), expected) >=
           threshold;
  };
  std::vector<uint32_t> usual(snap.ops.size(), kNone);
  for (const auto& [key, n] : to) {
    if (2 * n >= calls[key.first] && down(key.second)) {
      usual[key.first] = key.second;
    }
  }
  return usual;
}

// A span in error that recorded no call to the service its operation
// usually calls, that service being down: it did not answer.
bool Unanswered(const SpanRec& s, const std::vector<uint32_t>& usual_callee) {
  return s.error && !s.remote_child && usual_callee[s.op] != kNone;
}

// Spans with an erroring span on another service somewhere below them, or
// whose usual callee did not answer: their own errors and error logs are
// reactions to it.
std::vector<char> RemoteErrorBelow(const Snapshot& snap,
                                   const std::vector<uint32_t>& usual_callee) {
  std::vector<char> mark(snap.spans.size(), 0);
  // A span failed when its status says so or when it logged an error: many
  // services record no span status (the Train Ticket corpus has none).
  std::vector<char> failed(snap.spans.size(), 0);
  for (size_t i = 0; i < snap.spans.size(); ++i) {
    failed[i] = snap.spans[i].error;
  }
  for (const LogRec& log : snap.logs) {
    if (log.span >= 0 && log.severity >= Severity::kError) failed[log.span] = 1;
  }
  for (size_t i = 0; i < snap.spans.size(); ++i) {
    if (!failed[i]) continue;
    if (Unanswered(snap.spans[i], usual_callee)) mark[i] = 1;
    int32_t child = static_cast<int32_t>(i);
    int32_t p = snap.spans[i].parent;
    for (int steps = 0; p >= 0 && steps < 256; ++steps) {
      if (snap.spans[p].service != snap.spans[child].service) {
        if (mark[p]) break;  // the rest of the path is marked already
        mark[p] = 1;
      } else if (mark[child]) {
        mark[p] = 1;
      }
      child = p;
      p = snap.spans[p].parent;
    }
  }
  // Inherit within a service: a span whose same-service child is marked.
  for (size_t i = 0; i < snap.spans.size(); ++i) {
    int32_t c = static_cast<int32_t>(i);
    int32_t p = snap.spans[i].parent;
    for (int steps = 0; p >= 0 && mark[c] && !mark[p] && steps < 256; ++steps) {
      mark[p] = 1;
      c = p;
      p = snap.spans[p].parent;
    }
  }
  return mark;
}

void LogPatterns(const Snapshot& snap, const std::vector<char>& reactive,
                 std::vector<Finding>& out, double threshold) {
  // Calls per operation in each phase, those reacting to a failure below
  // them left out: a caller whose callee failed takes another path through
  // its own code (fewer or other logs), which says nothing of its own
  // health. Its logs are left out the same way, in both phases.
  std::vector<uint64_t> calls[2];
  calls[0].assign(snap.ops.size(), 0);
  calls[1].assign(snap.ops.size(), 0);
  for (size_t i = 0; i < snap.spans.size(); ++i) {
    const SpanRec& s = snap.spans[i];
    if (!reactive[i]) ++calls[static_cast<int>(s.phase)][s.op];
  }

  struct Counts {
    uint64_t base = 0, window = 0;  // logs outside reacting calls

    Severity severity = Severity::kUnspecified;
    Finding finding;
  };
  // Key: template and operation (kNone: outside any loaded span).
  absl::flat_hash_map<std::pair<uint32_t, uint32_t>, Counts> counts;
  for (const LogRec& log : snap.logs) {
    Counts& c = counts[{log.template_id, log.op}];
    c.severity = std::max(c.severity, log.severity);
    bool reaction = log.span >= 0 && reactive[log.span];
    if (log.phase == Phase::kBaseline) {
      if (!reaction) ++c.base;
      continue;
    }
    if (!reaction) {
      ++c.window;
      AddExample(c.finding, log.id, log.time_ns);
      if (c.finding.example_span < 0) c.finding.example_span = log.span;
    }
    c.finding.service = log.service;
  }
  // All logs of each operation per phase: when a template's share moves
  // but the operation's total does not, the requests took another branch
  // (a workload mix shift) rather than the code changing behaviour.
  std::vector<uint64_t> op_logs[2];
  op_logs[0].assign(snap.ops.size(), 0);
  op_logs[1].assign(snap.ops.size(), 0);
  for (const auto& [key, c] : counts) {
    if (key.second == kNone) continue;
    op_logs[0][key.second] += c.base;
    op_logs[1][key.second] += c.window;
  }
  // Templates of the baseline whose operation ran in the window but which
  // did not show: the service is the template's.
  const double base_s = static_cast<double>(snap.baseline_ns) / 1e9;
  const double window_s = static_cast<double>(snap.window_ns()) / 1e9;
  for (auto& [key, c] : counts) {
    auto [tmpl, op] = key;
    double expected;
    std::string per;
    double n0 = 0, n1 = 0;
    if (op != kNone) {
      n0 = static_cast<double>(calls[0][op]);
      n1 = static_cast<double>(calls[1][op]);
      if (n0 == 0 || n1 == 0) continue;  // no baseline for it, or no traffic
      expected = (static_cast<double>(c.base) + 0.5) / n0 * n1;
    } else {
      if (base_s <= 0) continue;
      expected = (static_cast<double>(c.base) + 0.5) / base_s * window_s;
    }
    bool increase = static_cast<double>(c.window) > expected;
    const double observed = static_cast<double>(c.window);
    double score = increase ? PoissonUpperScore(observed, expected)
                            : PoissonLowerScore(observed, expected);
    if (score < threshold) continue;
    // Two weaker kinds of change, counted at half weight: a template that
    // persists while its operation's total logs per call hold steady (a
    // branch mix shift, which follows the workload), and error logs that
    // fell (fewer errors is not a fault).
    std::string weaker;
    if (op != kNone && c.base > 0 && c.window > 0) {
      const double total_expected =
          (static_cast<double>(op_logs[0][op]) + 0.5) / n0 * n1;
      const double total = static_cast<double>(op_logs[1][op]);
      const double total_score = total > total_expected
                                     ? PoissonUpperScore(total, total_expected)
                                     : PoissonLowerScore(total, total_expected);
      if (total_score < threshold) {
        weaker =
            "; the operation's logs per call did not change: a shift "
            "in its mix, weighed half";
      }
    }
    if (weaker.empty() && !increase && c.severity >= Severity::kError) {
      weaker = "; fewer errors, weighed half";
    }
    const double p_exponent = score;  // what the description reports
    if (!weaker.empty()) {
      score *= 0.5;
      if (score < threshold) continue;
    }
    Finding f = std::move(c.finding);
    if (!increase) {
      // Its window examples are the occurrences that remain, not what went
      // wrong, and a disappearance has no onset to date.
      f.examples.clear();
      f.first_ns = 0;
      f.example_span = -1;
    }
    const std::string& full = snap.templates[tmpl];
    if (f.service == kNone) {
      f.service = snap.services.Find(full.substr(0, full.find(' ')));
    }
    if (f.service == kNone) continue;
    f.signal = Signal::kLogPattern;
    f.subject = AfterService(full);
    f.increase = increase;
    f.score = score;
    std::string where =
        op == kNone ? "" : absl::StrCat(" in ", AfterService(snap.ops[op]));
    if (op != kNone) {
      f.baseline = static_cast<double>(c.base) / n0;
      f.observed = observed / n1;
      f.description = absl::StrFormat(
          "log '%s'%s: %d times in %d calls in the window, %d in %d calls in "
          "the baseline (%s; p ~ 1e-%.0f)",
          f.subject, where, static_cast<int>(observed), static_cast<int>(n1),
          static_cast<int>(c.base), static_cast<int>(n0),
          increase ? "appeared or grew" : "disappeared or fell", p_exponent);
    } else {
      f.baseline = static_cast<double>(c.base) / base_s;
      f.observed = observed / window_s;
      f.description = absl::StrFormat(
          "log '%s': %d times in the window (%.0f s), %.1f expected from the "
          "baseline rate (p ~ 1e-%.0f)",
          f.subject, static_cast<int>(observed), window_s, expected,
          p_exponent);
    }
    f.description += weaker;
    if (c.severity >= Severity::kError) f.description += " [error level]";
    out.push_back(std::move(f));
  }
}

// Per operation: the baseline p95 of self time (or of the time outside a
// remote callee, for spans that call one).
std::vector<double> BaselineP95(const Snapshot& snap, bool remote) {
  std::vector<std::vector<double>> samples(snap.ops.size());
  for (const SpanRec& s : snap.spans) {
    if (s.phase != Phase::kBaseline || s.remote_child != remote) continue;
    samples[s.op].push_back(static_cast<double>(s.self_ns()));
  }
  std::vector<double> p95(snap.ops.size(), -1);
  for (size_t op = 0; op < samples.size(); ++op) {
    if (samples[op].size() >= kMinBaselineSpans) {
      p95[op] = Quantile(samples[op], 0.95);
    }
  }
  return p95;
}

struct SlowCount {
  uint64_t slow = 0, total = 0;
  absl::flat_hash_map<uint32_t, uint64_t> slow_by_op;
  Finding finding;
};

void Slowness(const Snapshot& snap, std::vector<Finding>& out,
              double threshold) {
  std::vector<double> local = BaselineP95(snap, false);
  std::vector<double> remote = BaselineP95(snap, true);
  std::vector<SlowCount> self(snap.services.size());
  std::vector<SlowCount> inbound(snap.services.size());
  std::vector<SlowCount> outbound(snap.services.size());
  for (size_t i = 0; i < snap.spans.size(); ++i) {
    const SpanRec& s = snap.spans[i];
    if (s.phase != Phase::kWindow) continue;
    double p95 = s.remote_child ? remote[s.op] : local[s.op];
    if (p95 < 0) continue;
    bool slow =
        static_cast<double>(s.self_ns()) > kSlowFactor * p95 + kSlowSlackNs;
    auto count = [&](SlowCount& c) {
      ++c.total;
      if (!slow) return;
      ++c.slow;
      ++c.slow_by_op[s.op];
      AddExample(c.finding, s.id, s.time_ns);
      if (c.finding.example_span < 0) {
        c.finding.example_span = static_cast<int32_t>(i);
      }
    };
    if (!s.remote_child) {
      count(self[s.service]);
    } else if (s.callee != kSeveral) {
      count(outbound[s.service]);
      count(inbound[s.callee]);
    }
  }
  auto emit = [&](std::vector<SlowCount>& counts, Signal signal,
                  const char* what) {
    for (uint32_t svc = 0; svc < counts.size(); ++svc) {
      SlowCount& c = counts[svc];
      if (c.slow == 0) continue;
      double score = BinomialUpperScore(c.slow, c.total, kSlowShare);
      if (score < threshold) continue;
      uint32_t worst = kNone;
      uint64_t most = 0;
      for (auto [op, n] : c.slow_by_op) {
        if (n > most) most = n, worst = op;
      }
      Finding f = std::move(c.finding);
      f.service = svc;
      f.signal = signal;
      f.subject = worst == kNone ? "" : AfterService(snap.ops[worst]);
      f.baseline = kSlowShare;
      f.observed = static_cast<double>(c.slow) / static_cast<double>(c.total);
      f.score = score;
      f.description = absl::StrFormat(
          "%s: %d of %d spans (%.0f%%) over 2x their operation's baseline "
          "p95, most in '%s' (p ~ 1e-%.0f)",
          what, c.slow, c.total, 100 * f.observed, f.subject, score);
      out.push_back(std::move(f));
    }
  };
  emit(self, Signal::kLatency, "self time");
  emit(inbound, Signal::kNetwork, "time on the wire to it (inbound calls)");
  emit(outbound, Signal::kNetwork, "time on the wire from it (outbound calls)");
}

void Errors(const Snapshot& snap, const std::vector<char>& reactive,
            const std::vector<uint32_t>& usual_callee,
            std::vector<Finding>& out, double threshold) {
  size_t n = snap.services.size();
  std::vector<uint64_t> spans[2], errors[2], error_logs[2];
  for (int p = 0; p < 2; ++p) {
    spans[p].assign(n, 0);
    errors[p].assign(n, 0);
    error_logs[p].assign(n, 0);
  }
  std::vector<Finding> found(n);
  // Per callee and phase: calls of operations that usually reach it, and
  // those that failed with no span of it.
  std::vector<uint64_t> reaching[2], unanswered[2];
  for (int p = 0; p < 2; ++p) {
    reaching[p].assign(n, 0);
    unanswered[p].assign(n, 0);
  }
  std::vector<Finding> unanswered_found(n);
  for (size_t i = 0; i < snap.spans.size(); ++i) {
    const SpanRec& s = snap.spans[i];
    int p = static_cast<int>(s.phase);
    ++spans[p][s.service];
    const uint32_t callee = usual_callee[s.op];
    if (callee != kNone) {
      ++reaching[p][callee];
      if (Unanswered(s, usual_callee)) {
        ++unanswered[p][callee];
        if (s.phase == Phase::kWindow) {
          AddExample(unanswered_found[callee], s.id, s.time_ns);
          if (unanswered_found[callee].example_span < 0) {
            unanswered_found[callee].example_span = static_cast<int32_t>(i);
          }
        }
        continue;
      }
    }
    // Own errors only: a span whose callee failed below it is reacting.
    if (s.error && !reactive[i]) {
      ++errors[p][s.service];
      if (s.phase == Phase::kWindow) {
        AddExample(found[s.service], s.id, s.time_ns);
        if (found[s.service].example_span < 0) {
          found[s.service].example_span = static_cast<int32_t>(i);
        }
      }
    }
  }
  for (const LogRec& log : snap.logs) {
    if (log.severity < Severity::kError) continue;
    if (log.span >= 0 && reactive[log.span]) continue;
    ++error_logs[static_cast<int>(log.phase)][log.service];
    if (log.phase == Phase::kWindow && found[log.service].examples.empty()) {
      AddExample(found[log.service], log.id, log.time_ns);
    }
  }
  const double base_s = static_cast<double>(snap.baseline_ns) / 1e9;
  const double window_s = static_cast<double>(snap.window_ns()) / 1e9;
  for (uint32_t svc = 0; svc < n; ++svc) {
    double span_score = 0, log_score = 0;
    double p0 = (static_cast<double>(errors[0][svc]) + 0.5) /
                (static_cast<double>(spans[0][svc]) + 1);
    if (errors[1][svc] > 0) {
      span_score = BinomialUpperScore(errors[1][svc], spans[1][svc], p0);
    }
    double expected_logs = 0;
    if (error_logs[1][svc] > 0) {
      if (spans[0][svc] > 0 && spans[1][svc] > 0) {
        expected_logs = (static_cast<double>(error_logs[0][svc]) + 0.5) /
                        static_cast<double>(spans[0][svc]) *
                        static_cast<double>(spans[1][svc]);
      } else if (base_s > 0) {
        expected_logs =
            (static_cast<double>(error_logs[0][svc]) + 0.5) / base_s * window_s;
      } else {
        expected_logs = 0.5;
      }
      log_score = PoissonUpperScore(static_cast<double>(error_logs[1][svc]),
                                    expected_logs);
    }
    double score = std::max(span_score, log_score);
    if (score < threshold) continue;
    Finding f = std::move(found[svc]);
    f.service = svc;
    f.signal = Signal::kErrorRate;
    f.score = score;
    if (span_score >= log_score) {
      f.subject = "spans in error";
      f.baseline = p0;
      f.observed = static_cast<double>(errors[1][svc]) /
                   static_cast<double>(spans[1][svc]);
      f.description = absl::StrFormat(
          "%d of %d spans failed here (%.1f%%; %.1f%% in the baseline), "
          "not because a callee failed (p ~ 1e-%.0f)",
          errors[1][svc], spans[1][svc], 100 * f.observed, 100 * p0, score);
    } else {
      f.subject = "error logs";
      f.baseline = expected_logs;
      f.observed = static_cast<double>(error_logs[1][svc]);
      f.description = absl::StrFormat(
          "%d error-level logs and exceptions in the window, %.1f expected "
          "from the baseline (p ~ 1e-%.0f)",
          error_logs[1][svc], expected_logs, score);
    }
    out.push_back(std::move(f));
  }
  for (uint32_t svc = 0; svc < n; ++svc) {
    if (unanswered[1][svc] == 0) continue;
    const double p0 = (static_cast<double>(unanswered[0][svc]) + 0.5) /
                      (static_cast<double>(reaching[0][svc]) + 1);
    const double score =
        BinomialUpperScore(unanswered[1][svc], reaching[1][svc], p0);
    if (score < threshold) continue;
    Finding f = std::move(unanswered_found[svc]);
    f.service = svc;
    f.signal = Signal::kErrorRate;
    f.subject = "unanswered calls";
    f.score = score;
    f.baseline = p0;
    f.observed = static_cast<double>(unanswered[1][svc]) /
                 static_cast<double>(reaching[1][svc]);
    f.description = absl::StrFormat(
        "%d of %d calls to it failed with no span of it recorded while it "
        "was down: it did not answer (%.1f%%; %.1f%% in the baseline; p ~ "
        "1e-%.0f)",
        unanswered[1][svc], reaching[1][svc], 100 * f.observed, 100 * p0,
        score);
    out.push_back(std::move(f));
  }
}

void Metrics(const Snapshot& snap, std::vector<Finding>& out,
             double threshold) {
  std::vector<std::vector<double>> base(snap.series.size());
  std::vector<std::vector<double>> window(snap.series.size());
  std::vector<Finding> found(snap.series.size());
  for (const MetricRec& m : snap.metrics) {
    if (!std::isfinite(m.value)) continue;
    if (m.phase == Phase::kBaseline) {
      base[m.series].push_back(m.value);
    } else {
      window[m.series].push_back(m.value);
    }
  }
  for (size_t i = 0; i < snap.series.size(); ++i) {
    if (base[i].size() < kMinBaselinePoints || window[i].empty()) continue;
    double median = Median(base[i]);
    double spread = ScaledMad(base[i], median);
    // A flat baseline would make any wiggle infinitely unusual: floor the
    // spread at 5 % of the level (and at a tiny absolute value).
    spread = std::max({spread, 0.05 * std::fabs(median), 1e-9});
    std::vector<double> w = window[i];
    double observed = Median(w);
    double z = (observed - median) / spread;
    double score = kMetricWeight * std::min(NormalScore(z), kMetricCap);
    if (score < threshold) continue;
    const SeriesInfo& info = snap.series[i];
    Finding f;
    f.service = info.service;
    f.signal = Signal::kMetric;
    f.subject = info.name;
    f.baseline = median;
    f.observed = observed;
    f.increase = observed > median;
    f.score = score;
    for (const MetricRec& m : snap.metrics) {
      if (m.series == i && m.phase == Phase::kWindow) {
        bool beyond = f.increase ? m.value > median + 3 * spread
                                 : m.value < median - 3 * spread;
        if (beyond) AddExample(f, m.id, m.time_ns);
        if (f.examples.size() >= kMaxExamples) break;
      }
    }
    f.description = absl::StrFormat(
        "metric %s%s: median %.4g%s in the window against %.4g (MAD-scaled "
        "spread %.3g) in the baseline, robust z = %.1f",
        info.name, info.instance.empty() ? "" : " on " + info.instance,
        observed, info.unit.empty() ? "" : " " + info.unit, median, spread, z);
    out.push_back(std::move(f));
  }
}

void Kernel(const Snapshot& snap, std::vector<Finding>& out) {
  absl::flat_hash_map<uint32_t, Finding> found;
  for (const InfraRec& r : snap.infra) {
    if (r.phase != Phase::kWindow || !r.severe) continue;
    Finding& f = found[r.service];
    f.service = r.service;
    f.signal = Signal::kKernel;
    if (f.subject.empty()) f.subject = absl::StrCat(r.what, " ", r.subject);
    f.score = kKernelScore;
    f.observed += 1;
    AddExample(f, r.id, r.time_ns);
  }
  for (auto& [svc, f] : found) {
    f.description = absl::StrFormat(
        "%d severe %s event(s) (%s) in the window, none is part of a "
        "healthy baseline",
        static_cast<int>(f.observed), "kernel or Kubernetes", f.subject);
    out.push_back(std::move(f));
  }
}

}  // namespace

const char* SignalName(Signal signal) {
  switch (signal) {
    case Signal::kLogPattern:
      return "log_pattern";
    case Signal::kLatency:
      return "latency";
    case Signal::kNetwork:
      return "network";
    case Signal::kErrorRate:
      return "error_rate";
    case Signal::kMetric:
      return "metric";
    case Signal::kKernel:
      return "kernel";
  }
  return "?";
}

std::vector<Finding> FindAnomalies(const Snapshot& snap,
                                   const CausalityOptions& options) {
  std::vector<Finding> out;
  const double t = options.anomaly_threshold;
  const std::vector<uint32_t> usual_callee = UsualCallees(snap, t);
  std::vector<char> reactive = RemoteErrorBelow(snap, usual_callee);
  LogPatterns(snap, reactive, out, t);
  Slowness(snap, out, t);
  Errors(snap, reactive, usual_callee, out, t);
  Metrics(snap, out, t);
  Kernel(snap, out);
  std::stable_sort(
      out.begin(), out.end(),
      [](const Finding& a, const Finding& b) { return a.score > b.score; });
  return out;
}

Anomaly ToAnomaly(const Snapshot& snap, const Finding& f) {
  Anomaly a;
  a.service = f.service == kNone ? "" : snap.services[f.service];
  a.signal = SignalName(f.signal);
  a.subject = f.subject;
  a.baseline = f.baseline;
  a.observed = f.observed;
  a.score = f.score;
  a.first_ns = f.first_ns;
  a.description = f.description;
  a.examples = f.examples;
  return a;
}

}  // namespace traversion::causality
