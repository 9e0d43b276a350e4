// Store round trips, indexes, scans and reopen.
#include "traversion/store.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "gtest/gtest.h"
#include "store/layout.h"
#include "support/test_support.h"

namespace traversion {
namespace {

using testing::MakeEntityState;
using testing::MakeError;
using testing::MakeLog;
using testing::MakeMetric;
using testing::MakeSpan;
using testing::MakeTraceId;
using testing::ScratchDir;

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kT0 = 1'700'000'000 * kSec;

std::unique_ptr<Store> OpenOrDie(const std::string& path,
                                 StoreOptions options = {}) {
  auto store = Store::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

std::vector<Event> Collect(const Store& store, const EventFilter& filter) {
  std::vector<Event> out;
  EventCursor cursor = store.Scan(filter);
  while (cursor.Next()) out.push_back(cursor.event());
  EXPECT_TRUE(cursor.status().ok()) << cursor.status();
  return out;
}

TEST(KeyLayout, BigEndianKeysSortLikeTime) {
  std::mt19937_64 rng(7);
  std::vector<EventId> ids;
  for (int i = 0; i < 2000; ++i) ids.push_back({rng() >> 1, rng()});
  ids.push_back({0, 0});
  ids.push_back({~uint64_t{0}, ~uint64_t{0}});
  ids.push_back({256, 1});
  ids.push_back({255, ~uint64_t{0}});
  for (size_t i = 0; i < ids.size(); ++i) {
    for (size_t j = 0; j < 20 && j < ids.size(); ++j) {
      const EventId& a = ids[i];
      const EventId& b = ids[(i + j * 97) % ids.size()];
      uint8_t ka[16], kb[16];
      store::EncodeEventKey(a, ka);
      store::EncodeEventKey(b, kb);
      const int c = std::memcmp(ka, kb, 16);
      EXPECT_EQ(c < 0, a < b);
      EXPECT_EQ(c == 0, a == b);
    }
  }
}

TEST(KeyLayout, InvertedEntityKeysPutNewestFirst) {
  // Newer time sorts first; at equal time, the higher revision sorts first.
  EXPECT_LT(store::EntRevKey(1, 200, 5), store::EntRevKey(1, 100, 9));
  EXPECT_LT(store::EntRevKey(1, 100, 9), store::EntRevKey(1, 100, 8));
  EXPECT_LT(store::EntRevKey(1, 0, 0), store::EntRevKey(2, ~uint64_t{0}, 1));
}

TEST(KeyLayout, RevisionRecordRoundTripsAndRejectsTruncation) {
  store::RevisionRecord rec;
  rec.revision = 123456789;
  rec.time_ns = kT0;
  rec.deleted = false;
  rec.service_id = 7;
  rec.event_id = {kT0, 99};
  rec.entity_type = "connection_pool";
  rec.fields = {{"active", "10"}, {"max", "20"}, {"", ""}};
  const std::string bytes = store::EncodeRevision(rec);
  store::RevisionRecord back;
  ASSERT_TRUE(store::DecodeRevision(bytes, &back));
  EXPECT_EQ(back.revision, rec.revision);
  EXPECT_EQ(back.time_ns, rec.time_ns);
  EXPECT_EQ(back.service_id, rec.service_id);
  EXPECT_EQ(back.event_id, rec.event_id);
  EXPECT_EQ(back.entity_type, rec.entity_type);
  EXPECT_EQ(back.fields, rec.fields);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(store::DecodeRevision(bytes.substr(0, n), &back)) << n;
  }
}

TEST(StoreTest, WriteThenReadBackEveryLayer) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.path());
  std::vector<Event> events = {
      MakeSpan("orders", kT0 + 1, 1, 1),
      MakeLog("orders", kT0 + 2, Severity::kWarn, "pool nearly full"),
      MakeError("payments", kT0 + 3, "TimeoutError", "upstream timed out"),
      MakeMetric("payments", kT0 + 4, "cpu", 93.5),
      MakeEntityState("orders", kT0 + 5, "pool/orders", {{"active", "3"}}),
  };
  events[0].attributes.push_back({"http.route", std::string("/orders/:id")});
  events[0].attributes.push_back({"retries", int64_t{2}});
  events[0].entity_refs.push_back("order/42");
  auto result = store->Write(events);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->written, events.size());
  EXPECT_EQ(result->duplicates, 0u);
  EXPECT_EQ(result->new_revisions, 1u);
  ASSERT_EQ(result->ids.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    auto got = store->GetEvent(result->ids[i]);
    ASSERT_TRUE(got.ok()) << got.status();
    Event expected = events[i];
    expected.id = result->ids[i];
    if (expected.type == EventType::kUnspecified) {
      expected.type = expected.effective_type();
    }
    EXPECT_EQ(*got, expected) << "event " << i;
  }
  auto missing = store->GetEvent({kT0, 12345});
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
}

