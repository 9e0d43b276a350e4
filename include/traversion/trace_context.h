// traversion/trace_context.h — W3C Trace Context: the `traceparent` header.
//
// A SpanContext is what crosses a process boundary: the trace id, the id of
// the span that made the call (the callee's parent), and the trace flags.
// ParseTraceparent reads a header value strictly per W3C Trace Context
// (https://www.w3.org/TR/trace-context/#traceparent-header):
//   - version 00: exactly `00-<32 hex>-<16 hex>-<2 hex>` (55 characters),
//     lowercase hex only; anything longer is invalid for this version;
//   - version ff is invalid; other versions are future versions: the header
//     must be at least 55 characters, the first 55 must have the version 00
//     shape, and character 56, if present, must be '-'; then only the
//     sampled bit of the flags is kept (the other bits of a future version
//     mean things this version does not know);
//   - an all-zero trace id or parent id is invalid.
// Leading and trailing spaces and tabs (HTTP optional whitespace) are
// ignored; nothing else is forgiven. An invalid header means "start a new
// trace", as the specification asks.
//
// Thread safety: free functions on values; safe from any thread.
#ifndef TRAVERSION_TRACE_CONTEXT_H_
#define TRAVERSION_TRACE_CONTEXT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "traversion/event.h"

namespace traversion {

// W3C trace-flags bits.
inline constexpr uint8_t kTraceFlagSampled = 0x01;
// Trace Context Level 2: the trace id's right 7 bytes are random.
inline constexpr uint8_t kTraceFlagRandom = 0x02;

struct SpanContext {
  TraceId trace_id{};
  SpanId span_id{};
  uint8_t trace_flags = 0;

  // Both ids non-zero (the all-zero ids are invalid in W3C Trace Context).
  bool valid() const;
  bool sampled() const { return (trace_flags & kTraceFlagSampled) != 0; }
  friend bool operator==(const SpanContext& a, const SpanContext& b) {
    return a.trace_id == b.trace_id && a.span_id == b.span_id &&
           a.trace_flags == b.trace_flags;
  }
};

// Length of a version-00 traceparent value.
inline constexpr size_t kTraceparentLength = 55;

// Parses a `traceparent` header value (see above); nullopt if invalid.
std::optional<SpanContext> ParseTraceparent(absl::string_view header);

// Formats `context` as a version-00 `traceparent` value into `out`, which
// must hold kTraceparentLength characters (no terminator is written), and
// returns the view of it. Does not allocate. Flags other than sampled and
// random are written as zero, as the specification requires of senders.
absl::string_view FormatTraceparent(const SpanContext& context,
                                    char (&out)[kTraceparentLength]);
// The same, as a string.
std::string FormatTraceparent(const SpanContext& context);

}  // namespace traversion

#endif  // TRAVERSION_TRACE_CONTEXT_H_
