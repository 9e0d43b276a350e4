// traversion/recorder.h — recording a service's history from its own threads.
//
// A Recorder takes events from any number of application threads and writes
// them, in batches, to a Store:
//
//   auto recorder = traversion::Recorder::Create(store.get(), options);
//   {
//     traversion::Span span = (*recorder)->StartSpan("GET /orders",
//                                                    SpanKind::kServer);
//     (*recorder)->Log(Severity::kInfo, "loading", {{"order.id", 42}});
//   }                                   // the span ends, and is recorded
//   (*recorder)->Flush();               // durable in the store now
//
// The record calls (StartSpan/End, Log, Error, Exception, Gauge, Counter,
// Histogram, EntityState, Custom) copy what they are given into a fixed-size
// slot of a bounded ring buffer owned by the calling thread and return: they
// do not lock, do not allocate (after a thread's first call, which registers
// its ring), do not build protobuf and never wait for the disk. A background
// flusher thread drains the rings, applies sampling and PII masking, and
// writes the events to the store in batches (every `flush_interval`, or
// sooner when a ring fills up). docs/design/recorder.md explains the design.
//
// Inline budget: strings and attributes of one event share kSlotArenaBytes
// bytes. What does not fit is truncated at a UTF-8 character boundary (or,
// for attributes and fields that do not fit at all, left out), and the
// stored event carries the attribute `traversion.truncated = true`. Put the
// important fields first: they are written in call order.
//
// Losing events is never silent: when a ring is full the backpressure policy
// applies, every event it drops is counted in stats(), and the flusher writes
// the counts to the store as events named `traversion.dropped`.
//
// Thread safety: every method of Recorder may be called from any thread at
// once. A Span belongs to one thread at a time (it may be moved to another
// thread and ended there). A Recorder must outlive its Spans and must not be
// destroyed while other threads are still recording into it; record calls
// racing with Shutdown() may be lost (they are counted in
// stats().dropped_closed, not reported in the store).
#ifndef TRAVERSION_RECORDER_H_
#define TRAVERSION_RECORDER_H_

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "traversion/clock.h"
#include "traversion/event.h"
#include "traversion/pii.h"
#include "traversion/trace_context.h"

namespace traversion {

class Store;
class Recorder;

// Bytes of one ring slot, and of its part that holds strings and attributes.
inline constexpr size_t kSlotBytes = 512;
inline constexpr size_t kSlotArenaBytes = 440;

// What a record call does when its thread's ring is full.
enum class BackpressurePolicy : uint8_t {
  // The new event is dropped (and counted). The caller never waits. Default.
  kDropNewest,
  // The oldest event not yet taken by the flusher is dropped (and counted)
  // to make room. If the flusher is copying out of the ring at that moment,
  // the call waits for it briefly and, failing that, drops the new event.
  kDropOldest,
  // The caller waits up to `block_timeout` for room, then drops the new
  // event (counted as dropped_timeout).
  kBlock,
};

struct SamplingOptions {
  // Sample the healthy bulk of events when the recorder is under load.
  // Default on. Never sampled: errors (error events, severity >= error,
  // spans with error status), every event of a trace in which an error was
  // seen (see below), logs of severity >= warn, metric samples, entity state
  // observations and the recorder's own `traversion.dropped` events.
  bool enabled = true;
  // Load is the fill of the fullest ring when the flusher starts a drain.
  // Each drain that finds it above `high_watermark` (a fraction of
  // ring_capacity) doubles the sampling rate; once it has stayed below
  // `low_watermark` for `cooldown`, the rate halves (and again after each
  // further `cooldown`). It starts at 1: keep everything.
  double high_watermark = 0.25;
  double low_watermark = 0.05;
  absl::Duration cooldown = absl::Seconds(1);
  // The rate never exceeds this: at least 1 in max_rate healthy events is
  // kept. Default 64.
  uint32_t max_rate = 64;
  // Traces in which an error was seen are remembered (this many, the most
  // recent) so that their later events are kept too. The decision for a
  // trace's earlier events is made when they are drained: an error is seen
  // in time if it reaches the flusher in the same drain (the ring's
  // horizon) or before them.
  size_t errored_traces_remembered = 16384;
};

struct RecorderOptions {
  // Stamped on every event.
  ServiceRef service;
  // The event's `source`. Default "sdk".
  std::string source = "sdk";

  // Slots per thread ring (power of two, 64 to 2^24). Each slot is
  // kSlotBytes, so the default ring holds 4 MiB. A ring is allocated on a
  // thread's first record call and reused after the thread exits.
  size_t ring_capacity = 8192;
  // Threads that get a ring of their own (1 to 1024). Further threads share
  // one more ring, guarded by a spin lock. Memory is bounded by
  // (max_thread_rings + 1) * ring_capacity * kSlotBytes: 52 MiB by default.
  size_t max_thread_rings = 12;
  BackpressurePolicy backpressure = BackpressurePolicy::kDropNewest;
  // For kBlock: the longest a record call waits for room.
  absl::Duration block_timeout = absl::Milliseconds(5);

