// Replaces the global operator new/delete with versions that count, per
// thread, every allocation: how the record path's "no allocation" is checked
// (tests/recorder_alloc_test.cc) and measured (benchmarks/recorder_bench.cc).
// Include it in exactly one source file of a program: it defines the
// replacement operators.
#ifndef TRAVERSION_TESTS_SUPPORT_COUNTING_NEW_H_
#define TRAVERSION_TESTS_SUPPORT_COUNTING_NEW_H_

#include <cstdint>
#include <cstdlib>
#include <new>

namespace traversion::counting_new {
// Global operator new calls made by the current thread so far.
inline thread_local uint64_t allocations = 0;
}  // namespace traversion::counting_new

void* operator new(std::size_t n) {
  ++traversion::counting_new::allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  ++traversion::counting_new::allocations;
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return operator new(n, t);
}
void* operator new(std::size_t n, std::align_val_t a) {
  ++traversion::counting_new::allocations;
  const size_t align = static_cast<size_t>(a);
  if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return operator new(n, a);
}
// These replace the global operators, so free() here does pair with the
// malloc() above; GCC cannot see that once it inlines them into a caller
// (seen at -O2 under -fsanitize=thread) and warns.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

#endif  // TRAVERSION_TESTS_SUPPORT_COUNTING_NEW_H_
