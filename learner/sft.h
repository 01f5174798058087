// Supervised warm start (`seamless sft`): next-token cross-entropy on the response tokens of
// prompt/response pairs, plus MiMo's MTP loss with a weight (0.3 by default; MiMo used 0.3
// then 0.1) so that the MTP layer learns to draft for speculative decoding.
//
// Loss of a batch: (sum over response tokens of CE_main + w * sum over MTP-predictable
// response tokens of CE_mtp) / response tokens of the whole batch — the same global token
// normalisation as GRPO (grpo_loss.h), so micro-batches and ranks give the same update.
#ifndef SEAMLESS_LEARNER_SFT_H_
#define SEAMLESS_LEARNER_SFT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/mimo_model.h"
#include "core/tokenizer/tokenizer.h"
#include "learner/collective.h"
#include "learner/learner_config.h"
#include "learner/optimizer.h"
#include "learner/rollout_batch.h"
#include "learner/trainer.h"

namespace seamless {

struct SftConfig {
  OptimizerConfig optim = [] {
    OptimizerConfig o;
    o.lr = 1e-3;  // the tiny default model learns at this rate; real models want ~1e-5
    o.warmup_steps = 10;
    return o;
  }();
  int64_t batch_size = 16;       // sequences per update (all ranks together)
  int64_t micro_batch_size = 0;  // sequences per forward/backward per rank (0: all)
  int64_t steps = 200;           // optimizer updates
  double mtp_loss_weight = 0.3;
  uint64_t seed = 0;  // data order

  template <typename V>
  void VisitFields(V& v) {
    v("optim", optim, "AdamW and the learning-rate schedule");
    v("batch_size", batch_size, "Sequences per update, all ranks together");
    v("micro_batch_size", micro_batch_size, "Sequences per forward/backward per rank (0: all)");
    v("steps", steps, "Optimizer updates");
    v("mtp_loss_weight", mtp_loss_weight, "Weight of the MTP layers' loss (MiMo: 0.3, then 0.1)");
    v("seed", seed, "Seed of the data order");
  }
  absl::Status Validate() const;  // each key in its range (the optimizer checks its own)
};

// Reads JSONL lines {"prompt": "...", "response": "..."}; the response gets the EOS token.
// Errors name the file and line.
absl::StatusOr<std::vector<RolloutSequence>> LoadSftExamples(const std::string& path,
                                                             const Tokenizer& tokenizer,
                                                             int64_t max_length);

// OK when one rank's share of a batch fits in `available` bytes (MemAvailable; 0: unknown,
// not checked) by the learner's memory plan (core/model/capacity_plan.h: unsharded fp32 state
// plus the activations of one micro-batch of `longest_tokens`-token sequences); otherwise
// RESOURCE_EXHAUSTED with the numbers and the largest micro-batch that fits.
// `seamless sft --batch-size 100000` took 23 GB before this check.
absl::Status CheckSftFits(const ModelConfig& model, const SftConfig& config, int64_t longest_tokens,
                          int world_size, uint64_t available);

class SftTrainer {
 public:
  static absl::StatusOr<std::unique_ptr<SftTrainer>> Create(MimoModel model, SftConfig config,
                                                            Collective* collective,
                                                            std::vector<RolloutSequence> data);

  // One update on the next batch_size examples (a fresh permutation each epoch).
  absl::StatusOr<StepOutcome> Step();

  MimoModel& model() { return model_; }
  AdamW& optimizer() { return *optimizer_; }
  int64_t step() const { return step_; }
  // Examples consumed so far: with the seed, the whole data-order state.
  int64_t consumed() const { return consumed_; }
  void Restore(int64_t step, int64_t consumed) {
    step_ = step;
    consumed_ = consumed;
  }

 private:
  SftTrainer(MimoModel model, SftConfig config, Collective* collective,
             std::vector<RolloutSequence> data);
  const RolloutSequence* Example(int64_t index);  // index-th example in data order

  MimoModel model_;
  SftConfig config_;
  Collective* collective_;
  std::vector<RolloutSequence> data_;
  std::unique_ptr<AdamW> optimizer_;
  std::vector<at::Tensor> trainable_;
  std::vector<int64_t> order_;
  int64_t order_epoch_ = -1;
  int64_t step_ = 0;
  int64_t consumed_ = 0;
};

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_SFT_H_
