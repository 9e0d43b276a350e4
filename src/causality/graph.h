// The causal graph of a window, over full events: the four kinds of edge
// of causality.h, and the walk along them (TraceCausalityChain).
#ifndef TRAVERSION_CAUSALITY_GRAPH_H_
#define TRAVERSION_CAUSALITY_GRAPH_H_

#include <vector>

#include "absl/status/statusor.h"
#include "traversion/causality.h"

namespace traversion::causality {

absl::StatusOr<CausalGraph> BuildCausalGraph(const Store& store,
                                             const CausalityOptions& options,
                                             TimeRange window);

// Walks `graph` from the event `start` (which must be in it), strongest
// paths first.
std::vector<ChainLink> WalkChain(const CausalGraph& graph, const Event& start,
                                 ChainDirection direction, int max_depth,
                                 size_t max_links);

}  // namespace traversion::causality

#endif  // TRAVERSION_CAUSALITY_GRAPH_H_
