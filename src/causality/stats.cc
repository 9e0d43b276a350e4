// Tail probabilities via the regularized incomplete gamma and beta
// functions, evaluated in log space: the series and continued fractions are
// the textbook ones (Abramowitz & Stegun 6.5.29 and 6.5.31, 26.5.8), with
// modified Lentz evaluation of the fractions.
#include "causality/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace traversion::causality {
namespace {

constexpr double kLn10 = 2.302585092994046;
constexpr double kEps = 1e-15;
constexpr double kTiny = 1e-300;
constexpr int kMaxIterations = 2000;

double Clamp(double score) {
  if (!(score > 0)) return 0;  // also NaN
  return std::min(score, kMaxScore);
}

// log P(a, x), the regularized lower incomplete gamma, by its series
// (converges fast for x < a + 1).
double LogGammaPSeries(double a, double x) {
  double sum = 1.0 / a;
  double term = sum;
  for (int n = 1; n < kMaxIterations; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * kEps) break;
  }
  return std::log(sum) - x + a * std::log(x) - std::lgamma(a);
}

// log Q(a, x), the regularized upper incomplete gamma, by its continued
// fraction (converges fast for x >= a + 1).
double LogGammaQFraction(double a, double x) {
  double b = x + 1 - a;
  double c = 1 / kTiny;
  double d = 1 / b;
  double h = d;
  for (int i = 1; i < kMaxIterations; ++i) {
    double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < kEps) break;
  }
  return std::log(h) - x + a * std::log(x) - std::lgamma(a);
}

// log(1 - exp(l)) for l < 0.
double Log1mExp(double l) {
  return l > -0.693 ? std::log(-std::expm1(l)) : std::log1p(-std::exp(l));
}

double LogGammaP(double a, double x) {
  if (x <= 0) return -std::numeric_limits<double>::infinity();
  if (x < a + 1) return LogGammaPSeries(a, x);
  return Log1mExp(LogGammaQFraction(a, x));
}

double LogGammaQ(double a, double x) {
  if (x <= 0) return 0;
  if (x < a + 1) return Log1mExp(LogGammaPSeries(a, x));
  return LogGammaQFraction(a, x);
}

// The continued fraction of the incomplete beta function.
double BetaFraction(double a, double b, double x) {
  double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m < kMaxIterations; ++m) {
    int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < kEps) break;
  }
  return h;
}

// log I_x(a, b), the regularized incomplete beta function.
double LogBetaI(double a, double b, double x) {
  if (x <= 0) return -std::numeric_limits<double>::infinity();
  if (x >= 1) return 0;
  double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                     a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1) / (a + b + 2)) {
    return log_front + std::log(BetaFraction(a, b, x)) - std::log(a);
  }
  // I_x(a, b) = 1 - I_{1-x}(b, a).
  double other = log_front + std::log(BetaFraction(b, a, 1 - x)) - std::log(b);
  return Log1mExp(std::min(other, -1e-300));
}

}  // namespace

double PoissonUpperScore(double k, double lambda) {
  if (k <= 0) return 0;
  if (lambda <= 0) return kMaxScore;
  // P(X >= k) = P(k, lambda).
  return Clamp(-LogGammaP(k, lambda) / kLn10);
}

double PoissonLowerScore(double k, double lambda) {
  if (lambda <= 0) return 0;
  if (k < 0) return kMaxScore;
  // P(X <= k) = Q(k + 1, lambda).
  return Clamp(-LogGammaQ(std::floor(k) + 1, lambda) / kLn10);
}

double PoissonScore(double k, double lambda) {
  return k > lambda ? PoissonUpperScore(k, lambda)
                    : PoissonLowerScore(k, lambda);
}

double BinomialUpperScore(uint64_t k, uint64_t n, double p) {
  if (k == 0 || n == 0) return 0;
  if (k > n) k = n;
  if (p <= 0) return kMaxScore;
  if (p >= 1) return 0;
  // P(X >= k) = I_p(k, n - k + 1).
  return Clamp(
      -LogBetaI(static_cast<double>(k), static_cast<double>(n - k + 1), p) /
      kLn10);
}

double NormalScore(double z) {
  // 2 * Phi(-|z|) = erfc(|z| / sqrt(2)); for large |z| use the asymptotic
  // log form, erfc underflows past |z| ~ 38.
  double a = std::fabs(z);
  if (a < 30) return Clamp(-std::log10(std::erfc(a / std::sqrt(2.0))));
  double log_p =
      -a * a / 2 - std::log(a) - 0.5 * std::log(2 * M_PI) + std::log(2.0);
  return Clamp(-log_p / kLn10);
}

double Median(std::vector<double>& v) { return Quantile(v, 0.5); }

double Quantile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double pos = q * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  double frac = pos - static_cast<double>(lo);
  return v[lo] + (v[hi] - v[lo]) * frac;
}

double ScaledMad(const std::vector<double>& v, double median) {
  std::vector<double> dev;
  dev.reserve(v.size());
  for (double x : v) dev.push_back(std::fabs(x - median));
  return 1.4826 * Median(dev);
}

}  // namespace traversion::causality
