// From anomalies to answers: the call graph of a window, the ranking of
// root-cause candidates, and the named failure patterns.
#ifndef TRAVERSION_CAUSALITY_ANALYSIS_H_
#define TRAVERSION_CAUSALITY_ANALYSIS_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "causality/anomaly.h"
#include "causality/window.h"
#include "traversion/causality.h"

namespace traversion::causality {

// Calls between services seen in the window's spans.
struct CallGraph {
  // (caller, callee) -> calls, errors (the child span in error).
  absl::flat_hash_map<std::pair<uint32_t, uint32_t>, ServiceCall> calls;
  std::vector<uint64_t> outgoing;  // per caller, calls to other services
  bool Calls(uint32_t caller, uint32_t callee) const {
    return calls.contains({caller, callee});
  }
  // True if `callee` is reachable from `caller` (a few hops at most).
  bool Reaches(uint32_t caller, uint32_t callee) const;
};
CallGraph BuildCallGraph(const Snapshot& snap, Phase phase);

// Entity changes that are discrete events rather than moving counters: the
// entity did not change at all during the baseline.
std::vector<const InfraRec*> DiscreteChanges(const Snapshot& snap,
                                             const CausalityOptions& options);

// Ranks services by the strength of their own anomalies; `boost` lists
// services that lie on the analysed event's own trace (their score is
// raised). At most `limit` candidates.
std::vector<RootCause> RankRootCauses(const Snapshot& snap,
                                      const std::vector<Finding>& findings,
                                      const CausalityOptions& options,
                                      const std::vector<uint32_t>& boost,
                                      size_t limit);

std::vector<PatternOccurrence> FindPatterns(
    const Snapshot& snap, const std::vector<Finding>& findings,
    const CausalityOptions& options);

}  // namespace traversion::causality

#endif  // TRAVERSION_CAUSALITY_ANALYSIS_H_
