#include "causality/window.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "util/status_macros.h"

namespace traversion::causality {
namespace {

bool IsHexDigit(char c) { return std::isxdigit(static_cast<unsigned char>(c)); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Appends `text` with its variable parts replaced by '*': numbers, hex
// runs of 6 or more, anything in quotes; keeps the first `max_words` words.
void AppendMasked(absl::string_view text, int max_words, std::string& out) {
  const size_t start = out.size();
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
      if (out.size() > start && out.back() != ' ') {
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
  while (out.size() > start && out.back() == ' ') out.pop_back();
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

void AppendLogTemplate(const Event& event, std::string& out) {
  if (const ErrorData* error = event.error()) {
    if (!error->exception_type.empty()) {
      out += error->exception_type;
    } else {
      AppendMasked(error->message, 12, out);
    }
    return;
  }
  const LogData* log = event.log();
  if (log == nullptr) return AppendMasked(event.name, 12, out);
  if (log->code_line > 0) {
    absl::string_view where =
        log->logger.empty() ? log->code_file : log->logger;
    absl::StrAppend(&out, where, "#", log->code_line);
  } else if (!log->logger.empty()) {
    absl::StrAppend(&out, log->logger, ": ");
    AppendMasked(log->body, 6, out);
  } else {
    AppendMasked(log->body, 12, out);
  }
}

std::string LogTemplate(const Event& event) {
  std::string out;
  AppendLogTemplate(event, out);
  return out;
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

namespace {

// An entity observation, kept whole until the slices are merged: whether
// it changed the entity depends on the observation before it, which may
// have been read by another slice.
struct EntityObservation {
  size_t infra_slot;  // position among the slice's infra records
  EventId id;
  uint64_t time_ns = 0;
  uint32_t service = kNone;
  Phase phase = Phase::kBaseline;
  EntityStateData state;
};

// A span or log waiting for the span it points to: linked after the merge,
// as the span may be in a later slice (clock skew between services).
struct PendingLink {
  size_t index;  // into spans or logs
  SpanKey key;
};

// Reads one time slice of the analysis into a partial snapshot with its
// own name tables; slices are read in parallel and merged in time order.
class SliceLoader {
 public:
  explicit SliceLoader(std::atomic<uint64_t>* examined, uint64_t max_events)
      : examined_(examined), max_events_(max_events) {}

  absl::Status Read(const Store& store, TimeRange range, Phase phase) {
    EventFilter filter;
    filter.from_ns = range.from_ns;
    filter.to_ns = range.to_ns;
    filter.skip_details = true;  // attributes and the like are not used
    EventCursor cursor = store.Scan(filter);
    uint64_t local = 0;
    while (cursor.Next()) {
      // The shared count is updated in batches: one atomic add per event
      // would make the slices' threads contend on one cache line.
      if (++local == 1024) {
        TV_RETURN_IF_ERROR(Count(local));
        local = 0;
      }
      Add(cursor.event(), phase);
    }
    TV_RETURN_IF_ERROR(Count(local));
    return cursor.status();
  }

  // Links spans to parents and logs to spans found in this slice; what
  // is left in parent_links and log_links points to other slices.
  void LinkLocally();

  Snapshot part;
  // The slice's spans by key; links are resolved within the slice by
  // LinkLocally (in the slice's thread), the rest after the merge.
  absl::flat_hash_map<SpanKey, int32_t> span_index;
  std::vector<PendingLink> parent_links;  // spans to their parents
  std::vector<PendingLink> log_links;     // logs to their spans
  std::vector<EntityObservation> observations;

 private:
  absl::Status Count(uint64_t n) {
    if (examined_->fetch_add(n, std::memory_order_relaxed) + n > max_events_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "causality: the window and its baseline hold more than ", max_events_,
          " events; raise CausalityOptions::max_events or narrow the "
          "window"));
    }
    return absl::OkStatus();
  }

  // "<service> <name>" interned in `names`, looked up per service by
  // `name` alone so that the common case builds no string.
  uint32_t InternPerService(
      Names& names,
      std::vector<absl::flat_hash_map<std::string, uint32_t>>& cache,
      uint32_t service, absl::string_view service_name,
      absl::string_view name) {
    if (service >= cache.size()) cache.resize(service + 1);
    auto& by_name = cache[service];
    auto it = by_name.find(name);
    if (it != by_name.end()) return it->second;
    uint32_t id = names.Intern(absl::StrCat(service_name, " ", name));
    by_name.emplace(std::string(name), id);
    return id;
  }

  void Add(const Event& e, Phase phase);

  std::atomic<uint64_t>* examined_;
  uint64_t max_events_;
  std::vector<absl::flat_hash_map<std::string, uint32_t>> op_cache_;
  std::vector<absl::flat_hash_map<std::string, uint32_t>> template_cache_;
  std::string template_buffer_;
  std::string series_key_;
};

// Records that `child` is a child span of `parent` (indices into spans).
void LinkSpan(std::vector<SpanRec>& spans, size_t child_index,
              int32_t parent_index) {
  SpanRec& child = spans[child_index];
  SpanRec& parent = spans[parent_index];
  child.parent = parent_index;
  parent.child_ns += child.duration_ns;
  if (parent.service != child.service) {
    parent.remote_child = true;
    parent.callee = parent.callee == kNone || parent.callee == child.service
                        ? child.service
                        : kSeveral;
  }
}

void LinkLog(Snapshot& snap, size_t log_index, int32_t span_index) {
  LogRec& log = snap.logs[log_index];
  log.span = span_index;
  log.op = snap.spans[span_index].op;
}

void SliceLoader::LinkLocally() {
  size_t kept = 0;
  for (const PendingLink& p : parent_links) {
    auto it = span_index.find(p.key);
    if (it == span_index.end()) {
      parent_links[kept++] = p;
    } else {
      LinkSpan(part.spans, p.index, it->second);
    }
  }
  parent_links.resize(kept);
  kept = 0;
  for (const PendingLink& p : log_links) {
    auto it = span_index.find(p.key);
    if (it == span_index.end()) {
      log_links[kept++] = p;
    } else {
      LinkLog(part, p.index, it->second);
    }
  }
  log_links.resize(kept);
}

void SliceLoader::Add(const Event& e, Phase phase) {
  Snapshot& snap = part;
  const uint32_t service = snap.services.Intern(e.service.name);
  switch (e.effective_type()) {
    case EventType::kSpan: {
      const SpanData* s = e.span();
      SpanRec rec;
      rec.id = e.id;
      rec.time_ns = e.time_ns;
      rec.duration_ns = s->duration_ns;
      rec.service = service;
      rec.op = InternPerService(snap.ops, op_cache_, service, e.service.name,
                                e.name);
      if (rec.op >= snap.op_service.size()) snap.op_service.push_back(service);
      rec.phase = phase;
      rec.error = s->status == SpanStatus::kError;
      if (e.trace.has_trace()) {
        const auto index = static_cast<int32_t>(snap.spans.size());
        span_index[KeyOf(e.trace.trace_id, e.trace.span_id)] = index;
        if (e.trace.has_parent()) {
          parent_links.push_back(
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
      template_buffer_.clear();
      AppendLogTemplate(e, template_buffer_);
      rec.template_id =
          InternPerService(snap.templates, template_cache_, service,
                           e.service.name, template_buffer_);
      rec.severity = e.severity;
      rec.error_event = e.effective_type() == EventType::kError;
      if (rec.error_event && rec.severity == Severity::kUnspecified) {
        rec.severity = Severity::kError;
      }
      rec.phase = phase;
      if (e.trace.has_trace()) {
        log_links.push_back(
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
      series_key_.clear();
      absl::StrAppend(&series_key_, e.service.name, "\x1f", e.service.instance,
                      "\x1f", e.name);
      auto it = snap.series_ids.find(series_key_);
      if (it == snap.series_ids.end()) {
        it =
            snap.series_ids
                .emplace(series_key_, static_cast<uint32_t>(snap.series.size()))
                .first;
        snap.series.push_back({service, e.name, m->unit, e.service.instance});
      }
      snap.metrics.push_back({e.id, e.time_ns, it->second, value, phase});
      break;
    }
    case EventType::kEntityState: {
      const auto* st = std::get_if<EntityStateData>(&e.payload);
      observations.push_back(
          {snap.infra.size(), e.id, e.time_ns, service, phase, *st});
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
}

// An entity observation as an infrastructure record when it changed the
// entity (or deleted it), given the entity's last observed fields.
std::optional<InfraRec> EntityChange(
    const EntityObservation& o,
    absl::flat_hash_map<std::string, std::vector<EntityField>>& last_state) {
  InfraRec rec;
  rec.id = o.id;
  rec.time_ns = o.time_ns;
  rec.service = o.service;
  rec.type = EventType::kEntityState;
  rec.subject = o.state.entity;
  rec.phase = o.phase;
  auto [it, first] = last_state.try_emplace(o.state.entity, o.state.fields);
  if (o.state.deleted) {
    rec.is_change = true;
    rec.what = "deleted";
  } else if (!first) {
    std::vector<std::string> changed;
    for (const EntityField& f : o.state.fields) {
      auto old = std::find_if(
          it->second.begin(), it->second.end(),
          [&](const EntityField& prev) { return prev.name == f.name; });
      if (old == it->second.end()) {
        changed.push_back(absl::StrCat(f.name, " = ", f.value));
      } else if (old->value != f.value) {
        changed.push_back(
            absl::StrCat(f.name, " ", old->value, " -> ", f.value));
      }
    }
    // Counters that move on every observation (pool usage) are changes
    // too, but only configuration-like changes are "bad change" suspects;
    // the caller tells them apart by field.
    if (!changed.empty()) {
      rec.is_change = true;
      for (size_t i = 0; i < changed.size() && i < 4; ++i) {
        if (i > 0) rec.what += ", ";
        rec.what += changed[i];
      }
    }
    it->second = o.state.fields;
  }
  if (!rec.is_change) return std::nullopt;
  return rec;
}

struct Slice {
  TimeRange range;
  Phase phase;
};

// The periods to read, cut into about `parts` slices of equal length (the
// event rate is taken as even: a slice is a unit of parallel work).
std::vector<std::vector<Slice>> CutSlices(const std::vector<Slice>& periods,
                                          size_t parts) {
  uint64_t total = 0;
  for (const Slice& p : periods) total += p.range.to_ns - p.range.from_ns;
  const uint64_t per_part = std::max<uint64_t>(1, (total + parts - 1) / parts);
  std::vector<std::vector<Slice>> out(1);
  uint64_t room = per_part;
  for (Slice p : periods) {
    while (p.range.to_ns - p.range.from_ns > room && out.size() < parts) {
      out.back().push_back(
          {{p.range.from_ns, p.range.from_ns + room}, p.phase});
      p.range.from_ns += room;
      out.emplace_back();
      room = per_part;
    }
    if (p.range.from_ns < p.range.to_ns) {
      room -= std::min(room, p.range.to_ns - p.range.from_ns);
      out.back().push_back(p);
    }
  }
  return out;
}

// Appends `from`'s records to `to`, renumbering its names.
void MergeInto(Snapshot& to, SliceLoader& from, size_t& span_base,
               std::vector<PendingLink>& parent_links,
               std::vector<PendingLink>& log_links,
               std::vector<EntityObservation>& observations,
               std::vector<size_t>& observation_slots) {
  Snapshot& part = from.part;
  if (to.services.size() == 0 && to.spans.empty() && to.logs.empty() &&
      to.metrics.empty() && to.infra.empty() && to.series.empty()) {
    // The first slice: its tables become the snapshot's as they are.
    span_base = 0;
    to.services = std::move(part.services);
    to.ops = std::move(part.ops);
    to.templates = std::move(part.templates);
    to.op_service = std::move(part.op_service);
    to.series = std::move(part.series);
    to.series_ids = std::move(part.series_ids);
    to.spans = std::move(part.spans);
    to.logs = std::move(part.logs);
    to.metrics = std::move(part.metrics);
    to.infra = std::move(part.infra);
    parent_links.insert(parent_links.end(), from.parent_links.begin(),
                        from.parent_links.end());
    log_links.insert(log_links.end(), from.log_links.begin(),
                     from.log_links.end());
    for (EntityObservation& o : from.observations) {
      observation_slots.push_back(o.infra_slot);
      observations.push_back(std::move(o));
    }
    return;
  }
  auto remap = [](Names& global, const Names& local) {
    std::vector<uint32_t> ids(local.size());
    for (uint32_t i = 0; i < local.size(); ++i)
      ids[i] = global.Intern(local[i]);
    return ids;
  };
  const std::vector<uint32_t> services = remap(to.services, part.services);
  const std::vector<uint32_t> ops = remap(to.ops, part.ops);
  const std::vector<uint32_t> templates = remap(to.templates, part.templates);
  for (uint32_t op = 0; op < part.ops.size(); ++op) {
    if (ops[op] >= to.op_service.size()) {
      to.op_service.push_back(services[part.op_service[op]]);
    }
  }
  std::vector<uint32_t> series(part.series.size());
  for (const auto& [key, local] : part.series_ids) {
    auto [it, added] =
        to.series_ids.try_emplace(key, static_cast<uint32_t>(to.series.size()));
    if (added) {
      SeriesInfo info = part.series[local];
      info.service = services[info.service];
      to.series.push_back(std::move(info));
    }
    series[local] = it->second;
  }
  auto service_of = [&](uint32_t s) {
    return s == kNone ? kNone : services[s];
  };

  span_base = to.spans.size();
  const size_t log_base = to.logs.size();
  const size_t infra_base = to.infra.size();
  const auto shift = [&](int32_t span) {
    return span < 0 ? span : span + static_cast<int32_t>(span_base);
  };
  for (SpanRec rec : part.spans) {
    rec.service = service_of(rec.service);
    rec.op = ops[rec.op];
    rec.parent = shift(rec.parent);
    if (rec.callee != kSeveral) rec.callee = service_of(rec.callee);
    to.spans.push_back(rec);
  }
  for (LogRec rec : part.logs) {
    rec.service = service_of(rec.service);
    rec.template_id = templates[rec.template_id];
    rec.span = shift(rec.span);
    if (rec.op != kNone) rec.op = ops[rec.op];
    to.logs.push_back(rec);
  }
  for (MetricRec rec : part.metrics) {
    rec.series = series[rec.series];
    to.metrics.push_back(rec);
  }
  for (InfraRec& rec : part.infra) {
    rec.service = service_of(rec.service);
    to.infra.push_back(std::move(rec));
  }
  for (PendingLink link : from.parent_links) {
    link.index += span_base;
    parent_links.push_back(link);
  }
  for (PendingLink link : from.log_links) {
    link.index += log_base;
    log_links.push_back(link);
  }
  for (EntityObservation& o : from.observations) {
    o.service = service_of(o.service);
    observation_slots.push_back(infra_base + o.infra_slot);
    observations.push_back(std::move(o));
  }
}

}  // namespace

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
  std::vector<Slice> periods;
  for (const TimeRange& r : snap.baseline) {
    snap.baseline_ns += r.to_ns - r.from_ns;
    periods.push_back({r, Phase::kBaseline});
  }
  periods.push_back({window, Phase::kWindow});

  // Decoding events is most of the work, and the store serves concurrent
  // readers: the periods are read as parallel time slices, one per core.
  const size_t parts =
      options.read_threads != 0
          ? options.read_threads
          : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
  const std::vector<std::vector<Slice>> slices = CutSlices(periods, parts);
  std::atomic<uint64_t> examined{0};
  std::vector<std::unique_ptr<SliceLoader>> loaders;
  std::vector<absl::Status> statuses(slices.size());
  for (size_t i = 0; i < slices.size(); ++i) {
    loaders.push_back(
        std::make_unique<SliceLoader>(&examined, options.max_events));
  }
  auto read_slice = [&](size_t i) {
    for (const Slice& s : slices[i]) {
      statuses[i] = loaders[i]->Read(store, s.range, s.phase);
      if (!statuses[i].ok()) return;
    }
    loaders[i]->LinkLocally();
  };
  std::vector<std::thread> threads;
  for (size_t i = 1; i < slices.size(); ++i)
    threads.emplace_back(read_slice, i);
  read_slice(0);
  for (std::thread& t : threads) t.join();
  for (const absl::Status& st : statuses) TV_RETURN_IF_ERROR(st);
  snap.events_examined = examined.load();

  std::vector<PendingLink> parent_links, log_links;  // across slices
  std::vector<EntityObservation> observations;
  std::vector<size_t> observation_slots;  // where each would sit in infra
  std::vector<size_t> span_bases(loaders.size());
  for (size_t i = 0; i < loaders.size(); ++i) {
    MergeInto(snap, *loaders[i], span_bases[i], parent_links, log_links,
              observations, observation_slots);
  }
  // A link left unresolved in its slice points to a span of another slice
  // (or to one not read at all).
  auto find_span = [&](const SpanKey& key) -> int32_t {
    for (size_t i = 0; i < loaders.size(); ++i) {
      auto it = loaders[i]->span_index.find(key);
      if (it != loaders[i]->span_index.end()) {
        return it->second + static_cast<int32_t>(span_bases[i]);
      }
    }
    return -1;
  };

  // Entity changes, judged in time order against the previous observation;
  // the one before an entity's first observation here comes from the
  // store's entity history (it may lie before everything read).
  absl::flat_hash_map<std::string, std::vector<EntityField>> last_state;
  // An entity first seen here is its own reference (its creation is not a
  // change).
  absl::flat_hash_set<absl::string_view> looked_up;
  for (const EntityObservation& o : observations) {
    if (!looked_up.insert(o.state.entity).second || o.time_ns == 0) continue;
    TV_ASSIGN_OR_RETURN(std::optional<EntityRevision> before,
                        store.EntityAsOf(o.state.entity, o.time_ns - 1));
    if (before.has_value()) {
      last_state.emplace(o.state.entity, std::move(before->fields));
    }
  }
  std::vector<std::pair<size_t, InfraRec>> changes;
  for (size_t i = 0; i < observations.size(); ++i) {
    if (auto rec = EntityChange(observations[i], last_state)) {
      changes.emplace_back(observation_slots[i], std::move(*rec));
    }
  }
  if (!changes.empty()) {
    // Interleave them with the other infrastructure records in read order.
    std::vector<InfraRec> infra;
    infra.reserve(snap.infra.size() + changes.size());
    size_t next = 0;
    for (size_t slot = 0; slot <= snap.infra.size(); ++slot) {
      while (next < changes.size() && changes[next].first == slot) {
        infra.push_back(std::move(changes[next++].second));
      }
      if (slot < snap.infra.size())
        infra.push_back(std::move(snap.infra[slot]));
    }
    snap.infra = std::move(infra);
  }

  for (const PendingLink& p : parent_links) {
    if (int32_t parent = find_span(p.key); parent >= 0) {
      LinkSpan(snap.spans, p.index, parent);
    }
  }
  for (const PendingLink& p : log_links) {
    if (int32_t span = find_span(p.key); span >= 0) {
      LinkLog(snap, p.index, span);
    }
  }
  return snap;
}

void SplitWindowAt(Snapshot& snap, uint64_t t) {
  auto old_baseline = [](const auto& rec) {
    return rec.phase == Phase::kBaseline;
  };
  auto relabel = [t](auto& records) {
    for (auto& rec : records) {
      if (rec.time_ns < t) rec.phase = Phase::kBaseline;
    }
  };
  std::erase_if(snap.metrics, old_baseline);
  std::erase_if(snap.infra, old_baseline);
  relabel(snap.spans);
  relabel(snap.logs);
  relabel(snap.metrics);
  relabel(snap.infra);
  snap.baseline = {{snap.window.from_ns, t}};
  snap.baseline_ns = t - snap.window.from_ns;
  snap.window.from_ns = t;
}

}  // namespace traversion::causality
