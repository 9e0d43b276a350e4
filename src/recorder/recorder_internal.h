// Hooks into a Recorder for the tests: not part of the API.
#ifndef TRAVERSION_RECORDER_RECORDER_INTERNAL_H_
#define TRAVERSION_RECORDER_RECORDER_INTERNAL_H_

#include "recorder/recorder_impl.h"
#include "traversion/recorder.h"

namespace traversion {

struct RecorderInternal {
  // A paused flusher drains nothing (Flush() waits) until resumed; so a test
  // can fill a ring deterministically.
  static void PauseFlusher(Recorder& recorder, bool paused) {
    recorder.impl_->SetPaused(paused);
  }
};

}  // namespace traversion

#endif  // TRAVERSION_RECORDER_RECORDER_INTERNAL_H_