  // The flusher writes at least this often (commit by interval), and sooner
  // when a ring is a quarter full (commit by size). Default 10 ms.
  absl::Duration flush_interval = absl::Milliseconds(10);
  // Most events per Store::Write (one transaction). Default 16384.
  size_t max_batch = 16384;

  SamplingOptions sampling;
  // Masking of personal data, applied by the flusher to every event before
  // it is written. On by default. An empty `pii.key` is replaced by a random
  // 32-byte key kept in `<store path>/pii.key` (created once, mode 0600,
  // read back by later recorders), so masked values join across restarts.
  PiiOptions pii;

  // Time source for event times. Not owned; nullptr: Clock::Real().
  const Clock* clock = nullptr;
};

// Counters since Create(). recorded = stored + dropped + sampled_out +
// pending, exactly, once no record call is in progress.
struct RecorderStats {
  uint64_t recorded = 0;     // record calls (spans count at End())
  uint64_t stored = 0;       // events written to the store
  uint64_t sampled_out = 0;  // healthy events left out by sampling
  uint64_t pending = 0;      // in the rings or the flusher, not yet stored
  // Every event lost, by reason; `dropped` is their sum.
  uint64_t dropped = 0;
  uint64_t dropped_newest = 0;        // ring full, new event dropped
  uint64_t dropped_oldest = 0;        // ring full, oldest event evicted
  uint64_t dropped_timeout = 0;       // kBlock: no room within block_timeout
  uint64_t dropped_invalid = 0;       // refused by the store's validation
  uint64_t dropped_write_failed = 0;  // Store::Write failed
  uint64_t dropped_closed = 0;        // recorded during or after Shutdown()
  // `traversion.dropped` events stored, and the drops they account for.
  uint64_t drop_reports = 0;
  uint64_t drops_reported = 0;
  uint64_t truncated = 0;      // events cut to fit a slot
  uint64_t masked_values = 0;  // values replaced by PII masking
  uint64_t batches = 0;        // successful Store::Write calls
  uint32_t sample_rate = 1;    // current: 1 in sample_rate healthy kept
  size_t rings = 0;            // rings allocated
  uint64_t ring_bytes = 0;     // heap held by them
};

// A typed attribute value that refers to (does not own) its text.
class AttrValue {
 public:
  enum class Type : uint8_t { kString, kInt, kDouble, kBool };

  AttrValue(absl::string_view v) : type_(Type::kString), s_(v) {}   // NOLINT
  AttrValue(const char* v) : type_(Type::kString), s_(v) {}         // NOLINT
  AttrValue(const std::string& v) : type_(Type::kString), s_(v) {}  // NOLINT
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) AttrValue(T v)
      : type_(Type::kInt), i_(static_cast<int64_t>(v)) {}  // NOLINT
  AttrValue(bool v) : type_(Type::kBool), b_(v) {}         // NOLINT
  AttrValue(double v) : type_(Type::kDouble), d_(v) {}     // NOLINT
  AttrValue(float v) : type_(Type::kDouble), d_(v) {}      // NOLINT

  Type type() const { return type_; }
  absl::string_view string_value() const { return s_; }
  int64_t int_value() const { return i_; }
  double double_value() const { return d_; }
  bool bool_value() const { return b_; }

 private:
  Type type_;
  absl::string_view s_;
  int64_t i_ = 0;
  double d_ = 0;
  bool b_ = false;
};

// One attribute: `{"http.route", "/orders"}`, `{"retry.count", 3}`.
struct Attr {
  absl::string_view key;
  AttrValue value;
};
// A list of attributes; a braced list converts to it without allocating.
using Attrs = absl::Span<const Attr>;

// One field of an observed entity state: `{"in_use", "20"}`.
struct FieldView {
  absl::string_view name;
  absl::string_view value;
};

struct ErrorInfo {
  absl::string_view type;  // exception.type
  absl::string_view message;
  absl::string_view stacktrace;
  bool handled = true;
  bool escaped = false;  // the error left the span's scope
};

// A span being timed. It is recorded, with its duration, when End() is
// called or when it is destroyed. A default-constructed or moved-from Span
// records nothing. The setters copy into the span's own inline slot (no
// allocation); the same truncation rules as for events apply.
class Span {
 public:
  Span() = default;
  Span(Span&& other) noexcept;
  Span& operator=(Span&& other) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span() { End(); }

  // False for a default-constructed, moved-from or ended span.
  bool recording() const { return recorder_ != nullptr; }
  // This span's context: pass it to async work, or format it as a
  // `traceparent` for an outgoing call.
  const SpanContext& context() const { return context_; }

