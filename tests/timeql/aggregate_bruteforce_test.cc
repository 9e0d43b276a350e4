// Aggregates checked against an independent computation: a generated
// dataset is written to a store, queried with TimeQL, and the same COUNT,
// SUM, AVG, MIN, MAX and P99 are computed here by brute force in C++.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "support/test_support.h"
#include "traversion/query.h"
#include "traversion/store.h"

namespace traversion {
namespace {

constexpr uint64_t kStart = 1705276800ULL * 1000000000ULL;

struct Truth {
  int64_t count = 0;
  int64_t sum_duration = 0;
  double sum_value = 0;
  int64_t value_count = 0;
  std::vector<int64_t> durations;
  int64_t min_duration = INT64_MAX;
  int64_t max_duration = 0;
};

// Nearest rank, written independently of the evaluator.
int64_t P(std::vector<int64_t> v, double p) {
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100 * v.size()));
  return v[std::max<size_t>(rank, 1) - 1];
}

class AggregateBruteForce : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(dir_.Sub("store"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    std::mt19937_64 rng(20240115);
    const char* services[] = {"api", "orders", "payments", "inventory"};
    std::vector<Event> events;
    for (int i = 0; i < 20000; ++i) {
      const std::string service = services[rng() % 4];
      const uint64_t t = kStart + static_cast<uint64_t>(i) * 7'000'000 +
                         rng() % 1000;  // ~7 ms apart, 140 s in all
      Event e;
      if (rng() % 4 == 0) {
        e = testing::MakeMetric(service, t, "cpu.utilization",
                                static_cast<double>(rng() % 10000) / 100);
        Truth& truth = by_service_[service];
        truth.sum_value += std::get<MetricData>(e.payload).value;
        ++truth.value_count;
      } else {
        e = testing::MakeSpan(service, t, 1 + rng() % 3000, 1 + rng() % 100000);
        const int64_t d = static_cast<int64_t>(rng() % 5'000'000'000ULL);
        std::get<SpanData>(e.payload).duration_ns = static_cast<uint64_t>(d);
        for (Truth* truth : {&by_service_[service], &all_}) {
          ++truth->count;
          truth->sum_duration += d;
          truth->durations.push_back(d);
          truth->min_duration = std::min(truth->min_duration, d);
          truth->max_duration = std::max(truth->max_duration, d);
        }
        by_minute_[(t - kStart) / 60'000'000'000ULL].push_back(d);
      }
      events.push_back(std::move(e));
      if (events.size() == 1000) {
        ASSERT_TRUE(store_->Write(events).ok());
        events.clear();
      }
    }
  }

  std::vector<Row> Run(const std::string& q) {
    auto result = Query(*store_, q);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return {};
    auto rows = result->ReadAll();
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : std::vector<Row>{};
  }

  testing::ScratchDir dir_;
  std::unique_ptr<Store> store_;
  std::map<std::string, Truth> by_service_;
  std::map<uint64_t, std::vector<int64_t>> by_minute_;
  Truth all_;
};

TEST_F(AggregateBruteForce, WholeStore) {
  std::vector<Row> rows =
      Run("EVENTS count(*), sum(duration), min(duration), max(duration), "
          "p99(duration), p50(duration) WHERE type = 'span'");
  ASSERT_EQ(rows.size(), 1u);
  const Row& r = rows[0];
  EXPECT_EQ(std::get<int64_t>(r[0]), all_.count);
  EXPECT_EQ(std::get<DurationValue>(r[1]).ns, all_.sum_duration);
  EXPECT_EQ(std::get<DurationValue>(r[2]).ns, all_.min_duration);
  EXPECT_EQ(std::get<DurationValue>(r[3]).ns, all_.max_duration);
  EXPECT_EQ(std::get<DurationValue>(r[4]).ns, P(all_.durations, 99));
  EXPECT_EQ(std::get<DurationValue>(r[5]).ns, P(all_.durations, 50));
}

TEST_F(AggregateBruteForce, ByService) {
  std::vector<Row> rows =
      Run("EVENTS service, count(duration), sum(duration), p99(duration), "
          "avg(value) GROUP BY service");
  ASSERT_EQ(rows.size(), by_service_.size());
  for (const Row& r : rows) {
    const Truth& t = by_service_.at(std::get<std::string>(r[0]));
    EXPECT_EQ(std::get<int64_t>(r[1]), t.count);
    EXPECT_EQ(std::get<DurationValue>(r[2]).ns, t.sum_duration);
    EXPECT_EQ(std::get<DurationValue>(r[3]).ns, P(t.durations, 99));
    EXPECT_NEAR(std::get<double>(r[4]), t.sum_value / t.value_count, 1e-9);
  }
}

TEST_F(AggregateBruteForce, ByMinuteBucket) {
  std::vector<Row> rows =
      Run("EVENTS bucket(1 minute), count(*), p99(duration) WHERE type = "
          "'span' GROUP BY bucket(1 minute)");
  ASSERT_EQ(rows.size(), by_minute_.size());
  size_t i = 0;
  for (const auto& [minute, durations] : by_minute_) {
    const Row& r = rows[i++];
    EXPECT_EQ(std::get<TimeValue>(r[0]).unix_ns,
              static_cast<int64_t>(kStart + minute * 60'000'000'000ULL));
    EXPECT_EQ(std::get<int64_t>(r[1]), static_cast<int64_t>(durations.size()));
    EXPECT_EQ(std::get<DurationValue>(r[2]).ns, P(durations, 99));
  }
}

}  // namespace
}  // namespace traversion
