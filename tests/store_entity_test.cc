// Entity revisions (as-of at every boundary, history, state, drift) and
// retention with entity-history compaction.
#include <random>

#include "gtest/gtest.h"
#include "support/test_support.h"
#include "traversion/store.h"

namespace traversion {
namespace {

using testing::MakeEntityState;
using testing::MakeSpan;
using testing::ScratchDir;

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kT0 = 1'700'000'000 * kSec;

class EntityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::Open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  WriteResult Observe(uint64_t t, const std::string& entity,
                      std::vector<EntityField> fields, bool deleted = false,
                      const std::string& service = "orders") {
    auto r = store_->Write(
        {MakeEntityState(service, t, entity, std::move(fields), deleted)});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : WriteResult{};
  }
  std::optional<EntityRevision> AsOf(const std::string& entity, uint64_t t) {
    auto r = store_->EntityAsOf(entity, t);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::nullopt;
  }

  ScratchDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(EntityTest, AsOfAtEveryBoundary) {
  Observe(kT0 + 10, "pool", {{"active", "1"}});
  Observe(kT0 + 20, "pool", {{"active", "2"}});
  Observe(kT0 + 30, "pool", {}, /*deleted=*/true);
  Observe(kT0 + 40, "pool", {{"active", "9"}});

  EXPECT_FALSE(AsOf("pool", kT0 + 9).has_value()) << "before the first";
  ASSERT_TRUE(AsOf("pool", kT0 + 10).has_value()) << "exactly at T";
  EXPECT_EQ(AsOf("pool", kT0 + 10)->fields[0].value, "1");
  EXPECT_EQ(AsOf("pool", kT0 + 19)->fields[0].value, "1");
  EXPECT_EQ(AsOf("pool", kT0 + 20)->fields[0].value, "2");
  EXPECT_FALSE(AsOf("pool", kT0 + 30).has_value()) << "at the deletion";
  EXPECT_FALSE(AsOf("pool", kT0 + 39).has_value()) << "after the deletion";
  EXPECT_EQ(AsOf("pool", kT0 + 40)->fields[0].value, "9") << "recreated";
  EXPECT_EQ(AsOf("pool", ~uint64_t{0})->fields[0].value, "9");
  EXPECT_FALSE(AsOf("never-seen", kT0 + 100).has_value());
}

TEST_F(EntityTest, UnchangedObservationsMakeNoRevision) {
  EXPECT_EQ(Observe(kT0 + 1, "cfg", {{"a", "1"}, {"b", "2"}}).new_revisions,
            1u);
  // Same fields in another order: the same state.
  EXPECT_EQ(Observe(kT0 + 2, "cfg", {{"b", "2"}, {"a", "1"}}).new_revisions,
            0u);
  EXPECT_EQ(Observe(kT0 + 3, "cfg", {{"a", "1"}, {"b", "3"}}).new_revisions,
            1u);
  // Deleting something never seen changes nothing.
  EXPECT_EQ(Observe(kT0 + 4, "ghost", {}, true).new_revisions, 0u);
  auto history = store_->EntityHistory("cfg");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].revision + 1, (*history)[1].revision);
  EXPECT_EQ((*history)[1].fields,
            (std::vector<EntityField>{{"a", "1"}, {"b", "3"}}));
  // Every observation is still an event.
  EventFilter f;
  f.entity = "cfg";
  int n = 0;
  for (EventCursor c = store_->Scan(f); c.Next();) ++n;
  EXPECT_EQ(n, 3);
}

TEST_F(EntityTest, HistoryIsRangeBoundedAndIncludesDeletions) {
  Observe(kT0 + 10, "e", {{"v", "1"}});
  Observe(kT0 + 20, "e", {{"v", "2"}});
  Observe(kT0 + 30, "e", {}, true);
  auto all = store_->EntityHistory("e");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_TRUE((*all)[2].deleted);
  auto mid = store_->EntityHistory("e", kT0 + 11, kT0 + 30);
  ASSERT_TRUE(mid.ok());
  ASSERT_EQ(mid->size(), 1u);
  EXPECT_EQ((*mid)[0].time_ns, kT0 + 20);
}