// EventFilter::skip_details: the details are empty, the rest intact; an
// entity condition, checked on entity_refs, still finds its events.
TEST(StoreTest, ScanCanSkipDetails) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.path());
  Event span = MakeSpan("orders", kT0 + 1, 1, 1);
  span.attributes.push_back({"http.route", std::string("/orders/:id")});
  span.entity_refs.push_back("order/42");
  span.service.host = "node-1";
  ASSERT_TRUE(store->Write({span}).ok());
  EventFilter filter;
  filter.skip_details = true;
  std::vector<Event> lean = Collect(*store, filter);
  ASSERT_EQ(lean.size(), 1u);
  EXPECT_TRUE(lean[0].attributes.empty());
  EXPECT_TRUE(lean[0].entity_refs.empty());
  EXPECT_TRUE(lean[0].service.host.empty());
  EXPECT_EQ(lean[0].service.name, "orders");
  EXPECT_EQ(lean[0].name, span.name);
  EXPECT_EQ(lean[0].trace.span_id, span.trace.span_id);
  ASSERT_NE(lean[0].span(), nullptr);
  EXPECT_EQ(lean[0].span()->duration_ns, span.span()->duration_ns);
  filter.entity = "order/42";
  std::vector<Event> by_entity = Collect(*store, filter);
  ASSERT_EQ(by_entity.size(), 1u);
  EXPECT_EQ(by_entity[0].entity_refs, span.entity_refs);
}

TEST(StoreTest, ReopenKeepsEverything) {
  ScratchDir dir;
  std::vector<EventId> ids;
  {
    auto store = OpenOrDie(dir.path());
    auto r = store->Write({MakeSpan("a", kT0, 1, 1),
                           MakeLog("b", kT0 + 1, Severity::kInfo, "hello")});
    ASSERT_TRUE(r.ok()) << r.status();
    ids = r->ids;
  }
  auto store = OpenOrDie(dir.path());
  for (const EventId& id : ids) EXPECT_TRUE(store->GetEvent(id).ok());
  auto stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 2u);
  EXPECT_EQ(stats->format_version, store::kFormatVersion);
  EXPECT_EQ(stats->services, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(stats->first_event_ns, kT0);
  EXPECT_EQ(stats->last_event_ns, kT0 + 1);
}

TEST(StoreTest, SameEventsTwiceAreStoredOnce) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.path());
  std::vector<Event> events;
  for (int i = 0; i < 50; ++i) events.push_back(MakeSpan("a", kT0 + i, i, 1));
  auto first = store->Write(events);
  ASSERT_TRUE(first.ok());
  for (size_t i = 0; i < events.size(); ++i) events[i].id = first->ids[i];
  auto second = store->Write(events);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->written, 0u);
  EXPECT_EQ(second->duplicates, events.size());
  EXPECT_EQ(Collect(*store, {}).size(), events.size());
  // Trace index is not duplicated either.
  auto trace = store->GetTrace(MakeTraceId(3));
  ASSERT_TRUE(trace.ok());
  EXPECT_EQ(trace->size(), 1u);
}

TEST(StoreTest, IdWhoseTimeDisagreesIsRejected) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.path());
  Event e = MakeSpan("a", kT0, 1, 1);
  e.id = {kT0 + 5, 1};
  auto r = store->Write({e});
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
}

TEST(StoreTest, EventsWithoutTimeAreStampedByTheClock) {
  ScratchDir dir;
  ManualClock clock(kT0 + 42);
  StoreOptions options;
  options.clock = &clock;
  auto store = OpenOrDie(dir.path(), options);
  Event e = MakeLog("a", 0, Severity::kInfo, "no time");
  auto r = store->Write({e});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ids[0].time_ns, kT0 + 42);
}

