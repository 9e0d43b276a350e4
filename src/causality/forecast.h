// The engine's forecaster for PREDICT: a robust linear trend.
#ifndef TRAVERSION_CAUSALITY_FORECAST_H_
#define TRAVERSION_CAUSALITY_FORECAST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "traversion/query_extensions.h"

namespace traversion::causality {

// Theil-Sen: the slope is the median of the pairwise slopes (so one spike
// cannot tilt it), the level the median of value - slope x time; the ~95 %
// interval is +-1.96 robust residual spreads (1.4826 x MAD), widened like a
// least-squares prediction interval for the distance extrapolated.
// Percentages (unit "%") and ratios (unit "1") are clamped to their range.
// FailedPrecondition with fewer than 3 points.
absl::StatusOr<Forecast> RobustTrendForecast(const ForecastRequest& request);

// How much history a trend forecast wants: max(30 min, 6 x horizon).
uint64_t RobustTrendHistoryNs(uint64_t horizon_ns);

// The forecast `request.horizon_ns` after FROM of the line level + slope x
// x fitted to points at `xs` (seconds after FROM) with residual spread
// `sigma`: the point, a ~95 % interval of +-1.96 standard errors of a new
// observation there (widened for the distance extrapolated), clamped to the
// unit's range, and `method` "<name> over <span>s (n=<history size>)".
Forecast LineForecast(const ForecastRequest& request,
                      const std::vector<double>& xs, double level, double slope,
                      double sigma, absl::string_view name);

// A line runs off to any value; a percentage (unit "%") or a ratio ("1")
// cannot. Clamps the point and the interval to the unit's range and says so
// in `method`.
void ClampToUnitRange(const std::string& unit, Forecast& forecast);

}  // namespace traversion::causality

#endif  // TRAVERSION_CAUSALITY_FORECAST_H_
