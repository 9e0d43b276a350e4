#include "util/coding.h"

namespace traversion::coding {

uint64_t StableHash64(absl::string_view data, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL ^ (seed * 0x9e3779b97f4a7c15ULL);
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // Final mix (the murmur3 finalizer) so that close inputs spread widely.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb93fe28b2e1bULL;
  h ^= h >> 33;
  return h;
}

}  // namespace traversion::coding
