#include "learner/learner_config.h"

#include <limits>

#include "core/base/config.h"
#include "core/base/status_macros.h"

namespace seamless {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

absl::Status GrpoConfig::Validate() const {
  RETURN_IF_ERROR(CheckRange("adv_eps", adv_eps, 0, 1));
  RETURN_IF_ERROR(CheckRange("clip_ratio_low", clip_ratio_low, 0, 1));
  RETURN_IF_ERROR(CheckRange("clip_ratio_high", clip_ratio_high, 0, 100));
  RETURN_IF_ERROR(CheckRange("clip_ratio_c", clip_ratio_c, 0, kInf));
  // Coefficients of loss terms: 1e300 times an O(1) term is inf in fp32, and the update NaN.
  RETURN_IF_ERROR(CheckRange("kl_coef", kl_coef, 0, 1e6));
  RETURN_IF_ERROR(CheckRange("overlong_max_len", overlong_max_len, 1, 1e9));
  RETURN_IF_ERROR(CheckRange("overlong_cache_len", overlong_cache_len, 0, 1e9));
  RETURN_IF_ERROR(CheckRange("overlong_penalty", overlong_penalty, 0, 1e6));
  return CheckRange("temperature", temperature, 1e-6, 100);
}

absl::Status OptimizerConfig::Validate() const {
  RETURN_IF_ERROR(CheckRange("lr", lr, 1e-12, 10));
  RETURN_IF_ERROR(CheckRange("beta1", beta1, 0, 0.999999));
  RETURN_IF_ERROR(CheckRange("beta2", beta2, 0, 0.999999999));
  RETURN_IF_ERROR(CheckRange("eps", eps, 0, 1));
  RETURN_IF_ERROR(CheckRange("weight_decay", weight_decay, 0, 1e6));
  RETURN_IF_ERROR(CheckRange("max_grad_norm", max_grad_norm, 0, kInf));
  RETURN_IF_ERROR(CheckRange("warmup_steps", warmup_steps, 0, 1e9));
  RETURN_IF_ERROR(CheckRange("total_steps", total_steps, 0, 1e12));
  return CheckRange("min_lr_ratio", min_lr_ratio, 0, 1);
}

absl::Status TrainerConfig::Validate() const {
  RETURN_IF_ERROR(CheckRange("mini_batch_groups", mini_batch_groups, 0, 1e6));
  RETURN_IF_ERROR(CheckRange("micro_batch_size", micro_batch_size, 0, 1e6));
  RETURN_IF_ERROR(CheckRange("epochs", epochs, 1, 1000));
  return CheckRange("max_tokens_per_micro_batch", max_tokens_per_micro_batch, 0, 1e9);
}

absl::Status LearnerConfig::Validate() const {
  RETURN_IF_ERROR(CheckRange("checkpoint_every", checkpoint_every, 0, 1e9));
  RETURN_IF_ERROR(CheckRange("keep_checkpoints", keep_checkpoints, 1, 1e6));
  // A c10d timeout becomes clock ticks: 1e300 s would overflow; 1e6 s is 11.6 days.
  RETURN_IF_ERROR(CheckRange("collective_timeout_s", collective_timeout_s, 1, 1e6));
  if (backend != "gloo" && backend != "nccl") {
    return absl::InvalidArgumentError("backend is '" + backend + "'; valid values: gloo | nccl");
  }
  return absl::OkStatus();
}

}  // namespace seamless
