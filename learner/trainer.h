// One data-parallel rank of GRPO training: advantages, behaviour log-probs, mini-batch
// updates with gradient accumulation over micro-batches, the all-reduce of gradients, AdamW.
//
// Every rank is given the same whole batch (rank 0 broadcasts it) and trains on its contiguous
// share of each mini-batch's sequences. Because every rank sees the whole batch, the global
// token and sequence counts are known locally; see NOTE [Global token normalisation] in
// grpo_loss.h. Ranks sum their gradients, and all decisions (skip, clip) are taken on
// all-reduced values, so ranks stay bitwise identical.
#ifndef SEAMLESS_LEARNER_TRAINER_H_
#define SEAMLESS_LEARNER_TRAINER_H_

#include <ATen/ATen.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/mimo_model.h"
#include "learner/collective.h"
#include "learner/grpo_loss.h"
#include "learner/learner_config.h"
#include "learner/optimizer.h"
#include "learner/rollout_batch.h"

namespace seamless {

struct StepOutcome {
  int64_t step = 0;            // steps completed, this one included
  int64_t policy_version = 0;  // after this step
  int64_t updates_applied = 0;
  int64_t updates_skipped = 0;            // non-finite loss or gradient
  std::map<std::string, double> metrics;  // verl's names (README "Learner metrics")
};

class GrpoTrainer {
 public:
  // `collective` must outlive the trainer. Freezes the MTP layers if configured.
  static absl::StatusOr<std::unique_ptr<GrpoTrainer>> Create(MimoModel model, TrainerConfig config,
                                                             Collective* collective);

  absl::StatusOr<StepOutcome> Step(const RolloutBatch& batch);

  // Makes every rank hold rank 0's weights, optimizer state and counters.
  absl::Status SyncFromRank0();

  MimoModel& model() { return model_; }
  AdamW& optimizer() { return *optimizer_; }
  const TrainerConfig& config() const { return config_; }
  Collective& collective() { return *collective_; }
  int64_t step() const { return step_; }
  int64_t policy_version() const { return policy_version_; }
  int64_t skipped_updates_total() const { return skipped_total_; }
  void RestoreCounters(int64_t step, int64_t policy_version, int64_t skipped_total) {
    step_ = step;
    policy_version_ = policy_version;
    skipped_total_ = skipped_total;
  }

  // Test hook: runs on the all-reduced gradients before the finiteness check.
  void SetGradientHookForTest(std::function<void(const std::vector<at::Tensor>&)> hook) {
    gradient_hook_ = std::move(hook);
  }

 private:
  GrpoTrainer(MimoModel model, TrainerConfig config, Collective* collective, LossAggMode mode);

  MimoModel model_;
  MimoModel reference_{nullptr};  // frozen initial policy, only when kl_coef > 0
  TrainerConfig config_;
  Collective* collective_;
  LossAggMode agg_mode_;
  std::unique_ptr<AdamW> optimizer_;
  std::vector<at::Tensor> trainable_;
  int64_t step_ = 0;
  int64_t policy_version_ = 0;
  int64_t skipped_total_ = 0;
  std::function<void(const std::vector<at::Tensor>&)> gradient_hook_;
};

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_TRAINER_H_
