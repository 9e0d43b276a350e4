// Crash safety: a writer process is SIGKILLed at random instants (while
// opening or creating the store, between commits, in the middle of large
// durable commits) and the store must reopen with every acknowledged batch
// present exactly once, no batch partially present, and entity history that
// matches the events present (store.h, "Durability"; BRIEF "Reliability").
//
// Each iteration forks a child that opens the store and writes a planned
// sequence of batches; after each Write() returns OK it acknowledges the
// batch on a pipe. The parent kills it at a point chosen from a fixed seed,
// then reopens the store itself and checks everything written so far, in
// this and all earlier iterations on the same store.
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
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

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;
constexpr int kIterations = 60;
// A fresh store every this many iterations, so that some kills land while
// the store is being created and the stores stay small enough to verify.
// Not a multiple of 5, so early kills (every fifth iteration) hit fresh and
// existing stores alike.
constexpr int kIterationsPerStore = 4;
constexpr int kEntityPools = 6;
constexpr char kBatchKey[] = "crash.batch";
constexpr char kIndexKey[] = "crash.index";
constexpr char kService[] = "crash-writer";

// The batches one iteration's writer attempts, in order. Batch ids are
// unique across iterations: iteration * 1000 + position.
struct Plan {
  int iteration = 0;
  std::vector<int> sizes;

  int64_t BatchId(int position) const {
    return int64_t{iteration} * 1000 + position;
  }
};

Plan MakePlan(int iteration) {
  std::mt19937_64 rng(0x5eed0000u + static_cast<uint64_t>(iteration));
  Plan plan;
  plan.iteration = iteration;
  int batches = std::uniform_int_distribution<int>(6, 14)(rng);
  for (int b = 0; b < batches; ++b) {
    switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
      case 0:
        plan.sizes.push_back(1);
        break;
      case 1:
        plan.sizes.push_back(std::uniform_int_distribution<int>(2, 60)(rng));
        break;
      case 2:
        plan.sizes.push_back(std::uniform_int_distribution<int>(100, 499)(rng));
        break;
      default:
        plan.sizes.push_back(500);
        break;
    }
  }
  // Every plan has a large batch in its second half to kill mid-commit.
  plan.sizes[plan.sizes.size() * 2 / 3] = 500;
  return plan;
}

// Every fourth event observes one of a few entity pools; some observations
// delete a pool that an earlier event of the same batch observed.
bool IsEntityEvent(int index) { return index % 4 == 1; }
std::string EntityName(int index) {
  return absl::StrCat("pool-", (index / 4) % kEntityPools);
}
bool IsDeletion(int index) {
  const int k = index / 4;
  return k >= kEntityPools && k % 7 == 6;
}

uint64_t EventTime(int64_t batch, int index) {
  return kT0 + static_cast<uint64_t>(batch) * 1'000'000 +
         static_cast<uint64_t>(index);
}

std::vector<EntityField> EntityFields(int64_t batch, int index) {
  return {{"batch", absl::StrCat(batch)}, {"index", absl::StrCat(index)}};
}

// The event at `index` of batch `batch`. Deterministic, so the parent can
// rebuild what the child wrote and compare field by field.
Event MakeTaggedEvent(int64_t batch, int index) {
  using ::traversion::testing::MakeEntityState;
  using ::traversion::testing::MakeLog;
  using ::traversion::testing::MakeMetric;
  using ::traversion::testing::MakeSpan;
  const uint64_t t = EventTime(batch, index);
  Event e;
  if (IsEntityEvent(index)) {
    e = IsDeletion(index)
            ? MakeEntityState(kService, t, EntityName(index), {}, true)
            : MakeEntityState(kService, t, EntityName(index),
                              EntityFields(batch, index));
    e.type = EventType::kEntityState;
  } else if (index % 4 == 0) {
    e = MakeSpan(kService, t, static_cast<uint64_t>(batch) + 1,
                 static_cast<uint64_t>(index) + 1);
    e.type = EventType::kSpan;
  } else if (index % 4 == 2) {
    e = MakeLog(kService, t, Severity::kWarn,
                absl::StrCat("batch ", batch, " event ", index));
    e.type = EventType::kLog;
  } else {
    e = MakeMetric(kService, t, "pool.in_use", index * 0.5);
    e.type = EventType::kMetric;
  }
  e.attributes.push_back({kBatchKey, int64_t{batch}});
  e.attributes.push_back({kIndexKey, int64_t{index}});
  // Sizes vary so large batches take long enough to be killed mid-commit.
  const size_t padding = static_cast<size_t>((batch * 31 + index * 17) % 700);
  e.attributes.push_back({"crash.padding", std::string(padding, 'p')});
  return e;
}

