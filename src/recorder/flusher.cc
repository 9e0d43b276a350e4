// The flusher: drains the rings, samples, masks, writes to the store.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "recorder/recorder_impl.h"
#include "traversion/event_codec.h"

namespace traversion {

using recorder_internal::Ring;
using recorder_internal::Slot;

namespace {

// Slots claimed at a time: short claims keep a kDropOldest producer from
// waiting long for the slot it wants to evict.
constexpr size_t kClaimRun = 256;

bool IsErrorEvent(const Event& e) {
  if (e.effective_type() == EventType::kError) return true;
  if (e.severity >= Severity::kError) return true;
  const SpanData* span = e.span();
  return span != nullptr && span->status == SpanStatus::kError;
}

// Healthy bulk that sampling may thin out.
bool IsSampleable(const Event& e) {
  switch (e.effective_type()) {
    case EventType::kSpan:
      return true;
    case EventType::kLog:
    case EventType::kCustom:
      return e.severity < Severity::kWarn;
    default:
      return false;
  }
}

uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// relaxed: flusher-owned counters (see recorder_impl.h).
void Add(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.store(counter.load(std::memory_order_relaxed) + n,
                std::memory_order_relaxed);
}
uint64_t Get(const std::atomic<uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

}  // namespace

Recorder::Impl::~Impl() { Shutdown().IgnoreError(); }

void Recorder::Impl::CalibrateTsc() {
#if defined(__x86_64__)
  if (!use_tsc_) return;
  // The TSC read between two clock reads, so it sits at their midpoint.
  const uint64_t before = ClockNanos(CLOCK_MONOTONIC);
  const uint64_t real = ClockNanos(CLOCK_REALTIME);
  const uint64_t tsc = __rdtsc();
  const uint64_t after = ClockNanos(CLOCK_MONOTONIC);
  const uint64_t monotonic = before + (after - before) / 2;
  if (tsc_start_ == 0) {
    tsc_start_ = tsc;
    monotonic_start_ = monotonic;
    // A first rate over 1 ms; each later anchor refines it over the whole
    // life of the recorder.
    const uint64_t until = monotonic + 1'000'000;
    while (ClockNanos(CLOCK_MONOTONIC) < until) {
    }
    CalibrateTsc();
    return;
  }
  if (tsc > tsc_start_ && monotonic > monotonic_start_) {
    time_base_.ns_per_tick = static_cast<double>(monotonic - monotonic_start_) /
                             static_cast<double>(tsc - tsc_start_);
  }
  time_base_.anchor_tsc = tsc;
  time_base_.anchor_ns = real;
#endif
}

void Recorder::Impl::Start() {
  calm_since_ = std::chrono::steady_clock::now();
  flusher_ = std::thread([this] { Run(); });
}

void Recorder::Impl::WakeFlusher() {
  // relaxed: the flag only hurries the flusher, which reads every ring's
  // indices with acquire anyway. Notify only on the false -> true edge.
  if (!wake_.exchange(true, std::memory_order_relaxed)) {
    flusher_cv_.notify_one();
  }
}

void Recorder::Impl::SetPaused(bool paused) {
  std::unique_lock<std::mutex> lock(control_mu_);
  paused_ = paused;
  flusher_cv_.notify_one();
  // Pausing waits out a drain in progress, so that nothing recorded after
  // this returns is drained before the flusher is resumed.
  if (paused) {
    done_cv_.wait(lock, [&] { return !in_cycle_ || flusher_exited_; });
  }
}

absl::Status Recorder::Impl::Flush() {
  std::unique_lock<std::mutex> lock(control_mu_);
  if (stop_) {
    return absl::FailedPreconditionError("Recorder::Flush after Shutdown");
  }
  const uint64_t ticket = ++flush_requested_;
  const uint64_t errors_before = write_errors_;
  flusher_cv_.notify_one();
  done_cv_.wait(lock, [&] { return flush_done_ >= ticket || flusher_exited_; });
  if (write_errors_ > errors_before) return last_error_;
  return absl::OkStatus();
}

absl::Status Recorder::Impl::Shutdown() {
  std::lock_guard<std::mutex> guard(shutdown_mu_);
  if (shut_down_) return shutdown_status_;
  uint64_t errors_before;
  {
    std::lock_guard<std::mutex> lock(control_mu_);
    // relaxed: see closed_'s comment; the final drain below runs after.
    closed_.store(true, std::memory_order_relaxed);
    stop_ = true;
    paused_ = false;
    errors_before = write_errors_;
    flusher_cv_.notify_one();
  }
  if (flusher_.joinable()) flusher_.join();
  shut_down_ = true;
  std::lock_guard<std::mutex> lock(control_mu_);
  if (write_errors_ > errors_before) shutdown_status_ = last_error_;
  return shutdown_status_;
}

void Recorder::Impl::Run() {
  CalibrateTsc();
  const auto interval = absl::ToChronoNanoseconds(options_.flush_interval);
  std::unique_lock<std::mutex> lock(control_mu_);
  while (true) {
    flusher_cv_.wait_for(lock, interval, [&] {
      return stop_ || (!paused_ && (flush_requested_ > flush_done_ ||
                                    wake_.load(std::memory_order_relaxed)));
    });
    if (paused_ && !stop_) continue;
    wake_.store(false, std::memory_order_relaxed);
    const uint64_t ticket = flush_requested_;
    const bool final = stop_;
    in_cycle_ = true;
    lock.unlock();
    cycle_status_ = absl::OkStatus();
    Cycle(final);
    lock.lock();
    in_cycle_ = false;
    if (!cycle_status_.ok()) {
      ++write_errors_;
      last_error_ = cycle_status_;
    }
    flush_done_ = ticket;
    if (final) flusher_exited_ = true;
    done_cv_.notify_all();
    if (final) return;
  }
}

void Recorder::Impl::Cycle(bool final) {
  {
    std::lock_guard<std::mutex> lock(registry_mu_);
    snapshot_.clear();
    for (const auto& ring : rings_) snapshot_.push_back(ring.get());
  }
  CalibrateTsc();
  double fill = 0;
  for (Ring* ring : snapshot_) {
    fill = std::max(fill, static_cast<double>(ring->Unclaimed()) /
                              static_cast<double>(ring->capacity()));
  }
  AdjustRate(fill);
  while (true) {
    size_t drained = 0;
    for (Ring* ring : snapshot_) drained += DrainRing(ring);
    WriteBatch();
    // A final drain goes on until the rings are empty; a normal one stops
    // at what was committed when it started, so a flood cannot starve
    // Flush() callers of their completion.
    if (!final || drained == 0) break;
  }
  RecycleExitedRings();
}

size_t Recorder::Impl::DrainRing(Ring* ring) {
  const uint64_t target = ring->Committed();
  size_t drained = 0;
  while (true) {
    size_t n = 0;
    const uint64_t first = ring->Claim(kClaimRun, &n);
    if (n == 0) break;
    for (uint64_t i = first; i < first + n; ++i) {
      batch_.emplace_back();
      recorder_internal::DecodeSlot(ring->At(i), time_base_, &batch_.back());
    }
    ring->Release(first + n);
    drained += n;
    if (batch_.size() >= options_.max_batch) WriteBatch();
    if (first + n >= target) break;
  }
  return drained;
}

void Recorder::Impl::AdjustRate(double fill) {
  if (!options_.sampling.enabled) return;
  const auto now = std::chrono::steady_clock::now();
  // relaxed: only the flusher writes the rate; stats() reads it.
  uint32_t rate = sample_rate_.load(std::memory_order_relaxed);
  if (fill >= options_.sampling.low_watermark) calm_since_ = now;
  if (fill > options_.sampling.high_watermark) {
    rate = std::min<uint32_t>(rate * 2, options_.sampling.max_rate);
  } else if (rate > 1 && now - calm_since_ >= absl::ToChronoNanoseconds(
                                                  options_.sampling.cooldown)) {
    rate /= 2;
    calm_since_ = now;
  }
  sample_rate_.store(rate, std::memory_order_relaxed);
}

void Recorder::Impl::RememberErrored(const TraceId& trace) {
  if (!errored_.insert(trace).second) return;
  errored_order_.push_back(trace);
  while (errored_order_.size() > options_.sampling.errored_traces_remembered) {
    errored_.erase(errored_order_.front());
    errored_order_.pop_front();
  }
}

void Recorder::Impl::ApplySampling() {
  if (!options_.sampling.enabled) return;
  for (const Event& e : batch_) {
    if (e.trace.has_trace() && IsErrorEvent(e))
      RememberErrored(e.trace.trace_id);
  }
  const uint32_t rate = sample_rate_.load(std::memory_order_relaxed);
  if (rate <= 1) return;
  size_t kept = 0;
  for (size_t i = 0; i < batch_.size(); ++i) {
    Event& e = batch_[i];
    bool keep = true;
    if (IsSampleable(e) && !IsErrorEvent(e)) {
      if (e.trace.has_trace()) {
        if (!errored_.contains(e.trace.trace_id)) {
          uint64_t low;
          std::memcpy(&low, e.trace.trace_id.data() + 8, 8);
          // A trace is kept or left out as a whole: the choice depends on
          // its id only.
          keep = (Mix(low) % rate) == 0;
          if (keep) e.sample_rate = rate;
        }
      } else {
        keep = (untraced_seen_++ % rate) == 0;
        if (keep) e.sample_rate = rate;
      }
    }
    if (!keep) continue;
    if (kept != i) batch_[kept] = std::move(e);
    ++kept;
  }
  Add(sampled_out_, batch_.size() - kept);
  batch_.resize(kept);
}

uint64_t Recorder::Impl::TotalDropsForReport() const {
  uint64_t total = Get(dropped_invalid_) + Get(dropped_write_failed_) +
                   dropped_closed_.load(std::memory_order_relaxed);
  for (const Ring* ring : snapshot_) {
    const recorder_internal::RingCounters& c = ring->counters();
    total +=
        Get(c.dropped_newest) + Get(c.dropped_oldest) + Get(c.dropped_timeout);
  }
  return total;
}

void Recorder::Impl::WriteBatch() {
  ApplySampling();
  const size_t user_events = batch_.size();
  const uint64_t drops = TotalDropsForReport();
  const uint64_t reported = Get(drops_reported_);
  uint64_t report = 0;
  if (drops > reported) {
    report = drops - reported;
    Event& e = batch_.emplace_back();
    e.time_ns = Now();
    e.type = EventType::kCustom;
    e.severity = Severity::kWarn;
    e.name = "traversion.dropped";
    e.attributes.push_back({"count", static_cast<int64_t>(report)});
    e.attributes.push_back({"dropped.total", static_cast<int64_t>(drops)});
  }
  if (batch_.empty()) return;

  uint64_t masked = 0;
  for (Event& e : batch_) {
    e.source = options_.source;
    e.service = options_.service;
    if (masker_.enabled()) masked += masker_.MaskEvent(&e);
    e.id = EventId::Generate(e.time_ns);
  }
  Add(masked_values_, masked);

  absl::StatusOr<WriteResult> written = store_->Write(batch_);
  if (!written.ok() && absl::IsInvalidArgument(written.status())) {
    // Leave out the events the store refuses (ill-formed UTF-8 given to a
    // record call, an entity without a name...) and write the rest.
    size_t kept = 0;
    size_t kept_user = 0;
    uint64_t invalid = 0;
    for (size_t i = 0; i < batch_.size(); ++i) {
      if (!ValidateEvent(batch_[i], store_->options().limits).ok()) {
        ++invalid;
        continue;
      }
      if (i < user_events) ++kept_user;
      if (kept != i) batch_[kept] = std::move(batch_[i]);
      ++kept;
    }
    batch_.resize(kept);
    Add(dropped_invalid_, user_events - kept_user);
    if (invalid > user_events - kept_user) report = 0;  // the report itself
    written = batch_.empty() ? absl::StatusOr<WriteResult>(WriteResult{})
                             : store_->Write(batch_);
    if (written.ok()) {
      if (report > 0) {
        Add(drop_reports_, 1);
        Add(drops_reported_, report);
      }
      Add(stored_, kept_user);
      if (!batch_.empty()) Add(batches_, 1);
    } else {
      Add(dropped_write_failed_, kept_user);
      if (cycle_status_.ok()) cycle_status_ = written.status();
    }
    batch_.clear();
    return;
  }
  if (written.ok()) {
    Add(stored_, user_events);
    Add(batches_, 1);
    if (report > 0) {
      Add(drop_reports_, 1);
      Add(drops_reported_, report);
    }
  } else {
    Add(dropped_write_failed_, user_events);
    if (cycle_status_.ok()) cycle_status_ = written.status();
  }
  batch_.clear();
}

void Recorder::Impl::RecycleExitedRings() {
  for (Ring* ring : snapshot_) {
    // acquire: pairs with the exiting thread's release; its commits are
    // visible, so Unclaimed() == 0 means it is really empty.
    if (ring->shared() || !ring->owner_exited.load(std::memory_order_acquire) ||
        ring->Unclaimed() != 0) {
      continue;
    }
    std::lock_guard<std::mutex> lock(registry_mu_);
    for (const auto& owned : rings_) {
      if (owned.get() == ring) {
        // relaxed: published to the next owner by registry_mu_.
        ring->owner_exited.store(false, std::memory_order_relaxed);
        free_rings_.push_back(owned);
        break;
      }
    }
  }
}

RecorderStats Recorder::Impl::stats() const {
  RecorderStats s;
  uint64_t committed = 0;
  uint64_t newest = 0;
  uint64_t oldest = 0;
  uint64_t timeout = 0;
  {
    std::lock_guard<std::mutex> lock(registry_mu_);
    for (const auto& ring : rings_) {
      const recorder_internal::RingCounters& c = ring->counters();
      committed += ring->Committed();
      newest += Get(c.dropped_newest);
      oldest += Get(c.dropped_oldest);
      timeout += Get(c.dropped_timeout);
      s.truncated += Get(c.truncated);
      s.ring_bytes += ring->bytes();
    }
    s.rings = rings_.size();
  }
  s.dropped_newest = newest;
  s.dropped_oldest = oldest;
  s.dropped_timeout = timeout;
  s.dropped_invalid = Get(dropped_invalid_);
  s.dropped_write_failed = Get(dropped_write_failed_);
  s.dropped_closed = dropped_closed_.load(std::memory_order_relaxed);
  s.stored = Get(stored_);
  s.sampled_out = Get(sampled_out_);
  s.drop_reports = Get(drop_reports_);
  s.drops_reported = Get(drops_reported_);
  s.masked_values = Get(masked_values_);
  s.batches = Get(batches_);
  s.sample_rate = sample_rate_.load(std::memory_order_relaxed);
  // Rejected calls never reached a ring; evicted ones did (and are in
  // `committed`).
  s.recorded = committed + newest + timeout + s.dropped_closed;
  uint64_t accounted = s.stored + s.sampled_out + newest + oldest + timeout +
                       s.dropped_invalid + s.dropped_write_failed +
                       s.dropped_closed;
  uint64_t pending = s.recorded > accounted ? s.recorded - accounted : 0;
  {
    std::lock_guard<std::mutex> lock(control_mu_);
    if (flusher_exited_) {
      // Accepted while Shutdown() ran, after its final drain: lost.
      s.dropped_closed += pending;
      pending = 0;
    }
  }
  s.pending = pending;
  s.dropped = newest + oldest + timeout + s.dropped_invalid +
              s.dropped_write_failed + s.dropped_closed;
  return s;
}

}  // namespace traversion
