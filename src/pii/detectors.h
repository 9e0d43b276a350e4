// The built-in text detectors of the PII masker. Each appends the byte
// ranges it finds to a match list; the masker merges the lists of all
// detectors and replaces the ranges by tokens. None allocates unless it finds
// something (the match list is inlined).
//
// Every detector is a hand-written single pass over the bytes: ASCII
// character classes and fixed prefixes, no regular expressions. Bytes >= 0x80
// (UTF-8 continuation and lead bytes) count as separators, so a match never
// cuts a multi-byte character.
#ifndef TRAVERSION_PII_DETECTORS_H_
#define TRAVERSION_PII_DETECTORS_H_

#include <cstddef>
#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace traversion::pii_internal {

// Token tags of the built-in detectors; configured patterns get kFirstCustom
// plus their index.
enum Tag : uint16_t {
  kTagEmail = 0,
  kTagCard,
  kTagBearer,
  kTagAuth,
  kTagApiKey,
  kTagJwt,
  kTagSecret,
  kFirstCustom,
};
absl::string_view BuiltinTagName(uint16_t tag);

struct Match {
  size_t begin;
  size_t end;
  uint16_t tag;
};
using Matches = absl::InlinedVector<Match, 4>;

// Which detectors can possibly match `text`, from one pass of table lookups;
// a detector whose bit is clear is skipped.
enum Hint : uint32_t {
  kHintAt = 1u << 0,         // '@': e-mail, URL credentials
  kHintCardRun = 1u << 1,    // >= 13 digits in the text
  kHintB = 1u << 2,          // 'b' or 'B': "Bearer"
  kHintKeyPrefix = 1u << 3,  // '_', '-' or 'A': API key prefixes
  kHintJ = 1u << 4,          // 'J': JWT header "eyJ"
  kHintKeyValue = 1u << 5,   // '=' or ':'
};
uint32_t ScanHints(absl::string_view text);

// "local@domain.tld" (the tag: e-mail); also the password of URL credentials
// "scheme://user:password@host" (tag: secret).
void FindEmails(absl::string_view text, Matches* out);
// 13 to 19 digits with a card-network prefix and a valid Luhn check digit,
// contiguous or in groups (4-4-4-4, 4-6-5, 4-4-4-4-3, ...) separated by
// single spaces or single dashes.
void FindCards(absl::string_view text, Matches* out);
// The token after a "Bearer " scheme word.
void FindBearer(absl::string_view text, Matches* out);
// Keys with well-known vendor prefixes.
void FindApiKeys(absl::string_view text, Matches* out);
// header.payload.signature, base64url, header starting "eyJ".
void FindJwts(absl::string_view text, Matches* out);
// `key=value`, `key: value`, `"key": "value"` where is_sensitive(key):
// the value (for Authorization-like keys, the credentials after the scheme).
void FindKeyValues(absl::string_view text,
                   absl::FunctionRef<bool(absl::string_view)> is_sensitive,
                   Matches* out);

// Luhn (mod 10) check over a string of ASCII digits.
bool LuhnValid(absl::string_view digits);

// Whether `text` is a whole token as produced by the masker: "<tag:hex>".
bool IsToken(absl::string_view text);

// The part of a sensitive value to mask: for an Authorization-like key whose
// value is "Scheme credentials", the credentials (and *tag is bearer or
// auth); else the whole value (*tag secret, or api_key for key names that
// say so).
absl::string_view SecretPart(absl::string_view key, absl::string_view value,
                             uint16_t* tag);

}  // namespace traversion::pii_internal

#endif  // TRAVERSION_PII_DETECTORS_H_
