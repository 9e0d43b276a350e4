// Small text helpers shared by the library and the CLI: UTF-8 decoding of
// one sequence and JSON string quoting.
#ifndef TRAVERSION_UTIL_TEXT_H_
#define TRAVERSION_UTIL_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace traversion::text {

// Decodes one well-formed UTF-8 sequence at the start of `text` (which must
// not be empty): its length, or 0 if the bytes there are not well-formed.
size_t Utf8SequenceLength(absl::string_view text, uint32_t* code_point);

// `text` as a JSON string literal, quotes included. Control characters are
// escaped; an ill-formed UTF-8 byte becomes U+FFFD, so the output is always
// valid JSON.
std::string JsonQuote(absl::string_view text);

}  // namespace traversion::text

#endif  // TRAVERSION_UTIL_TEXT_H_
