// Group-relative advantages and DAPO's overlong reward shaping: plain arithmetic on rewards.
//
// Convention (verl's GRPO, docs/DESIGN.md §2): for a group of G rewards,
//   A_i = (r_i - mean) / (std + eps),  std unbiased: sqrt(sum (r - mean)^2 / (G - 1)),
// eps = GrpoConfig::adv_eps (1e-6). A group of one has no baseline and gets A = 0 (verl would
// give it its raw reward); a group with equal rewards gets A = 0 exactly.
#ifndef SEAMLESS_LEARNER_ADVANTAGES_H_
#define SEAMLESS_LEARNER_ADVANTAGES_H_

#include <cstdint>
#include <vector>

namespace seamless {

// Advantages of one group, in the rewards' order. `scale_by_std` false gives r - mean.
std::vector<double> GroupAdvantages(const std::vector<double>& rewards, double eps,
                                    bool scale_by_std = true);

// DAPO's soft overlong punishment for a response of `length` tokens:
//   0 if length <= max_len - cache_len; ((max_len - cache_len) - length) / cache_len while
//   length <= max_len; -1 beyond.
double OverlongPenalty(int64_t length, int64_t max_len, int64_t cache_len);

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_ADVANTAGES_H_
