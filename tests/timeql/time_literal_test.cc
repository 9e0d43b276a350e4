// Time and duration literals: RFC 3339 with zones and fractions, relative
// forms, unix nanoseconds, canonical durations, and what is refused.
#include "timeql/time_literal.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace traversion::timeql {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
// 2024-01-15T15:47:23Z, computed independently: 19737 days after the epoch.
constexpr int64_t kSeedSeconds = 19737LL * 86400 + 15 * 3600 + 47 * 60 + 23;
constexpr int64_t kSeed = kSeedSeconds * kSecond;
// A fixed "now": 2024-03-10T12:00:00Z.
constexpr int64_t kNow = (19792LL * 86400 + 12 * 3600) * kSecond;

int64_t TimeOf(absl::string_view text) {
  absl::StatusOr<int64_t> time = ParseTimeLiteral(text, kNow);
  EXPECT_TRUE(time.ok()) << text << ": " << time.status();
  return time.ok() ? *time : -1;
}

std::string ErrorOf(absl::string_view text) {
  absl::StatusOr<int64_t> time = ParseTimeLiteral(text, kNow);
  if (time.ok()) return "accepted";
  EXPECT_EQ(time.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(time.status().message());
}

TEST(TimeLiteralTest, Rfc3339AndIso8601) {
  EXPECT_EQ(TimeOf("2024-01-15 15:47:23"), kSeed);
  EXPECT_EQ(TimeOf("2024-01-15T15:47:23Z"), kSeed);
  EXPECT_EQ(TimeOf("2024-01-15t15:47:23z"), kSeed);
  EXPECT_EQ(TimeOf("2024-01-15T15:47:23 UTC"), kSeed);
  EXPECT_EQ(TimeOf("  2024-01-15T15:47:23Z  "), kSeed);
  EXPECT_EQ(TimeOf("2024-01-15T15:47"), kSeed - 23 * kSecond);
  EXPECT_EQ(TimeOf("2024-01-15"), kSeed - (15 * 3600 + 47 * 60 + 23) * kSecond);
  EXPECT_EQ(TimeOf("1970-01-01"), 0);
  EXPECT_EQ(TimeOf("1969-12-31T23:59:59.5Z"), -kSecond / 2);
}

TEST(TimeLiteralTest, ZoneOffsets) {
  EXPECT_EQ(TimeOf("2024-01-15T16:47:23+01:00"), kSeed);
  EXPECT_EQ(TimeOf("2024-01-15T16:47:23+0100"), kSeed);
  EXPECT_EQ(TimeOf("2024-01-15T16:47:23+01"), kSeed);
  EXPECT_EQ(TimeOf("2024-01-15T10:17:23-05:30"), kSeed);
  EXPECT_EQ(TimeOf("2024-01-15 16:47:23 +01:00"), kSeed);
  EXPECT_EQ(TimeOf("2024-01-16T05:47:23+14:00"), kSeed);
  // Offsets across a date line and midnight.
  EXPECT_EQ(TimeOf("2024-01-14T23:47:23-16:00"), kSeed);
}

TEST(TimeLiteralTest, FractionalSeconds) {
  EXPECT_EQ(TimeOf("2024-01-15T15:47:23.5+01:00"), kSeed - kHour + kSecond / 2);
  EXPECT_EQ(TimeOf("2024-01-15T15:47:23.123Z"), kSeed + 123'000'000);
  EXPECT_EQ(TimeOf("2024-01-15T15:47:23,25Z"), kSeed + 250'000'000);
  EXPECT_EQ(TimeOf("2024-01-15T15:47:23.000000001Z"), kSeed + 1);
  EXPECT_EQ(TimeOf("2024-01-15T15:47:23.999999999Z"), kSeed + 999'999'999);
}

TEST(TimeLiteralTest, CalendarRules) {
  EXPECT_EQ(TimeOf("2024-02-29") - TimeOf("2024-02-28"), kDay);
  EXPECT_EQ(TimeOf("2024-03-01") - TimeOf("2024-02-28"), 2 * kDay);
  EXPECT_EQ(TimeOf("2000-03-01") - TimeOf("2000-02-28"), 2 * kDay);
  EXPECT_EQ(TimeOf("2024-01-01") - TimeOf("2023-01-01"), 365 * kDay);
  EXPECT_EQ(ErrorOf("2023-02-29"),
            "invalid time '2023-02-29': day out of range for the month");
  EXPECT_EQ(ErrorOf("1900-02-29"),
            "invalid time '1900-02-29': day out of range for the month");
  EXPECT_EQ(ErrorOf("2024-13-01"),
            "invalid time '2024-13-01': month out of "
            "range");
  EXPECT_EQ(ErrorOf("2024-04-31"),
            "invalid time '2024-04-31': day out of range for the month");
}

TEST(TimeLiteralTest, RelativeForms) {
  EXPECT_EQ(TimeOf("now"), kNow);
  EXPECT_EQ(TimeOf(" NOW "), kNow);
  EXPECT_EQ(TimeOf("10 minutes ago"), kNow - 10 * kMinute);
  EXPECT_EQ(TimeOf("2 hours ago"), kNow - 2 * kHour);
  EXPECT_EQ(TimeOf("1h30m ago"), kNow - 90 * kMinute);
  EXPECT_EQ(TimeOf("now - 5m"), kNow - 5 * kMinute);
  EXPECT_EQ(TimeOf("now-5m"), kNow - 5 * kMinute);
  EXPECT_EQ(TimeOf("now + 1 day"), kNow + kDay);
  EXPECT_EQ(TimeOf("today"), kNow - 12 * kHour);
  EXPECT_EQ(TimeOf("yesterday"), kNow - 36 * kHour);
}

TEST(TimeLiteralTest, UnixNanoseconds) {
  EXPECT_EQ(TimeOf("1705333643000000000"), 1705333643000000000);
  EXPECT_EQ(TimeOf("0"), 0);
  EXPECT_EQ(TimeOf("-5"), -5);
  EXPECT_EQ(ErrorOf("99999999999999999999"),
            "invalid time '99999999999999999999': unix nanoseconds out of "
            "range");
}

TEST(TimeLiteralTest, Refused) {
  const std::string accepted =
      "expected RFC 3339 ('2024-01-15T15:47:23Z', '2024-01-15 "
      "15:47:23+01:00'), a date ('2024-01-15'), 'now', 'now - 5m', '10 "
      "minutes ago', 'today', 'yesterday' or unix nanoseconds";
  EXPECT_EQ(ErrorOf("last tuesday"),
            "invalid time 'last tuesday': " + accepted);
  EXPECT_EQ(ErrorOf(""), "invalid time '': " + accepted);
  EXPECT_EQ(ErrorOf("15:47:23"), "invalid time '15:47:23': " + accepted);
  EXPECT_EQ(ErrorOf("2024-01-15T25:00:00Z"),
            "invalid time '2024-01-15T25:00:00Z': hour out of range");
  EXPECT_EQ(ErrorOf("2024-01-15T15:60:00Z"),
            "invalid time '2024-01-15T15:60:00Z': minute out of range");
  EXPECT_EQ(ErrorOf("2024-01-15T15:47:60Z"),
            "invalid time '2024-01-15T15:47:60Z': second out of range");
  EXPECT_EQ(ErrorOf("2024-01-15T15:47:23.Z"),
            "invalid time '2024-01-15T15:47:23.Z': expected digits after the "
            "decimal point");
  EXPECT_EQ(ErrorOf("2024-01-15T15:47:23.1234567891Z"),
            "invalid time '2024-01-15T15:47:23.1234567891Z': more than 9 "
            "fractional digits");
  EXPECT_EQ(ErrorOf("2024-01-15T15:47:23+25:00"),
            "invalid time '2024-01-15T15:47:23+25:00': zone offset out of "
            "range");
  EXPECT_EQ(ErrorOf("2024-01-15T15:47:23 Europe/Paris"),
            "invalid time '2024-01-15T15:47:23 Europe/Paris': expected a zone "
            "(Z, UTC, +HH:MM) after the time");
  EXPECT_EQ(ErrorOf("2024-01-15T15:47:23Zjunk"),
            "invalid time '2024-01-15T15:47:23Zjunk': expected a zone (Z, "
            "UTC, +HH:MM) after the time");
  EXPECT_EQ(ErrorOf("2024-1-15"),
            "invalid time '2024-1-15': a date is "
            "YYYY-MM-DD");
  EXPECT_EQ(ErrorOf("2024-01-15X15:47"),
            "invalid time '2024-01-15X15:47': expected 'T' or a space after "
            "the date");
  EXPECT_EQ(ErrorOf("9999-01-01"),
            "invalid time '9999-01-01': out of range (times lie between "
            "1677-09-21 and 2262-04-11)");
  EXPECT_EQ(ErrorOf("10 parsecs ago"),
            "invalid time '10 parsecs ago': invalid duration '10 parsecs': "
            "unknown unit 'parsecs'");
  EXPECT_EQ(ErrorOf("now * 2"),
            "invalid time 'now * 2': expected 'now + <duration>' or 'now - "
            "<duration>'");
  EXPECT_EQ(ErrorOf("10 ago"),
            "invalid time '10 ago': invalid duration '10': missing unit after "
            "'10' (ns, us, ms, s, m, h, d or w)");
}

TEST(DurationTextTest, Parses) {
  EXPECT_EQ(*ParseDurationText("5 minutes"), 5 * kMinute);
  EXPECT_EQ(*ParseDurationText("200ms"), 200'000'000);
  EXPECT_EQ(*ParseDurationText("1.5s"), 1'500'000'000);
  EXPECT_EQ(*ParseDurationText("0.25 hours"), 15 * kMinute);
  EXPECT_EQ(*ParseDurationText("1 hour 30 minutes"), 90 * kMinute);
  EXPECT_EQ(*ParseDurationText("1h30m15s"), 90 * kMinute + 15 * kSecond);
  EXPECT_EQ(*ParseDurationText("2 Weeks"), 14 * kDay);
  EXPECT_EQ(*ParseDurationText("7ns"), 7);
  EXPECT_EQ(*ParseDurationText("3 µs"), 3000);
  EXPECT_EQ(*ParseDurationText("106751 days"), 106751 * kDay);
}

TEST(DurationTextTest, Refuses) {
  EXPECT_EQ(ParseDurationText("").status().message(),
            "invalid duration '': empty");
  EXPECT_EQ(ParseDurationText("5").status().message(),
            "invalid duration '5': missing unit after '5' (ns, us, ms, s, m, "
            "h, d or w)");
  EXPECT_EQ(ParseDurationText("-5s").status().message(),
            "invalid duration '-5s': durations cannot be negative");
  EXPECT_EQ(ParseDurationText("5 fortnights").status().message(),
            "invalid duration '5 fortnights': unknown unit 'fortnights'");
  EXPECT_EQ(ParseDurationText("0.5ns").status().message(),
            "invalid duration '0.5ns': duration is not a whole number of "
            "nanoseconds");
  EXPECT_EQ(ParseDurationText("106752 days").status().message(),
            "invalid duration '106752 days': duration out of range");
  EXPECT_EQ(ParseDurationText("1.2.3s").status().message(),
            "invalid duration '1.2.3s': '1.2.3' is not a number");
}

TEST(DurationTextTest, CanonicalFormReparsesToTheSameValue) {
  EXPECT_EQ(FormatDuration(5 * kMinute), "5 minutes");
  EXPECT_EQ(FormatDuration(kMinute), "1 minute");
  EXPECT_EQ(FormatDuration(90 * kSecond), "90 seconds");
  EXPECT_EQ(FormatDuration(30 * kDay), "30 days");
  EXPECT_EQ(FormatDuration(kHour), "1 hour");
  EXPECT_EQ(FormatDuration(200'000'000), "200ms");
  EXPECT_EQ(FormatDuration(1'500'000'000), "1500ms");
  EXPECT_EQ(FormatDuration(15'000), "15us");
  EXPECT_EQ(FormatDuration(7), "7ns");
  EXPECT_EQ(FormatDuration(0), "0 seconds");
  EXPECT_EQ(FormatDuration(-kSecond), "-1 second");
  EXPECT_EQ(FormatDuration(INT64_MIN), "-9223372036854775808ns");
  for (int64_t value : {int64_t{1}, int64_t{999}, int64_t{1000}, kSecond + 1,
                        kMinute, 25 * kHour, 106751 * kDay, INT64_MAX}) {
    absl::StatusOr<int64_t> back = ParseDurationText(FormatDuration(value));
    ASSERT_TRUE(back.ok()) << FormatDuration(value);
    EXPECT_EQ(*back, value) << FormatDuration(value);
  }
}

TEST(FormatTimeTest, Rfc3339Utc) {
  EXPECT_EQ(FormatTime(kSeed), "2024-01-15T15:47:23Z");
  EXPECT_EQ(FormatTime(kSeed + 500'000'000), "2024-01-15T15:47:23.5Z");
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTime(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(TimeOf(FormatTime(kSeed + 123)), kSeed + 123);
}

}  // namespace
}  // namespace traversion::timeql
