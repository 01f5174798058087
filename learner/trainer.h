// One data-parallel rank of GRPO training: advantages, behaviour log-probs, mini-batch
// updates with gradient accumulation over micro-batches, the all-reduce of gradients, AdamW.
//
// Every rank is given the same whole batch (rank 0 broadcasts it) and trains on its contiguous
// share of each mini-batch's sequences. Two ways to hold the parameters: the plain one (the
// module's tensors, torch-style .grad, AdamW; sharding none, fp32, no checkpointing) and
// ShardedParameters with the checkpointed UnitForward (every other setting), which gives the
// same updates to float32 rounding. Because every rank sees the whole batch, the global
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
#include "learner/flat_parameters.h"
#include "learner/grpo_loss.h"
#include "learner/learner_config.h"
#include "learner/optimizer.h"
#include "learner/rollout_batch.h"
#include "learner/tensor_cursor.h"
#include "learner/token_logprobs.h"

namespace seamless {

class UnitForward;

// A LibTorch exception as a Status naming `context`: its message without the C++ backtrace;
// an allocation failure is RESOURCE_EXHAUSTED with the settings that lower memory.
absl::Status TorchExceptionToStatus(const std::exception& e, const std::string& context);
struct GrpoBatchPlan;  // trainer.cc: the batch flattened into sequences and mini-batches

// Per-rank bytes by component (seamless_learner_memory_bytes{component}).
struct LearnerMemory {
  int64_t weights = 0, gradients = 0, optimizer = 0, activations = 0, buffers = 0;
};

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

  ~GrpoTrainer();

  absl::StatusOr<StepOutcome> Step(const RolloutBatch& batch);

  // Makes every rank hold rank 0's weights, optimizer state and counters.
  absl::Status SyncFromRank0();

  // Consolidated weights and AdamW state under Hugging Face names, whatever the sharding.
  // Every rank must call these together (sharded ranks gather); rank 0's result is complete.
  absl::StatusOr<RawTensorMap> ExportWeights(DType dtype);
  absl::StatusOr<RawTensorMap> ExportOptimizerState();
  // The same, streamed one tensor at a time (tensor_cursor.h): every rank must drain them
  // together under full sharding.
  std::unique_ptr<TensorCursor> OpenWeights();
  std::unique_ptr<TensorCursor> OpenOptimizerState();
  // Whether reading weights takes every rank (full sharding gathers).
  bool exports_need_all_ranks() const { return sharding_ == Sharding::kFull; }
  // Loads consolidated state written by a learner of any world size and sharding.
  absl::Status ImportState(const TensorProvider& weights, const TensorProvider& optimizer,
                           int64_t optimizer_step);
  int64_t optimizer_step() const;

  Sharding sharding() const { return sharding_; }
  LearnerMemory memory() const;

  // The plain path's model and optimizer (sharding none without checkpointing): under other
  // settings the module's parameters may be empty views, use the calls above.
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

  using Plan = GrpoBatchPlan;
  struct MiniBatchSums;
  absl::StatusOr<std::vector<at::Tensor>> BehaviourLogProbs(const Plan& plan, double* diff_sum,
                                                            double* diff_tokens);
  absl::StatusOr<TokenLogProbs> Forward(const PackedSequences& packed, bool with_entropy);
  absl::Status ForwardBackward(const Plan& plan, size_t minibatch,
                               const std::vector<at::Tensor>& old_logp,
                               std::pair<double, double>* diff, MiniBatchSums* sums);
  // The loss's per-token inputs for micro-batch [first, second) of `plan`.
  PolicyLossInputs LossInputs(const Plan& plan, std::pair<int64_t, int64_t> micro,
                              const PackedSequences& packed, const TokenLogProbs& tl,
                              const std::vector<at::Tensor>& old_logp, int64_t global_tokens,
                              int64_t global_seqs);
  // All-reduce, norm, clip and AdamW; false when the update was skipped.
  absl::StatusOr<bool> Update(size_t minibatch, const MiniBatchSums& sums, int64_t global_tokens,
                              double* norm, double* lr);
  void ZeroGradients();
  // What a step reports (verl's names), from its sums.
  struct StepTotals {
    std::vector<double> sums;
    double pg_loss_sum, grad_norm_sum, last_lr;
    int64_t finite_updates;
    std::vector<double> diff;  // |rollout - learner| log-prob sum, tokens
    double old_logprob_s;      // < 0: not recomputed
    double elapsed_s;
  };
  void FillStepMetrics(const Plan& plan, const StepTotals& t, StepOutcome* out) const;
  std::vector<std::pair<int64_t, int64_t>> MicroBatches(const Plan& plan, int64_t lo,
                                                        int64_t hi) const;
  bool unit_path() const { return params_ != nullptr; }
  // Micro-batches by token budget on the unit path are packed into one row (no padding).
  bool packs() const { return unit_path() && config_.max_tokens_per_micro_batch > 0; }
  PackedSequences Pack(const std::vector<const RolloutSequence*>& seqs) const;

  MimoModel model_;
  MimoModel reference_{nullptr};  // frozen initial policy, only when kl_coef > 0
  TrainerConfig config_;
  Collective* collective_;
  LossAggMode agg_mode_;
  std::unique_ptr<AdamW> optimizer_;   // plain path
  std::vector<at::Tensor> trainable_;  // plain path
  Sharding sharding_ = Sharding::kNone;
  at::ScalarType compute_dtype_ = at::kFloat;
  std::unique_ptr<ShardedParameters> params_;  // unit path
  std::unique_ptr<UnitForward> unit_forward_;  // unit path
  int64_t step_ = 0;
  int64_t policy_version_ = 0;
  int64_t skipped_total_ = 0;
  std::function<void(const std::vector<at::Tensor>&)> gradient_hook_;
};

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_TRAINER_H_
