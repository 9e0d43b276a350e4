// A bounded ring of slots with one producer (or several serialized by the
// ring's spin lock) and one consumer, the flusher.
//
// Indices grow forever (64 bits); a slot is index & mask. Three of them:
//   head      next index the producer writes; written by the producer only.
//   tail      next index the consumer claims; advanced by the consumer when
//             it claims a run of slots, and by the producer when it evicts
//             the oldest slot (kDropOldest) — hence compare-and-swap.
//   released  every slot below it is free for the producer to overwrite;
//             the consumer raises it after copying a claimed run out, the
//             producer after evicting. Raised with a compare-and-swap max.
// Invariant: released <= tail <= head <= released + capacity.
//
// The producer's fast path is two relaxed loads of its own line, one slot
// write and one release store: no read-modify-write, no shared cache line
// written. It reads `released` (the consumer's line) only when its cached
// copy says the ring is full.
#ifndef TRAVERSION_RECORDER_RING_H_
#define TRAVERSION_RECORDER_RING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "recorder/slot.h"

namespace traversion::recorder_internal {

// Producer-side counters, each written by the ring's producer only (or under
// the ring's lock), read by stats() and the flusher.
struct RingCounters {
  std::atomic<uint64_t> dropped_newest{0};
  std::atomic<uint64_t> dropped_oldest{0};
  std::atomic<uint64_t> dropped_timeout{0};
  std::atomic<uint64_t> truncated{0};
};

// relaxed: a counter with a single writer; readers want a recent value and
// order nothing by it.
inline void Bump(std::atomic<uint64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1,
                std::memory_order_relaxed);
}

class Ring {
 public:
  Ring(size_t capacity, bool shared)
      : capacity_(capacity),
        mask_(capacity - 1),
        shared_(shared),
        slots_(new Slot[capacity]) {}

  size_t capacity() const { return capacity_; }
  bool shared() const { return shared_; }
  uint64_t bytes() const { return capacity_ * sizeof(Slot); }

  // --- producer -------------------------------------------------------------

  // The slot to write the next event into, or nullptr if the ring is full.
  Slot* TryReserve() {
    // relaxed: head is written only by this producer.
    const uint64_t h = head_.load(std::memory_order_relaxed);
    if (h - cached_released_ >= capacity_) {
      // acquire: the consumer's reads of the slots it released happen
      // before our overwriting them.
      const uint64_t r = released_.load(std::memory_order_acquire);
      // Still full: return without writing our line, so a producer that
      // keeps hitting a full ring does not pull head's line away from the
      // consumer.
      if (h - r >= capacity_) return nullptr;
      cached_released_ = r;
    }
    return &slots_[h & mask_];
  }

  // kDropOldest on a full ring: evicts the oldest unclaimed slot and returns
  // it for the next event, or nullptr if the consumer is copying out of the
  // ring right now (nothing to evict without waiting for it).
  Slot* EvictOldest() {
    const uint64_t h = head_.load(std::memory_order_relaxed);
    // acquire: as in TryReserve.
    const uint64_t r = released_.load(std::memory_order_acquire);
    cached_released_ = r;
    if (h - r < capacity_) return &slots_[h & mask_];
    uint64_t t = tail_.load(std::memory_order_acquire);
    // t != r: a claimed run is being copied; slot r is not ours to take.
    if (t != r || t == h) return nullptr;
    // acq_rel: wins the oldest slot against the consumer's claim; pairs
    // with the consumer's CAS on tail.
    if (!tail_.compare_exchange_strong(t, t + 1, std::memory_order_acq_rel)) {
      return nullptr;
    }
    RaiseReleased(t + 1);
    cached_released_ = t + 1;
    Bump(counters_.dropped_oldest);
    return &slots_[h & mask_];
  }

  // Publishes the slot returned by TryReserve/EvictOldest; returns the new
  // head.
  uint64_t Commit() {
    const uint64_t h = head_.load(std::memory_order_relaxed) + 1;
    // release: the slot's contents are visible to the consumer that
    // acquires head.
    head_.store(h, std::memory_order_release);
    return h;
  }

  // Occupancy as the producer sees it (never less than the truth).
  uint64_t ProducerFill() const {
    return head_.load(std::memory_order_relaxed) - cached_released_;
  }

  // Refreshes the cached `released` (for kBlock's waiting loop).
  void RefreshReleased() {
    // acquire: as in TryReserve.
    cached_released_ = released_.load(std::memory_order_acquire);
  }

  // Serializes the producers of a shared ring.
  void Lock() {
    // acquire: the previous holder's writes (head, slots) happen before.
    while (lock_.test_and_set(std::memory_order_acquire)) {
      while (lock_.test(std::memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
    }
  }
  // release: our writes happen before the next holder's.
  void Unlock() { lock_.clear(std::memory_order_release); }

  RingCounters& counters() { return counters_; }
  const RingCounters& counters() const { return counters_; }

  // --- consumer -------------------------------------------------------------

  // Claims up to `max` slots; returns the first index and sets *n. The
  // caller reads them with At() and then calls Release(first + n).
  uint64_t Claim(size_t max, size_t* n) {
    // acquire: see the slot contents published with head.
    const uint64_t h = head_.load(std::memory_order_acquire);
    // relaxed: validated by the CAS below.
    uint64_t t = tail_.load(std::memory_order_relaxed);
    while (true) {
      // A failed CAS reloads t, which a producer's EvictOldest may have
      // moved past the h read above: then nothing is available to this
      // claim (h - t would wrap around and claim 2^64 slots, running tail
      // past head for good: the flusher then drained garbage forever).
      const uint64_t available = h > t ? h - t : 0;
      *n = available < max ? available : max;
      if (*n == 0) return t;
      // acq_rel: the claim excludes the producer's eviction of these slots.
      if (tail_.compare_exchange_weak(t, t + *n, std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
        return t;
      }
    }
  }
  const Slot& At(uint64_t index) const { return slots_[index & mask_]; }
  void Release(uint64_t end) { RaiseReleased(end); }

  // Events in the ring not yet claimed by the consumer.
  uint64_t Unclaimed() const {
    // acquire on both: a consistent-enough view for a fill estimate.
    const uint64_t t = tail_.load(std::memory_order_acquire);
    const uint64_t h = head_.load(std::memory_order_acquire);
    return h > t ? h - t : 0;
  }
  // Every event ever committed (including those later evicted).
  uint64_t Committed() const {
    // acquire: pairs with Commit's release (exact counts after Flush).
    return head_.load(std::memory_order_acquire);
  }

  // Set by the owning thread's exit; the flusher recycles the ring once it
  // is empty.
  std::atomic<bool> owner_exited{false};

 private:
  void RaiseReleased(uint64_t to) {
    // relaxed load: the CAS validates it.
    uint64_t cur = released_.load(std::memory_order_relaxed);
    // release: our reads of (or eviction of) the slots below `to` happen
    // before the producer overwrites them.
    while (cur < to &&
           !released_.compare_exchange_weak(cur, to, std::memory_order_release,
                                            std::memory_order_relaxed)) {
    }
  }

  const size_t capacity_;
  const uint64_t mask_;
  const bool shared_;
  std::unique_ptr<Slot[]> slots_;

  // The producer's line.
  alignas(64) std::atomic<uint64_t> head_{0};
  uint64_t cached_released_ = 0;
  RingCounters counters_;
  std::atomic_flag lock_;

  // The consumer's lines.
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) std::atomic<uint64_t> released_{0};
};

}  // namespace traversion::recorder_internal

#endif  // TRAVERSION_RECORDER_RING_H_
