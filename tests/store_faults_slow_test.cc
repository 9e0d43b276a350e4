// Running out of room: a full memory map (growth disabled, or capped) and a
// full disk (a small tmpfs). The failing Write() returns ResourceExhausted
// and commits nothing, everything committed before survives a reopen, and
// the store keeps working once there is room again (store.h: Write,
// StoreOptions::allow_map_growth; BRIEF "Reliability and safety").
#include <signal.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "support/process_support.h"
#include "support/test_support.h"
#include "traversion/store.h"

namespace traversion {
namespace {

using ::traversion::testing::ChildExit;
using ::traversion::testing::ChildProcess;
using ::traversion::testing::IntAttribute;
using ::traversion::testing::LinePipe;
using ::traversion::testing::ScopedMount;
using ::traversion::testing::ScratchDir;

constexpr uint64_t kT0 = 1'730'000'000'000'000'000ull;
constexpr int kBatchSize = 50;
constexpr char kBatchKey[] = "fault.batch";
constexpr uint64_t kMiB = uint64_t{1} << 20;

// Batch `b` of the fill workload: spans, logs and entity observations with
// some bulk, so indexes and entity tables fill along with the events.
std::vector<Event> FillBatch(int b) {
  std::vector<Event> batch;
  for (int i = 0; i < kBatchSize; ++i) {
    const uint64_t t =
        kT0 + static_cast<uint64_t>(b) * 1000 + static_cast<uint64_t>(i);
    Event e;
    if (i % 5 == 0) {
      e = ::traversion::testing::MakeEntityState(
          "filler", t, absl::StrCat("pool-", i % 3),
          {{"size", absl::StrCat(b * 100 + i)}});
    } else if (i % 2 == 0) {
      e = ::traversion::testing::MakeSpan("filler", t,
                                          static_cast<uint64_t>(b) + 1,
                                          static_cast<uint64_t>(i) + 1);
    } else {
      e = ::traversion::testing::MakeLog(
          "filler", t, Severity::kInfo,
          absl::StrCat("batch ", b, " event ", i, " ", std::string(300, 'f')));
    }
    e.attributes.push_back({kBatchKey, int64_t{b}});
    batch.push_back(std::move(e));
  }
  return batch;
}

// Checks that the store at `dir` holds exactly batches [0, committed), each
// complete, and nothing else.
void ExpectExactlyBatches(const Store& store, int committed) {
  std::vector<int> count(static_cast<size_t>(committed), 0);
  int stray = 0;
  EventCursor cursor = store.Scan(EventFilter{});
  while (cursor.Next()) {
    std::optional<int64_t> b = IntAttribute(cursor.event(), kBatchKey);
    if (!b.has_value() || *b < 0 || *b >= committed) {
      ++stray;
      continue;
    }
    ++count[static_cast<size_t>(*b)];
  }
  ASSERT_TRUE(cursor.status().ok()) << cursor.status();
  EXPECT_EQ(stray, 0) << "events of batches that failed to commit are present";
  int wrong = 0;
  for (int b = 0; b < committed; ++b) {
    if (count[static_cast<size_t>(b)] != kBatchSize && ++wrong <= 3) {
      ADD_FAILURE() << "committed batch " << b << " has "
                    << count[static_cast<size_t>(b)] << " of " << kBatchSize
                    << " events";
    }
  }
  auto stats = store.Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->events, uint64_t(committed) * kBatchSize);
}

// Writes fill batches from `first` until one fails or `limit` is reached.
// Returns the number of batches committed and sets `failure`.
int FillUntilFailure(Store* store, int first, int limit,
                     absl::Status* failure) {
  int b = first;
  for (; b < limit; ++b) {
    auto result = store->Write(FillBatch(b));
    if (!result.ok()) {
      *failure = result.status();
      return b;
    }
  }
  *failure = absl::OkStatus();
  return b;
}

// --- map full -------------------------------------------------------------

TEST(StoreFaultsTest, MapFullWithoutGrowthIsResourceExhaustedAndLosesNothing) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  StoreOptions fixed;
  fixed.initial_map_size = 2 * kMiB;
  fixed.allow_map_growth = false;