TEST_F(EntityTest, StateAtTimeAndRevisionWithFilters) {
  Observe(kT0 + 1, "pool/a", {{"active", "1"}}, false, "orders");
  Observe(kT0 + 2, "pool/b", {{"active", "5"}}, false, "payments");
  Observe(kT0 + 3, "cfg/x", {{"k", "v"}});
  const uint64_t rev_after_b = store_->Stats()->current_revision;
  Observe(kT0 + 4, "pool/a", {{"active", "7"}}, false, "orders");
  Observe(kT0 + 5, "pool/b", {}, true, "payments");

  auto at3 = store_->StateAt(kT0 + 3);
  ASSERT_TRUE(at3.ok());
  ASSERT_EQ(at3->size(), 3u);
  EXPECT_EQ((*at3)[0].entity, "cfg/x");  // sorted by name
  EXPECT_EQ((*at3)[1].entity, "pool/a");
  EXPECT_EQ((*at3)[1].fields[0].value, "1");

  auto at5 = store_->StateAt(kT0 + 5);
  ASSERT_TRUE(at5.ok());
  ASSERT_EQ(at5->size(), 2u) << "pool/b was deleted";
  EXPECT_EQ((*at5)[1].fields[0].value, "7");

  EntityFilter by_service;
  by_service.service = "payments";
  auto payments = store_->StateAt(kT0 + 3, by_service);
  ASSERT_TRUE(payments.ok());
  ASSERT_EQ(payments->size(), 1u);
  EXPECT_EQ((*payments)[0].entity, "pool/b");
  EntityFilter by_prefix;
  by_prefix.name_prefix = "pool/";
  EXPECT_EQ(store_->StateAt(kT0 + 3, by_prefix)->size(), 2u);

  auto at_rev = store_->StateAtRevision(rev_after_b);
  ASSERT_TRUE(at_rev.ok());
  ASSERT_EQ(at_rev->size(), 3u);
  EXPECT_EQ((*at_rev)[1].fields[0].value, "1");
  auto one = store_->EntityAtRevision("pool/a", rev_after_b + 1);
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->fields[0].value, "7");
  auto before_any = store_->EntityAtRevision("pool/a", 0);
  ASSERT_TRUE(before_any.ok());
  EXPECT_FALSE(before_any->has_value());
}

TEST_F(EntityTest, StateAtIsSortedByNameWithLongNamesMergedIn) {
  // Names past the inline limit are keyed by hash; StateAt must still list
  // every entity in name order and honour prefixes for both kinds.
  const std::string long_b = "pool/b" + std::string(600, 'x');
  const std::string long_z = "zz/" + std::string(500, 'z');
  const std::vector<std::string> names = {"pool/c", long_z,   "cfg/a",
                                          long_b,   "pool/a", "pool/bz"};
  uint64_t t = kT0;
  for (const std::string& name : names) Observe(++t, name, {{"v", "1"}});
  auto state = store_->StateAt(t);
  ASSERT_TRUE(state.ok()) << state.status();
  std::vector<std::string> got;
  for (const EntityRevision& r : *state) got.push_back(r.entity);
  std::vector<std::string> expected = names;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);

  EntityFilter pool_b;
  pool_b.name_prefix = "pool/b";
  auto filtered = store_->StateAt(t, pool_b);
  ASSERT_TRUE(filtered.ok());
  got.clear();
  for (const EntityRevision& r : *filtered) got.push_back(r.entity);
  EXPECT_EQ(got, (std::vector<std::string>{long_b, "pool/bz"}));
}

