// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
// 2012): a keyed pseudo-random function with a 128-bit key and a 64-bit
// output, built for hashing short inputs under a secret. The masker's tokens
// are its output; written here from the paper's description, checked against
// the paper's test vectors in tests/pii_test.cc.
#ifndef TRAVERSION_PII_SIPHASH_H_
#define TRAVERSION_PII_SIPHASH_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace traversion::pii_internal {

struct SipKey {
  uint64_t k0 = 0;  // key bytes 0..7, little-endian
  uint64_t k1 = 0;  // key bytes 8..15, little-endian
};

uint64_t SipHash24(const SipKey& key, absl::string_view data);

// A 128-bit key from a secret of any length: two SipHash-2-4 outputs of the
// secret under distinct fixed keys. (A PRF under a public key is a fine
// compressor for this use: recovering the derived key still needs the
// secret's entropy to be guessed.)
SipKey DeriveSipKey(absl::string_view secret);

}  // namespace traversion::pii_internal

#endif  // TRAVERSION_PII_SIPHASH_H_
