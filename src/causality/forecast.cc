#include "causality/forecast.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "causality/stats.h"

namespace traversion::causality {
namespace {

// Pairwise slopes are O(n^2): above this many points, every k-th point.
constexpr size_t kMaxPoints = 400;

}  // namespace

uint64_t RobustTrendHistoryNs(uint64_t horizon_ns) {
  constexpr uint64_t kMin = uint64_t{30} * 60 * 1'000'000'000;
  uint64_t six = horizon_ns > UINT64_MAX / 6 ? UINT64_MAX : horizon_ns * 6;
  return std::max(kMin, six);
}

void ClampToUnitRange(const std::string& unit, Forecast& f) {
  double bound = unit == "%" ? 100 : unit == "1" ? 1 : 0;
  if (bound <= 0) return;
  auto clamp = [&](double v) { return std::clamp(v, 0.0, bound); };
  if (clamp(f.value) == f.value && clamp(f.lower) == f.lower &&
      clamp(f.upper) == f.upper) {
    return;
  }
  f.value = clamp(f.value);
  f.lower = clamp(f.lower);
  f.upper = clamp(f.upper);
  absl::StrAppend(&f.method, ", clamped to [0, ", bound == 100 ? "100 %" : "1",
                  "]");
}

absl::StatusOr<Forecast> RobustTrendForecast(const ForecastRequest& request) {
  const auto& h = request.history;
  if (h.size() < 3) {
    return absl::FailedPreconditionError(
        absl::StrCat("needs at least 4 samples of ", request.metric,
                     " before FROM, has ", h.size()));
  }
  size_t step = (h.size() + kMaxPoints - 1) / kMaxPoints;
  std::vector<double> xs, ys;
  for (size_t i = 0; i < h.size(); i += step) {
    // Seconds relative to FROM, for numerical stability.
    xs.push_back((static_cast<double>(h[i].time_ns) -
                  static_cast<double>(request.from_ns)) /
                 1e9);
    ys.push_back(h[i].value);
  }
  const size_t n = xs.size();
  std::vector<double> slopes;
  slopes.reserve(n * (n - 1) / 2);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      if (xs[j] != xs[i]) slopes.push_back((ys[j] - ys[i]) / (xs[j] - xs[i]));
    }
  }
  double slope = slopes.empty() ? 0 : Median(slopes);
  std::vector<double> levels;
  for (size_t i = 0; i < n; ++i) levels.push_back(ys[i] - slope * xs[i]);
  double level = Median(levels);
  std::vector<double> residuals;
  for (size_t i = 0; i < n; ++i)
    residuals.push_back(ys[i] - level - slope * xs[i]);
  double sigma = ScaledMad(residuals, 0);
  if (sigma == 0) {
    // Half or more of the points lie on the line (always so for 3 points):
    // the MAD says nothing; the mean absolute residual, scaled to a normal
    // standard deviation, still does.
    double sum = 0;
    for (double r : residuals) sum += std::fabs(r);
    sigma = 1.2533 * sum / static_cast<double>(n);
  }
  return LineForecast(request, xs, level, slope, sigma, "Theil-Sen trend");
}

Forecast LineForecast(const ForecastRequest& request,
                      const std::vector<double>& xs, double level, double slope,
                      double sigma, absl::string_view name) {
  const auto& h = request.history;
  const double n = static_cast<double>(xs.size());
  double mx = 0;
  for (double x : xs) mx += x;
  mx /= n;
  double sxx = 0;
  for (double x : xs) sxx += (x - mx) * (x - mx);
  const double x0 = static_cast<double>(request.horizon_ns) / 1e9;
  // The standard error of a new observation at x0.
  const double se =
      sigma *
      std::sqrt(1 + 1 / n + (sxx > 0 ? (x0 - mx) * (x0 - mx) / sxx : 0));
  Forecast f;
  f.time_ns = request.from_ns + request.horizon_ns;
  f.value = level + slope * x0;
  f.lower = f.value - 1.96 * se;
  f.upper = f.value + 1.96 * se;
  const double span_s =
      static_cast<double>(h.back().time_ns - h.front().time_ns) / 1e9;
  f.method = absl::StrFormat("%s over %.0fs (n=%d)", name, span_s, h.size());
  ClampToUnitRange(request.unit, f);
  return f;
}

}  // namespace traversion::causality