  void SetAttribute(absl::string_view key, AttrValue value);
  void SetStatus(SpanStatus status, absl::string_view message = {});
  void SetKind(SpanKind kind);
  // HTTP request fields (http.request.method, http.route,
  // http.response.status_code; 0: not set).
  void SetHttp(absl::string_view method, absl::string_view route,
               int32_t status_code = 0);
  void SetHttpStatus(int32_t status_code);
  void SetHttpUrl(absl::string_view url);
  // Database call fields (db.system.name, db.operation.name,
  // db.query.text).
  void SetDb(absl::string_view system, absl::string_view operation,
             absl::string_view statement = {});
  void SetPeerService(absl::string_view peer_service);

  // Records the span now. Restores the thread's previous current context if
  // this span was made current on this thread and still is. Idempotent.
  void End();

 private:
  friend class Recorder;
  Recorder* recorder_ = nullptr;
  SpanContext context_;
  // The thread-local current context this span replaced, and where it
  // lives (the installing thread's slot), so End() can restore it.
  SpanContext previous_;
  SpanContext* installed_in_ = nullptr;
  uint64_t start_ns_ = 0;
  // The event being built: a ring slot's image (recorder/slot.h).
  alignas(64) unsigned char slot_[kSlotBytes];
};

// Makes `context` the calling thread's current context until destroyed
// (then the previous one is restored): for continuations of async work, so
// that logs, errors and new spans inside join the right trace.
class ContextScope {
 public:
  explicit ContextScope(const SpanContext& context);
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  SpanContext previous_;
};

class Recorder {
 public:
  // Starts the flusher. `store` is not owned and must outlive the Recorder.
  // InvalidArgument for bad options; FailedPrecondition for a read-only
  // store; errors from PiiMasker::Create and from reading or creating the
  // PII key file.
  static absl::StatusOr<std::unique_ptr<Recorder>> Create(
      Store* store, RecorderOptions options = {});

  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;
  // Shutdown().
  ~Recorder();

  // --- trace context ---------------------------------------------------------

  // The calling thread's current context (invalid if none).
  static SpanContext CurrentContext();

  // A span that is a child of the thread's current context (or the root of
  // a new trace) and becomes the thread's current context until it ends.
  Span StartSpan(absl::string_view name, SpanKind kind = SpanKind::kInternal);
  // A span with an explicit parent — from ParseTraceparent, or captured
  // from another span for async work. An invalid parent starts a new trace.
  // With make_current false the span does not touch the thread's current
  // context, so it can be ended on any thread.
  Span StartSpan(absl::string_view name, const SpanContext& parent,
                 SpanKind kind = SpanKind::kInternal,
                 bool make_current = false);

  // --- events ---------------------------------------------------------------
  // Each joins the thread's current trace and span, if any.

  void Log(Severity severity, absl::string_view body, Attrs attrs = {});
  void Error(const ErrorInfo& error, Attrs attrs = {});
  void Error(absl::string_view type, absl::string_view message,
             Attrs attrs = {});
  // The exception's dynamic type (demangled by the flusher) and what().
  void Exception(const std::exception& e, bool handled = true,
                 Attrs attrs = {});
  // Inside a catch block: records the exception being handled (type
  // "unknown" if it is not a std::exception).
  void CurrentException(bool handled = true, Attrs attrs = {});

  void Gauge(absl::string_view name, double value, Attrs attrs = {},
             absl::string_view unit = {});
  void Counter(absl::string_view name, double increment, Attrs attrs = {},
               absl::string_view unit = {});
  // One observation of a histogram.
  void Histogram(absl::string_view name, double value, Attrs attrs = {},
                 absl::string_view unit = {});
  // A histogram snapshot: bucket_counts has bounds.size() + 1 entries.
  void HistogramBuckets(absl::string_view name, absl::Span<const double> bounds,
                        absl::Span<const uint64_t> bucket_counts, double sum,
                        uint64_t count, Attrs attrs = {},
                        absl::string_view unit = {});

  // An observation of an entity's state (the store makes a revision when
  // it changed).
  void EntityState(absl::string_view entity, absl::string_view entity_type,
                   absl::Span<const FieldView> fields, bool deleted = false);

  // A custom event: a name, attributes and a severity.
  void Custom(absl::string_view name, Attrs attrs = {},
              Severity severity = Severity::kInfo);

  // --- control --------------------------------------------------------------

  // Durability barrier: returns once every event recorded before the call
  // (on any thread, in happens-before order) is durably in the store — or
  // accounted as dropped. Returns the first write error met meanwhile.
  // FailedPrecondition after Shutdown().
  absl::Status Flush();

  // Stops recording, drains every ring into the store and stops the
  // flusher. Later record calls are counted as dropped_closed. Idempotent;
  // returns the first write error of the final drain.
  absl::Status Shutdown();

  RecorderStats stats() const;

  class Impl;

 private:
  friend class Span;
  friend struct RecorderInternal;  // test hooks, src/recorder/
  explicit Recorder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace traversion

#endif  // TRAVERSION_RECORDER_H_
