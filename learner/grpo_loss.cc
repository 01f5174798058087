#include "learner/grpo_loss.h"

#include "absl/strings/str_cat.h"

namespace seamless {

absl::StatusOr<LossAggMode> ParseLossAggMode(const std::string& name) {
  return ParseConfigEnum<LossAggMode>("loss_agg_mode", name);
}

at::Tensor AggregationWeights(const std::vector<int64_t>& lengths, LossAggMode mode,
                              int64_t global_tokens, int64_t global_sequences) {
  int64_t total = 0;
  for (int64_t l : lengths) total += l;
  at::Tensor w = at::empty({total}, at::kFloat);
  float* out = w.data_ptr<float>();
  for (int64_t l : lengths) {
    double v = 0;
    switch (mode) {
      case LossAggMode::kTokenMean:
        v = 1.0 / double(std::max<int64_t>(global_tokens, 1));
        break;
      case LossAggMode::kSeqMeanTokenSum:
        v = 1.0 / double(std::max<int64_t>(global_sequences, 1));
        break;
      case LossAggMode::kSeqMeanTokenMean:
        v = 1.0 / (double(l) * double(std::max<int64_t>(global_sequences, 1)));
        break;
    }
    for (int64_t j = 0; j < l; ++j) *out++ = float(v);
  }
  return w;
}

PolicyLoss ComputePolicyLoss(const PolicyLossInputs& in, const GrpoConfig& config) {
  const at::Tensor& a = in.advantages;
  at::Tensor log_ratio = (in.logp - in.old_logp).clamp(-20.0, 20.0);
  at::Tensor ratio = log_ratio.exp();
  at::Tensor loss1 = -a * ratio;
  at::Tensor loss2 = -a * ratio.clamp(1.0 - config.clip_ratio_low, 1.0 + config.clip_ratio_high);
  at::Tensor clipped_loss = at::maximum(loss1, loss2);
  at::Tensor pg = clipped_loss;
  at::Tensor lower;
  if (config.clip_ratio_c > 0) {
    at::Tensor loss3 = -a * config.clip_ratio_c;
    at::Tensor negative = a < 0;
    pg = at::where(negative, at::minimum(clipped_loss, loss3), clipped_loss);
    lower = (clipped_loss > loss3).logical_and(negative);
  }
  at::Tensor total = (in.weights * pg).sum();
  PolicyLoss out;
  if (in.entropy.defined() && config.entropy_coeff != 0) {
    total = total - config.entropy_coeff * (in.weights * in.entropy).sum();
  }
  at::Tensor kl;
  if (in.ref_logp.defined() && config.kl_coef != 0) {
    // k3 ("low_var_kl" in verl): exp(ref - logp) - (ref - logp) - 1 >= 0, clamped as verl.
    at::Tensor d = (in.ref_logp - in.logp).clamp(-20.0, 20.0);
    kl = (d.exp() - d - 1.0).clamp(-10.0, 10.0);
    total = total + config.kl_coef * (in.weights * kl).sum();
  }
  out.loss = total;

  at::NoGradGuard no_grad;
  PolicyLossSums& s = out.sums;
  s.tokens = double(in.logp.numel());
  s.pg_loss = (in.weights * pg.detach()).sum().item<double>();
  s.clipped = (loss2.detach() > loss1.detach()).sum().item<double>();
  if (lower.defined()) s.clipped_lower = lower.sum().item<double>();
  s.ppo_kl = (-log_ratio.detach()).sum().item<double>();
  if (in.entropy.defined()) s.entropy = in.entropy.detach().sum().item<double>();
  if (kl.defined()) s.kl = (in.weights * kl.detach()).sum().item<double>();
  return out;
}

}  // namespace seamless
