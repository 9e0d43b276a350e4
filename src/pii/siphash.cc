#include "pii/siphash.h"

#include <cstring>

namespace traversion::pii_internal {
namespace {

inline uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

inline uint64_t LoadLe64(const char* p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
#else
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
#endif
}

struct State {
  uint64_t v0, v1, v2, v3;

  void Round() {
    v0 += v1;
    v1 = Rotl(v1, 13);
    v1 ^= v0;
    v0 = Rotl(v0, 32);
    v2 += v3;
    v3 = Rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = Rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = Rotl(v1, 17);
    v1 ^= v2;
    v2 = Rotl(v2, 32);
  }

  void Compress(uint64_t m) {
    v3 ^= m;
    Round();  // c = 2 compression rounds
    Round();
    v0 ^= m;
  }
};

}  // namespace

uint64_t SipHash24(const SipKey& key, absl::string_view data) {
  // The initialization constants spell "somepseudorandomlygeneratedbytes".
  State s{key.k0 ^ 0x736f6d6570736575ULL, key.k1 ^ 0x646f72616e646f6dULL,
          key.k0 ^ 0x6c7967656e657261ULL, key.k1 ^ 0x7465646279746573ULL};
  const char* p = data.data();
  size_t n = data.size();
  const size_t full = n & ~size_t{7};
  for (size_t i = 0; i < full; i += 8) s.Compress(LoadLe64(p + i));
  // The last block: the remaining 0..7 bytes, and the length mod 256 in the
  // top byte.
  uint64_t last = static_cast<uint64_t>(n & 0xff) << 56;
  for (size_t i = full; i < n; ++i) {
    last |= static_cast<uint64_t>(static_cast<uint8_t>(p[i]))
            << (8 * (i - full));
  }
  s.Compress(last);
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.Round();  // d = 4 finalization rounds
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

SipKey DeriveSipKey(absl::string_view secret) {
  // Arbitrary distinct constants ("traversion-pii-0"/"-1" as two words).
  static constexpr SipKey kLow{0x7472617665727369ULL, 0x6f6e2d7069692d30ULL};
  static constexpr SipKey kHigh{0x7472617665727369ULL, 0x6f6e2d7069692d31ULL};
  return SipKey{SipHash24(kLow, secret), SipHash24(kHigh, secret)};
}

}  // namespace traversion::pii_internal
