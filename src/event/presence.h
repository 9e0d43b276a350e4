// When an optional part of an Event counts as present on the wire. Shared by
// EventToProto and the direct wire encoder, whose outputs must be
// byte-identical (tests/event_codec_test.cc checks it).
#ifndef TRAVERSION_EVENT_PRESENCE_H_
#define TRAVERSION_EVENT_PRESENCE_H_

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "traversion/event.h"

namespace traversion::internal {

template <size_t N>
bool AllZero(const std::array<uint8_t, N>& bytes) {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

// +0.0 is the proto3 default; -0.0 is a value and is kept.
inline bool IsDefaultDouble(double d) {
  return std::bit_cast<uint64_t>(d) == 0;
}

inline bool IsEmpty(const ServiceRef& s) {
  return s.name.empty() && s.instance.empty() && s.host.empty() &&
         s.version.empty() && s.namespace_.empty() && s.environment.empty();
}

inline bool IsEmpty(const TraceContext& t) {
  return t.trace_flags == 0 && AllZero(t.trace_id) && AllZero(t.span_id) &&
         AllZero(t.parent_span_id);
}

inline bool IsEmpty(const Semantic& s) {
  return s.intent.empty() && s.category.empty() && s.tags.empty();
}

inline bool IsEmpty(const Impact& i) {
  return !i.customer_facing && i.slo.empty() &&
         IsDefaultDouble(i.severity_score);
}

}  // namespace traversion::internal

#endif  // TRAVERSION_EVENT_PRESENCE_H_
