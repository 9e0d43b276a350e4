// Several processes on one store (BRIEF §3: "Several processes on a host may
// write to the same store (LMDB serializes writers) and any number may
// read"). Two forked writers commit interleaved timestamps into one store at
// the same time and nothing is lost or doubled; a reader in a third process
// sees each batch a live writer commits, without reopening, and its cursors
// keep the snapshot they were opened on.
//
// The parent never opens the store while children use it: each process has
// its own Store, opened after fork.
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
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
using ::traversion::testing::ScratchDir;

constexpr uint64_t kT0 = 1'710'000'000'000'000'000ull;
constexpr int kWriters = 2;
constexpr int kEventsPerWriter = 20000;
constexpr int kBatchSize = 250;
constexpr int kSharedEntityEvery = 100;
constexpr int kEventsPerTrace = 10;  // per writer: half of them spans
constexpr char kWriterKey[] = "mp.writer";
constexpr char kSeqKey[] = "mp.seq";
constexpr char kSharedEntity[] = "config/shared";

std::string WriterService(int writer) {
  return absl::StrCat("writer-", writer);
}

// Writer w's k-th event is at kT0 + 2k + w: the two writers' events
// interleave in time, so each commits into the other's key range.
uint64_t WriterTime(int writer, int seq) {
  return kT0 + 2 * static_cast<uint64_t>(seq) + static_cast<uint64_t>(writer);
}

Event MakeWriterEvent(int writer, int seq) {
  const uint64_t t = WriterTime(writer, seq);
  Event e;
  if (seq % kSharedEntityEvery == 7) {
    e = ::traversion::testing::MakeEntityState(
        WriterService(writer), t, kSharedEntity,
        {{"seq", absl::StrCat(seq)}, {"writer", absl::StrCat(writer)}});
  } else if (seq % 2 == 0) {
    // Both writers add spans to the same traces.
    e = ::traversion::testing::MakeSpan(
        WriterService(writer), t,
        static_cast<uint64_t>(seq / kEventsPerTrace) + 1,
        static_cast<uint64_t>(writer) * 1'000'000 + static_cast<uint64_t>(seq) +
            1);
  } else {
    e = ::traversion::testing::MakeLog(
        WriterService(writer), t, Severity::kInfo, absl::StrCat("seq ", seq));
  }
  e.attributes.push_back({kWriterKey, int64_t{writer}});
  e.attributes.push_back({kSeqKey, int64_t{seq}});
  return e;
}

// A writer child: open, report ready, wait for "go", write everything.
int RunConcurrentWriter(const std::string& dir, int writer, LinePipe* to_parent,
                        LinePipe* from_parent) {
  to_parent->CloseReadEnd();
  from_parent->CloseWriteEnd();
  auto store = Store::Open(dir);
  if (!store.ok()) {
    fprintf(stderr, "writer %d: open: %s\n", writer,
            store.status().ToString().c_str());
    return 2;
  }
  to_parent->WriteLine("ready");
  std::string line;
  if (from_parent->ReadLine(&line, absl::Seconds(60)) !=
          LinePipe::Read::kLine ||
      line != "go") {
    fprintf(stderr, "writer %d: no go signal\n", writer);
    return 6;
  }
  const absl::Time first = absl::Now();
  absl::Time last_commit = first;
  for (int start = 0; start < kEventsPerWriter; start += kBatchSize) {
    std::vector<Event> batch;
    for (int k = start; k < std::min(start + kBatchSize, kEventsPerWriter);
         ++k) {
      batch.push_back(MakeWriterEvent(writer, k));
    }
    auto result = (*store)->Write(batch);
    if (!result.ok()) {
      fprintf(stderr, "writer %d: batch at %d: %s\n", writer, start,
              result.status().ToString().c_str());
      return 3;
    }
    if (result->written != batch.size()) {
      fprintf(stderr, "writer %d: batch at %d wrote %zu of %zu\n", writer,
              start, result->written, batch.size());
      return 4;
    }
    last_commit = absl::Now();
  }
  to_parent->WriteLine(absl::StrCat("span ", absl::ToUnixMicros(first), " ",
                                    absl::ToUnixMicros(last_commit)));
  return 0;
}

