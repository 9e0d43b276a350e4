#include "event/utf8.h"

#include <cstdint>
#include <cstring>

#include "traversion/event_codec.h"

namespace traversion {
namespace internal {
namespace {

bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

}  // namespace

size_t FindInvalidUtf8(absl::string_view text) {
  const auto* const begin = reinterpret_cast<const uint8_t*>(text.data());
  const uint8_t* p = begin;
  const uint8_t* const end = begin + text.size();
  while (p < end) {
    // Most text is ASCII: skip it eight bytes at a time.
    while (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, sizeof(word));
      if ((word & 0x8080808080808080ULL) != 0) break;
      p += 8;
    }
    if (p == end) break;
    const uint8_t lead = *p;
    if (lead < 0x80) {
      ++p;
      continue;
    }
    // The allowed range of the second byte depends on the lead byte; this
    // is what rules out overlongs (E0, F0), surrogates (ED) and values past
    // U+10FFFF (F4). Lead bytes C0, C1 and F5..FF never occur.
    size_t length;
    uint8_t second_min = 0x80;
    uint8_t second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) second_min = 0xA0;
      if (lead == 0xED) second_max = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) second_min = 0x90;
      if (lead == 0xF4) second_max = 0x8F;
    } else {
      return static_cast<size_t>(p - begin);
    }
    if (static_cast<size_t>(end - p) < length || p[1] < second_min ||
        p[1] > second_max) {
      return static_cast<size_t>(p - begin);
    }
    for (size_t i = 2; i < length; ++i) {
      if (!IsContinuation(p[i])) return static_cast<size_t>(p - begin);
    }
    p += length;
  }
  return absl::string_view::npos;
}

}  // namespace internal

bool IsValidUtf8(absl::string_view text) {
  return internal::FindInvalidUtf8(text) == absl::string_view::npos;
}

}  // namespace traversion
