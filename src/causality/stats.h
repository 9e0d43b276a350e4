// Small, explainable statistics for the causality engine: exact tail
// probabilities of counts (Poisson, binomial) in log space, so that a
// "412 in the window against 0.3 expected" does not underflow to p = 0, and
// robust location and scale (median, MAD) for metric baselines.
//
// Scores are -log10(p): 2 means "one in a hundred", 10 "one in ten billion".
// They are capped at kMaxScore so that one overwhelming signal cannot make
// the others irrelevant by orders of magnitude.
#ifndef TRAVERSION_CAUSALITY_STATS_H_
#define TRAVERSION_CAUSALITY_STATS_H_

#include <cstdint>
#include <vector>

namespace traversion::causality {

inline constexpr double kMaxScore = 300;

// -log10 P(X >= k) for X ~ Poisson(lambda). 0 when k <= 0.
double PoissonUpperScore(double k, double lambda);
// -log10 P(X <= k) for X ~ Poisson(lambda).
double PoissonLowerScore(double k, double lambda);
// Two-sided: the upper score when k > lambda, else the lower one.
double PoissonScore(double k, double lambda);

// -log10 P(X >= k) for X ~ Binomial(n, p). 0 when k <= 0.
double BinomialUpperScore(uint64_t k, uint64_t n, double p);

// -log10 of the two-sided normal tail of a z-score, 2 * Phi(-|z|).
double NormalScore(double z);

// The median of `v` (reorders it). 0 for an empty vector.
double Median(std::vector<double>& v);
// The q-quantile (0..1) of `v`, linear between order statistics (reorders
// it). 0 for an empty vector.
double Quantile(std::vector<double>& v, double q);
// Median absolute deviation from `median`, scaled by 1.4826 so that it
// estimates the standard deviation of normal data.
double ScaledMad(const std::vector<double>& v, double median);

}  // namespace traversion::causality

#endif  // TRAVERSION_CAUSALITY_STATS_H_