TEST_F(EntityTest, ChangesBetweenGivesAddedRemovedModifiedWithFields) {
  Observe(kT0 + 1, "keep", {{"x", "1"}});
  Observe(kT0 + 1, "mod", {{"a", "1"}, {"b", "2"}, {"gone", "z"}});
  Observe(kT0 + 1, "del", {{"x", "1"}});
  Observe(kT0 + 1, "flip", {{"x", "1"}});
  // t1 = kT0 + 5
  Observe(kT0 + 6, "mod", {{"a", "1"}, {"b", "3"}, {"new", "n"}});
  Observe(kT0 + 7, "del", {}, true);
  Observe(kT0 + 8, "add", {{"y", "2"}});
  Observe(kT0 + 8, "flip", {{"x", "2"}});
  Observe(kT0 + 9, "flip", {{"x", "1"}});  // back to what it was at t1
  // t2 = kT0 + 10
  auto changes = store_->ChangesBetween(kT0 + 5, kT0 + 10);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), 3u);
  EXPECT_EQ((*changes)[0].entity, "add");
  EXPECT_EQ((*changes)[0].kind, ChangeKind::kAdded);
  EXPECT_EQ((*changes)[1].entity, "del");
  EXPECT_EQ((*changes)[1].kind, ChangeKind::kRemoved);
  const EntityChange& mod = (*changes)[2];
  EXPECT_EQ(mod.kind, ChangeKind::kModified);
  ASSERT_EQ(mod.fields.size(), 3u);
  EXPECT_EQ(mod.fields[0].name, "b");
  EXPECT_EQ(mod.fields[0].before, "2");
  EXPECT_EQ(mod.fields[0].after, "3");
  EXPECT_EQ(mod.fields[1].name, "gone");
  EXPECT_EQ(mod.fields[1].after, std::nullopt);
  EXPECT_EQ(mod.fields[2].name, "new");
  EXPECT_EQ(mod.fields[2].before, std::nullopt);
  EXPECT_TRUE(absl::IsInvalidArgument(
      store_->ChangesBetween(kT0 + 10, kT0 + 5).status()));
}

TEST_F(EntityTest, LateObservationLandsAtItsTime) {
  Observe(kT0 + 10, "e", {{"v", "1"}});
  Observe(kT0 + 30, "e", {{"v", "3"}});
  Observe(kT0 + 20, "e", {{"v", "2"}});  // arrives late
  EXPECT_EQ(AsOf("e", kT0 + 25)->fields[0].value, "2");
  EXPECT_EQ(AsOf("e", kT0 + 35)->fields[0].value, "3");
}

// Random histories written in random order (late data) across batches: as-of
// must agree with a replay of the observations in time order.
class AsOfReplay : public ::testing::TestWithParam<int> {};

TEST_P(AsOfReplay, MatchesAReplayOfObservations) {
  ScratchDir dir;
  auto opened = Store::Open(dir.path());
  ASSERT_TRUE(opened.ok());
  Store& store = **opened;
  std::mt19937_64 rng(GetParam());
  std::map<std::string, std::map<uint64_t, std::optional<std::string>>> truth;
  for (int batch = 0; batch < 60; ++batch) {
    std::vector<Event> events;
    for (int i = 0; i < 20; ++i) {
      const std::string name = "e" + std::to_string(rng() % 8);
      const uint64_t t = kT0 + (rng() % 1000) * 1000;
      if (truth[name].count(t)) continue;  // one observation per instant
      const bool del = rng() % 7 == 0;
      const std::string v = std::to_string(rng() % 3);
      events.push_back(MakeEntityState("svc", t, name, {{"v", v}}, del));
      truth[name][t] = del ? std::nullopt : std::optional<std::string>(v);
    }
    ASSERT_TRUE(store.Write(events).ok());
  }
  for (const auto& [name, observations] : truth) {
    for (uint64_t t = kT0; t < kT0 + 1'001'000; t += 1000) {
      std::optional<std::string> expected;
      auto up = observations.upper_bound(t);
      if (up != observations.begin()) expected = std::prev(up)->second;
      auto got = store.EntityAsOf(name, t);
      ASSERT_TRUE(got.ok());
      ASSERT_EQ(got->has_value(), expected.has_value()) << name << " @" << t;
      if (got->has_value()) {
        ASSERT_EQ((*got)->fields[0].value, *expected) << name << " @" << t;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, AsOfReplay, ::testing::Values(11, 12, 13, 14));

TEST_F(EntityTest, RetentionDeletesOldEventsAndKeepsStateAtTheCutoff) {
  // Events and revisions every second for 100 s.
  for (int i = 0; i < 100; ++i) {
    std::vector<Event> events = {
        MakeSpan("web", kT0 + i * kSec, 1000 + i, 1),
        MakeEntityState("web", kT0 + i * kSec + 1, "pool",
                        {{"active", std::to_string(i)}}),
    };
    if (i == 10) {
      events.push_back(
          MakeEntityState("web", kT0 + i * kSec + 2, "old", {}, true));
      events.push_back(
          MakeEntityState("web", kT0 + i * kSec + 1, "old", {{"x", "1"}}));
    }
    if (i == 20) {
      events.push_back(
          MakeEntityState("web", kT0 + i * kSec + 2, "stable", {{"x", "1"}}));
    }
    ASSERT_TRUE(store_->Write(events).ok());
  }
  const uint64_t cutoff = kT0 + 50 * kSec;
  auto state_before = store_->StateAt(cutoff);
  ASSERT_TRUE(state_before.ok());
  auto r = store_->DeleteBefore(cutoff);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->events_deleted, 50u * 2 + 2 + 1);
  EXPECT_GE(r->revisions_deleted, 49u);

  // Nothing before the cut-off remains; everything after does.
  int n = 0;
  for (EventCursor c = store_->Scan({}); c.Next(); ++n) {
    EXPECT_GE(c.event().time_ns, cutoff);
  }
  EXPECT_EQ(n, 100);
  auto trace_gone = store_->GetTrace(testing::MakeTraceId(1010));
  ASSERT_TRUE(trace_gone.ok());
  EXPECT_TRUE(trace_gone->empty());
  auto trace_kept = store_->GetTrace(testing::MakeTraceId(1060));
  ASSERT_TRUE(trace_kept.ok());
  EXPECT_EQ(trace_kept->size(), 1u);
  EventFilter by_service;
  by_service.services = {"web"};
  by_service.types = {EventType::kSpan};
  n = 0;
  for (EventCursor c = store_->Scan(by_service); c.Next();) ++n;
  EXPECT_EQ(n, 50);

  // State at and after the cut-off is exact; "stable" (last changed long
  // before the cut-off) is still there; "old" (deleted) is gone.
  auto state_after = store_->StateAt(cutoff);
  ASSERT_TRUE(state_after.ok());
  ASSERT_EQ(state_after->size(), state_before->size());
  for (size_t i = 0; i < state_after->size(); ++i) {
    EXPECT_EQ((*state_after)[i].entity, (*state_before)[i].entity);
    EXPECT_EQ((*state_after)[i].fields, (*state_before)[i].fields);
  }
  EXPECT_EQ(AsOf("stable", cutoff + 1)->fields[0].value, "1");
  EXPECT_FALSE(AsOf("old", cutoff).has_value());
  EXPECT_EQ(AsOf("pool", kT0 + 70 * kSec + 5)->fields[0].value, "70");
  auto history = store_->EntityHistory("pool");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 51u) << "49 (current at cut-off) .. 99";
  auto stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->entities, 2u) << "pool and stable";
  // A second run finds nothing more to do.
  auto again = store_->DeleteBefore(cutoff);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->events_deleted, 0u);
  EXPECT_EQ(again->revisions_deleted, 0u);
}