  int committed = 0;
  {
    auto store = Store::Open(dir, fixed);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::Status failure;
    committed = FillUntilFailure(store->get(), 0, 10'000, &failure);
    ASSERT_FALSE(failure.ok()) << "10000 batches fit into a 2 MiB map";
    EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
    EXPECT_GT(committed, 0) << "not even one batch fit";
    printf("map of 2 MiB full after %d batches of %d events: %s\n", committed,
           kBatchSize, failure.ToString().c_str());
    auto stats = (*store)->Stats();
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_LE(stats->map_size_bytes, 2 * kMiB) << "the map grew although "
                                                  "growth is disabled";
    ExpectExactlyBatches(**store, committed);

    // Still usable: reads work, and further writes fail the same clean way
    // (or fit, if small enough) without damaging anything.
    auto again = (*store)->Write(FillBatch(committed));
    EXPECT_EQ(again.status().code(), absl::StatusCode::kResourceExhausted)
        << again.status();
    ExpectExactlyBatches(**store, committed);
  }

  // Reopens as it was.
  {
    auto store = Store::Open(dir, fixed);
    ASSERT_TRUE(store.ok())
        << "store did not reopen after map full: " << store.status();
    ExpectExactlyBatches(**store, committed);
  }

  // With growth allowed the same store takes the rest of the workload.
  {
    StoreOptions growing = fixed;
    growing.allow_map_growth = true;
    auto store = Store::Open(dir, growing);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::Status failure;
    const int target = committed * 3 + 10;
    int now = FillUntilFailure(store->get(), committed, target, &failure);
    ASSERT_TRUE(failure.ok()) << "growth enabled, yet: " << failure;
    ASSERT_EQ(now, target);
    auto stats = (*store)->Stats();
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_GT(stats->map_size_bytes, 2 * kMiB);
    ExpectExactlyBatches(**store, target);
  }
}

TEST(StoreFaultsTest, SameWorkloadSucceedsWithGrowthFromASmallMap) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  StoreOptions growing;
  growing.initial_map_size = 2 * kMiB;
  growing.allow_map_growth = true;
  constexpr int kBatches = 400;  // several times what fits in 2 MiB
  {
    auto store = Store::Open(dir, growing);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::Status failure;
    EXPECT_EQ(FillUntilFailure(store->get(), 0, kBatches, &failure), kBatches);
    ASSERT_TRUE(failure.ok()) << failure;
    auto stats = (*store)->Stats();
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_GT(stats->map_size_bytes, 2 * kMiB);
    printf("grown map: %llu bytes for %d batches\n",
           static_cast<unsigned long long>(stats->map_size_bytes), kBatches);
  }
  auto store = Store::Open(dir, growing);
  ASSERT_TRUE(store.ok()) << store.status();
  ExpectExactlyBatches(**store, kBatches);
}

TEST(StoreFaultsTest, GrowthStopsAtMaxMapSize) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  StoreOptions capped;
  capped.initial_map_size = 1 * kMiB;
  capped.allow_map_growth = true;
  capped.max_map_size = 4 * kMiB;
  int committed = 0;
  {
    auto store = Store::Open(dir, capped);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::Status failure;
    committed = FillUntilFailure(store->get(), 0, 10'000, &failure);
    ASSERT_FALSE(failure.ok()) << "grew past max_map_size";
    EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
    auto stats = (*store)->Stats();
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_LE(stats->map_size_bytes, 4 * kMiB);
    EXPECT_GT(stats->map_size_bytes, 1 * kMiB) << "the map never grew";
  }
  auto store = Store::Open(dir, capped);
  ASSERT_TRUE(store.ok()) << store.status();
  ExpectExactlyBatches(**store, committed);
}