std::vector<Event> MakeBatch(const Plan& plan, int position) {
  std::vector<Event> batch;
  const int64_t id = plan.BatchId(position);
  for (int i = 0; i < plan.sizes[position]; ++i) {
    batch.push_back(MakeTaggedEvent(id, i));
  }
  return batch;
}

// The child: open, write every planned batch, acknowledge each after
// Write() returned OK. Exit codes other than 0 are reported by the parent.
int RunWriter(const std::string& dir, const Plan& plan, LinePipe* pipe) {
  pipe->CloseReadEnd();
  StoreOptions options;
  options.sync = SyncMode::kDurable;
  auto store = Store::Open(dir, options);
  if (!store.ok()) {
    fprintf(stderr, "writer: open %s: %s\n", dir.c_str(),
            store.status().ToString().c_str());
    return 2;
  }
  pipe->WriteLine("open");
  for (int b = 0; b < static_cast<int>(plan.sizes.size()); ++b) {
    std::vector<Event> batch = MakeBatch(plan, b);
    pipe->WriteLine(absl::StrCat("start ", b));
    auto result = (*store)->Write(batch);
    if (!result.ok()) {
      fprintf(stderr, "writer: batch %d: %s\n", b,
              result.status().ToString().c_str());
      return 3;
    }
    if (result->written != batch.size()) {
      fprintf(stderr, "writer: batch %d wrote %zu of %zu events\n", b,
              result->written, batch.size());
      return 4;
    }
    pipe->WriteLine(absl::StrCat("ack ", b));
  }
  pipe->WriteLine("done");
  return 0;
}

enum class KillKind { kEarly, kAfterAck, kMidCommit };

struct KillPoint {
  KillKind kind = KillKind::kEarly;
  int after_acks = 0;     // kAfterAck: kill once this many batches are acked
  int target_batch = -1;  // kMidCommit: kill after this batch started
  absl::Duration delay;   // kEarly, kAfterAck: then wait this long
  // kMidCommit: wait this fraction of the time a Write() of the target's
  // size has been observed to take (above 1: just after it returned).
  double write_fraction = 0;
};

KillPoint ChooseKillPoint(int iteration, const Plan& plan) {
  std::mt19937_64 rng(0xc0ffee00u + static_cast<uint64_t>(iteration));
  KillPoint k;
  const int n = static_cast<int>(plan.sizes.size());
  switch (iteration % 5) {
    case 0:
      k.kind = KillKind::kEarly;
      k.delay =
          absl::Microseconds(std::uniform_int_distribution<int>(0, 4000)(rng));
      break;
    case 1:
    case 2:
      k.kind = KillKind::kAfterAck;
      k.after_acks = std::uniform_int_distribution<int>(0, n - 1)(rng);
      k.delay =
          absl::Microseconds(std::uniform_int_distribution<int>(0, 3000)(rng));
      break;
    default: {
      k.kind = KillKind::kMidCommit;
      std::vector<int> large;
      for (int b = 0; b < n; ++b) {
        if (plan.sizes[b] >= 100) large.push_back(b);
      }
      k.target_batch = large[std::uniform_int_distribution<size_t>(
          0, large.size() - 1)(rng)];
      k.write_fraction = std::uniform_real_distribution<double>(0, 1.2)(rng);
      break;
    }
  }
  return k;
}

