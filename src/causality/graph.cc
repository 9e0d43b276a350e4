// Edges:
//   direct       parent span -> child span, span -> log or error recorded in
//                it; confidence 1 (recorded, not inferred).
//   temporal     the previous event on the same service instance (or host,
//                or service when neither is known) at most
//                temporal_window_ns before, for events with no trace context
//                (gauges, kernel and Kubernetes events, logs outside spans);
//                confidence 0.5 falling linearly to 0 with the gap.
//   data flow    the latest change of an entity -> later events that name
//                it (entity_refs, or a later observation of it) within
//                dataflow_window_ns; confidence 0.8 falling with the gap.
//   service      callee -> caller: the first failing span on a callee ->
//                the first failing span after it on each caller; confidence
//                the share of the caller's calls that go to that callee.
#include "causality/graph.h"

#include <algorithm>
#include <array>
#include <queue>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "causality/window.h"
#include "util/status_macros.h"

namespace traversion::causality {
namespace {

bool Failed(const Event& e) {
  if (const SpanData* s = e.span()) return s->status == SpanStatus::kError;
  return e.effective_type() == EventType::kError ||
         e.severity >= Severity::kError;
}

void Add(CausalGraph& g, const Event& cause, const Event& effect, EdgeKind kind,
         double confidence, std::string reason) {
  g.edges.push_back({cause.id, effect.id, kind, confidence, std::move(reason)});
  ++g.edges_by_kind[static_cast<int>(kind)];
}

}  // namespace

absl::StatusOr<CausalGraph> BuildCausalGraph(const Store& store,
                                             const CausalityOptions& options,
                                             TimeRange window) {
  if (window.to_ns <= window.from_ns) {
    return absl::InvalidArgumentError(
        "causality: the window is empty (its end is not after its start)");
  }
  CausalGraph g;
  g.from_ns = window.from_ns;
  g.to_ns = window.to_ns;
  EventFilter filter;
  filter.from_ns = window.from_ns;
  filter.to_ns = window.to_ns;
  EventCursor cursor = store.Scan(filter);
  while (cursor.Next()) {
    if (g.events.size() >= options.max_events) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "causality: the window holds more than ", options.max_events,
          " events; raise CausalityOptions::max_events or narrow the window"));
    }
    g.events.push_back(cursor.event());
  }
  TV_RETURN_IF_ERROR(cursor.status());

  // direct
  absl::flat_hash_map<SpanKey, size_t> spans;
  for (size_t i = 0; i < g.events.size(); ++i) {
    const Event& e = g.events[i];
    if (e.span() != nullptr && e.trace.has_trace()) {
      spans[KeyOf(e.trace.trace_id, e.trace.span_id)] = i;
    }
  }
  absl::flat_hash_map<std::pair<std::string, std::string>, ServiceCall> calls;
  absl::flat_hash_map<std::string, uint64_t> outgoing;
  for (size_t i = 0; i < g.events.size(); ++i) {
    const Event& e = g.events[i];
    if (!e.trace.has_trace()) continue;
    bool is_span = e.span() != nullptr;
    if (is_span && !e.trace.has_parent()) continue;
    auto it = spans.find(KeyOf(
        e.trace.trace_id, is_span ? e.trace.parent_span_id : e.trace.span_id));
    if (it == spans.end() || it->second == i) continue;
    const Event& parent = g.events[it->second];
    Add(g, parent, e, EdgeKind::kDirect, 1.0,
        is_span ? "parent span" : "recorded in this span");
    if (is_span && parent.service.name != e.service.name) {
      ServiceCall& c = calls[{parent.service.name, e.service.name}];
      c.caller = parent.service.name;
      c.callee = e.service.name;
      ++c.calls;
      if (Failed(e)) ++c.errors;
      ++outgoing[parent.service.name];
    }
  }

  // temporal: events without trace context, chained per instance.
  absl::flat_hash_map<std::string, size_t> last_on;
  for (size_t i = 0; i < g.events.size(); ++i) {
    const Event& e = g.events[i];
    const std::string& where = !e.service.instance.empty() ? e.service.instance
                               : !e.service.host.empty()   ? e.service.host
                                                           : e.service.name;
    auto it = last_on.find(where);
    if (!e.trace.has_trace() && it != last_on.end()) {
      const Event& prev = g.events[it->second];
      uint64_t gap = e.time_ns - prev.time_ns;
      if (gap <= options.temporal_window_ns) {
        double conf =
            0.5 *
            (1.0 - static_cast<double>(gap) /
                       static_cast<double>(options.temporal_window_ns + 1));
        Add(g, prev, e, EdgeKind::kTemporal, conf,
            absl::StrFormat("same %s, %.1f ms before",
                            !e.service.instance.empty() ? "instance"
                            : !e.service.host.empty()   ? "host"
                                                        : "service",
                            static_cast<double>(gap) / 1e6));
      }
    }
    last_on[where] = i;
  }

  // data flow
  absl::flat_hash_map<std::string, size_t> last_change;
  absl::flat_hash_map<std::string, std::vector<EntityField>> state;
  for (size_t i = 0; i < g.events.size(); ++i) {
    const Event& e = g.events[i];
    auto link = [&](const std::string& entity) {
      auto it = last_change.find(entity);
      if (it == last_change.end() || it->second == i) return;
      const Event& change = g.events[it->second];
      uint64_t gap = e.time_ns - change.time_ns;
      if (gap > options.dataflow_window_ns) return;
      double conf =
          0.8 * (1.0 - static_cast<double>(gap) /
                           static_cast<double>(options.dataflow_window_ns + 1));
      Add(g, change, e, EdgeKind::kDataFlow, conf,
          absl::StrFormat("%s changed %.1f s before", entity,
                          static_cast<double>(gap) / 1e9));
    };
    for (const std::string& ref : e.entity_refs) link(ref);
    if (const auto* st = std::get_if<EntityStateData>(&e.payload)) {
      link(st->entity);
      auto [it, first] = state.try_emplace(st->entity, st->fields);
      if (first || st->deleted || it->second != st->fields) {
        last_change[st->entity] = i;
        it->second = st->fields;
      }
    }
  }

  // service level: the first failing span of each service (by when it
  // ended: a caller's span starts before its callee's but fails after it).
  auto end_of = [&](size_t i) {
    return g.events[i].time_ns + g.events[i].span()->duration_ns;
  };
  absl::flat_hash_map<std::string, size_t> first_failure;
  for (size_t i = 0; i < g.events.size(); ++i) {
    const Event& e = g.events[i];
    if (e.span() == nullptr || !Failed(e)) continue;
    auto [it, added] = first_failure.try_emplace(e.service.name, i);
    if (!added && end_of(i) < end_of(it->second)) it->second = i;
  }
  for (const auto& [key, call] : calls) {
    auto callee = first_failure.find(call.callee);
    auto caller = first_failure.find(call.caller);
    if (callee == first_failure.end() || caller == first_failure.end()) {
      continue;
    }
    if (end_of(caller->second) < end_of(callee->second)) continue;
    double share =
        static_cast<double>(call.calls) /
        static_cast<double>(std::max<uint64_t>(1, outgoing[call.caller]));
    Add(g, g.events[callee->second], g.events[caller->second],
        EdgeKind::kServiceLevel, share,
        absl::StrFormat("%s calls %s (%.0f%% of its calls)", call.caller,
                        call.callee, 100 * share));
  }
  for (auto& [key, call] : calls) g.calls.push_back(call);
  std::sort(g.calls.begin(), g.calls.end(),
            [](const ServiceCall& a, const ServiceCall& b) {
              return a.calls > b.calls;
            });
  return g;
}