TEST(StoreTest, TraceLookupFindsAllSpansAcrossBatchesInTimeOrder) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.path());
  // Trace 7 is spread over three batches, out of order, among others.
  ASSERT_TRUE(store
                  ->Write({MakeSpan("a", kT0 + 30, 7, 3, 1),
                           MakeSpan("a", kT0 + 1, 8, 1)})
                  .ok());
  ASSERT_TRUE(store
                  ->Write({MakeSpan("b", kT0 + 10, 7, 1),
                           MakeSpan("c", kT0 + 20, 7, 2, 1)})
                  .ok());
  Event log = MakeLog("c", kT0 + 21, Severity::kError, "inside span 2");
  log.trace.trace_id = MakeTraceId(7);
  log.trace.span_id = testing::MakeSpanId(2);
  ASSERT_TRUE(store->Write({log}).ok());
  auto trace = store->GetTrace(MakeTraceId(7));
  ASSERT_TRUE(trace.ok()) << trace.status();
  ASSERT_EQ(trace->size(), 4u);
  std::vector<uint64_t> times;
  for (const Event& e : *trace) times.push_back(e.time_ns - kT0);
  EXPECT_EQ(times, (std::vector<uint64_t>{10, 20, 21, 30}));
  auto none = store->GetTrace(MakeTraceId(999));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// Every plan must agree with a brute-force filter over all events.
class ScanAgreesWithBruteForce : public ::testing::TestWithParam<int> {};

TEST_P(ScanAgreesWithBruteForce, RandomFilters) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.path());
  std::mt19937_64 rng(GetParam());
  const std::vector<std::string> services = {"web", "api", "db", "cache"};
  std::vector<Event> all;
  // Several batches whose times overlap, as from concurrent writers, and one
  // batch spanning more than a posting may (kMaxPostingSpanNs).
  for (int batch = 0; batch < 12; ++batch) {
    std::vector<Event> events;
    const uint64_t base = kT0 + (batch % 4) * 10 * kSec;
    const uint64_t spread = batch == 5 ? 300 * kSec : 20 * kSec;
    for (int i = 0; i < 150; ++i) {
      const std::string& svc = services[rng() % services.size()];
      const uint64_t t = base + rng() % spread;
      Event e;
      switch (rng() % 4) {
        case 0:
          e = MakeSpan(svc, t, rng() % 40 + 1, rng() % 1000 + 1);
          break;
        case 1:
          e = MakeLog(svc, t, static_cast<Severity>(1 + 4 * (rng() % 6)),
                      "log");
          break;
        case 2:
          e = MakeError(svc, t, "E", "boom");
          break;
        default:
          e = MakeEntityState(svc, t, "ent/" + std::to_string(rng() % 5),
                              {{"v", std::to_string(rng() % 3)}});
      }
      if (rng() % 5 == 0)
        e.entity_refs.push_back("ent/" + std::to_string(rng() % 5));
      events.push_back(std::move(e));
    }
    auto r = store->Write(events);
    ASSERT_TRUE(r.ok()) << r.status();
    for (size_t i = 0; i < events.size(); ++i) {
      events[i].id = r->ids[i];
      all.push_back(events[i]);
    }
  }
  std::sort(all.begin(), all.end(),
            [](const Event& a, const Event& b) { return a.id < b.id; });

  for (int round = 0; round < 60; ++round) {
    EventFilter f;
    f.from_ns = kT0 + rng() % (60 * kSec);
    f.to_ns = f.from_ns + rng() % (400 * kSec) + 1;
    if (rng() % 2) f.services.push_back(services[rng() % services.size()]);
    if (rng() % 3 == 0) f.services.push_back(services[rng() % services.size()]);
    if (rng() % 3 == 0)
      f.types.push_back(static_cast<EventType>(1 + rng() % 3));
    if (rng() % 3 == 0) f.types.push_back(EventType::kEntityState);
    if (rng() % 3 == 0)
      f.min_severity = static_cast<Severity>(1 + 4 * (rng() % 6));
    if (rng() % 6 == 0) f.trace_id = MakeTraceId(rng() % 40 + 1);
    if (rng() % 6 == 0) f.entity = "ent/" + std::to_string(rng() % 6);
    f.newest_first = rng() % 3 == 0;
    if (rng() % 4 == 0) f.limit = rng() % 20 + 1;

    std::vector<EventId> expected;
    for (const Event& e : all) {
      if (e.time_ns < f.from_ns || e.time_ns >= f.to_ns) continue;
      if (!f.services.empty() &&
          std::find(f.services.begin(), f.services.end(), e.service.name) ==
              f.services.end()) {
        continue;
      }
      if (!f.types.empty() && std::find(f.types.begin(), f.types.end(),
                                        e.effective_type()) == f.types.end()) {
        continue;
      }
      if (static_cast<int>(e.severity) < static_cast<int>(f.min_severity)) {
        continue;
      }
      if (f.trace_id && e.trace.trace_id != *f.trace_id) continue;
      if (!f.entity.empty()) {
        const bool about =
            (e.entity_state() && e.entity_state()->entity == f.entity) ||
            std::find(e.entity_refs.begin(), e.entity_refs.end(), f.entity) !=
                e.entity_refs.end();
        if (!about) continue;
      }
      expected.push_back(e.id);
    }
    if (f.newest_first) std::reverse(expected.begin(), expected.end());
    if (f.limit != 0 && expected.size() > f.limit) expected.resize(f.limit);
    std::vector<EventId> got;
    for (const Event& e : Collect(*store, f)) got.push_back(e.id);
    ASSERT_EQ(got, expected) << "round " << round;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, ScanAgreesWithBruteForce,
                         ::testing::Values(1, 2, 3));

