#include "reward/difficulty_reward.h"

#include <map>

namespace seamless {

bool FailureEndsScoring(RewardMode mode) {
  return mode == RewardMode::kStrict || mode == RewardMode::kAllOrNothing;
}

double DifficultyReward(const std::vector<bool>& passed, const std::vector<int>& levels,
                        const std::vector<double>& level_weights, RewardMode mode) {
  const size_t n = passed.size();
  if (n == 0 || levels.size() != n) return 0;
  size_t passed_count = 0;
  for (bool p : passed) passed_count += p;
  if (mode == RewardMode::kPassRate) return static_cast<double>(passed_count) / n;
  if (mode == RewardMode::kAllOrNothing) return passed_count == n ? 1.0 : 0.0;

  struct Level {
    int tests = 0;
    int passed = 0;
  };
  std::map<int, Level> by_level;  // ascending: easiest first
  for (size_t i = 0; i < n; ++i) {
    Level& level = by_level[levels[i]];
    ++level.tests;
    level.passed += passed[i];
  }
  auto weight = [&](int level) {
    if (level_weights.empty()) return 1.0;
    return level < static_cast<int>(level_weights.size()) ? level_weights[level]
                                                          : level_weights.back();
  };
  double total = 0, earned = 0;
  bool all_easier_passed = true;
  for (const auto& [level, stats] : by_level) {
    const double w = weight(level);
    total += w;
    if (mode == RewardMode::kSoft) {
      earned += w * stats.passed / stats.tests;
    } else {
      all_easier_passed = all_easier_passed && stats.passed == stats.tests;
      if (all_easier_passed) earned += w;
    }
  }
  return total > 0 ? earned / total : 0;
}

}  // namespace seamless
