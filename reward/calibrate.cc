#include "reward/calibrate.h"

#include <cstddef>

namespace seamless {

std::vector<double> TestPassRates(const std::vector<std::vector<bool>>& results) {
  if (results.empty()) return {};
  std::vector<double> rates(results[0].size(), 0.0);
  for (const std::vector<bool>& solution : results) {
    for (std::size_t t = 0; t < rates.size() && t < solution.size(); ++t) rates[t] += solution[t];
  }
  for (double& r : rates) r /= results.size();
  return rates;
}

std::vector<int> AssignLevels(const std::vector<double>& pass_rates,
                              const std::vector<double>& thresholds) {
  std::vector<int> levels;
  levels.reserve(pass_rates.size());
  for (double rate : pass_rates) {
    int level = 0;
    while (level < static_cast<int>(thresholds.size()) && rate < thresholds[level]) ++level;
    levels.push_back(level);
  }
  return levels;
}

}  // namespace seamless