TEST(StoreTest, ScanOfUnknownServiceIsEmptyAndEmptyRangeIsEmpty) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(store->Write({MakeSpan("a", kT0, 1, 1)}).ok());
  EventFilter f;
  f.services = {"nobody"};
  EXPECT_TRUE(Collect(*store, f).empty());
  EventFilter g;
  g.from_ns = kT0 + 10;
  g.to_ns = kT0;
  EXPECT_TRUE(Collect(*store, g).empty());
}

TEST(StoreTest, CursorSeesItsSnapshotOnly) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(store->Write({MakeSpan("a", kT0, 1, 1)}).ok());
  EventCursor cursor = store->Scan({});
  ASSERT_TRUE(store->Write({MakeSpan("a", kT0 + 1, 2, 1)}).ok());
  int n = 0;
  while (cursor.Next()) ++n;
  EXPECT_EQ(n, 1);
  EXPECT_EQ(Collect(*store, {}).size(), 2u);
}

TEST(StoreTest, LongNamesBeyondLmdbKeyLimitWork) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.path());
  const std::string long_service(3000, 's');
  const std::string long_entity = "pool/" + std::string(5000, 'e');
  const std::string other_entity = "pool/" + std::string(4999, 'e') + "f";
  Event span = MakeSpan(long_service, kT0, 1, 1);
  span.attributes.push_back({"blob", std::string(100000, 'x')});
  ASSERT_TRUE(store
                  ->Write({span,
                           MakeEntityState(long_service, kT0 + 1, long_entity,
                                           {{"active", "1"}}),
                           MakeEntityState("x", kT0 + 2, other_entity,
                                           {{"active", "2"}})})
                  .ok());
  EventFilter f;
  f.services = {long_service};
  EXPECT_EQ(Collect(*store, f).size(), 2u);
  auto asof = store->EntityAsOf(long_entity, kT0 + 10);
  ASSERT_TRUE(asof.ok()) << asof.status();
  ASSERT_TRUE(asof->has_value());
  EXPECT_EQ((*asof)->service, long_service);
  EXPECT_EQ((*asof)->fields, (std::vector<EntityField>{{"active", "1"}}));
  auto other = store->EntityAsOf(other_entity, kT0 + 10);
  ASSERT_TRUE(other.ok() && other->has_value());
  EXPECT_EQ((*other)->fields, (std::vector<EntityField>{{"active", "2"}}));
}

TEST(StoreTest, SecondOpenInOneProcessIsRefusedUntilClosed) {
  ScratchDir dir;
  auto first = OpenOrDie(dir.path());
  auto second = Store::Open(dir.path() + "/.");
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  first.reset();
  EXPECT_TRUE(Store::Open(dir.path()).ok());
}

