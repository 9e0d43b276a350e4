// A direct encoder from traversion::Event to the protobuf wire format of
// traversion.v1.Event, for the ingest path.
//
// Building a v1::Event and serializing it cost ~4.7 k instructions per span
// (measured with callgrind), as much as all the store's LMDB work for that
// event. This writes the same bytes without any message object: fields in
// field-number order, with the presence rules of EventToProto (see
// proto_convert.h), so the output is byte-identical to
// EventToProto(e) followed by SerializeToString — which a test checks for
// every layer. Its counterpart on the read path is wire_decoder.h (the
// store decodes records with it; EventFromBinary still goes through the
// generated code).
//
// Thread safety: reentrant.
#ifndef TRAVERSION_EVENT_WIRE_ENCODER_H_
#define TRAVERSION_EVENT_WIRE_ENCODER_H_

#include <string>

#include "traversion/event.h"

namespace traversion::internal {

struct WireOptions {
  // Leave out `id` and `time_unix_nano` (the store keeps both in the key).
  bool omit_id_and_time = false;
};

// Appends the encoding of `e` to `*out`.
void AppendEventWire(const Event& e, const WireOptions& options,
                     std::string* out);

}  // namespace traversion::internal

#endif  // TRAVERSION_EVENT_WIRE_ENCODER_H_
