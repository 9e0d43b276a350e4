#include "causality/window.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "util/status_macros.h"

namespace traversion::causality {
namespace {

bool IsHexDigit(char c) { return std::isxdigit(static_cast<unsigned char>(c)); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Replaces variable parts of a message by '*': numbers, hex runs of 6 or
// more, anything in quotes; keeps the first `max_words` words.
std::string MaskMessage(absl::string_view text, int max_words) {
  std::string out;
  out.reserve(std::min<size_t>(text.size(), 160));
  int words = 0;
  size_t i = 0;
  while (i < text.size() && words < max_words) {
    char c = text[i];
    if (c == '"' || c == '\'') {
      size_t end = text.find(c, i + 1);
      if (end == absl::string_view::npos) end = text.size() - 1;
      out += '*';
      i = end + 1;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ') {
        out += ' ';
        ++words;
      }
      ++i;
      continue;
    }
    // A token: masked when it holds a digit (ids, counts, times) or is a
    // long hex run.
    size_t end = i;
    bool digit = false, all_hex = true;
    while (end < text.size() &&
           !std::isspace(static_cast<unsigned char>(text[end])) &&
           text[end] != '"' && text[end] != '\'') {
      digit |= IsDigit(text[end]);
      all_hex &= IsHexDigit(text[end]) || text[end] == '-';
      ++end;
    }
    absl::string_view token = text.substr(i, end - i);
    if (digit || (all_hex && token.size() >= 6)) {
      out += '*';
    } else {
      out.append(token.data(), token.size());
    }
    i = end;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

void ClipAppend(std::vector<TimeRange>& out, TimeRange r, uint64_t end) {
  r.to_ns = std::min(r.to_ns, end);
  if (r.from_ns < r.to_ns) out.push_back(r);
}

}  // namespace

uint32_t Names::Intern(absl::string_view name) {
  auto it = ids_.find(name);
  if (it != ids_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(std::string(name), id);
  return id;
}

uint32_t Names::Find(absl::string_view name) const {
  auto it = ids_.find(name);
  return it == ids_.end() ? kNone : it->second;
}

std::string LogTemplate(const Event& event) {
  if (const ErrorData* error = event.error()) {
    if (!error->exception_type.empty()) return error->exception_type;
    return MaskMessage(error->message, 12);
  }
  const LogData* log = event.log();
  if (log == nullptr) return MaskMessage(event.name, 12);
  if (log->code_line > 0) {
    absl::string_view where =
        log->logger.empty() ? log->code_file : log->logger;
    return absl::StrCat(where, "#", log->code_line);
  }
  if (!log->logger.empty()) {
    return absl::StrCat(log->logger, ": ", MaskMessage(log->body, 6));
  }
  return MaskMessage(log->body, 12);
}

std::vector<TimeRange> BaselineFor(const CausalityOptions& options,
                                   TimeRange window) {
  std::vector<TimeRange> out;
  if (!options.baseline.empty()) {
    for (const TimeRange& r : options.baseline) {
      ClipAppend(out, r, window.from_ns);
    }
  } else if (window.from_ns > 0) {
    uint64_t from = window.from_ns > options.baseline_ns
                        ? window.from_ns - options.baseline_ns
                        : 0;
    ClipAppend(out, {from, window.from_ns}, window.from_ns);
  }
  // Sorted and merged, so that no event is read twice.
  std::sort(out.begin(), out.end(), [](const TimeRange& a, const TimeRange& b) {
    return a.from_ns < b.from_ns;
  });
  std::vector<TimeRange> merged;
  for (const TimeRange& r : out) {
    if (!merged.empty() && r.from_ns <= merged.back().to_ns) {
      merged.back().to_ns = std::max(merged.back().to_ns, r.to_ns);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

absl::StatusOr<Snapshot> LoadSnapshot(const Store& store,
                                      const CausalityOptions& options,
                                      TimeRange window) {
  if (window.to_ns <= window.from_ns) {
    return absl::InvalidArgumentError(
        "causality: the window is empty (its end is not after its start)");
  }
  Snapshot snap;
  snap.window = window;
  snap.baseline = BaselineFor(options, window);
  for (const TimeRange& r : snap.baseline) {
    snap.baseline_ns += r.to_ns - r.from_ns;
  }

  absl::flat_hash_map<SpanKey, int32_t> span_index;
  struct PendingLog {
    size_t log;
    SpanKey key;
  };
  std::vector<PendingLog> pending;
  // Spans whose parent is linked after the scan: it may come later in time
  // order (clock skew between services).
  std::vector<PendingLog> pending_parents;
  // The last observed state of each entity, to tell changes from repeats.
  absl::flat_hash_map<std::string, std::vector<EntityField>> entity_state;

  auto add_event = [&](const Event& e, Phase phase) {
    uint32_t service = snap.services.Intern(e.service.name);
    switch (e.effective_type()) {
      case EventType::kSpan: {
        const SpanData* s = e.span();
        SpanRec rec;
        rec.id = e.id;
        rec.time_ns = e.time_ns;
        rec.duration_ns = s->duration_ns;
        rec.service = service;
        rec.op = snap.ops.Intern(absl::StrCat(e.service.name, " ", e.name));
        if (rec.op >= snap.op_service.size())
          snap.op_service.push_back(service);
        rec.phase = phase;
        rec.error = s->status == SpanStatus::kError;
        if (e.trace.has_trace()) {
          span_index[KeyOf(e.trace.trace_id, e.trace.span_id)] =
              static_cast<int32_t>(snap.spans.size());
          if (e.trace.has_parent()) {
            pending_parents.push_back(
                {snap.spans.size(),
                 KeyOf(e.trace.trace_id, e.trace.parent_span_id)});
          }
        }
        snap.spans.push_back(rec);
        break;
      }
      case EventType::kLog:
      case EventType::kError: {
        LogRec rec;
        rec.id = e.id;
        rec.time_ns = e.time_ns;
        rec.service = service;
        rec.template_id = snap.templates.Intern(
            absl::StrCat(e.service.name, " ", LogTemplate(e)));
        rec.severity = e.severity;
        rec.error_event = e.effective_type() == EventType::kError;
        if (rec.error_event && rec.severity == Severity::kUnspecified) {
          rec.severity = Severity::kError;
        }
        rec.phase = phase;
        if (e.trace.has_trace()) {
          pending.push_back(
              {snap.logs.size(), KeyOf(e.trace.trace_id, e.trace.span_id)});
        }
        snap.logs.push_back(rec);
        break;
      }
      case EventType::kMetric: {
        const MetricData* m = e.metric();
        double value = m->value;
        if (m->kind == MetricKind::kHistogram) {
          if (m->count == 0) return;
          value = m->sum / static_cast<double>(m->count);
        }
        std::string key = absl::StrCat(e.service.name, "\x1f",
                                       e.service.instance, "\x1f", e.name);
        auto [it, added] = snap.series_ids.try_emplace(
            key, static_cast<uint32_t>(snap.series.size()));
        if (added) {
          snap.series.push_back({service, e.name, m->unit, e.service.instance});
        }
        snap.metrics.push_back({e.id, e.time_ns, it->second, value, phase});
        break;
      }
      case EventType::kEntityState: {
        const auto* st = std::get_if<EntityStateData>(&e.payload);
        InfraRec rec;
        rec.id = e.id;
        rec.time_ns = e.time_ns;
        rec.service = service;
        rec.type = EventType::kEntityState;
        rec.subject = st->entity;
        rec.phase = phase;
        auto [it, first] = entity_state.try_emplace(st->entity, st->fields);
        if (st->deleted) {
          rec.is_change = true;
          rec.what = "deleted";
        } else if (!first) {
          std::vector<std::string> changed;
          for (const EntityField& f : st->fields) {
            auto old = std::find_if(
                it->second.begin(), it->second.end(),
                [&](const EntityField& o) { return o.name == f.name; });
            if (old == it->second.end()) {
              changed.push_back(absl::StrCat(f.name, " = ", f.value));
            } else if (old->value != f.value) {
              changed.push_back(
                  absl::StrCat(f.name, " ", old->value, " -> ", f.value));
            }
          }
          // Counters that move on every observation (pool usage) are
          // changes too, but only configuration-like changes are "bad
          // change" suspects; the caller tells them apart by field.
          if (!changed.empty()) {
            rec.is_change = true;
            for (size_t i = 0; i < changed.size() && i < 4; ++i) {
              if (i > 0) rec.what += ", ";
              rec.what += changed[i];
            }
          }
          it->second = st->fields;
        }
        if (rec.is_change) snap.infra.push_back(std::move(rec));
        break;
      }
      case EventType::kKubernetes: {
        const KubernetesData* k = e.kubernetes();
        InfraRec rec;
        rec.id = e.id;
        rec.time_ns = e.time_ns;
        rec.service = service;
        rec.type = EventType::kKubernetes;
        rec.subject = k->pod.empty() ? k->object_kind : k->pod;
        rec.what = k->reason.empty() ? k->message : k->reason;
        rec.phase = phase;
        rec.is_change = true;
        rec.severe = e.severity >= Severity::kWarn ||
                     k->reason.find("OOM") != std::string::npos ||
                     k->reason.find("BackOff") != std::string::npos;
        snap.infra.push_back(std::move(rec));
        break;
      }
      case EventType::kKernel: {
        const KernelData* k = e.kernel();
        if (k->kind != KernelEventKind::kOomKill &&
            k->kind != KernelEventKind::kFatalSignal &&
            k->kind != KernelEventKind::kTcpRetransmit &&
            k->kind != KernelEventKind::kSyscallFailure) {
          return;
        }
        InfraRec rec;
        rec.id = e.id;
        rec.time_ns = e.time_ns;
        rec.service = service;
        rec.type = EventType::kKernel;
        rec.subject = k->comm;
        rec.what = k->kind == KernelEventKind::kOomKill       ? "oom_kill"
                   : k->kind == KernelEventKind::kFatalSignal ? "fatal_signal"
                   : k->kind == KernelEventKind::kTcpRetransmit
                       ? "tcp_retransmit"
                       : absl::StrCat("syscall_failure ", k->syscall);
        rec.phase = phase;
        rec.is_change = true;
        rec.severe = k->kind == KernelEventKind::kOomKill ||
                     k->kind == KernelEventKind::kFatalSignal;
        snap.infra.push_back(std::move(rec));
        break;
      }
      default:
        break;
    }
  };

  auto scan = [&](TimeRange r, Phase phase) -> absl::Status {
    EventFilter filter;
    filter.from_ns = r.from_ns;
    filter.to_ns = r.to_ns;
    EventCursor cursor = store.Scan(filter);
    while (cursor.Next()) {
      if (++snap.events_examined > options.max_events) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "causality: the window and its baseline hold more than ",
            options.max_events,
            " events; raise CausalityOptions::max_events or narrow the "
            "window"));
      }
      add_event(cursor.event(), phase);
    }
    return cursor.status();
  };
  for (const TimeRange& r : snap.baseline) {
    TV_RETURN_IF_ERROR(scan(r, Phase::kBaseline));
  }
  TV_RETURN_IF_ERROR(scan(window, Phase::kWindow));

  // Link spans to their parents (and sum the children's time), logs to
  // their spans.
  for (const PendingLog& p : pending_parents) {
    auto it = span_index.find(p.key);
    if (it == span_index.end()) continue;
    SpanRec& child = snap.spans[p.log];
    SpanRec& parent = snap.spans[it->second];
    child.parent = it->second;
    parent.child_ns += child.duration_ns;
    if (parent.service != child.service) {
      parent.remote_child = true;
      parent.callee = parent.callee == kNone || parent.callee == child.service
                          ? child.service
                          : kSeveral;
    }
  }
  for (const PendingLog& p : pending) {
    auto it = span_index.find(p.key);
    if (it == span_index.end()) continue;
    LogRec& log = snap.logs[p.log];
    log.span = it->second;
    log.op = snap.spans[it->second].op;
  }
  return snap;
}

}  // namespace traversion::causality
