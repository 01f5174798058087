#include "learner/advantages.h"

#include <cmath>

namespace seamless {

std::vector<double> GroupAdvantages(const std::vector<double>& rewards, double eps,
                                    bool scale_by_std) {
  const size_t n = rewards.size();
  std::vector<double> out(n, 0.0);
  if (n < 2) return out;  // no baseline without a second sample
  double mean = 0;
  for (double r : rewards) mean += r;
  mean /= double(n);
  double ss = 0;
  for (double r : rewards) ss += (r - mean) * (r - mean);
  const double std = std::sqrt(ss / double(n - 1));
  for (size_t i = 0; i < n; ++i) {
    const double centred = rewards[i] - mean;
    // Equal rewards: exactly zero, not 0/(0+eps) rounding noise.
    out[i] = ss == 0 ? 0.0 : (scale_by_std ? centred / (std + eps) : centred);
  }
  return out;
}

double OverlongPenalty(int64_t length, int64_t max_len, int64_t cache_len) {
  const int64_t soft = max_len - cache_len;
  if (length <= soft) return 0.0;
  if (length <= max_len && cache_len > 0) return double(soft - length) / double(cache_len);
  return -1.0;
}

}  // namespace seamless