TEST(StoreMultiProcessTest, TwoWriterProcessesLoseNothing) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  // The store exists before the race, as for services sharing one store.
  {
    auto created = Store::Open(dir);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  std::vector<std::unique_ptr<LinePipe>> up, down;
  std::vector<ChildProcess> writers;
  for (int w = 0; w < kWriters; ++w) {
    up.push_back(std::make_unique<LinePipe>());
    down.push_back(std::make_unique<LinePipe>());
    LinePipe* to_parent = up.back().get();
    LinePipe* from_parent = down.back().get();
    writers.push_back(ChildProcess::Start([&dir, w, to_parent, from_parent] {
      return RunConcurrentWriter(dir, w, to_parent, from_parent);
    }));
    to_parent->CloseWriteEnd();
    from_parent->CloseReadEnd();
  }
  std::string line;
  for (int w = 0; w < kWriters; ++w) {
    ASSERT_EQ(up[w]->ReadLine(&line, absl::Seconds(60)), LinePipe::Read::kLine)
        << "writer " << w << " did not open the store";
    ASSERT_EQ(line, "ready");
  }
  const absl::Time go = absl::Now();
  for (int w = 0; w < kWriters; ++w) ASSERT_TRUE(down[w]->WriteLine("go"));

  std::vector<std::pair<int64_t, int64_t>> spans;
  for (int w = 0; w < kWriters; ++w) {
    std::optional<ChildExit> exit = writers[w].Wait(absl::Seconds(240));
    ASSERT_TRUE(exit.has_value()) << "writer " << w << " hung";
    ASSERT_TRUE(exit->ok()) << "writer " << w << ": " << exit->ToString();
    ASSERT_EQ(up[w]->ReadLine(&line, absl::Seconds(5)), LinePipe::Read::kLine);
    int64_t from = 0, to = 0;
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    ASSERT_EQ(parts.size(), 3u) << line;
    ASSERT_TRUE(absl::SimpleAtoi(parts[1], &from));
    ASSERT_TRUE(absl::SimpleAtoi(parts[2], &to));
    spans.emplace_back(from, to);
  }
  printf("two writers: %d events each in %.2f s; commit windows overlap: %s\n",
         kEventsPerWriter, absl::ToDoubleSeconds(absl::Now() - go),
         spans[0].first < spans[1].second && spans[1].first < spans[0].second
             ? "yes"
             : "no");

  auto opened = Store::Open(dir);
  ASSERT_TRUE(opened.ok()) << opened.status();
  const Store& store = **opened;

  std::vector<std::vector<int>> seen(kWriters,
                                     std::vector<int>(kEventsPerWriter, 0));
  uint64_t total = 0;
  uint64_t previous_time = 0;
  int out_of_order = 0;
  EventCursor cursor = store.Scan(EventFilter{});
  while (cursor.Next()) {
    const Event& e = cursor.event();
    ++total;
    std::optional<int64_t> w = IntAttribute(e, kWriterKey);
    std::optional<int64_t> k = IntAttribute(e, kSeqKey);
    ASSERT_TRUE(w && k) << e.id.ToString();
    ASSERT_TRUE(*w >= 0 && *w < kWriters && *k >= 0 && *k < kEventsPerWriter);
    ++seen[*w][*k];
    EXPECT_EQ(e.time_ns,
              WriterTime(static_cast<int>(*w), static_cast<int>(*k)));
    if (e.time_ns < previous_time) ++out_of_order;
    previous_time = e.time_ns;
  }
  ASSERT_TRUE(cursor.status().ok()) << cursor.status();
  EXPECT_EQ(out_of_order, 0) << "a scan must return events in time order";
  EXPECT_EQ(total, uint64_t{kWriters} * kEventsPerWriter);
  for (int w = 0; w < kWriters; ++w) {
    int missing = 0, doubled = 0;
    for (int c : seen[w]) {
      if (c == 0) ++missing;
      if (c > 1) ++doubled;
    }
    EXPECT_EQ(missing, 0) << "writer " << w << " lost events";
    EXPECT_EQ(doubled, 0) << "writer " << w << " has events stored twice";
  }

  auto stats = store.Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->events, uint64_t{kWriters} * kEventsPerWriter);

  // The service index holds each writer's events, and only those.
  for (int w = 0; w < kWriters; ++w) {
    EventFilter filter;
    filter.services = {WriterService(w)};
    EventCursor by_service = store.Scan(filter);
    int count = 0;
    while (by_service.Next()) {
      EXPECT_EQ(IntAttribute(by_service.event(), kWriterKey), w);
      ++count;
    }
    ASSERT_TRUE(by_service.status().ok()) << by_service.status();
    EXPECT_EQ(count, kEventsPerWriter) << WriterService(w);
  }

  // Traces both writers contributed to are complete.
  for (uint64_t trace : {1ull, 2ull, 977ull, 2000ull}) {
    auto events = store.GetTrace(::traversion::testing::MakeTraceId(trace));
    ASSERT_TRUE(events.ok()) << events.status();
    std::map<int64_t, int> per_writer;
    for (const Event& e : *events) ++per_writer[*IntAttribute(e, kWriterKey)];
    EXPECT_EQ(per_writer[0], kEventsPerTrace / 2) << "trace " << trace;
    EXPECT_EQ(per_writer[1], kEventsPerTrace / 2) << "trace " << trace;
  }

  // The shared entity got one revision per observation from either writer,
  // in time order, although the writers committed them out of time order.
  auto history = store.EntityHistory(kSharedEntity);
  ASSERT_TRUE(history.ok()) << history.status();
  std::vector<uint64_t> expected_times;
  for (int w = 0; w < kWriters; ++w) {
    for (int k = 7; k < kEventsPerWriter; k += kSharedEntityEvery) {
      expected_times.push_back(WriterTime(w, k));
    }
  }
  std::sort(expected_times.begin(), expected_times.end());
  ASSERT_EQ(history->size(), expected_times.size());
  std::set<uint64_t> revisions;
  for (size_t i = 0; i < history->size(); ++i) {
    EXPECT_EQ((*history)[i].time_ns, expected_times[i]);
    EXPECT_TRUE(revisions.insert((*history)[i].revision).second);
  }
}

