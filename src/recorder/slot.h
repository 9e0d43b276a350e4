// One event in a ring buffer: a fixed-size slot with a header of fixed
// fields and an arena of tagged fields (strings, attributes, numbers).
//
// The record calls write a slot in place (SlotWriter), the flusher turns it
// into an Event (DecodeSlot). Nothing here allocates except DecodeSlot.
#ifndef TRAVERSION_RECORDER_SLOT_H_
#define TRAVERSION_RECORDER_SLOT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/string_view.h"
#include "traversion/event.h"
#include "traversion/recorder.h"

namespace traversion::recorder_internal {

enum class SlotKind : uint8_t {
  kSpan = 1,
  kLog = 2,
  kError = 3,
  kMetric = 4,
  kEntity = 5,
  kCustom = 6,
};

// Bits of Slot::flags.
inline constexpr uint8_t kFlagTruncated = 1 << 0;
inline constexpr uint8_t kFlagMangledType = 1 << 1;  // exception type: typeid
inline constexpr uint8_t kFlagHandled = 1 << 2;
inline constexpr uint8_t kFlagEscaped = 1 << 3;
inline constexpr uint8_t kFlagDeleted = 1 << 4;
// time_ns (and a span's duration in u64) are TSC ticks, converted by the
// flusher (TscTimeBase).
inline constexpr uint8_t kFlagTscTime = 1 << 5;

// Converts TSC ticks to wall-clock nanoseconds: a real-time anchor taken
// by the flusher and a rate measured against CLOCK_MONOTONIC.
struct TscTimeBase {
  uint64_t anchor_tsc = 0;
  uint64_t anchor_ns = 0;  // CLOCK_REALTIME at anchor_tsc
  double ns_per_tick = 1;
  uint64_t ToNs(uint64_t tsc) const {
    const double delta =
        static_cast<double>(static_cast<int64_t>(tsc - anchor_tsc)) *
        ns_per_tick;
    return static_cast<uint64_t>(static_cast<int64_t>(anchor_ns) +
                                 static_cast<int64_t>(delta));
  }
  uint64_t Duration(uint64_t ticks) const {
    return static_cast<uint64_t>(static_cast<double>(ticks) * ns_per_tick);
  }
};

// Tags of the arena's fields. Each field is [tag u8][aux u8][len u16][len
// bytes]; aux is the AttrValue::Type of an attribute.
enum class Tag : uint8_t {
  kName = 1,
  kBody,
  kExceptionType,
  kMessage,
  kStacktrace,
  kUnit,
  kEntity,
  kEntityType,
  kEntityField,  // [name len u8][name][value]
  kAttr,         // [key len u8][key][value: text, or 8/1 bytes]
  kStatusMessage,
  kHttpMethod,
  kHttpRoute,
  kHttpUrl,
  kHttpStatus,  // int32
  kDbSystem,
  kDbOperation,
  kDbStatement,
  kPeerService,
  kBucketBounds,  // doubles
  kBucketCounts,  // uint64s
};

inline constexpr size_t kSlotHeaderBytes = kSlotBytes - kSlotArenaBytes;

struct alignas(64) Slot {
  uint64_t time_ns;
  uint64_t u64;  // span: duration; metric: count
  double value;  // metric: value
  double sum;    // metric: sum
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;
  SlotKind kind;
  uint8_t severity;
  uint8_t trace_flags;
  uint8_t sub;     // span: SpanKind; metric: MetricKind
  uint8_t status;  // span: SpanStatus
  uint8_t flags;
  uint16_t used;  // arena bytes in use
  char arena[kSlotArenaBytes];
};
static_assert(sizeof(Slot) == kSlotBytes);
static_assert(offsetof(Slot, arena) == kSlotHeaderBytes);

// Bytes of `slot` that carry information (header and used arena).
inline size_t SlotSize(const Slot& slot) {
  return kSlotHeaderBytes + slot.used;
}

// The longest prefix of `text` of at most `max` bytes that does not end
// inside a UTF-8 sequence.
inline size_t Utf8Prefix(absl::string_view text, size_t max) {
  if (text.size() <= max) return text.size();
  size_t n = max;
  // Back up over continuation bytes (10xxxxxx) to a character start.
  while (n > 0 && (static_cast<uint8_t>(text[n]) & 0xC0) == 0x80) --n;
  return n;
}

// Writes fields into a slot's arena, truncating what does not fit.
class SlotWriter {
 public:
  explicit SlotWriter(Slot* slot) : slot_(slot) {}

