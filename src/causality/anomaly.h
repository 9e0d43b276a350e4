// Anomaly detection: what in the window departs from each service's own
// baseline. Every finding says which statistic it used and what it
// compared, so a person can check it:
//
//   log_pattern  per (service, enclosing operation, log template): the count
//                in the window against the baseline rate per call of that
//                operation (per second for logs outside spans); a two-sided
//                Poisson test, so a template that appears and one that
//                disappears (an exception skipping the rest of a method)
//                both count. Logs written in a span whose callee on another
//                service failed are reactions, not counted as increases.
//   latency      per service: how many spans' self time (duration minus
//                children) exceeds 2 x the operation's baseline p95 + 100 us;
//                a binomial test against 5 %. Client spans that wait on
//                another service are left to `network`.
//   network      per service: the same test on the time a call to another
//                service spends outside the callee's span, counted for both
//                ends (inbound and outbound).
//   error_rate   per service: spans in error with no erroring callee below
//                them (the error started here), binomial against the
//                baseline's share; and error-level logs, Poisson against the
//                baseline's rate.
//   metric       per series: the window's median against the baseline's
//                median in units of its MAD (a robust z-score), halved in
//                weight because series are many and correlated.
//   kernel       OOM kills, fatal signals, Kubernetes OOMKilled/BackOff:
//                never part of a healthy baseline.
#ifndef TRAVERSION_CAUSALITY_ANOMALY_H_
#define TRAVERSION_CAUSALITY_ANOMALY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "causality/window.h"
#include "traversion/causality.h"

namespace traversion::causality {

enum class Signal : uint8_t {
  kLogPattern,
  kLatency,
  kNetwork,
  kErrorRate,
  kMetric,
  kKernel,
};
const char* SignalName(Signal signal);

struct Finding {
  uint32_t service = kNone;
  Signal signal = Signal::kLogPattern;
  std::string subject;
  double baseline = 0;
  double observed = 0;
  double score = 0;
  bool increase = true;  // the signal rose (false: a template disappeared)
  uint64_t first_ns = 0;
  std::vector<EventId> examples;  // at most a few
  int32_t example_span = -1;      // a span that shows it, for the chain
  std::string description;
};

// Every finding whose score reaches options.anomaly_threshold, strongest
// first.
std::vector<Finding> FindAnomalies(const Snapshot& snap,
                                   const CausalityOptions& options);

Anomaly ToAnomaly(const Snapshot& snap, const Finding& finding);

}  // namespace traversion::causality

#endif  // TRAVERSION_CAUSALITY_ANOMALY_H_
