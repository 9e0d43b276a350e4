// The record path: what runs on the application's threads.
#include <sys/random.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <typeinfo>
#include <utility>

#include "recorder/pii_key.h"
#include "recorder/recorder_impl.h"
#include "util/status_macros.h"

namespace traversion {

using recorder_internal::Ring;
using recorder_internal::Slot;
using recorder_internal::SlotKind;
using recorder_internal::SlotWriter;
using recorder_internal::Tag;

namespace {

// The thread's current trace context. Trivially destructible, so access
// needs no initialization guard.
thread_local SpanContext tls_current;

// The ring of the recorder this thread recorded into last.
struct RingCache {
  uint64_t recorder_id = 0;
  Ring* ring = nullptr;
};
thread_local RingCache tls_ring_cache;
// Set when the thread's ring list is being destroyed: from then on the
// thread records through the shared overflow ring.
thread_local bool tls_exiting = false;

// Every ring this thread was given, by recorder id. The recorder owns its
// rings; the thread holds weak references, so a recorder destroyed before
// the thread frees its rings at once. The destructor (at thread exit) hands
// the rings of live recorders back.
struct ThreadRings {
  std::vector<std::pair<uint64_t, std::weak_ptr<Ring>>> rings;
  ~ThreadRings() {
    tls_exiting = true;
    tls_ring_cache = {};
    for (auto& [id, weak] : rings) {
      const std::shared_ptr<Ring> ring = weak.lock();
      if (ring == nullptr || ring->shared()) continue;
      // release: this thread's last commits happen before the flusher sees
      // the ring as orphaned.
      ring->owner_exited.store(true, std::memory_order_release);
    }
  }
};
thread_local ThreadRings tls_rings;

std::atomic<uint64_t> next_recorder_id{1};

// The TSC can stand in for the clock if it ticks at a constant rate, also
// in deep sleep states (constant_tsc, nonstop_tsc), as on current x86.
bool TscUsable() {
#if defined(__x86_64__)
  static const bool usable = [] {
    std::FILE* f = std::fopen("/proc/cpuinfo", "r");
    if (f == nullptr) return false;
    char line[4096];
    bool constant = false, nonstop = false;
    while (std::fgets(line, sizeof(line), f) != nullptr) {
      if (std::strncmp(line, "flags", 5) != 0) continue;
      constant = std::strstr(line, " constant_tsc") != nullptr;
      nonstop = std::strstr(line, " nonstop_tsc") != nullptr;
      break;
    }
    std::fclose(f);
    return constant && nonstop;
  }();
  return usable;
#else
  return false;
#endif
}

// Span and trace ids: splitmix64 over a per-thread state seeded once from
// getrandom(2). Not cryptographic, as W3C Trace Context allows.
thread_local uint64_t tls_rng_state = 0;

uint64_t NextRandom() {
  if (tls_rng_state == 0) {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
      seed = static_cast<uint64_t>(
                 std::chrono::steady_clock::now().time_since_epoch().count()) ^
             (static_cast<uint64_t>(gettid()) << 32);
    }
    tls_rng_state = seed | 1;
  }
  uint64_t z = (tls_rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

template <size_t N>
void FillRandom(std::array<uint8_t, N>* out) {
  for (size_t i = 0; i < N; i += 8) {
    uint64_t r = NextRandom();
    while (r == 0) r = NextRandom();  // an all-zero id is invalid
    std::memcpy(out->data() + i, &r, 8);
  }
}

void StampContext(Slot* slot) {
  const SpanContext& c = tls_current;
  slot->trace_id = c.trace_id;
  slot->span_id = c.span_id;
  slot->trace_flags = c.trace_flags;
}

Slot* Image(unsigned char* storage) { return reinterpret_cast<Slot*>(storage); }

}  // namespace

// --- Impl: rings and the record path -----------------------------------------

Recorder::Impl::Impl(Store* store, RecorderOptions options, PiiMasker masker)
    : store_(store),
      options_(std::move(options)),
      masker_(std::move(masker)),
      clock_(options_.clock),
      id_(next_recorder_id.fetch_add(1, std::memory_order_relaxed)),
      wake_mask_(options_.ring_capacity / 4 - 1),
      use_tsc_(clock_ == nullptr && TscUsable()) {}

Ring* Recorder::Impl::ThreadRing() {
  const RingCache& cache = tls_ring_cache;
  if (cache.recorder_id == id_) return cache.ring;
  return RegisterThread();
}

Ring* Recorder::Impl::OverflowRingLocked() {
  if (overflow_ == nullptr) {
    overflow_ = std::make_shared<Ring>(options_.ring_capacity, /*shared=*/true);
    rings_.push_back(overflow_);
  }
  return overflow_.get();
}

Ring* Recorder::Impl::RegisterThread() {
  if (tls_exiting) {
    std::lock_guard<std::mutex> lock(registry_mu_);
    return OverflowRingLocked();
  }
  for (auto& [id, weak] : tls_rings.rings) {
    if (id != id_) continue;
    // The recorder (calling us) is alive, so is its ring; the raw pointer
    // stays valid as long as it is.
    Ring* ring = weak.lock().get();
    tls_ring_cache = {id_, ring};
    return ring;
  }
  std::shared_ptr<Ring> ring;
  {
    std::lock_guard<std::mutex> lock(registry_mu_);
    if (!free_rings_.empty()) {
      ring = std::move(free_rings_.back());
      free_rings_.pop_back();
    } else if (exclusive_rings_ < options_.max_thread_rings) {
      ring = std::make_shared<Ring>(options_.ring_capacity, /*shared=*/false);
      rings_.push_back(ring);
      ++exclusive_rings_;
    } else {
      OverflowRingLocked();
      ring = overflow_;
    }
  }
  std::erase_if(tls_rings.rings,
                [](const auto& entry) { return entry.second.expired(); });
  tls_rings.rings.emplace_back(id_, ring);
  tls_ring_cache = {id_, ring.get()};
  return ring.get();
}

Recorder::Impl::Reservation Recorder::Impl::Reserve() {
  if (closed_.load(std::memory_order_relaxed)) {
    // relaxed: a counter; many writers, hence the RMW.
    dropped_closed_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  Ring* ring = ThreadRing();
  if (ring->shared()) ring->Lock();
  Slot* slot = ring->TryReserve();
  if (slot == nullptr) {
    slot = Full(ring);
    if (slot == nullptr && ring->shared()) ring->Unlock();
  }
  return {ring, slot};
}

Slot* Recorder::Impl::Full(Ring* ring) {
  WakeFlusher();
  switch (options_.backpressure) {
    case BackpressurePolicy::kDropNewest:
      break;
    case BackpressurePolicy::kDropOldest:
      // The consumer holds a claimed run only while copying it out (a few
      // microseconds); give it that long, then drop the new event instead.
      for (int i = 0; i < 4096; ++i) {
        if (Slot* slot = ring->EvictOldest()) return slot;
        if (i >= 64) std::this_thread::yield();
      }
      break;
    case BackpressurePolicy::kBlock: {
      const auto deadline = std::chrono::steady_clock::now() +
                            absl::ToChronoNanoseconds(options_.block_timeout);
      for (int i = 0;; ++i) {
        ring->RefreshReleased();
        if (Slot* slot = ring->TryReserve()) return slot;
        if (std::chrono::steady_clock::now() >= deadline) {
          recorder_internal::Bump(ring->counters().dropped_timeout);
          return nullptr;
        }
        if (i < 64) {
          std::this_thread::yield();
        } else {
          if ((i & 63) == 0) WakeFlusher();
          std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
      }
    }
  }
  recorder_internal::Bump(ring->counters().dropped_newest);
  return nullptr;
}

void Recorder::Impl::Commit(const Reservation& r) {
  if (r.slot->flags & recorder_internal::kFlagTruncated) {
    recorder_internal::Bump(r.ring->counters().truncated);
  }
  const uint64_t head = r.ring->Commit();
  // Every quarter ring, check the fill: a ring a quarter full wakes the
  // flusher before the interval is up (commit by size).
  if ((head & wake_mask_) == 0) MaybeWake(r.ring);
  if (r.ring->shared()) r.ring->Unlock();
}

void Recorder::Impl::MaybeWake(Ring* ring) {
  ring->RefreshReleased();
  if (ring->ProducerFill() * 4 >= ring->capacity()) WakeFlusher();
}

void Recorder::Impl::Submit(const Slot& image) {
  const Reservation r = Reserve();
  if (r.slot == nullptr) return;
  std::memcpy(static_cast<void*>(r.slot), &image,
              recorder_internal::SlotSize(image));
  Commit(r);
}

Span Recorder::Impl::StartSpan(Recorder* owner, absl::string_view name,
                               const SpanContext* parent, SpanKind kind,
                               bool make_current) {
  Span span;
  span.recorder_ = owner;
  span.start_ns_ = Stamp();
  Slot* slot = Image(span.slot_);
  SlotWriter w(slot);
  w.Begin(SlotKind::kSpan, span.start_ns_, StampFlags());
  const SpanContext& up = parent != nullptr ? *parent : tls_current;
  if (up.valid()) {
    slot->trace_id = up.trace_id;
    slot->parent_span_id = up.span_id;
    slot->trace_flags = up.trace_flags;
  } else {
    FillRandom(&slot->trace_id);
    slot->trace_flags = kTraceFlagSampled | kTraceFlagRandom;
  }
  FillRandom(&slot->span_id);
  slot->sub = static_cast<uint8_t>(kind);
  w.Text(Tag::kName, name);
  span.context_ = {slot->trace_id, slot->span_id, slot->trace_flags};
  if (make_current) {
    span.previous_ = tls_current;
    tls_current = span.context_;
    span.installed_in_ = &tls_current;
  }
  return span;
}

// --- Span
// ------------------------------------------------------------------------

Span::Span(Span&& other) noexcept
    : recorder_(std::exchange(other.recorder_, nullptr)),
      context_(other.context_),
      previous_(other.previous_),
      installed_in_(std::exchange(other.installed_in_, nullptr)),
      start_ns_(other.start_ns_) {
  if (recorder_ != nullptr) {
    std::memcpy(slot_, other.slot_,
                recorder_internal::SlotSize(*Image(other.slot_)));
  }
}

Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    End();
    recorder_ = std::exchange(other.recorder_, nullptr);
    context_ = other.context_;
    previous_ = other.previous_;
    installed_in_ = std::exchange(other.installed_in_, nullptr);
    start_ns_ = other.start_ns_;
    if (recorder_ != nullptr) {
      std::memcpy(slot_, other.slot_,
                  recorder_internal::SlotSize(*Image(other.slot_)));
    }
  }
  return *this;
}

void Span::SetAttribute(absl::string_view key, AttrValue value) {
  if (recorder_ == nullptr) return;
  SlotWriter(Image(slot_)).Attribute(key, value);
}

void Span::SetStatus(SpanStatus status, absl::string_view message) {
  if (recorder_ == nullptr) return;
  Image(slot_)->status = static_cast<uint8_t>(status);
  SlotWriter(Image(slot_)).Text(Tag::kStatusMessage, message);
}

void Span::SetKind(SpanKind kind) {
  if (recorder_ == nullptr) return;
  Image(slot_)->sub = static_cast<uint8_t>(kind);
}

void Span::SetHttp(absl::string_view method, absl::string_view route,
                   int32_t status_code) {
  if (recorder_ == nullptr) return;
  SlotWriter w(Image(slot_));
  w.Text(Tag::kHttpMethod, method);
  w.Text(Tag::kHttpRoute, route);
  if (status_code != 0) w.Int32(Tag::kHttpStatus, status_code);
}

void Span::SetHttpStatus(int32_t status_code) {
  if (recorder_ == nullptr) return;
  SlotWriter(Image(slot_)).Int32(Tag::kHttpStatus, status_code);
}

void Span::SetHttpUrl(absl::string_view url) {
  if (recorder_ == nullptr) return;
  SlotWriter(Image(slot_)).Text(Tag::kHttpUrl, url);
}

void Span::SetDb(absl::string_view system, absl::string_view operation,
                 absl::string_view statement) {
  if (recorder_ == nullptr) return;
  SlotWriter w(Image(slot_));
  w.Text(Tag::kDbSystem, system);
  w.Text(Tag::kDbOperation, operation);
  w.Text(Tag::kDbStatement, statement);
}

void Span::SetPeerService(absl::string_view peer_service) {
  if (recorder_ == nullptr) return;
  SlotWriter(Image(slot_)).Text(Tag::kPeerService, peer_service);
}

void Span::End() {
  if (recorder_ == nullptr) return;
  Recorder::Impl* impl = recorder_->impl_.get();
  recorder_ = nullptr;
  Slot* slot = Image(slot_);
  const uint64_t now = impl->Stamp();  // the same time base as start_ns_
  slot->u64 = now > start_ns_ ? now - start_ns_ : 0;
  // Restore the thread's context only on the thread that installed it, and
  // only if nothing else replaced it meanwhile.
  if (installed_in_ == &tls_current && tls_current == context_) {
    tls_current = previous_;
  }
  installed_in_ = nullptr;
  impl->Submit(*slot);
}

// --- ContextScope
// -------------------------------------------------------------

ContextScope::ContextScope(const SpanContext& context)
    : previous_(tls_current) {
  tls_current = context;
}

ContextScope::~ContextScope() { tls_current = previous_; }

// --- Recorder
// -------------------------------------------------------------------

namespace {

absl::Status ValidateOptions(const RecorderOptions& o) {
  const size_t cap = o.ring_capacity;
  if (cap < 64 || cap > (size_t{1} << 24) || (cap & (cap - 1)) != 0) {
    return absl::InvalidArgumentError(
        "RecorderOptions.ring_capacity must be a power of two in [64, 2^24]");
  }
  if (o.max_thread_rings < 1 || o.max_thread_rings > 1024) {
    return absl::InvalidArgumentError(
        "RecorderOptions.max_thread_rings must be in [1, 1024]");
  }
  if (o.max_batch < 1) {
    return absl::InvalidArgumentError(
        "RecorderOptions.max_batch must be at least 1");
  }
  if (o.flush_interval <= absl::ZeroDuration() ||
      o.block_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "RecorderOptions: flush_interval must be positive and block_timeout "
        "not negative");
  }
  const SamplingOptions& s = o.sampling;
  if (s.max_rate < 1 || !(s.low_watermark >= 0) ||
      !(s.high_watermark > s.low_watermark) || s.high_watermark > 1) {
    return absl::InvalidArgumentError(
        "RecorderOptions.sampling: need max_rate >= 1 and 0 <= "
        "low_watermark < high_watermark <= 1");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Recorder>> Recorder::Create(
    Store* store, RecorderOptions options) {
  if (store == nullptr) {
    return absl::InvalidArgumentError("Recorder::Create: no store");
  }
  if (store->options().read_only) {
    return absl::FailedPreconditionError(
        "Recorder::Create: the store is open read-only");
  }
  TV_RETURN_IF_ERROR(ValidateOptions(options));
  if (options.pii.enabled && options.pii.key.empty()) {
    TV_ASSIGN_OR_RETURN(options.pii.key,
                        recorder_internal::LoadOrCreatePiiKey(store->path()));
  }
  TV_ASSIGN_OR_RETURN(PiiMasker masker, PiiMasker::Create(options.pii));
  auto impl =
      std::make_unique<Impl>(store, std::move(options), std::move(masker));
  impl->Start();
  return std::unique_ptr<Recorder>(new Recorder(std::move(impl)));
}

Recorder::Recorder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Recorder::~Recorder() { impl_->Shutdown().IgnoreError(); }

SpanContext Recorder::CurrentContext() { return tls_current; }

Span Recorder::StartSpan(absl::string_view name, SpanKind kind) {
  return impl_->StartSpan(this, name, nullptr, kind, /*make_current=*/true);
}

Span Recorder::StartSpan(absl::string_view name, const SpanContext& parent,
                         SpanKind kind, bool make_current) {
  return impl_->StartSpan(this, name, &parent, kind, make_current);
}

void Recorder::Log(Severity severity, absl::string_view body, Attrs attrs) {
  const Impl::Reservation r = impl_->Reserve();
  if (r.slot == nullptr) return;
  SlotWriter w(r.slot);
  impl_->BeginSlot(w, SlotKind::kLog);
  StampContext(r.slot);
  r.slot->severity = static_cast<uint8_t>(severity);
  w.Text(Tag::kBody, body);
  w.Attributes(attrs);
  impl_->Commit(r);
}

void Recorder::Error(const ErrorInfo& error, Attrs attrs) {
  const Impl::Reservation r = impl_->Reserve();
  if (r.slot == nullptr) return;
  SlotWriter w(r.slot);
  impl_->BeginSlot(w, SlotKind::kError);
  StampContext(r.slot);
  r.slot->severity = static_cast<uint8_t>(Severity::kError);
  if (error.handled) r.slot->flags |= recorder_internal::kFlagHandled;
  if (error.escaped) r.slot->flags |= recorder_internal::kFlagEscaped;
  w.Text(Tag::kExceptionType, error.type);
  w.Text(Tag::kMessage, error.message);
  w.Attributes(attrs);
  w.Text(Tag::kStacktrace, error.stacktrace);
  impl_->Commit(r);
}

void Recorder::Error(absl::string_view type, absl::string_view message,
                     Attrs attrs) {
  ErrorInfo info;
  info.type = type;
  info.message = message;
  Error(info, attrs);
}

void Recorder::Exception(const std::exception& e, bool handled, Attrs attrs) {
  const Impl::Reservation r = impl_->Reserve();
  if (r.slot == nullptr) return;
  SlotWriter w(r.slot);
  impl_->BeginSlot(w, SlotKind::kError);
  StampContext(r.slot);
  r.slot->severity = static_cast<uint8_t>(Severity::kError);
  r.slot->flags |= recorder_internal::kFlagMangledType;
  if (handled) r.slot->flags |= recorder_internal::kFlagHandled;
  // typeid(...).name() is a static string; the flusher demangles it.
  w.Text(Tag::kExceptionType, typeid(e).name());
  w.Text(Tag::kMessage, e.what());
  w.Attributes(attrs);
  impl_->Commit(r);
}

void Recorder::CurrentException(bool handled, Attrs attrs) {
  std::exception_ptr current = std::current_exception();
  if (current == nullptr) return;
  try {
    std::rethrow_exception(current);
  } catch (const std::exception& e) {
    Exception(e, handled, attrs);
  } catch (...) {
    ErrorInfo info;
    info.type = "unknown";
    info.message = "a non-std::exception was thrown";
    info.handled = handled;
    Error(info, attrs);
  }
}

namespace {

void RecordMetric(Recorder::Impl* impl, MetricKind kind, absl::string_view name,
                  double value, double sum, uint64_t count, Attrs attrs,
                  absl::string_view unit, absl::Span<const double> bounds,
                  absl::Span<const uint64_t> counts) {
  const Recorder::Impl::Reservation r = impl->Reserve();
  if (r.slot == nullptr) return;
  SlotWriter w(r.slot);
  impl->BeginSlot(w, SlotKind::kMetric);
  StampContext(r.slot);
  r.slot->sub = static_cast<uint8_t>(kind);
  r.slot->value = value;
  r.slot->sum = sum;
  r.slot->u64 = count;
  w.Text(Tag::kName, name);
  w.Text(Tag::kUnit, unit);
  if (!bounds.empty()) {
    w.Bytes(Tag::kBucketBounds, bounds.data(), bounds.size() * sizeof(double));
    w.Bytes(Tag::kBucketCounts, counts.data(),
            counts.size() * sizeof(uint64_t));
  }
  w.Attributes(attrs);
  impl->Commit(r);
}

}  // namespace

void Recorder::Gauge(absl::string_view name, double value, Attrs attrs,
                     absl::string_view unit) {
  RecordMetric(impl_.get(), MetricKind::kGauge, name, value, 0, 0, attrs, unit,
               {}, {});
}

void Recorder::Counter(absl::string_view name, double increment, Attrs attrs,
                       absl::string_view unit) {
  RecordMetric(impl_.get(), MetricKind::kCounter, name, increment, 0, 0, attrs,
               unit, {}, {});
}

void Recorder::Histogram(absl::string_view name, double value, Attrs attrs,
                         absl::string_view unit) {
  RecordMetric(impl_.get(), MetricKind::kHistogram, name, value, value, 1,
               attrs, unit, {}, {});
}

void Recorder::HistogramBuckets(absl::string_view name,
                                absl::Span<const double> bounds,
                                absl::Span<const uint64_t> bucket_counts,
                                double sum, uint64_t count, Attrs attrs,
                                absl::string_view unit) {
  if (bucket_counts.size() != bounds.size() + 1) bounds = {};
  RecordMetric(impl_.get(), MetricKind::kHistogram, name, 0, sum, count, attrs,
               unit, bounds, bucket_counts);
}

void Recorder::EntityState(absl::string_view entity,
                           absl::string_view entity_type,
                           absl::Span<const FieldView> fields, bool deleted) {
  const Impl::Reservation r = impl_->Reserve();
  if (r.slot == nullptr) return;
  SlotWriter w(r.slot);
  impl_->BeginSlot(w, SlotKind::kEntity);
  StampContext(r.slot);
  if (deleted) r.slot->flags |= recorder_internal::kFlagDeleted;
  w.Text(Tag::kEntity, entity);
  w.Text(Tag::kEntityType, entity_type);
  for (const FieldView& f : fields) w.Field(f.name, f.value);
  impl_->Commit(r);
}

void Recorder::Custom(absl::string_view name, Attrs attrs, Severity severity) {
  const Impl::Reservation r = impl_->Reserve();
  if (r.slot == nullptr) return;
  SlotWriter w(r.slot);
  impl_->BeginSlot(w, SlotKind::kCustom);
  StampContext(r.slot);
  r.slot->severity = static_cast<uint8_t>(severity);
  w.Text(Tag::kName, name);
  w.Attributes(attrs);
  impl_->Commit(r);
}

absl::Status Recorder::Flush() { return impl_->Flush(); }
absl::Status Recorder::Shutdown() { return impl_->Shutdown(); }
RecorderStats Recorder::stats() const { return impl_->stats(); }

}  // namespace traversion
