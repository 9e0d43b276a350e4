// The causality engine's statistics against values computed by hand (or by
// a reference: scipy.stats' logsf, quoted).
#include <cmath>
#include <vector>

#include "causality/stats.h"
#include "gtest/gtest.h"

namespace traversion::causality {
namespace {

TEST(PoissonTest, UpperTailMatchesDirectSum) {
  // P(X >= 3 | 1) = 1 - e^-1 (1 + 1 + 1/2) = 0.0803014.
  EXPECT_NEAR(PoissonUpperScore(3, 1.0), -std::log10(0.0803014), 1e-5);
  // P(X >= 1 | 0.5) = 1 - e^-0.5.
  EXPECT_NEAR(PoissonUpperScore(1, 0.5), -std::log10(1 - std::exp(-0.5)), 1e-9);
  EXPECT_EQ(PoissonUpperScore(0, 2.0), 0);
}

TEST(PoissonTest, LowerTailMatchesDirectSum) {
  // P(X <= 0 | 20) = e^-20.
  EXPECT_NEAR(PoissonLowerScore(0, 20), 20 / std::log(10.0), 1e-6);
  // P(X <= 2 | 3) = e^-3 (1 + 3 + 4.5) = 0.4231901.
  EXPECT_NEAR(PoissonLowerScore(2, 3), -std::log10(0.4231901), 1e-6);
}

TEST(PoissonTest, ExtremeTailsDoNotUnderflow) {
  // 500 where 1 is expected: p ~ 1e-975, far below double's range; the
  // score is capped rather than infinite or NaN.
  double s = PoissonUpperScore(500, 1.0);
  EXPECT_EQ(s, kMaxScore);
  // 60 where 10 is expected: -log10 p = 26.18563 (scipy:
  // -poisson.logsf(59, 10) / ln 10).
  EXPECT_NEAR(PoissonUpperScore(60, 10), 26.18563, 1e-4);
  EXPECT_GT(PoissonScore(60, 10), 20);
  EXPECT_GT(PoissonScore(0, 30), 12);
}

TEST(BinomialTest, UpperTailMatchesDirectSum) {
  // P(X >= 2 | n=3, p=0.5) = 4/8.
  EXPECT_NEAR(BinomialUpperScore(2, 3, 0.5), -std::log10(0.5), 1e-9);
  // P(X >= 10 | n=10, p=0.05) = 0.05^10.
  EXPECT_NEAR(BinomialUpperScore(10, 10, 0.05), 10 * -std::log10(0.05), 1e-6);
  // P(X >= 1 | n=20, p=0.05) = 1 - 0.95^20.
  EXPECT_NEAR(BinomialUpperScore(1, 20, 0.05),
              -std::log10(1 - std::pow(0.95, 20)), 1e-9);
  EXPECT_EQ(BinomialUpperScore(0, 20, 0.05), 0);
}

TEST(BinomialTest, MonotoneInCount) {
  double last = 0;
  for (uint64_t k = 1; k <= 100; ++k) {
    double s = BinomialUpperScore(k, 100, 0.05);
    EXPECT_GE(s, last) << k;
    last = s;
  }
}

TEST(NormalTest, TwoSidedTail) {
  EXPECT_NEAR(NormalScore(1.959964), -std::log10(0.05), 1e-4);
  EXPECT_NEAR(NormalScore(-1.959964), -std::log10(0.05), 1e-4);
  EXPECT_GT(NormalScore(40), 300 - 1e-9);  // capped, not infinite
}

TEST(RobustTest, MedianQuantileMad) {
  std::vector<double> v = {5, 1, 3, 2, 4};
  EXPECT_EQ(Median(v), 3);
  std::vector<double> w = {1, 2, 3, 4};
  EXPECT_EQ(Median(w), 2.5);
  EXPECT_EQ(Quantile(w, 1.0), 4);
  // One wild value does not move the MAD: |x - 3| = 2, 1, 0, 1, 997.
  std::vector<double> x = {1, 2, 3, 4, 1000};
  EXPECT_NEAR(ScaledMad(x, 3), 1.4826, 1e-12);
}

}  // namespace
}  // namespace traversion::causality