constexpr int kReaderBatches = 20;
constexpr int kReaderBatchSize = 50;
constexpr char kBatchKey[] = "mp.batch";

Event MakeReaderTestEvent(int batch, int index) {
  Event e = ::traversion::testing::MakeLog(
      "live-writer",
      kT0 + static_cast<uint64_t>(batch) * 1000 + static_cast<uint64_t>(index),
      Severity::kInfo, "live");
  e.attributes.push_back({kBatchKey, int64_t{batch}});
  return e;
}

// Writer: create the store, then per batch: commit, tell the reader, wait
// until the reader has seen it. Stays alive until the reader says goodbye.
int RunLiveWriter(const std::string& dir, LinePipe* to_reader,
                  LinePipe* from_reader) {
  to_reader->CloseReadEnd();
  from_reader->CloseWriteEnd();
  auto store = Store::Open(dir);
  if (!store.ok()) {
    fprintf(stderr, "live writer: open: %s\n",
            store.status().ToString().c_str());
    return 2;
  }
  to_reader->WriteLine("open");
  std::string line;
  if (from_reader->ReadLine(&line, absl::Seconds(60)) !=
          LinePipe::Read::kLine ||
      line != "ready") {
    fprintf(stderr, "live writer: reader not ready (%s)\n", line.c_str());
    return 6;
  }
  for (int b = 0; b < kReaderBatches; ++b) {
    std::vector<Event> batch;
    for (int i = 0; i < kReaderBatchSize; ++i) {
      batch.push_back(MakeReaderTestEvent(b, i));
    }
    auto result = (*store)->Write(batch);
    if (!result.ok()) {
      fprintf(stderr, "live writer: batch %d: %s\n", b,
              result.status().ToString().c_str());
      return 3;
    }
    to_reader->WriteLine(absl::StrCat("committed ", b));
    if (from_reader->ReadLine(&line, absl::Seconds(60)) !=
            LinePipe::Read::kLine ||
        line != absl::StrCat("seen ", b)) {
      fprintf(stderr, "live writer: reader answered '%s' for batch %d\n",
              line.c_str(), b);
      return 5;
    }
  }
  to_reader->WriteLine("end");
  return 0;
}

int CountEvents(EventCursor* cursor, int* batch_count, int batch) {
  int count = 0;
  while (cursor->Next()) {
    ++count;
    if (IntAttribute(cursor->event(), kBatchKey) == batch) ++*batch_count;
  }
  return cursor->status().ok() ? count : -1;
}