// What the parent learned about one iteration's writer.
struct IterationRecord {
  Plan plan;
  std::set<int> acked;      // positions whose Write() returned OK
  int last_started = -1;    // the last position the writer began to write
  int present_prefix = -1;  // batches found in the store (set on verify)
};

struct PresentEntityEvent {
  uint64_t time_ns = 0;
  EventId id;
  bool deleted = false;
  std::vector<EntityField> fields;
};

// Reopens the store and checks every iteration written to it so far. Sets
// present_prefix of the last record.
void VerifyStore(const std::string& dir,
                 std::vector<IterationRecord>* records) {
  SCOPED_TRACE(absl::StrCat("store ", dir));
  auto opened = Store::Open(dir);
  ASSERT_TRUE(opened.ok()) << "store did not reopen after SIGKILL: "
                           << opened.status();
  Store& store = **opened;

  // batch id -> how often each index was seen.
  std::map<int64_t, std::vector<int>> seen;
  std::map<int64_t, int> size_of;
  for (const IterationRecord& r : *records) {
    for (int b = 0; b < static_cast<int>(r.plan.sizes.size()); ++b) {
      size_of[r.plan.BatchId(b)] = r.plan.sizes[b];
      seen[r.plan.BatchId(b)].assign(r.plan.sizes[b], 0);
    }
  }
  std::map<std::string, std::vector<PresentEntityEvent>> entities;
  uint64_t total = 0;
  uint64_t entity_events = 0;
  int content_mismatches = 0;

  EventCursor cursor = store.Scan(EventFilter{});
  while (cursor.Next()) {
    const Event& e = cursor.event();
    ++total;
    std::optional<int64_t> batch = IntAttribute(e, kBatchKey);
    std::optional<int64_t> index = IntAttribute(e, kIndexKey);
    ASSERT_TRUE(batch.has_value() && index.has_value())
        << "event " << e.id.ToString() << " lost its tags";
    auto it = seen.find(*batch);
    ASSERT_NE(it, seen.end()) << "event of a batch never written: " << *batch;
    ASSERT_GE(*index, 0);
    ASSERT_LT(*index, size_of[*batch]);
    ++it->second[static_cast<size_t>(*index)];

    EXPECT_EQ(e.id.time_ns, e.time_ns);
    if (const EntityStateData* s = e.entity_state()) {
      ++entity_events;
      entities[s->entity].push_back({e.time_ns, e.id, s->deleted, s->fields});
    }
    // Content is compared for this iteration's batches; earlier ones were
    // compared when they were new, and are counted below.
    if (*batch / 1000 == records->back().plan.iteration) {
      Event expected = MakeTaggedEvent(*batch, static_cast<int>(*index));
      expected.id = e.id;
      if (e != expected && ++content_mismatches <= 3) {
        ADD_FAILURE() << "batch " << *batch << " event " << *index
                      << " reads back different from what was written";
      }
    }
  }
  ASSERT_TRUE(cursor.status().ok()) << cursor.status();

  // Per batch: exactly once, all or nothing, acknowledged means present.
  for (IterationRecord& r : *records) {
    const bool current = &r == &records->back();
    int prefix = 0;
    bool gap = false;
    for (int b = 0; b < static_cast<int>(r.plan.sizes.size()); ++b) {
      const std::vector<int>& counts = seen[r.plan.BatchId(b)];
      int present = 0;
      for (int c : counts) {
        EXPECT_LE(c, 1) << "batch " << r.plan.BatchId(b)
                        << " has an event stored " << c << " times";
        if (c > 0) ++present;
      }
      EXPECT_TRUE(present == 0 || present == r.plan.sizes[b])
          << "batch " << r.plan.BatchId(b)
          << " is partially present: " << present << " of " << r.plan.sizes[b]
          << " events";
      if (r.acked.count(b) > 0) {
        EXPECT_EQ(present, r.plan.sizes[b])
            << "acknowledged batch " << r.plan.BatchId(b) << " lost";
      }
      if (present > 0) {
        EXPECT_FALSE(gap) << "batch " << r.plan.BatchId(b)
                          << " present after an absent earlier batch";
        ++prefix;
      } else {
        gap = true;
      }
    }
    if (current) {
      // Only the batch in flight at the kill may be present unacknowledged.
      const int acked = static_cast<int>(r.acked.size());
      EXPECT_GE(prefix, acked);
      EXPECT_LE(prefix, acked + 1)
          << "batches the writer never started are present";
      EXPECT_LE(prefix, r.last_started + 1);
      r.present_prefix = prefix;
    } else {
      EXPECT_EQ(prefix, r.present_prefix)
          << "iteration " << r.plan.iteration
          << " changed after later writers were killed";
    }
  }

  auto stats = store.Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->events, total);
  // Every observation carries fields no earlier one had, or flips deleted,
  // so each is a revision of its own.
  EXPECT_EQ(stats->revisions, entity_events);

  // Entity history: one revision per present observation, in time order,
  // revisions increasing with commit order, nothing from absent batches.
  std::set<uint64_t> revisions;
  std::set<std::string> live;
  uint64_t last_time = kT0;
  for (auto& [name, observed] : entities) {
    SCOPED_TRACE(name);
    std::sort(observed.begin(), observed.end(),
              [](const PresentEntityEvent& a, const PresentEntityEvent& b) {
                return a.time_ns < b.time_ns;
              });
    auto history = store.EntityHistory(name);
    ASSERT_TRUE(history.ok()) << history.status();
    ASSERT_EQ(history->size(), observed.size());
    for (size_t i = 0; i < observed.size(); ++i) {
      const EntityRevision& rev = (*history)[i];
      EXPECT_EQ(rev.entity, name);
      EXPECT_EQ(rev.event_id, observed[i].id) << "revision " << i;
      EXPECT_EQ(rev.time_ns, observed[i].time_ns);
      EXPECT_EQ(rev.deleted, observed[i].deleted);
      if (!observed[i].deleted) {
        EXPECT_EQ(rev.fields, observed[i].fields);
      }
      if (i > 0) {
        EXPECT_GT(rev.revision, (*history)[i - 1].revision);
      }
      EXPECT_TRUE(revisions.insert(rev.revision).second)
          << "revision " << rev.revision << " used twice";
    }
    const PresentEntityEvent& last = observed.back();
    last_time = std::max(last_time, last.time_ns);
    auto as_of = store.EntityAsOf(name, last.time_ns);
    ASSERT_TRUE(as_of.ok()) << as_of.status();
    if (last.deleted) {
      EXPECT_FALSE(as_of->has_value());
    } else {
      live.insert(name);
      ASSERT_TRUE(as_of->has_value());
      EXPECT_EQ((*as_of)->event_id, last.id);
    }
  }
  auto state = store.StateAt(last_time + 1);
  ASSERT_TRUE(state.ok()) << state.status();
  std::set<std::string> live_in_store;
  for (const EntityRevision& rev : *state) live_in_store.insert(rev.entity);
  EXPECT_EQ(live_in_store, live);
}

