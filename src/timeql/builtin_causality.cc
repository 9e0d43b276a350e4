// The built-in CausalityProvider: trace context only.
//
// Links: a span's parent span ("parent", backward) and child spans
// ("child", forward); a log or error and the span it was recorded in
// ("in_span" backward, "contains" forward). Every link has confidence 1:
// trace context is recorded, not inferred.
//
// ROOT CAUSE is a trace heuristic, not the causality engine (issue #5): in a
// trace, the erroring events with no erroring event below them are where the
// failure started; for a window, the services holding those deepest errors
// are ranked by the share of erroring traces they start. Named patterns are
// not detected (Unimplemented).
#include <algorithm>
#include <deque>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "causality/forecast.h"
#include "timeql/evaluator.h"
#include "traversion/query_extensions.h"
#include "util/status_macros.h"

namespace traversion {
namespace {

using timeql::BuildTraceData;
using timeql::ErrorOccurred;
using timeql::TraceData;

// Erroring events of a trace with no erroring event below them.
std::vector<size_t> DeepestErrors(const TraceData& t) {
  std::vector<char> has_error_below(t.events.size(), 0);
  // Mark every ancestor of each erroring event (bounded walk: cycles).
  for (size_t i = 0; i < t.events.size(); ++i) {
    if (!ErrorOccurred(t.events[i])) continue;
    size_t j = i;
    for (size_t steps = 0; steps < t.events.size(); ++steps) {
      auto it = t.parent.find(j);
      if (it == t.parent.end() || has_error_below[it->second]) break;
      has_error_below[it->second] = 1;
      j = it->second;
    }
  }
  std::vector<size_t> out;
  for (size_t i = 0; i < t.events.size(); ++i) {
    if (ErrorOccurred(t.events[i]) && !has_error_below[i]) out.push_back(i);
  }
  return out;
}

// The chain from `i` up to its root, cause first.
std::vector<EventId> ChainUp(const TraceData& t, size_t i) {
  std::vector<EventId> chain = {t.events[i].id};
  for (size_t steps = 0; steps < t.events.size(); ++steps) {
    auto it = t.parent.find(i);
    if (it == t.parent.end()) break;
    i = it->second;
    chain.push_back(t.events[i].id);
  }
  return chain;
}

std::string Operation(const Event& e) {
  return e.name.empty() ? e.service.name
                        : absl::StrCat(e.service.name, " ", e.name);
}

class TraceCausality final : public CausalityProvider {
 public:
  absl::Status Traverse(const Store& store, const Event& start,
                        TraverseDirection direction, int max_depth,
                        const CausalVisitor& visit) const override {
    CausalStep first;
    first.event = start;
    first.edge = "start";
    if (!visit(first) || !start.trace.has_trace() || max_depth <= 0) {
      return absl::OkStatus();
    }
    TV_ASSIGN_OR_RETURN(std::vector<Event> events,
                        store.GetTrace(start.trace.trace_id));
    TraceData t = BuildTraceData(std::move(events));
    const int64_t self = timeql::TraceCache::IndexOf(t, start);
    if (self < 0) return absl::OkStatus();
    std::vector<char> seen(t.events.size(), 0);
    seen[self] = 1;
    struct Item {
      size_t index;
      int depth;
    };
    std::deque<Item> queue = {{static_cast<size_t>(self), 0}};
    const bool back = direction != TraverseDirection::kForward;
    const bool fwd = direction != TraverseDirection::kBackward;
    while (!queue.empty()) {
      Item item = queue.front();
      queue.pop_front();
      if (item.depth >= max_depth) continue;
      const Event& from = t.events[item.index];
      // Nearest first; within a level, causes before effects, then time.
      std::vector<std::pair<size_t, std::string>> next;
      if (back) {
        auto it = t.parent.find(item.index);
        if (it != t.parent.end()) {
          next.emplace_back(
              it->second,
              from.effective_type() == EventType::kSpan ? "parent" : "in_span");
        }
      }
      if (fwd) {
        auto it = t.children.find(item.index);
        if (it != t.children.end()) {
          for (size_t c : it->second) {
            next.emplace_back(c,
                              t.events[c].effective_type() == EventType::kSpan
                                  ? "child"
                                  : "contains");
          }
        }
      }
      for (auto& [index, edge] : next) {
        if (seen[index]) continue;
        seen[index] = 1;
        CausalStep step;
        step.event = t.events[index];
        step.depth = item.depth + 1;
        step.edge = edge;
        step.via = from.id;
        if (!visit(step)) return absl::OkStatus();
        queue.push_back({index, item.depth + 1});
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<RootCauseCandidate>> FindRootCause(
      const Store& store, const RootCauseRequest& request) const override {
    std::vector<RootCauseCandidate> out;
    if (request.event.has_value()) {
      const Event& e = *request.event;
      if (!e.trace.has_trace()) {
        RootCauseCandidate c;
        c.kind = "event";
        c.name = Operation(e);
        c.score = ErrorOccurred(e) ? 1.0 : 0.0;
        c.explanation =
            "the event has no trace context; the built-in provider can only "
            "name the event itself (the causality engine adds temporal and "
            "data-flow links)";
        c.evidence = {e.id};
        out.push_back(std::move(c));
        return out;
      }
      TV_ASSIGN_OR_RETURN(std::vector<Event> events,
                          store.GetTrace(e.trace.trace_id));
      TraceData t = BuildTraceData(std::move(events));
      std::vector<size_t> deepest = DeepestErrors(t);
      size_t errors = 0;
      for (const Event& x : t.events) errors += ErrorOccurred(x);
      std::sort(deepest.begin(), deepest.end(), [&](size_t a, size_t b) {
        return t.events[a].time_ns < t.events[b].time_ns;
      });
      for (size_t i : deepest) {
        RootCauseCandidate c;
        c.kind = "operation";
        c.name = Operation(t.events[i]);
        c.evidence = ChainUp(t, i);
        size_t on_path = 0;
        for (const EventId& id : c.evidence) {
          for (const Event& x : t.events) {
            if (x.id == id && ErrorOccurred(x)) ++on_path;
          }
        }
        c.score = errors == 0 ? 0
                              : static_cast<double>(on_path) /
                                    static_cast<double>(errors);
        const std::string message = timeql::EventMessage(t.events[i]);
        c.explanation = absl::StrFormat(
            "deepest error in trace %s: %s%s; %d of the trace's %d erroring "
            "events lie on its path to the root",
            ToHex(e.trace.trace_id), c.name,
            message.empty() ? "" : absl::StrCat(" (", message, ")"), on_path,
            errors);
        out.push_back(std::move(c));
      }
      std::stable_sort(
          out.begin(), out.end(),
          [](const RootCauseCandidate& a, const RootCauseCandidate& b) {
            return a.score > b.score;
          });
      return out;
    }
    // A window: the erroring traces in it, and who starts their failures.
    EventFilter filter = request.filter;
    filter.from_ns = std::max(filter.from_ns, request.from_ns);
    filter.to_ns = std::min(filter.to_ns, request.to_ns);
    EventCursor cursor = store.Scan(filter);
    constexpr size_t kMaxTraces = 2000;
    std::vector<TraceId> traces;
    absl::flat_hash_set<std::string> seen;
    struct Tally {
      size_t traces = 0;
      std::vector<EventId> examples;
      std::string first_message;
    };
    std::map<std::string, Tally> by_service;
    size_t untraced = 0;
    while (cursor.Next()) {
      if (request.max_events_examined != 0 &&
          cursor.examined() > request.max_events_examined) {
        return absl::ResourceExhaustedError(
            "ROOT CAUSE: the window holds too many events; narrow it");
      }
      const Event& e = cursor.event();
      if (!ErrorOccurred(e)) continue;
      if (!e.trace.has_trace()) {
        Tally& tally = by_service[e.service.name];
        ++tally.traces;
        ++untraced;
        if (tally.examples.size() < 5) tally.examples.push_back(e.id);
        continue;
      }
      std::string key(reinterpret_cast<const char*>(e.trace.trace_id.data()),
                      16);
      if (traces.size() < kMaxTraces && seen.insert(key).second) {
        traces.push_back(e.trace.trace_id);
      }
    }
    TV_RETURN_IF_ERROR(cursor.status());
    for (const TraceId& id : traces) {
      TV_ASSIGN_OR_RETURN(std::vector<Event> events, store.GetTrace(id));
      TraceData t = BuildTraceData(std::move(events));
      absl::flat_hash_set<std::string> services;
      for (size_t i : DeepestErrors(t)) {
        const Event& e = t.events[i];
        if (!services.insert(e.service.name).second) continue;
        Tally& tally = by_service[e.service.name];
        ++tally.traces;
        if (tally.examples.size() < 5) tally.examples.push_back(e.id);
        if (tally.first_message.empty()) {
          tally.first_message = timeql::EventMessage(e);
        }
      }
    }
    const size_t total = traces.size() + untraced;
    for (auto& [service, tally] : by_service) {
      RootCauseCandidate c;
      c.kind = "service";
      c.name = service;
      c.score = total == 0 ? 0
                           : static_cast<double>(tally.traces) /
                                 static_cast<double>(total);
      c.explanation = absl::StrFormat(
          "holds the deepest error of %d of %d failures in the window%s "
          "(trace heuristic of the built-in provider)",
          tally.traces, total,
          tally.first_message.empty()
              ? ""
              : absl::StrCat("; e.g. ", tally.first_message));
      c.evidence = tally.examples;
      out.push_back(std::move(c));
    }
    std::stable_sort(
        out.begin(), out.end(),
        [](const RootCauseCandidate& a, const RootCauseCandidate& b) {
          return a.score > b.score;
        });
    return out;
  }

  absl::StatusOr<std::vector<PatternOccurrence>> DetectPattern(
      const Store&, absl::string_view name, uint64_t, uint64_t) const override {
    return absl::UnimplementedError(absl::StrCat(
        "named pattern '", name,
        "' needs the causality engine; the built-in provider detects no "
        "named patterns. Write the sequence instead: MATCH PATTERN WHERE ... "
        "FOLLOWED BY ... WITHIN d"));
  }
};

// Least-squares line over the history; interval from the residuals.
class LinearTrendForecaster final : public Forecaster {
 public:
  uint64_t history_ns(uint64_t horizon_ns) const override {
    return causality::RobustTrendHistoryNs(horizon_ns);
  }

  absl::StatusOr<Forecast> Predict(
      const ForecastRequest& request) const override {
    const auto& h = request.history;
    if (h.size() < 3) {
      return absl::FailedPreconditionError(absl::StrCat(
          "needs at least 3 samples of ", request.metric, ", has ", h.size()));
    }
    // Times relative to FROM, in seconds, for numerical stability.
    const double n = static_cast<double>(h.size());
    double sx = 0, sy = 0;
    std::vector<double> xs;
    xs.reserve(h.size());
    for (const SeriesPoint& p : h) {
      const double x = (static_cast<double>(p.time_ns) -
                        static_cast<double>(request.from_ns)) /
                       1e9;
      xs.push_back(x);
      sx += x;
      sy += p.value;
    }
    const double mx = sx / n, my = sy / n;
    double sxx = 0, sxy = 0;
    for (size_t i = 0; i < h.size(); ++i) {
      sxx += (xs[i] - mx) * (xs[i] - mx);
      sxy += (xs[i] - mx) * (h[i].value - my);
    }
    const double slope = sxx > 0 ? sxy / sxx : 0;
    const double intercept = my - slope * mx;
    double sse = 0;
    for (size_t i = 0; i < h.size(); ++i) {
      const double r = h[i].value - (intercept + slope * xs[i]);
      sse += r * r;
    }
    const double sigma = std::sqrt(sse / std::max(1.0, n - 2));
    return causality::LineForecast(request, xs, intercept, slope, sigma,
                                   "linear trend");
  }
};

}  // namespace

const CausalityProvider* BuiltinCausalityProvider() {
  static const TraceCausality* provider = new TraceCausality();
  return provider;
}

const Forecaster* BuiltinForecaster() {
  static const LinearTrendForecaster* forecaster = new LinearTrendForecaster();
  return forecaster;
}

}  // namespace traversion
