// Test-difficulty-driven code reward (MiMo-7B): tests are grouped into difficulty levels
// (0 = easiest) with configurable weights, normalised over the levels a problem has so that
// passing everything is 1.
//   strict:          a level's weight counts only if all its tests and all easier levels'
//                    tests pass.
//   soft:            each level's weight is split equally among its tests; the reward is the
//                    sum over passed tests.
//   pass_rate:       passed / total.
//   all_or_nothing:  1 if every test passes, else 0.
#ifndef SEAMLESS_REWARD_DIFFICULTY_REWARD_H_
#define SEAMLESS_REWARD_DIFFICULTY_REWARD_H_

#include <vector>

#include "core/base/config_enum.h"

namespace seamless {

enum class RewardMode { kStrict, kSoft, kPassRate, kAllOrNothing };
inline ConfigEnumTable<RewardMode> ConfigEnumNames(RewardMode) {  // config reward.code.mode
  static constexpr ConfigEnumName<RewardMode> kNames[] = {
      {RewardMode::kStrict, "strict"},
      {RewardMode::kSoft, "soft"},
      {RewardMode::kPassRate, "pass_rate"},
      {RewardMode::kAllOrNothing, "all_or_nothing"}};
  return kNames;
}

// `passed` and `levels` have one entry per test. A level beyond `level_weights` takes the
// last weight; empty weights weigh every level 1.
double DifficultyReward(const std::vector<bool>& passed, const std::vector<int>& levels,
                        const std::vector<double>& level_weights, RewardMode mode);

// Whether a failure of a test at `level` already fixes the reward at what the tests of
// lower levels earn (strict, all-or-nothing): then the remaining harder tests need not run.
bool FailureEndsScoring(RewardMode mode);

}  // namespace seamless

#endif  // SEAMLESS_REWARD_DIFFICULTY_REWARD_H_
