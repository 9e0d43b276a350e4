// Order-preserving fixed-width encodings for LMDB keys: big-endian integers
// compare bytewise in numeric order, so time order is key order.
#ifndef TRAVERSION_UTIL_CODING_H_
#define TRAVERSION_UTIL_CODING_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/string_view.h"

namespace traversion::coding {

inline void PutBigEndian64(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}
inline void PutBigEndian32(uint8_t* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}
inline uint64_t GetBigEndian64(const uint8_t* in) {
  uint64_t v;
  std::memcpy(&v, in, 8);
  if constexpr (std::endian::native == std::endian::little) {
    v = __builtin_bswap64(v);
  }
  return v;
}
inline uint32_t GetBigEndian32(const uint8_t* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | in[i];
  return v;
}
inline void AppendBigEndian64(std::string* out, uint64_t v) {
  uint8_t buf[8];
  PutBigEndian64(buf, v);
  out->append(reinterpret_cast<const char*>(buf), 8);
}
inline void AppendBigEndian32(std::string* out, uint32_t v) {
  uint8_t buf[4];
  PutBigEndian32(buf, v);
  out->append(reinterpret_cast<const char*>(buf), 4);
}
inline void AppendVarint64(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
// Reads a varint from [*p, end); false if truncated or over 10 bytes.
inline bool GetVarint64(const uint8_t** p, const uint8_t* end, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && *p < end; shift += 7) {
    uint64_t byte = **p;
    ++*p;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

// A stable 64-bit hash (FNV-1a with a final avalanche mix). Stable across
// processes, builds and versions: it names things on disk. Not absl::Hash,
// which is salted per process.
uint64_t StableHash64(absl::string_view data, uint64_t seed = 0);

}  // namespace traversion::coding

#endif  // TRAVERSION_UTIL_CODING_H_