// Reader: open read-only once the store exists; for each committed batch,
// check a fresh scan sees it and a cursor opened before it does not.
int RunLiveReader(const std::string& dir, LinePipe* from_writer,
                  LinePipe* to_writer) {
  from_writer->CloseWriteEnd();
  to_writer->CloseReadEnd();
  std::string line;
  if (from_writer->ReadLine(&line, absl::Seconds(60)) !=
          LinePipe::Read::kLine ||
      line != "open") {
    fprintf(stderr, "reader: writer never opened the store\n");
    return 6;
  }
  StoreOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  auto store = Store::Open(dir, options);
  if (!store.ok()) {
    fprintf(stderr, "reader: open: %s\n", store.status().ToString().c_str());
    return 2;
  }
  to_writer->WriteLine("ready");
  std::optional<EventCursor> before;  // opened before the batch committed
  for (int b = 0; b < kReaderBatches; ++b) {
    if (from_writer->ReadLine(&line, absl::Seconds(60)) !=
            LinePipe::Read::kLine ||
        line != absl::StrCat("committed ", b)) {
      fprintf(stderr, "reader: expected batch %d, got '%s'\n", b, line.c_str());
      return 6;
    }
    if (before.has_value()) {
      int of_b = 0;
      int n = CountEvents(&*before, &of_b, b);
      if (n != b * kReaderBatchSize || of_b != 0) {
        fprintf(stderr,
                "reader: cursor opened before batch %d saw %d events, %d of "
                "them from that batch (want %d, 0)\n",
                b, n, of_b, b * kReaderBatchSize);
        return 7;
      }
    }
    EventCursor now = (*store)->Scan(EventFilter{});
    int of_b = 0;
    int n = CountEvents(&now, &of_b, b);
    if (n != (b + 1) * kReaderBatchSize || of_b != kReaderBatchSize) {
      fprintf(stderr,
              "reader: after batch %d a new scan saw %d events, %d of that "
              "batch (want %d, %d)\n",
              b, n, of_b, (b + 1) * kReaderBatchSize, kReaderBatchSize);
      return 8;
    }
    auto stats = (*store)->Stats();
    if (!stats.ok() || stats->events != uint64_t((b + 1) * kReaderBatchSize)) {
      const std::string got = stats.ok()
                                  ? absl::StrCat(stats->events, " events")
                                  : stats.status().ToString();
      fprintf(stderr, "reader: stats after batch %d: %s\n", b, got.c_str());
      return 9;
    }
    before.emplace((*store)->Scan(EventFilter{}));
    to_writer->WriteLine(absl::StrCat("seen ", b));
  }
  if (from_writer->ReadLine(&line, absl::Seconds(60)) !=
          LinePipe::Read::kLine ||
      line != "end") {
    fprintf(stderr, "reader: no end from writer\n");
    return 6;
  }
  return 0;
}

TEST(StoreMultiProcessTest, ReaderProcessSeesCommitsOfARunningWriter) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  LinePipe writer_to_reader;
  LinePipe reader_to_writer;
  ChildProcess writer = ChildProcess::Start(
      [&] { return RunLiveWriter(dir, &writer_to_reader, &reader_to_writer); });
  ChildProcess reader = ChildProcess::Start(
      [&] { return RunLiveReader(dir, &writer_to_reader, &reader_to_writer); });
  writer_to_reader.CloseReadEnd();
  writer_to_reader.CloseWriteEnd();
  reader_to_writer.CloseReadEnd();
  reader_to_writer.CloseWriteEnd();

  std::optional<ChildExit> reader_exit = reader.Wait(absl::Seconds(120));
  ASSERT_TRUE(reader_exit.has_value()) << "reader hung";
  std::optional<ChildExit> writer_exit = writer.Wait(absl::Seconds(30));
  ASSERT_TRUE(writer_exit.has_value()) << "writer hung";
  EXPECT_TRUE(reader_exit->ok()) << "reader: " << reader_exit->ToString();
  EXPECT_TRUE(writer_exit->ok()) << "writer: " << writer_exit->ToString();

  auto opened = Store::Open(dir);
  ASSERT_TRUE(opened.ok()) << opened.status();
  auto stats = (*opened)->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->events, uint64_t{kReaderBatches} * kReaderBatchSize);
}

}  // namespace
}  // namespace traversion
