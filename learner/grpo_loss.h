// The modified GRPO policy loss (docs/DESIGN.md §2) on flat per-token tensors, plus the
// aggregation weights that make the loss exact across micro-batches and ranks.
//
// NOTE [Global token normalisation]: the mini-batch loss is sum_t w_t * l_t over every response
// token of the mini-batch, on every rank. The weights w_t fold in the global denominators:
//   token-mean           w_t = 1 / T            (T: response tokens of the whole mini-batch)
//   seq-mean-token-sum   w_t = 1 / N            (N: sequences of the whole mini-batch)
//   seq-mean-token-mean  w_t = 1 / (|o_i| * N)
// so each micro-batch's backward adds its exact share of the gradient and ranks SUM their
// gradients (no averaging). Normalising per micro-batch or per rank instead would weight
// tokens of short micro-batches more — the classic bug this avoids.
#ifndef SEAMLESS_LEARNER_GRPO_LOSS_H_
#define SEAMLESS_LEARNER_GRPO_LOSS_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "learner/learner_config.h"

namespace seamless {

// LossAggMode is in learner_config.h (its config spellings with it).
absl::StatusOr<LossAggMode> ParseLossAggMode(const std::string& name);

// Weights of the tokens of sequences with `lengths` (concatenated in order), for a mini-batch
// of `global_tokens` response tokens in `global_sequences` sequences. float32 [sum(lengths)].
at::Tensor AggregationWeights(const std::vector<int64_t>& lengths, LossAggMode mode,
                              int64_t global_tokens, int64_t global_sequences);

struct PolicyLossInputs {
  at::Tensor logp;        // [N] current log-probs (carries the graph)
  at::Tensor old_logp;    // [N] behaviour log-probs
  at::Tensor advantages;  // [N] the sequence's advantage on each of its tokens
  at::Tensor weights;     // [N] AggregationWeights
  at::Tensor entropy;     // [N] optional (defined only when needed)
  at::Tensor ref_logp;    // [N] optional: the reference policy, when kl_coef > 0
};

// Scalar sums over the N tokens, for metrics after an all-reduce.
struct PolicyLossSums {
  double pg_loss = 0;        // sum w * pg  (the mini-batch's pg_loss once summed over ranks)
  double clipped = 0;        // tokens where a PPO clip bound binds (verl's pg_clipfrac numerator)
  double clipped_lower = 0;  // tokens where the dual clip binds (pg_clipfrac_lower numerator)
  double ppo_kl = 0;         // sum (old_logp - logp)
  double entropy = 0;        // sum of entropies (when given)
  double kl = 0;             // sum w * kl (when a reference is given)
  double tokens = 0;
};

struct PolicyLoss {
  at::Tensor loss;  // scalar: sum w * (pg - entropy_coeff * H + kl_coef * kl)
  PolicyLossSums sums;
};

// Per token, with ratio r = exp(clamp(logp - old_logp, -20, 20)) and advantage A:
//   pg = max(-A r, -A clip(r, 1 - low, 1 + high));  if A < 0 and clip_ratio_c > 0:
//   pg = min(pg, -A c).  (verl's compute_policy_loss, vanilla mode.)
PolicyLoss ComputePolicyLoss(const PolicyLossInputs& in, const GrpoConfig& config);

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_GRPO_LOSS_H_
