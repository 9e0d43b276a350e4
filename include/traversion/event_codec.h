// traversion/event_codec.h — Event to and from its interchange forms.
//
// Two forms, both defined by proto/traversion/v1/event.proto:
//  - binary: the protobuf wire format of `traversion.v1.Event`;
//  - JSON:   protobuf's canonical JSON mapping of the same message, one event
//            per line in files ("JSON lines"). Per that mapping, `bytes`
//            fields (trace and span ids) are base64 and 64-bit integers are
//            strings; the event id is 32 hex digits.
// Conversions are lossless: FromJson(ToJson(e)) == e for every valid event.
//
// Thread safety: all functions are reentrant.
#ifndef TRAVERSION_EVENT_CODEC_H_
#define TRAVERSION_EVENT_CODEC_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "traversion/event.h"

namespace traversion {

struct ValidationLimits {
  // Largest encoded event accepted. Default 1 MiB: larger values are almost
  // always a bug (a dumped request body) and would bloat every scan.
  size_t max_event_bytes = 1 << 20;
};

// Checks what the store requires of an event before anything is written:
// every string is valid UTF-8, trace/span ids are all-or-nothing consistent,
// entity-state events name their entity, and the encoded size is within
// limits. The error names the offending field.
absl::Status ValidateEvent(const Event& event,
                           const ValidationLimits& limits = {});

// Protobuf binary wire format of traversion.v1.Event.
std::string EventToBinary(const Event& event);
absl::StatusOr<Event> EventFromBinary(absl::string_view bytes);

// Protobuf JSON mapping, on one line (no trailing newline).
absl::StatusOr<std::string> EventToJson(const Event& event);
absl::StatusOr<Event> EventFromJson(absl::string_view json);

// True if `text` is well-formed UTF-8 (no overlongs, surrogates or values
// above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

}  // namespace traversion

#endif  // TRAVERSION_EVENT_CODEC_H_