  // Sets every header field; the arena starts empty.
  void Begin(SlotKind kind, uint64_t time_ns, uint8_t flags = 0) {
    Slot& s = *slot_;
    s.time_ns = time_ns;
    s.u64 = 0;
    s.value = 0;
    s.sum = 0;
    s.trace_id = {};
    s.span_id = {};
    s.parent_span_id = {};
    s.kind = kind;
    s.severity = 0;
    s.trace_flags = 0;
    s.sub = 0;
    s.status = 0;
    s.flags = flags;
    s.used = 0;
  }

  // A text field; empty text is not written.
  void Text(Tag tag, absl::string_view text) {
    if (text.empty()) return;
    Put(tag, 0, {}, text);
  }
  void Int32(Tag tag, int32_t v) {
    Put(tag, 0, {}, absl::string_view(reinterpret_cast<const char*>(&v), 4),
        /*fixed=*/true);
  }
  void Bytes(Tag tag, const void* data, size_t n) {
    Put(tag, 0, {}, absl::string_view(static_cast<const char*>(data), n),
        /*fixed=*/true);
  }
  void Attribute(absl::string_view key, const AttrValue& value) {
    const auto type = static_cast<uint8_t>(value.type());
    switch (value.type()) {
      case AttrValue::Type::kString:
        Put(Tag::kAttr, type, key, value.string_value());
        return;
      case AttrValue::Type::kInt: {
        const int64_t v = value.int_value();
        Put(Tag::kAttr, type, key,
            absl::string_view(reinterpret_cast<const char*>(&v), 8), true);
        return;
      }
      case AttrValue::Type::kDouble: {
        const double v = value.double_value();
        Put(Tag::kAttr, type, key,
            absl::string_view(reinterpret_cast<const char*>(&v), 8), true);
        return;
      }
      case AttrValue::Type::kBool: {
        const char v = value.bool_value() ? 1 : 0;
        Put(Tag::kAttr, type, key, absl::string_view(&v, 1), true);
        return;
      }
    }
  }
  void Attributes(Attrs attrs) {
    for (const Attr& a : attrs) Attribute(a.key, a.value);
  }
  void Field(absl::string_view name, absl::string_view value) {
    Put(Tag::kEntityField, 0, name, value);
  }

 private:
  // Appends [tag][aux][len][key len u8][key][value] (the key part only if
  // `key` is non-empty or the tag has one). A value that does not fit is cut
  // at a character boundary unless `fixed` (numbers are all or nothing);
  // a field whose header and key do not fit is left out.
  void Put(Tag tag, uint8_t aux, absl::string_view key, absl::string_view value,
           bool fixed = false) {
    Slot& s = *slot_;
    const bool keyed = tag == Tag::kAttr || tag == Tag::kEntityField;
    if (key.size() > 255) {
      key = key.substr(0, Utf8Prefix(key, 255));
      s.flags |= kFlagTruncated;
    }
    const size_t head = 4 + (keyed ? 1 + key.size() : 0);
    const size_t room = kSlotArenaBytes - s.used;
    if (room < head + (fixed ? value.size() : 1)) {
      s.flags |= kFlagTruncated;
      return;
    }
    size_t n = value.size();
    if (head + n > room) {
      n = Utf8Prefix(value, room - head);
      s.flags |= kFlagTruncated;
    }
    char* p = s.arena + s.used;
    const auto len = static_cast<uint16_t>(head - 4 + n);
    p[0] = static_cast<char>(tag);
    p[1] = static_cast<char>(aux);
    std::memcpy(p + 2, &len, 2);
    p += 4;
    if (keyed) {
      *p++ = static_cast<char>(key.size());
      std::memcpy(p, key.data(), key.size());
      p += key.size();
    }
    std::memcpy(p, value.data(), n);
    s.used = static_cast<uint16_t>(s.used + head + n);
  }

  Slot* slot_;
};

// Fills `*out` (reset first) from `slot`, converting TSC times with
// `time_base`. The service and source are left for the caller to set.
void DecodeSlot(const Slot& slot, const TscTimeBase& time_base, Event* out);

}  // namespace traversion::recorder_internal

#endif  // TRAVERSION_RECORDER_SLOT_H_