std::vector<ChainLink> WalkChain(const CausalGraph& graph, const Event& start,
                                 ChainDirection direction, int max_depth,
                                 size_t max_links) {
  absl::flat_hash_map<EventId, size_t> index;
  for (size_t i = 0; i < graph.events.size(); ++i)
    index[graph.events[i].id] = i;
  // Adjacency in the walking direction.
  std::vector<std::vector<size_t>> next(graph.events.size());
  for (size_t e = 0; e < graph.edges.size(); ++e) {
    const CausalEdge& edge = graph.edges[e];
    auto cause = index.find(edge.cause);
    auto effect = index.find(edge.effect);
    if (cause == index.end() || effect == index.end()) continue;
    if (direction != ChainDirection::kForward) {
      next[effect->second].push_back(e);
    }
    if (direction != ChainDirection::kBackward) {
      next[cause->second].push_back(e);
    }
  }
  std::vector<ChainLink> out;
  ChainLink first;
  first.event = start;
  first.reason = "start";
  out.push_back(first);
  auto s = index.find(start.id);
  if (s == index.end() || max_depth <= 0) return out;

  struct Item {
    double confidence;
    int depth;
    size_t event;
    size_t edge;
    size_t from;
    // Strongest path first; ties by depth, then time order (events are in
    // time order), so the walk does not depend on the heap's history.
    bool operator<(const Item& o) const {
      if (confidence != o.confidence) return confidence < o.confidence;
      if (depth != o.depth) return depth > o.depth;
      return event > o.event;
    }
  };
  std::priority_queue<Item> queue;
  std::vector<char> seen(graph.events.size(), 0);
  seen[s->second] = 1;
  auto push_from = [&](size_t from, double conf, int depth) {
    for (size_t e : next[from]) {
      const CausalEdge& edge = graph.edges[e];
      size_t to =
          index[edge.cause] == from ? index[edge.effect] : index[edge.cause];
      if (seen[to]) continue;
      queue.push({conf * edge.confidence, depth + 1, to, e, from});
    }
  };
  push_from(s->second, 1.0, 0);
  while (!queue.empty() && out.size() < max_links) {
    Item item = queue.top();
    queue.pop();
    if (seen[item.event]) continue;
    seen[item.event] = 1;
    const CausalEdge& edge = graph.edges[item.edge];
    ChainLink link;
    link.event = graph.events[item.event];
    link.depth = item.depth;
    link.kind = edge.kind;
    link.confidence = edge.confidence;
    link.path_confidence = item.confidence;
    link.reason = edge.reason;
    link.via = graph.events[item.from].id;
    out.push_back(std::move(link));
    if (item.depth < max_depth)
      push_from(item.event, item.confidence, item.depth);
  }
  return out;
}

}  // namespace traversion::causality
