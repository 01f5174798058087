// Difficulty levels from pass rates (MiMo-7B): run many model solutions of a problem against
// its tests; a test that most solutions pass is easy, one that few pass is hard.
#ifndef SEAMLESS_REWARD_CALIBRATE_H_
#define SEAMLESS_REWARD_CALIBRATE_H_

#include <vector>

namespace seamless {

// Pass rate of each test: results[s][t] is whether solution s passed test t.
std::vector<double> TestPassRates(const std::vector<std::vector<bool>>& results);

// Level of each test: 0 if its pass rate >= thresholds[0], 1 if >= thresholds[1], ...,
// thresholds.size() otherwise. Thresholds must be descending.
std::vector<int> AssignLevels(const std::vector<double>& pass_rates,
                              const std::vector<double>& thresholds);

}  // namespace seamless

#endif  // SEAMLESS_REWARD_CALIBRATE_H_