TEST_F(EntityTest, RetentionByAgeAndBySize) {
  ManualClock clock(kT0 + 1000 * kSec);
  StoreOptions options;
  options.clock = &clock;
  store_.reset();
  ScratchDir dir;
  auto s = Store::Open(dir.path(), options);
  ASSERT_TRUE(s.ok());
  auto& store = *s;
  for (int batch = 0; batch < 100; ++batch) {
    std::vector<Event> events;
    for (int i = 0; i < 100; ++i) {
      Event e = MakeSpan("svc", kT0 + (batch * 100 + i) * 100'000'000ull,
                         batch * 100 + i + 1, 1);
      e.attributes.push_back({"pad", std::string(200, 'p')});
      events.push_back(std::move(e));
    }
    ASSERT_TRUE(store->Write(events).ok());
  }
  // By age: keep the last 500 s of 1000 s of data.
  RetentionPolicy by_age;
  by_age.max_age_ns = 500 * kSec;
  auto r = store->ApplyRetention(by_age);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cutoff_ns, kT0 + 500 * kSec);
  EXPECT_EQ(r->events_deleted, 5000u);
  // By size: halve what is left.
  auto before = store->Stats();
  ASSERT_TRUE(before.ok());
  RetentionPolicy by_size;
  by_size.max_bytes = before->live_bytes / 2;
  auto r2 = store->ApplyRetention(by_size);
  ASSERT_TRUE(r2.ok()) << r2.status();
  auto after = store->Stats();
  ASSERT_TRUE(after.ok());
  EXPECT_LE(after->live_bytes, by_size.max_bytes);
  EXPECT_GT(after->events, 1000u) << "deleted far more than needed";
  EXPECT_LT(after->events, 5000u);
  EXPECT_GE(after->first_event_ns, r2->cutoff_ns);
}

}  // namespace
}  // namespace traversion
