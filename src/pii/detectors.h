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

// Pairs of adjacent characters of which a key matching some attribute rule
// must contain at least one: for each rule, a pair taken from one of its
// literal pieces (lowercase letters, digits, or '_' standing for '_' and
// '-'). Built by the masker from its rules; `usable` false when some rule
// has no such pair (then every key may match). A text byte c matches a
// pair character p when (c | 0x20) == p, or for '_' when (c | 0x20) is
// 0x7f or '-' (a superset: the filter only has to be necessary).
struct KeyPairFilter {
  static constexpr int kMaxPairs = 16;
  // Each pair becomes one to four byte pairs to compare with the folded text
  // (two for each '_'); room for all of them.
  static constexpr int kMaxPatterns = 4 * kMaxPairs;
  bool usable = false;
  int count = 0;
  char first[kMaxPairs] = {};
  char second[kMaxPairs] = {};
  int patterns = 0;
  uint16_t pattern[kMaxPatterns] = {};  // first | second << 8, folded
  // Each pattern repeated over 16 bytes, for the SSE2 test.
  alignas(16) uint16_t pattern_wide[kMaxPatterns][8] = {};
  // For the AVX2 (pshufb) test, up to 8 pairs: bit k of nibble_lo[0][c & 15] &
  // nibble_hi[0][c >> 4] says c may be the first character of pair k, and
  // [1] the same for the second (letters in both cases; '_' as '_' or '-').
  alignas(16) uint8_t nibble_lo[2][16] = {};
  alignas(16) uint8_t nibble_hi[2][16] = {};
  // Adds a pair (deduplicated); false when full.
  bool Add(char a, char b);
  // Picks the fastest MayMatch for this CPU and these pairs; call after the
  // last Add (until then MayMatch decides on every call).
  void Finish();
  // Whether `key` contains one of the pairs (true when not usable).
  bool MayMatch(absl::string_view key) const { return impl(*this, key); }
  bool (*impl)(const KeyPairFilter&, absl::string_view) = &MayMatchAny;
  static bool MayMatchAny(const KeyPairFilter& f, absl::string_view key);
  // The same a byte at a time (the fallback without SSE2), and on x86-64
  // 16 bytes at a time with SSE2, or with pshufb nibble lookups compiled for
  // AVX2 (what MayMatch uses when the CPU has AVX2 and there are at most 8
  // pairs; else the same as MayMatchSse2). Scalar and SSE2 agree exactly;
  // the nibble lookups may also pass a few keys they reject (their
  // character sets are products of nibble sets).
  bool MayMatchScalar(absl::string_view key) const;
#if defined(__SSE2__)
  bool MayMatchSse2(absl::string_view key) const;
  bool MayMatchAvx2(absl::string_view key) const;
#endif
};

// Which detectors can possibly match `text`, from one pass over it (32
// bytes at a time with AVX2, else 16 with SSE2 on x86-64, a byte at a time
// elsewhere); a detector whose bit is clear is skipped. Every bit is a
// necessary condition for its detector to find anything;
// tests/pii_scan_test.cc checks that against the detectors themselves.
enum Hint : uint32_t {
  kHintAt = 1u << 0,         // '@': e-mail, URL credentials
  kHintCardRun = 1u << 1,    // 13 digits in a row, or two separators
                             // ' '/'-' 5 to 7 apart, each after 4 digits
                             // and before a digit (a grouped card)
  kHintB = 1u << 2,          // "bea" in any case: "Bearer"
  kHintKeyPrefix = 1u << 3,  // "k_", "IA", "Iz", "gh", "gl", "xo", "np":
                             // the API key prefixes
  kHintJ = 1u << 4,          // "yJ": JWT header "eyJ"
  kHintKeyValue = 1u << 5,   // '=' or ':' (FindKeyValues then checks the
                             // key before each with the KeyPairFilter)
};
uint32_t ScanHints(absl::string_view text);
// The implementation ScanHints uses on this CPU, to call without the check.
using ScanHintsFn = uint32_t (*)(absl::string_view text);
ScanHintsFn BestScanHints();
// The same, a byte at a time: the fallback where SSE2 is missing, and the
// reference the vector passes are tested against.
uint32_t ScanHintsScalar(absl::string_view text);
#if defined(__SSE2__)
// The vector passes: 16 bytes at a time with SSE2 compares (the same bits as
// ScanHintsScalar), and 32 at a time with AVX2 pshufb nibble lookups (what
// ScanHints uses; the same as ScanHintsSse2 on a CPU without AVX2). The AVX2
// pass may set more bits: it asks only for "be" (not "bea") for kHintB, and
// its key-prefix and JWT classes share a bit (so each sets both hints). The
// card bit is exact in every pass.
uint32_t ScanHintsSse2(absl::string_view text);
uint32_t ScanHintsAvx2(absl::string_view text);
#endif

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