// --- disk full --------------------------------------------------------------

class StoreDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status ns = ::traversion::testing::EnterPrivateMountNamespace();
    if (!ns.ok()) {
      printf("note: %s; the tmpfs is visible outside this test\n",
             ns.ToString().c_str());
    }
    mount_dir_ = scratch_.Sub("tmpfs");
    std::filesystem::create_directory(mount_dir_);
    auto mounted = ScopedMount::Tmpfs(mount_dir_, 3 * kMiB);
    if (!mounted.ok()) {
      GTEST_SKIP() << "cannot mount a small tmpfs (needs root or "
                      "CAP_SYS_ADMIN): "
                   << mounted.status();
    }
    mount_ = std::move(*mounted);
  }
  // Unmounts even when an assertion failed half way.
  void TearDown() override { mount_.reset(); }

  ScratchDir scratch_;
  std::string mount_dir_;
  std::unique_ptr<ScopedMount> mount_;
};

// The writer runs in a child: a store that maps its file writable could be
// killed by SIGBUS on a full tmpfs, which must show as a failure here rather
// than take the test binary (and the unmount) with it.
struct FillReport {
  int committed = 0;
  absl::Status failure;
  absl::Status retry;  // one more write after the failure
  std::optional<ChildExit> exit;
};

FillReport FillDiskInChild(const std::string& dir, int first) {
  LinePipe pipe;
  ChildProcess child = ChildProcess::Start([&] {
    pipe.CloseReadEnd();
    auto store = Store::Open(dir);
    if (!store.ok()) {
      fprintf(stderr, "disk-full writer: open: %s\n",
              store.status().ToString().c_str());
      return 2;
    }
    absl::Status failure;
    const int committed =
        FillUntilFailure(store->get(), first, first + 100'000, &failure);
    pipe.WriteLine(absl::StrCat("committed ", committed));
    pipe.WriteLine(absl::StrCat("failure ", static_cast<int>(failure.code()),
                                " ", failure.message()));
    absl::Status retry = (*store)->Write(FillBatch(committed)).status();
    pipe.WriteLine(absl::StrCat("retry ", static_cast<int>(retry.code()), " ",
                                retry.message()));
    return 0;
  });
  pipe.CloseWriteEnd();
  FillReport report;
  std::string line;
  while (pipe.ReadLine(&line, absl::Seconds(120)) == LinePipe::Read::kLine) {
    auto parse_status = [&line](absl::string_view label) {
      absl::string_view rest = absl::string_view(line).substr(label.size() + 1);
      size_t space = rest.find(' ');
      int code = 0;
      (void)absl::SimpleAtoi(rest.substr(0, space), &code);
      return absl::Status(static_cast<absl::StatusCode>(code),
                          space == absl::string_view::npos
                              ? absl::string_view()
                              : rest.substr(space + 1));
    };
    if (absl::StartsWith(line, "committed ")) {
      (void)absl::SimpleAtoi(line.substr(10), &report.committed);
    } else if (absl::StartsWith(line, "failure ")) {
      report.failure = parse_status("failure");
    } else if (absl::StartsWith(line, "retry ")) {
      report.retry = parse_status("retry");
    }
  }
  report.exit = child.Wait(absl::Seconds(120));
  return report;
}

TEST_F(StoreDiskFullTest, DiskFullIsResourceExhaustedAndCommittedDataSurvives) {
  const std::string dir = mount_dir_ + "/store";
  FillReport fill = FillDiskInChild(dir, 0);
  ASSERT_TRUE(fill.exit.has_value()) << "the writer hung on a full disk";
  ASSERT_TRUE(fill.exit->ok())
      << "the writer died on a full disk: " << fill.exit->ToString();
  ASSERT_FALSE(fill.failure.ok()) << "100000 batches fit on a 3 MiB tmpfs";
  EXPECT_EQ(fill.failure.code(), absl::StatusCode::kResourceExhausted)
      << fill.failure;
  EXPECT_FALSE(fill.failure.message().empty());
  EXPECT_GT(fill.committed, 0);
  EXPECT_FALSE(fill.retry.ok()) << "a write succeeded on a full disk";
  EXPECT_EQ(fill.retry.code(), absl::StatusCode::kResourceExhausted)
      << fill.retry;
  printf("3 MiB tmpfs full after %d batches: %s\n", fill.committed,
         fill.failure.ToString().c_str());

  // The store reopens on the full disk, or at least once there is room.
  {
    auto store = Store::Open(dir);
    if (!store.ok()) {
      printf("note: reopening on the full disk failed: %s\n",
             store.status().ToString().c_str());
      ASSERT_TRUE(mount_->ResizeTmpfs(16 * kMiB).ok());
      store = Store::Open(dir);
    }
    ASSERT_TRUE(store.ok())
        << "store did not reopen after disk full: " << store.status();
    ExpectExactlyBatches(**store, fill.committed);
  }

  // With room again, writing resumes where it stopped.
  ASSERT_TRUE(mount_->ResizeTmpfs(64 * kMiB).ok());
  {
    auto store = Store::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::Status failure;
    const int now = FillUntilFailure(store->get(), fill.committed,
                                     fill.committed + 20, &failure);
    EXPECT_TRUE(failure.ok())
        << "writes still fail with free space: " << failure;
    ExpectExactlyBatches(**store, now);
  }
}

TEST_F(StoreDiskFullTest, ReadOnlyOpenOfAStoreOnAFullDisk) {
  // A postmortem reader must get at the data even when the writer has
  // filled the disk.
  const std::string dir = mount_dir_ + "/store";
  FillReport fill = FillDiskInChild(dir, 0);
  ASSERT_TRUE(fill.exit.has_value() && fill.exit->ok());
  ASSERT_FALSE(fill.failure.ok());

  StoreOptions read_only;
  read_only.read_only = true;
  auto store = Store::Open(dir, read_only);
  ASSERT_TRUE(store.ok()) << "a full disk must not stop readers: "
                          << store.status();
  ExpectExactlyBatches(**store, fill.committed);
}

TEST_F(StoreDiskFullTest, CreatingAStoreOnAFullDiskFailsClearly) {
  // Take every byte, then try to create a store.
  const std::string hog = mount_dir_ + "/hog";
  {
    FILE* f = fopen(hog.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::string chunk(64 * 1024, 'h');
    while (fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size()) {
    }
    fclose(f);
  }
  LinePipe pipe;
  const std::string dir = mount_dir_ + "/store";
  ChildProcess child = ChildProcess::Start([&] {
    pipe.CloseReadEnd();
    auto store = Store::Open(dir);
    absl::Status status = store.status();
    if (store.ok()) {
      status = (*store)->Write(FillBatch(0)).status();
    }
    pipe.WriteLine(
        absl::StrCat(static_cast<int>(status.code()), " ", status.message()));
    return 0;
  });
  pipe.CloseWriteEnd();
  std::string line;
  const LinePipe::Read read = pipe.ReadLine(&line, absl::Seconds(60));
  std::optional<ChildExit> exit = child.Wait(absl::Seconds(60));
  ASSERT_TRUE(exit.has_value()) << "creating a store on a full disk hung";
  ASSERT_TRUE(exit->ok()) << "creating a store on a full disk killed the "
                             "process: "
                          << exit->ToString();
  ASSERT_EQ(read, LinePipe::Read::kLine);
  int code = 0;
  ASSERT_TRUE(absl::SimpleAtoi(line.substr(0, line.find(' ')), &code)) << line;
  EXPECT_EQ(static_cast<absl::StatusCode>(code),
            absl::StatusCode::kResourceExhausted)
      << "creating a store or writing its first batch on a full disk: " << line;
}

}  // namespace
}  // namespace traversion
