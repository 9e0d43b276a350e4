// Helpers shared by the recorder tests: a store in a scratch directory and
// what a Recorder wrote to it.
#ifndef TRAVERSION_TESTS_RECORDER_TEST_UTIL_H_
#define TRAVERSION_TESTS_RECORDER_TEST_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "support/test_support.h"
#include "traversion/recorder.h"
#include "traversion/store.h"

namespace traversion::testing {

inline constexpr char kDroppedEventName[] = "traversion.dropped";

// A store in a fresh scratch directory.
class ScratchStore {
 public:
  explicit ScratchStore(StoreOptions options = NoSyncOptions()) {
    auto store = Store::Open(dir_.Sub("store"), options);
    EXPECT_TRUE(store.ok()) << store.status();
    if (store.ok()) store_ = std::move(*store);
  }
  // The recorder tests do not test the disk: skip the fsyncs.
  static StoreOptions NoSyncOptions() {
    StoreOptions options;
    options.sync = SyncMode::kNoSync;
    return options;
  }
  Store* get() const { return store_.get(); }
  Store* operator->() const { return store_.get(); }
  std::string path() const { return dir_.Sub("store"); }
  void Close() { store_.reset(); }

 private:
  ScratchDir dir_;
  std::unique_ptr<Store> store_;
};

// Options without PII masking (so values read back exactly) and without
// sampling (so every event is kept), unless a test turns them on.
inline RecorderOptions PlainOptions() {
  RecorderOptions options;
  options.service.name = "test-service";
  options.pii.enabled = false;
  options.sampling.enabled = false;
  return options;
}

inline std::unique_ptr<Recorder> CreateOrDie(Store* store,
                                             RecorderOptions options) {
  auto recorder = Recorder::Create(store, std::move(options));
  EXPECT_TRUE(recorder.ok()) << recorder.status();
  return recorder.ok() ? std::move(*recorder) : nullptr;
}

// Every event in the store, in id order.
inline std::vector<Event> AllEvents(const Store& store) {
  std::vector<Event> out;
  EventCursor cursor = store.Scan(EventFilter{});
  while (cursor.Next()) out.push_back(cursor.event());
  EXPECT_TRUE(cursor.status().ok()) << cursor.status();
  return out;
}

struct StoreCounts {
  uint64_t user_events = 0;  // everything but the drop reports
  uint64_t drop_reports = 0;
  uint64_t dropped = 0;  // the sum of the reports' counts
};

inline int64_t IntAttribute(const Event& e, absl::string_view key) {
  const AttributeValue* v = e.FindAttribute(key);
  if (v == nullptr || !std::holds_alternative<int64_t>(*v)) return -1;
  return std::get<int64_t>(*v);
}

inline StoreCounts CountEvents(const Store& store) {
  StoreCounts counts;
  for (const Event& e : AllEvents(store)) {
    if (e.name == kDroppedEventName) {
      ++counts.drop_reports;
      counts.dropped += static_cast<uint64_t>(IntAttribute(e, "count"));
    } else {
      ++counts.user_events;
    }
  }
  return counts;
}

}  // namespace traversion::testing

#endif  // TRAVERSION_TESTS_RECORDER_TEST_UTIL_H_
