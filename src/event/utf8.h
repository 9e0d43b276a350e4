// UTF-8 well-formedness (RFC 3629): the check behind IsValidUtf8 and the
// byte offsets that ValidateEvent reports.
#ifndef TRAVERSION_EVENT_UTF8_H_
#define TRAVERSION_EVENT_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace traversion::internal {

// The offset of the first byte of the first ill-formed sequence in `text`
// (an overlong form, a surrogate, a value above U+10FFFF, a stray
// continuation byte or a truncated sequence), or absl::string_view::npos if
// `text` is well-formed.
size_t FindInvalidUtf8(absl::string_view text);

}  // namespace traversion::internal

#endif  // TRAVERSION_EVENT_UTF8_H_
