#include "util/text.h"

#include "absl/strings/str_format.h"

namespace traversion::text {

size_t Utf8SequenceLength(absl::string_view text, uint32_t* code_point) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const auto continuation = [&](size_t i) {
    return i < text.size() && (byte(i) & 0xC0) == 0x80;
  };
  uint8_t b0 = byte(0);
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF && continuation(1)) {
    *code_point = (b0 & 0x1Fu) << 6 | (byte(1) & 0x3Fu);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF && continuation(1) && continuation(2)) {
    uint32_t cp =
        (b0 & 0x0Fu) << 12 | (byte(1) & 0x3Fu) << 6 | (byte(2) & 0x3Fu);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    *code_point = cp;
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4 && continuation(1) && continuation(2) &&
      continuation(3)) {
    uint32_t cp = (b0 & 0x07u) << 18 | (byte(1) & 0x3Fu) << 12 |
                  (byte(2) & 0x3Fu) << 6 | (byte(3) & 0x3Fu);
    if (cp < 0x10000 || cp > 0x10FFFF) return 0;
    *code_point = cp;
    return 4;
  }
  return 0;
}

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  size_t i = 0;
  while (i < text.size()) {
    uint32_t cp = 0;
    size_t len = Utf8SequenceLength(text.substr(i), &cp);
    if (len == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (cp < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", cp);
        } else {
          out.append(text.data() + i, len);
        }
    }
    i += len;
  }
  out += '"';
  return out;
}

}  // namespace traversion::text
