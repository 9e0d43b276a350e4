#include "timeql/time_literal.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "util/status_macros.h"

namespace traversion::timeql {
namespace {

constexpr int64_t kMicrosecond = 1000;
constexpr int64_t kMillisecond = 1000 * kMicrosecond;
constexpr int64_t kSecond = 1000 * kMillisecond;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kWeek = 7 * kDay;

struct UnitName {
  absl::string_view name;
  int64_t ns;
};
constexpr UnitName kUnits[] = {
    {"ns", 1},
    {"nanosecond", 1},
    {"nanoseconds", 1},
    {"us", kMicrosecond},
    {"\xC2\xB5s", kMicrosecond},  // µs (U+00B5)
    {"\xCE\xBCs", kMicrosecond},  // μs (U+03BC)
    {"microsecond", kMicrosecond},
    {"microseconds", kMicrosecond},
    {"ms", kMillisecond},
    {"millisecond", kMillisecond},
    {"milliseconds", kMillisecond},
    {"s", kSecond},
    {"sec", kSecond},
    {"secs", kSecond},
    {"second", kSecond},
    {"seconds", kSecond},
    {"m", kMinute},
    {"min", kMinute},
    {"mins", kMinute},
    {"minute", kMinute},
    {"minutes", kMinute},
    {"h", kHour},
    {"hr", kHour},
    {"hrs", kHour},
    {"hour", kHour},
    {"hours", kHour},
    {"d", kDay},
    {"day", kDay},
    {"days", kDay},
    {"w", kWeek},
    {"week", kWeek},
    {"weeks", kWeek},
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) ||
         (static_cast<unsigned char>(c) & 0x80) != 0;
}

absl::Status DurationError(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid duration '", text, "': ", why));
}

// Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic:
// 400-year cycles of 146097 days, years starting in March).
int64_t DaysFromCivil(int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t month_index = month > 2 ? month - 3 : month + 9;
  const int64_t day_of_year = (153 * month_index + 2) / 5 + day - 1;
  const int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

struct Civil {
  int64_t year;
  int month;
  int day;
};
Civil CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era = (day_of_era - day_of_era / 1460 +
                               day_of_era / 36524 - day_of_era / 146096) /
                              365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;
  Civil civil;
  civil.day = static_cast<int>(day_of_year - (153 * month_index + 2) / 5 + 1);
  civil.month =
      static_cast<int>(month_index < 10 ? month_index + 3 : month_index - 9);
  civil.year = year_of_era + era * 400 + (civil.month <= 2 ? 1 : 0);
  return civil;
}

bool IsLeapYear(int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Reads exactly `count` digits at text[*pos].
bool ReadDigits(absl::string_view text, size_t* pos, int count, int* value) {
  if (*pos + count > text.size()) return false;
  int result = 0;
  for (int i = 0; i < count; ++i) {
    char c = text[*pos + i];
    if (!IsDigit(c)) return false;
    result = result * 10 + (c - '0');
  }
  *pos += count;
  *value = result;
  return true;
}

constexpr absl::string_view kAcceptedTimes =
    "expected RFC 3339 ('2024-01-15T15:47:23Z', '2024-01-15 15:47:23+01:00'), "
    "a date ('2024-01-15'), 'now', 'now - 5m', '10 minutes ago', 'today', "
    "'yesterday' or unix nanoseconds";

absl::Status TimeError(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid time '", text, "': ", why));
}

// ISO 8601 / RFC 3339 date or date-time; nullopt if `text` does not even
// start like a date, an error if it does but is wrong.
absl::StatusOr<std::optional<int64_t>> ParseIsoTime(absl::string_view text) {
  size_t pos = 0;
  int year = 0, month = 0, day = 0;
  if (!ReadDigits(text, &pos, 4, &year) || pos >= text.size() ||
      text[pos] != '-') {
    return std::optional<int64_t>();
  }
  ++pos;
  if (!ReadDigits(text, &pos, 2, &month) || pos >= text.size() ||
      text[pos] != '-' || (++pos, !ReadDigits(text, &pos, 2, &day))) {
    return TimeError(text, "a date is YYYY-MM-DD");
  }
  if (month < 1 || month > 12) return TimeError(text, "month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) {
    return TimeError(text, "day out of range for the month");
  }
  int hour = 0, minute = 0, second = 0;
  int64_t fraction_ns = 0;
  int64_t offset_seconds = 0;
  if (pos < text.size()) {
    char separator = text[pos];
    if (separator != 'T' && separator != 't' && separator != ' ') {
      return TimeError(text, "expected 'T' or a space after the date");
    }
    ++pos;
    if (!ReadDigits(text, &pos, 2, &hour) || pos >= text.size() ||
        text[pos] != ':' || (++pos, !ReadDigits(text, &pos, 2, &minute))) {
      return TimeError(text, "a time of day is HH:MM[:SS[.fraction]]");
    }
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!ReadDigits(text, &pos, 2, &second)) {
        return TimeError(text, "seconds are two digits");
      }
      if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        ++pos;
        int digits = 0;
        int64_t scale = 100'000'000;
        while (pos < text.size() && IsDigit(text[pos])) {
          if (++digits > 9) {
            return TimeError(text, "more than 9 fractional digits");
          }
          fraction_ns += (text[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        if (digits == 0) {
          return TimeError(text, "expected digits after the decimal point");
        }
      }
    }
    if (hour > 23) return TimeError(text, "hour out of range");
    if (minute > 59) return TimeError(text, "minute out of range");
    if (second > 59) return TimeError(text, "second out of range");
    if (pos < text.size() && text[pos] == ' ') ++pos;
    if (pos < text.size()) {
      absl::string_view zone = text.substr(pos);
      if (zone == "Z" || zone == "z" || absl::EqualsIgnoreCase(zone, "UTC")) {
        pos = text.size();
      } else if (zone[0] == '+' || zone[0] == '-') {
        int sign = zone[0] == '-' ? -1 : 1;
        ++pos;
        int zone_hours = 0, zone_minutes = 0;
        if (!ReadDigits(text, &pos, 2, &zone_hours)) {
          return TimeError(text, "a zone offset is +HH:MM");
        }
        if (pos < text.size()) {
          if (text[pos] == ':') ++pos;
          if (!ReadDigits(text, &pos, 2, &zone_minutes)) {
            return TimeError(text, "a zone offset is +HH:MM");
          }
        }
        if (zone_hours > 23 || zone_minutes > 59) {
          return TimeError(text, "zone offset out of range");
        }
        offset_seconds = sign * (zone_hours * 3600 + zone_minutes * 60);
      } else {
        return TimeError(text,
                         "expected a zone (Z, UTC, +HH:MM) after the time");
      }
      if (pos != text.size()) {
        return TimeError(text, "unexpected text after the zone");
      }
    }
  }
  int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 +
                    minute * 60 + second - offset_seconds;
  int64_t ns = 0;
  if (__builtin_mul_overflow(seconds, kSecond, &ns) ||
      __builtin_add_overflow(ns, fraction_ns, &ns)) {
    return TimeError(text,
                     "out of range (times lie between 1677-09-21 and "
                     "2262-04-11)");
  }
  return std::optional<int64_t>(ns);
}

absl::StatusOr<int64_t> Shift(absl::string_view text, int64_t now_ns,
                              int64_t delta_ns) {
  int64_t result = 0;
  if (__builtin_add_overflow(now_ns, delta_ns, &result)) {
    return TimeError(text, "out of range");
  }
  return result;
}

}  // namespace

std::optional<int64_t> DurationUnitNanos(absl::string_view unit) {
  for (const UnitName& candidate : kUnits) {
    if (absl::EqualsIgnoreCase(candidate.name, unit)) return candidate.ns;
  }
  return std::nullopt;
}

absl::StatusOr<int64_t> ScaleDecimal(absl::string_view number,
                                     int64_t unit_ns) {
  size_t dot = number.find('.');
  absl::string_view whole = number.substr(0, dot);
  absl::string_view fraction = dot == absl::string_view::npos
                                   ? absl::string_view()
                                   : number.substr(dot + 1);
  int64_t result = 0;
  for (char c : whole) {
    if (!IsDigit(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", number, "' is not a number"));
    }
    if (__builtin_mul_overflow(result, 10, &result) ||
        __builtin_add_overflow(result, c - '0', &result)) {
      return absl::InvalidArgumentError("duration out of range");
    }
  }
  if (__builtin_mul_overflow(result, unit_ns, &result)) {
    return absl::InvalidArgumentError("duration out of range");
  }
  // The fraction: digit k (1-based) is worth unit_ns / 10^k; it must come out
  // whole, so accumulate numerator and denominator exactly.
  int64_t numerator = 0;
  int64_t denominator = 1;
  for (char c : fraction) {
    if (!IsDigit(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", number, "' is not a number"));
    }
    if (denominator > std::numeric_limits<int64_t>::max() / 10 / unit_ns) {
      if (c == '0') continue;  // trailing zeros beyond precision are harmless
      return absl::InvalidArgumentError(
          "duration is not a whole number of nanoseconds");
    }
    numerator = numerator * 10 + (c - '0');
    denominator *= 10;
  }
  if (numerator != 0) {
    // numerator < denominator, and denominator * unit_ns fits in int64.
    int64_t scaled = numerator * unit_ns;
    if (scaled % denominator != 0) {
      return absl::InvalidArgumentError(
          "duration is not a whole number of nanoseconds");
    }
    if (__builtin_add_overflow(result, scaled / denominator, &result)) {
      return absl::InvalidArgumentError("duration out of range");
    }
  }
  return result;
}

absl::StatusOr<int64_t> ParseDurationText(absl::string_view text) {
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  if (rest.empty()) return DurationError(text, "empty");
  int64_t total = 0;
  while (!rest.empty()) {
    size_t end = 0;
    while (end < rest.size() && (IsDigit(rest[end]) || rest[end] == '.')) {
      ++end;
    }
    if (end == 0) {
      return DurationError(text, rest[0] == '-' ? "durations cannot be negative"
                                                : "expected a number");
    }
    absl::string_view number = rest.substr(0, end);
    rest = absl::StripLeadingAsciiWhitespace(rest.substr(end));
    size_t unit_end = 0;
    while (unit_end < rest.size() && IsLetter(rest[unit_end])) ++unit_end;
    absl::string_view unit = rest.substr(0, unit_end);
    if (unit.empty()) {
      return DurationError(text,
                           absl::StrCat("missing unit after '", number,
                                        "' (ns, us, ms, s, m, h, d or w)"));
    }
    std::optional<int64_t> unit_ns = DurationUnitNanos(unit);
    if (!unit_ns) {
      return DurationError(text, absl::StrCat("unknown unit '", unit, "'"));
    }
    absl::StatusOr<int64_t> part = ScaleDecimal(number, *unit_ns);
    if (!part.ok()) return DurationError(text, part.status().message());
    if (__builtin_add_overflow(total, *part, &total)) {
      return DurationError(text, "out of range");
    }
    rest = absl::StripLeadingAsciiWhitespace(rest.substr(unit_end));
  }
  return total;
}

absl::StatusOr<int64_t> ParseTimeLiteral(absl::string_view text,
                                         int64_t now_ns) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (trimmed.empty()) return TimeError(text, kAcceptedTimes);
  std::string lower = absl::AsciiStrToLower(trimmed);
  absl::string_view word = lower;

  if (word == "now") return now_ns;
  if (word == "today" || word == "yesterday") {
    int64_t days = now_ns / kDay - (now_ns % kDay < 0 ? 1 : 0);
    if (word == "yesterday") --days;
    return days * kDay;
  }
  if (absl::ConsumePrefix(&word, "now")) {
    word = absl::StripLeadingAsciiWhitespace(word);
    if (word.empty() || (word[0] != '+' && word[0] != '-')) {
      return TimeError(text,
                       "expected 'now + <duration>' or "
                       "'now - <duration>'");
    }
    bool minus = word[0] == '-';
    absl::StatusOr<int64_t> delta = ParseDurationText(word.substr(1));
    if (!delta.ok()) return TimeError(text, delta.status().message());
    return Shift(text, now_ns, minus ? -*delta : *delta);
  }
  if (absl::ConsumeSuffix(&word, "ago") && !word.empty() &&
      absl::ascii_isspace(static_cast<unsigned char>(word.back()))) {
    absl::StatusOr<int64_t> delta =
        ParseDurationText(absl::StripTrailingAsciiWhitespace(word));
    if (!delta.ok()) return TimeError(text, delta.status().message());
    return Shift(text, now_ns, -*delta);
  }

  // Unix nanoseconds.
  {
    absl::string_view digits = trimmed;
    bool negative = absl::ConsumePrefix(&digits, "-");
    if (!digits.empty() &&
        digits.find_first_not_of("0123456789") == absl::string_view::npos) {
      int64_t value = 0;
      for (char c : digits) {
        if (__builtin_mul_overflow(value, 10, &value) ||
            __builtin_add_overflow(value, negative ? -(c - '0') : c - '0',
                                   &value)) {
          return TimeError(text, "unix nanoseconds out of range");
        }
      }
      return value;
    }
  }

  TV_ASSIGN_OR_RETURN(std::optional<int64_t> iso, ParseIsoTime(trimmed));
  if (iso) return *iso;
  return TimeError(text, kAcceptedTimes);
}

std::string FormatDuration(int64_t ns) {
  if (ns == 0) return "0 seconds";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t magnitude =
      ns < 0 ? ~static_cast<uint64_t>(ns) + 1 : static_cast<uint64_t>(ns);
  struct Canonical {
    uint64_t ns;
    absl::string_view singular;
    absl::string_view plural;
  };
  static constexpr Canonical kCanonical[] = {
      {kDay, " day", " days"},
      {kHour, " hour", " hours"},
      {kMinute, " minute", " minutes"},
      {kSecond, " second", " seconds"},
      {kMillisecond, "ms", "ms"},
      {kMicrosecond, "us", "us"},
      {1, "ns", "ns"},
  };
  for (const Canonical& unit : kCanonical) {
    if (magnitude % unit.ns != 0) continue;
    uint64_t count = magnitude / unit.ns;
    return absl::StrCat(sign, count, count == 1 ? unit.singular : unit.plural);
  }
  return "";  // unreachable: every value is a whole number of ns
}

std::string FormatTime(int64_t unix_ns) {
  int64_t seconds = unix_ns / kSecond;
  int64_t fraction = unix_ns % kSecond;
  if (fraction < 0) {
    fraction += kSecond;
    --seconds;
  }
  int64_t days = seconds / 86400;
  int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    --days;
  }
  Civil civil = CivilFromDays(days);
  std::string text = absl::StrFormat(
      "%04d-%02d-%02dT%02d:%02d:%02d", civil.year, civil.month, civil.day,
      second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60);
  if (fraction != 0) {
    std::string digits = absl::StrFormat("%09d", fraction);
    while (digits.back() == '0') digits.pop_back();
    absl::StrAppend(&text, ".", digits);
  }
  text.push_back('Z');
  return text;
}

}  // namespace traversion::timeql