TEST(StoreCrashTest, SigkillAtRandomPointsLosesNoAcknowledgedBatch) {
  const absl::Time started = absl::Now();
  ScratchDir scratch;
  std::vector<IterationRecord> records;
  std::string dir;
  int mid_write_kills = 0;  // killed with a batch started but not acked
  int unacked_present = 0;  // ...and that batch had committed anyway
  int completed = 0;        // writer finished before the kill point
  int acked_total = 0;
  // How long Write() takes per event, measured from start to ack lines, so
  // mid-commit kills spread over the whole commit whatever the build type.
  absl::Duration write_per_event = absl::Microseconds(40);

  for (int iteration = 0; iteration < kIterations; ++iteration) {
    SCOPED_TRACE(absl::StrCat("iteration ", iteration));
    if (iteration % kIterationsPerStore == 0) {
      records.clear();
      dir = scratch.Sub(absl::StrCat("store-", iteration));
    }
    IterationRecord record;
    record.plan = MakePlan(iteration);
    const KillPoint kill = ChooseKillPoint(iteration, record.plan);

    LinePipe pipe;
    ChildProcess child =
        ChildProcess::Start([&] { return RunWriter(dir, record.plan, &pipe); });
    pipe.CloseWriteEnd();

    std::map<int, absl::Time> start_seen;
    auto handle = [&](const std::string& line) {
      int b = 0;
      if (absl::StartsWith(line, "ack ") &&
          absl::SimpleAtoi(line.substr(4), &b)) {
        record.acked.insert(b);
        auto it = start_seen.find(b);
        if (it != start_seen.end() && record.plan.sizes[b] >= 100) {
          const absl::Duration per_event =
              (absl::Now() - it->second) / record.plan.sizes[b];
          write_per_event = (write_per_event * 3 + per_event) / 4;
        }
      } else if (absl::StartsWith(line, "start ") &&
                 absl::SimpleAtoi(line.substr(6), &b)) {
        record.last_started = b;
        start_seen[b] = absl::Now();
      }
    };

    if (kill.kind == KillKind::kEarly) {
      absl::SleepFor(kill.delay);
      child.Kill(SIGKILL);
    } else {
      std::string line;
      while (true) {
        LinePipe::Read r = pipe.ReadLine(&line, absl::Seconds(30));
        ASSERT_NE(r, LinePipe::Read::kTimeout) << "writer stalled";
        if (r != LinePipe::Read::kLine) break;  // the writer ended early
        handle(line);
        const bool fire =
            (kill.kind == KillKind::kAfterAck &&
             absl::StartsWith(line, "ack ") &&
             static_cast<int>(record.acked.size()) == kill.after_acks) ||
            (kill.kind == KillKind::kAfterAck && kill.after_acks == 0 &&
             line == "open") ||
            (kill.kind == KillKind::kMidCommit &&
             line == absl::StrCat("start ", kill.target_batch));
        if (fire) {
          absl::SleepFor(kill.kind == KillKind::kMidCommit
                             ? write_per_event *
                                   record.plan.sizes[kill.target_batch] *
                                   kill.write_fraction
                             : kill.delay);
          child.Kill(SIGKILL);
          break;
        }
      }
    }
    const ChildExit exit = child.KillAndWait();
    // Whatever the writer acknowledged before dying counts, read or not.
    std::string line;
    while (pipe.ReadLine(&line, absl::Seconds(5)) == LinePipe::Read::kLine) {
      handle(line);
    }
    ASSERT_TRUE(exit.killed_by(SIGKILL) || exit.ok())
        << "writer failed on its own: " << exit.ToString();
    if (exit.ok()) ++completed;
    for (int b = 0; b < static_cast<int>(record.acked.size()); ++b) {
      ASSERT_EQ(record.acked.count(b), 1u) << "acks out of order";
    }
    const bool in_flight =
        record.last_started >= static_cast<int>(record.acked.size());
    if (in_flight) ++mid_write_kills;
    acked_total += static_cast<int>(record.acked.size());

    records.push_back(record);
    VerifyStore(dir, &records);
    if (::testing::Test::HasFatalFailure()) return;
    if (records.back().present_prefix >
        static_cast<int>(records.back().acked.size())) {
      ++unacked_present;
    }
  }

  const absl::Duration elapsed = absl::Now() - started;
  printf(
      "crash test: %d iterations, %d batches acknowledged, %d kills with a "
      "batch in flight (%d of those batches committed anyway), %d writers "
      "finished first, %.1f s; a Write() took %.1f us per event\n",
      kIterations, acked_total, mid_write_kills, unacked_present, completed,
      absl::ToDoubleSeconds(elapsed),
      absl::ToDoubleMicroseconds(write_per_event));
  // The test only means something if kills really land inside writes.
  EXPECT_GE(mid_write_kills, kIterations / 4);
}

}  // namespace
}  // namespace traversion
