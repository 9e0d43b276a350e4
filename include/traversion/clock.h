// traversion/clock.h — the one source of time, injectable for tests.
//
// Everything in libtraversion that needs "now" (stamping events written
// without a time, retention by age, relative times in queries) asks a Clock.
// Tests pass a ManualClock to make time deterministic.
//
// Thread safety: implementations must be safe to call from any thread.
#ifndef TRAVERSION_CLOCK_H_
#define TRAVERSION_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace traversion {

class Clock {
 public:
  virtual ~Clock() = default;
  // Nanoseconds since the Unix epoch.
  virtual uint64_t NowNanos() const = 0;

  // The process-wide real-time clock (CLOCK_REALTIME). Never null.
  static const Clock* Real();
};

// A clock that only moves when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t now_ns = 0) : now_ns_(now_ns) {}
  // relaxed: the value is the whole message; no other data is published.
  uint64_t NowNanos() const override {
    return now_ns_.load(std::memory_order_relaxed);
  }
  void Set(uint64_t now_ns) {
    now_ns_.store(now_ns, std::memory_order_relaxed);
  }
  void Advance(uint64_t delta_ns) {
    now_ns_.fetch_add(delta_ns, std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t> now_ns_;
};

}  // namespace traversion

#endif  // TRAVERSION_CLOCK_H_
