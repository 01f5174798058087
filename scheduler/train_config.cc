#include "scheduler/train_config.h"

#include "core/base/config.h"
#include "core/base/status_macros.h"

namespace seamless {

absl::Status SftWarmStart::Validate() const {
  RETURN_IF_ERROR(CheckRange("steps", steps, 0, 1e9));
  RETURN_IF_ERROR(CheckRange("examples", examples, 1, 1e9));
  RETURN_IF_ERROR(CheckRange("batch_size", batch_size, 1, 1e6));
  RETURN_IF_ERROR(CheckRange("lr", lr, 1e-12, 10));
  RETURN_IF_ERROR(CheckRange("warmup_steps", warmup_steps, 0, 1e9));
  return CheckRange("mtp_loss_weight", mtp_loss_weight, 0, 1e6);
}

absl::Status TrainConfig::Validate() const {
  RETURN_IF_ERROR(CheckRange("rollout_workers", rollout_workers, 1, 256));
  RETURN_IF_ERROR(CheckRange("reward_servers", reward_servers, 1, 64));
  RETURN_IF_ERROR(CheckRange("learner_ranks", learner_ranks, 1, 64));
  RETURN_IF_ERROR(CheckRange("task_train_prompts", task_train_prompts, 1, 1e9));
  RETURN_IF_ERROR(CheckRange("task_val_prompts", task_val_prompts, 0, 1e9));
  // Keys that `seamless train` sets itself: a value given here would be silently replaced.
  const LearnerConfig defaults;
  if (learner.model != defaults.model) {
    return absl::InvalidArgumentError(
        "learner.model is set by seamless train: use model: (or "
        "--model DIR) instead");
  }
  if (learner.checkpoint_dir != defaults.checkpoint_dir) {
    return absl::InvalidArgumentError(
        "learner.checkpoint_dir is set by seamless train (RUN_DIR/checkpoints): remove it");
  }
  if (learner.rollout_workers != defaults.rollout_workers) {
    return absl::InvalidArgumentError(
        "learner.rollout_workers is set by seamless train (the workers it starts): remove it");
  }
  return absl::OkStatus();
}

}  // namespace seamless
