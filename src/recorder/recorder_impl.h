// Recorder::Impl: the rings' registry, the record path's helpers and the
// flusher. recorder.cc holds the record path, flusher.cc the flusher.
#ifndef TRAVERSION_RECORDER_RECORDER_IMPL_H_
#define TRAVERSION_RECORDER_RECORDER_IMPL_H_

#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "recorder/ring.h"
#include "recorder/slot.h"
#include "traversion/pii.h"
#include "traversion/recorder.h"
#include "traversion/store.h"

namespace traversion {

class Recorder::Impl {
 public:
  Impl(Store* store, RecorderOptions options, PiiMasker masker);
  ~Impl();

  // --- record path (recorder.cc) ---------------------------------------------

  struct Reservation {
    recorder_internal::Ring* ring = nullptr;
    recorder_internal::Slot* slot = nullptr;
  };
  // A slot of the calling thread's ring, or {ring, nullptr} if the event is
  // dropped (already counted). Must be followed by Commit() if slot is set.
  Reservation Reserve();
  void Commit(const Reservation& r);
  // Copies a finished slot image (a span) into the ring.
  void Submit(const recorder_internal::Slot& image);

  // Wall-clock time: the injected clock, or CLOCK_REALTIME.
  uint64_t Now() const {
    if (clock_ != nullptr) return clock_->NowNanos();
    return ClockNanos(CLOCK_REALTIME);
  }
  static uint64_t ClockNanos(clockid_t id) {
    timespec ts;
    clock_gettime(id, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u +
           static_cast<uint64_t>(ts.tv_nsec);
  }

  // An event's time on the record path: the TSC when it is usable and no
  // clock was injected (a third of the cost of clock_gettime here; the
  // flusher converts), else Now(). Begins `w`'s slot with it.
  uint64_t Stamp() const {
#if defined(__x86_64__)
    if (use_tsc_) return __rdtsc();
#endif
    return Now();
  }
  uint8_t StampFlags() const {
    return use_tsc_ ? recorder_internal::kFlagTscTime : 0;
  }
  void BeginSlot(recorder_internal::SlotWriter& w,
                 recorder_internal::SlotKind kind) const {
    w.Begin(kind, Stamp(), StampFlags());
  }

  Span StartSpan(Recorder* owner, absl::string_view name,
                 const SpanContext* parent, SpanKind kind, bool make_current);

  // --- control (flusher.cc)
  // ---------------------------------------------------

  void Start();
  absl::Status Flush();
  absl::Status Shutdown();
  RecorderStats stats() const;
  // Tests: a paused flusher drains nothing until resumed.
  void SetPaused(bool paused);
  void WakeFlusher();

 private:
  recorder_internal::Ring* ThreadRing();
  recorder_internal::Ring* RegisterThread();
  recorder_internal::Ring* OverflowRingLocked();
  recorder_internal::Slot* Full(recorder_internal::Ring* ring);
  void MaybeWake(recorder_internal::Ring* ring);

  void Run();
  // Drains the rings (until empty if `final`) and writes what it took.
  void Cycle(bool final);
  // Claims and decodes up to the ring's committed index at entry.
  size_t DrainRing(recorder_internal::Ring* ring);
  void WriteBatch();
  void ApplySampling();
  void RememberErrored(const TraceId& trace);
  void RecycleExitedRings();
  void AdjustRate(double fill);
  uint64_t TotalDropsForReport() const;
  // Re-anchors time_base_ (flusher thread).
  void CalibrateTsc();

  Store* const store_;
  const RecorderOptions options_;
  const PiiMasker masker_;
  const Clock* const clock_;  // nullptr: CLOCK_REALTIME directly
  const uint64_t id_;         // keys the threads' ring caches
  const uint64_t wake_mask_;  // a producer checks the fill every 1/4 ring
  const bool use_tsc_;        // Stamp() reads the TSC

  // relaxed loads on the record path: a racing record call may be accepted
  // or refused; Shutdown's final drain takes what was accepted.
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> dropped_closed_{0};

  // The registry of rings.
  mutable std::mutex registry_mu_;
  std::vector<std::shared_ptr<recorder_internal::Ring>> rings_;
  std::vector<std::shared_ptr<recorder_internal::Ring>> free_rings_;
  std::shared_ptr<recorder_internal::Ring> overflow_;
  size_t exclusive_rings_ = 0;

  // Flusher control, guarded by control_mu_.
  mutable std::mutex control_mu_;
  std::condition_variable flusher_cv_;  // the flusher waits here
  std::condition_variable done_cv_;     // Flush() waits here
  uint64_t flush_requested_ = 0;
  uint64_t flush_done_ = 0;
  uint64_t write_errors_ = 0;
  absl::Status last_error_;
  bool stop_ = false;
  bool paused_ = false;
  bool in_cycle_ = false;  // the flusher is draining (lock released)
  bool flusher_exited_ = false;
  // Set by producers (without the mutex) when a ring fills; relaxed
  // ordering suffices since the flusher re-reads every ring anyway.
  std::atomic<bool> wake_{false};
  std::thread flusher_;
  std::mutex shutdown_mu_;
  bool shut_down_ = false;
  absl::Status shutdown_status_;

  // Counters kept by the flusher; relaxed: each has one writer, stats()
  // wants recent values and orders nothing by them.
  std::atomic<uint64_t> stored_{0};
  std::atomic<uint64_t> sampled_out_{0};
  std::atomic<uint64_t> dropped_invalid_{0};
  std::atomic<uint64_t> dropped_write_failed_{0};
  std::atomic<uint64_t> drop_reports_{0};
  std::atomic<uint64_t> drops_reported_{0};
  std::atomic<uint64_t> masked_values_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint32_t> sample_rate_{1};

  // Flusher-thread state.
  recorder_internal::TscTimeBase time_base_;
  uint64_t tsc_start_ = 0;  // the rate is measured from here
  uint64_t monotonic_start_ = 0;
  std::vector<recorder_internal::Ring*> snapshot_;
  std::vector<Event> batch_;
  absl::Status cycle_status_;
  absl::flat_hash_set<TraceId> errored_;
  std::deque<TraceId> errored_order_;
  uint64_t untraced_seen_ = 0;
  // Since when the load has been below the low watermark.
  std::chrono::steady_clock::time_point calm_since_;
};

}  // namespace traversion

#endif  // TRAVERSION_RECORDER_RECORDER_IMPL_H_
