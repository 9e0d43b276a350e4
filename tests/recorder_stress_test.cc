// The Recorder under concurrency and overload: many threads, small rings,
// the flusher running. Whatever the interleaving, every record call is
// accounted for exactly: recorded = stored + dropped, the store holds the
// stored events, and its `traversion.dropped` events add up to the drops.
// Run under ThreadSanitizer by scripts/test (the tsan preset).
#include <atomic>
#include <iostream>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "recorder_test_util.h"
#include "traversion/recorder.h"

namespace traversion {
namespace {

using testing::CountEvents;
using testing::CreateOrDie;
using testing::PlainOptions;
using testing::ScratchStore;

struct StressCase {
  BackpressurePolicy policy;
  size_t ring_capacity;
  size_t max_thread_rings;
};

class RecorderStressTest : public ::testing::TestWithParam<StressCase> {};

// Each thread records a mix of spans, logs, errors, metrics and entity
// observations; one thread calls Flush() now and then meanwhile.
TEST_P(RecorderStressTest, ExactAccountingUnderOverload) {
  ScratchStore store;
  RecorderOptions options = PlainOptions();
  options.ring_capacity = GetParam().ring_capacity;
  options.max_thread_rings = GetParam().max_thread_rings;
  options.backpressure = GetParam().policy;
  options.block_timeout = absl::Microseconds(50);
  options.max_batch = 512;
  auto recorder = CreateOrDie(store.get(), options);
  ASSERT_NE(recorder, nullptr);

  constexpr int kThreads = 4;
  constexpr int kIterations = 20000;
  std::atomic<uint64_t> calls{0};
  std::atomic<bool> done{false};
  std::thread flusher_caller([&] {
    while (!done.load()) {
      EXPECT_TRUE(recorder->Flush().ok());
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      uint64_t mine = 0;
      for (int i = 0; i < kIterations; ++i) {
        {
          Span span = recorder->StartSpan("op", SpanKind::kServer);
          span.SetAttribute("i", i);
          recorder->Log(Severity::kInfo, "working", {{"t", t}});
          if (i % 97 == 0) recorder->Error("E", "failed");
          mine += (i % 97 == 0) ? 3 : 2;
        }
        recorder->Gauge("g", i);
        if (i % 50 == 0) {
          recorder->EntityState("worker/" + std::to_string(t), "worker",
                                {{"i", std::to_string(i)}});
          ++mine;
        }
        mine += 1;
        // Let the flusher in now and then, so that it drains while the
        // producers fill (on a 2-core machine they would otherwise finish
        // before it is scheduled).
        if (i % 16 == 0) std::this_thread::yield();
      }
      calls.fetch_add(mine);
    });
  }
  for (std::thread& t : threads) t.join();
  done.store(true);
  flusher_caller.join();
  ASSERT_TRUE(recorder->Flush().ok());
  const RecorderStats stats = recorder->stats();
  EXPECT_EQ(stats.recorded, calls.load());
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.recorded, stats.stored + stats.dropped);
  EXPECT_EQ(stats.dropped, stats.dropped_newest + stats.dropped_oldest +
                               stats.dropped_timeout);
  // One more event: its batch carries the report of the last drops.
  recorder->Counter("last", 1);
  ASSERT_TRUE(recorder->Shutdown().ok());
  const RecorderStats final_stats = recorder->stats();
  const testing::StoreCounts counts = CountEvents(*store.get());
  std::cout << "recorded " << final_stats.recorded << ", stored "
            << final_stats.stored << ", dropped " << final_stats.dropped
            << " (newest " << final_stats.dropped_newest << ", oldest "
            << final_stats.dropped_oldest << ", timeout "
            << final_stats.dropped_timeout << "), reports "
            << final_stats.drop_reports << "\n";
  EXPECT_EQ(counts.user_events, final_stats.stored);
  EXPECT_EQ(counts.dropped, final_stats.dropped);
  EXPECT_EQ(final_stats.drops_reported, final_stats.dropped);
  EXPECT_EQ(counts.drop_reports, final_stats.drop_reports);
  if (GetParam().policy == BackpressurePolicy::kBlock) {
    EXPECT_EQ(final_stats.dropped_newest + final_stats.dropped_oldest, 0u);
  }
}

std::string CaseName(const ::testing::TestParamInfo<StressCase>& info) {
  static const char* const kNames[] = {"DropNewest", "DropOldest", "Block"};
  return std::string(kNames[static_cast<int>(info.param.policy)]) + "_ring" +
         std::to_string(info.param.ring_capacity) + "_rings" +
         std::to_string(info.param.max_thread_rings);
}

INSTANTIATE_TEST_SUITE_P(
    Policies, RecorderStressTest,
    ::testing::Values(StressCase{BackpressurePolicy::kDropNewest, 64, 8},
                      StressCase{BackpressurePolicy::kDropOldest, 64, 8},
                      StressCase{BackpressurePolicy::kBlock, 64, 8},
                      // Few thread rings: the other threads share one.
                      StressCase{BackpressurePolicy::kDropNewest, 128, 2},
                      StressCase{BackpressurePolicy::kDropOldest, 128, 2},
                      StressCase{BackpressurePolicy::kBlock, 128, 1}),
    CaseName);

// Threads that come and go while others record: rings are handed back and
// reused, nothing recorded is lost.
TEST(RecorderChurnTest, ThreadsComingAndGoing) {
  ScratchStore store;
  RecorderOptions options = PlainOptions();
  options.ring_capacity = 128;
  options.max_thread_rings = 3;
  options.backpressure = BackpressurePolicy::kBlock;
  options.block_timeout = absl::Seconds(60);
  auto recorder = CreateOrDie(store.get(), options);
  std::atomic<uint64_t> calls{0};
  for (int wave = 0; wave < 10; ++wave) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 300; ++i) recorder->Counter("c", 1);
        calls.fetch_add(300);
      });
    }
    for (std::thread& t : threads) t.join();
  }
  ASSERT_TRUE(recorder->Flush().ok());
  const RecorderStats stats = recorder->stats();
  EXPECT_EQ(stats.recorded, calls.load());
  EXPECT_EQ(stats.stored, calls.load());
  EXPECT_LE(stats.rings, 4u);
  EXPECT_EQ(CountEvents(*store.get()).user_events, calls.load());
}

}  // namespace
}  // namespace traversion
