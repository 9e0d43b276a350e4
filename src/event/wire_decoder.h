// A direct decoder from the protobuf wire format of traversion.v1.Event to
// traversion::Event, for the read path: the counterpart of wire_encoder.h.
//
// Parsing into a v1::Event and converting it with EventFromProto cost
// ~2.5 µs per event on a store scan: the generated parser deletes and
// reallocates the payload's sub-message on every event, and EventFromProto
// then copies every string a second time. This reads the bytes once,
// straight into the Event, and reuses the capacity that Event already holds:
// its strings, its attribute, tag and entity vectors, and its payload when
// that is already of the layer being read.
//
// It accepts exactly the inputs that ParseFromArray followed by
// EventFromProto accept, and produces the same Event (a mutation fuzz test
// holds it to that). So it follows protobuf's parser rather than a stricter
// reading of the format:
//  - every field may repeat: the last scalar or string wins, a repeated
//    sub-message merges into the earlier one, repeated fields append, and a
//    payload of another layer replaces the payload read so far;
//  - unknown fields of every wire type are skipped, groups included (nested
//    up to protobuf's recursion limit of 100); so is a known field that
//    arrives with an unexpected wire type, which protobuf also keeps as an
//    unknown field. Repeated numbers are read packed or unpacked;
//  - proto3 `string` fields must be valid UTF-8, `bytes` fields need not be;
//  - absent fields read as their defaults.
// Malformed wire data (truncated varints, tags or fixed-width values,
// lengths past the end of the enclosing message, field number 0, wire types
// 6 and 7, unbalanced groups, invalid UTF-8) is InvalidArgument
// "malformed wire data: ..." naming the byte offset. After a successful
// parse come the checks of EventFromProto, with its messages (see
// proto_convert.h).
//
// Thread safety: reentrant.
#ifndef TRAVERSION_EVENT_WIRE_DECODER_H_
#define TRAVERSION_EVENT_WIRE_DECODER_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "traversion/event.h"

namespace traversion::internal {

struct WireDecodeOptions {
  // Leave out the fields most readers of a scan never look at: source,
  // semantic, impact, attributes, entity_refs and the service's host,
  // version, namespace and environment read as empty (they are skipped
  // like unknown fields: their framing is checked, their UTF-8 is not).
  bool skip_details = false;
};

// Replaces the contents of `*out` with the event encoded in `bytes` (the
// serialization of a traversion.v1.Event). On error `*out` is unspecified
// but valid.
absl::Status DecodeEventWire(absl::string_view bytes, Event* out,
                             const WireDecodeOptions& options = {});

}  // namespace traversion::internal

#endif  // TRAVERSION_EVENT_WIRE_DECODER_H_
