// The scenario generator's random numbers: std::mt19937_64, which the
// standard specifies bit for bit, with distributions of our own, because
// std::'s differ between library versions and a seed must give the same
// scenario everywhere.
//
// Thread safety: an Rng belongs to one thread.
#ifndef TRAVERSION_SCENARIO_RNG_H_
#define TRAVERSION_SCENARIO_RNG_H_

#include <cmath>
#include <cstdint>
#include <random>

namespace traversion::scenario {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t Next() { return engine_(); }
  // [0, 1)
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // [0, n); 0 when n is 0.
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : engine_() % n; }
  int Index(size_t n) { return static_cast<int>(Below(n)); }
  bool Chance(double p) { return Uniform() < p; }
  double Normal(double mean, double sd) {
    double u1 = Uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    const double u2 = Uniform();
    return mean + sd * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
  }
  double Exponential(double mean) {
    double u = Uniform();
    if (u < 1e-300) u = 1e-300;
    return -mean * std::log(u);
  }
  // A latency in ns whose median is `median_ms`, with the usual long right
  // tail (log-normal).
  uint64_t LatencyNs(double median_ms, double sigma) {
    return Ns(median_ms * std::exp(Normal(0, sigma)));
  }
  static uint64_t Ns(double ms) {
    return ms <= 0 ? 0 : static_cast<uint64_t>(std::llround(ms * 1e6));
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace traversion::scenario

#endif  // TRAVERSION_SCENARIO_RNG_H_
