// Times and durations as users write them in TimeQL.
//
// Times (the text of a string literal such as '2024-01-15 15:47:23'):
//   2024-01-15T15:47:23Z, 2024-01-15T15:47:23.5+01:00   RFC 3339 / ISO 8601
//   2024-01-15 15:47:23, 2024-01-15T15:47               no zone: UTC
//   2024-01-15                                           midnight UTC
//   now                                                  the clock's now
//   now - 5m, now + 1 hour                               now plus or minus
//   10 minutes ago, 2h ago                               now minus
//   today, yesterday                       midnight UTC today / the day before
//   1705333643000000000                                  unix nanoseconds
// Zones: Z, UTC, +HH:MM, +HHMM, +HH (an optional space before the zone).
// Fractional seconds: up to 9 digits after '.' or ','. Times must lie in
// the int64 nanosecond range (1677-09-21 to 2262-04-11).
//
// Durations: a number and a unit, or several ("1h30m", "1 hour 30 minutes"):
//   ns, nanosecond(s); us, µs, microsecond(s); ms, millisecond(s);
//   s, sec(s), second(s); m, min(s), minute(s); h, hr(s), hour(s);
//   d, day(s); w, week(s)
// The number may have a fraction ("1.5s") as long as the result is a whole
// number of nanoseconds.
#ifndef TRAVERSION_TIMEQL_TIME_LITERAL_H_
#define TRAVERSION_TIMEQL_TIME_LITERAL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace traversion::timeql {

// Nanoseconds since the Unix epoch. `now_ns` resolves 'now' and relative
// forms. InvalidArgument naming the accepted forms otherwise.
absl::StatusOr<int64_t> ParseTimeLiteral(absl::string_view text,
                                         int64_t now_ns);

// Nanoseconds. InvalidArgument for a missing or unknown unit, a negative
// or out-of-range value.
absl::StatusOr<int64_t> ParseDurationText(absl::string_view text);

// The nanoseconds in one `unit` (case-insensitive: "ms", "Minutes"...), or
// nullopt if it is not a unit.
std::optional<int64_t> DurationUnitNanos(absl::string_view unit);

// `number` (digits with an optional fraction, "1.5") times `unit_ns`,
// exactly. InvalidArgument when out of range or not a whole number of
// nanoseconds.
absl::StatusOr<int64_t> ScaleDecimal(absl::string_view number, int64_t unit_ns);

// The canonical text of a duration, which ParseDurationText and the TimeQL
// lexer read back to the same value: the largest unit that divides it
// exactly, words from seconds up ("1 second", "5 minutes", "30 days"),
// symbols below ("200ms", "15us", "7ns"); "0 seconds" for zero, a leading
// '-' when negative.
std::string FormatDuration(int64_t ns);

// RFC 3339 UTC with as many fractional digits as needed (none for whole
// seconds): "2024-01-15T15:47:23.5Z".
std::string FormatTime(int64_t unix_ns);

}  // namespace traversion::timeql

#endif  // TRAVERSION_TIMEQL_TIME_LITERAL_H_
