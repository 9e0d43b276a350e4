// Conversion between traversion::Event and its storage and interchange
// message, traversion.v1.Event. For the store and the codecs; users go
// through traversion/event_codec.h.
//
// Mapping (docs/event-model.md has the field-by-field table):
//  - Event::id <-> `id` as 32 lowercase hex digits; an empty id <-> "".
//  - the type is written as Event::effective_type(), so a reader always sees
//    an explicit type.
//  - trace and span ids <-> `bytes` fields; all-zero ids are written as empty
//    bytes and empty bytes read as all-zero.
//  - optional HttpInfo/DbInfo/RpcInfo <-> presence of the sub-message; other
//    sub-messages are written only when they hold a non-default value.
//  - attributes keep their value type (bytes via bytes_value).
//
// Thread safety: reentrant; the messages passed in belong to the caller.
#ifndef TRAVERSION_EVENT_PROTO_CONVERT_H_
#define TRAVERSION_EVENT_PROTO_CONVERT_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "traversion/event.h"
#include "traversion/v1/event.pb.h"

namespace traversion::internal {

// Replaces the contents of `*out` with `e`: afterwards `*out` serializes to
// the same bytes as a freshly constructed message filled from `e`. Meant to
// be called with one message reused across events (on the ingest path):
// sub-messages, repeated elements and string buffers of the previous event
// are reused instead of reallocated.
void EventToProto(const Event& e, traversion::v1::Event* out);

// Replaces the contents of `*out` with the event in `in`, reusing the string
// capacity `*out` already has. InvalidArgument for an `id` that is not 32 hex
// digits, trace/span ids of the wrong byte length, trace flags above 0xff,
// enum values outside what the C++ enums can hold, a severity outside
// OpenTelemetry's 0..24, and histogram counts that do not number the bounds
// plus one. On error `*out` is unspecified.
absl::Status EventFromProto(const traversion::v1::Event& in, Event* out);

// The checks of EventFromProto that the direct wire decoder (wire_decoder.h)
// shares, with the same messages.

// An enum field into a C++ enum with a uint8_t representation. Values this
// build does not name are kept (a newer writer may have added them); values
// that do not fit are rejected.
template <typename E>
absl::Status EnumFromWire(int32_t value, absl::string_view field, E* out) {
  static_assert(std::is_same_v<std::underlying_type_t<E>, uint8_t>);
  if (value < 0 || value > 0xff) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": enum value ", value, " is out of range"));
  }
  *out = static_cast<E>(value);
  return absl::OkStatus();
}

// A trace or span id from its `bytes` field: empty is all-zero, any other
// length than N is rejected.
template <size_t N>
absl::Status IdFromWire(absl::string_view bytes, absl::string_view field,
                        std::array<uint8_t, N>* out) {
  if (bytes.empty()) {
    out->fill(0);
    return absl::OkStatus();
  }
  if (bytes.size() != N) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", bytes.size(), " bytes, expected ", N,
                     " (JSON carries ids as base64 of the raw bytes)"));
  }
  std::memcpy(out->data(), bytes.data(), N);
  return absl::OkStatus();
}

}  // namespace traversion::internal

#endif  // TRAVERSION_EVENT_PROTO_CONVERT_H_