TEST(StoreTest, MapGrowsWhenFull) {
  ScratchDir dir;
  StoreOptions options;
  options.initial_map_size = 1 << 20;
  auto store = OpenOrDie(dir.path(), options);
  std::vector<Event> batch;
  for (int i = 0; i < 2000; ++i) {
    Event e = MakeSpan("svc", kT0 + i, i, 1);
    e.attributes.push_back({"pad", std::string(500, 'p')});
    batch.push_back(std::move(e));
  }
  auto r = store->Write(batch);
  ASSERT_TRUE(r.ok()) << r.status();
  auto stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GT(stats->map_size_bytes, uint64_t{1} << 20);
  EXPECT_EQ(stats->events, 2000u);
}

TEST(StoreTest, ReadOnlyStoreRefusesWrites) {
  ScratchDir dir;
  {
    ASSERT_TRUE(OpenOrDie(dir.path())->Write({MakeSpan("a", kT0, 1, 1)}).ok());
  }
  StoreOptions options;
  options.read_only = true;
  auto store = OpenOrDie(dir.path(), options);
  EXPECT_EQ(Collect(*store, {}).size(), 1u);
  auto r = store->Write({MakeSpan("a", kT0 + 1, 1, 2)});
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
}

TEST(StoreTest, MissingStoreWithoutCreateIsNotFound) {
  ScratchDir dir;
  StoreOptions options;
  options.create_if_missing = false;
  auto r = Store::Open(dir.Sub("nothing"), options);
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
}

}  // namespace
}  // namespace traversion

namespace traversion {
namespace {

// Enough batches to merge trace runs through three levels (8, 64, 512
// batches), with traces spread over many batches; then retention cuts
// through runs of every level.
TEST(TraceRunsTest, LookupsStayExactThroughMergesAndRetention) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.path());
  std::mt19937_64 rng(5);
  std::map<uint64_t, std::vector<EventId>> truth;  // trace -> ids
  uint64_t t = kT0;
  for (int batch = 0; batch < 600; ++batch) {
    std::vector<Event> events;
    for (int i = 0; i < 6; ++i) {
      t += 1000;
      events.push_back(MakeSpan("svc", t, rng() % 300 + 1, rng() % 1000 + 1));
    }
    auto r = store->Write(events);
    ASSERT_TRUE(r.ok()) << r.status();
    for (size_t i = 0; i < events.size(); ++i) {
      uint64_t trace = 0;
      for (int b = 8; b < 16; ++b)
        trace = trace << 8 | events[i].trace.trace_id[b];
      truth[trace].push_back(r->ids[i]);
    }
  }
  auto check = [&](uint64_t cutoff) {
    for (const auto& [trace, ids] : truth) {
      auto got = store->GetTrace(MakeTraceId(trace));
      ASSERT_TRUE(got.ok()) << got.status();
      std::vector<EventId> expected;
      for (const EventId& id : ids) {
        if (id.time_ns >= cutoff) expected.push_back(id);
      }
      std::vector<EventId> got_ids;
      for (const Event& e : *got) got_ids.push_back(e.id);
      ASSERT_EQ(got_ids, expected) << "trace " << trace;
    }
  };
  check(0);
  const uint64_t cutoff = kT0 + 1000 * 1800;  // half way
  auto r = store->DeleteBefore(cutoff);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->events_deleted, 1799u);
  check(cutoff);
  // Writing more after retention keeps merging correctly.
  for (int batch = 0; batch < 70; ++batch) {
    std::vector<Event> events;
    for (int i = 0; i < 6; ++i) {
      t += 1000;
      events.push_back(MakeSpan("svc", t, rng() % 300 + 1, rng() % 1000 + 1));
    }
    auto w = store->Write(events);
    ASSERT_TRUE(w.ok());
    for (size_t i = 0; i < events.size(); ++i) {
      uint64_t trace = 0;
      for (int b = 8; b < 16; ++b)
        trace = trace << 8 | events[i].trace.trace_id[b];
      truth[trace].push_back(w->ids[i]);
    }
  }
  check(cutoff);
}

}  // namespace
}  // namespace traversion
