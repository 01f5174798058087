// Every knob of the learner, as config structs (core/base/config.h): loaded from YAML/JSON,
// written into each checkpoint as a snapshot, listed by `seamless learner --help`.
// Defaults reproduce DAPO/MiMo-style GRPO (docs/DESIGN.md §2).
#ifndef SEAMLESS_LEARNER_LEARNER_CONFIG_H_
#define SEAMLESS_LEARNER_LEARNER_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "core/base/config_enum.h"
#include "core/model/capacity_plan.h"  // Sharding, Precision

namespace seamless {

// How per-token losses are aggregated over a mini-batch (learner/grpo_loss.h).
enum class LossAggMode { kTokenMean, kSeqMeanTokenSum, kSeqMeanTokenMean };
inline ConfigEnumTable<LossAggMode> ConfigEnumNames(LossAggMode) {
  static constexpr ConfigEnumName<LossAggMode> kNames[] = {
      {LossAggMode::kTokenMean, "token-mean"},
      {LossAggMode::kSeqMeanTokenSum, "seq-mean-token-sum"},
      {LossAggMode::kSeqMeanTokenMean, "seq-mean-token-mean"}};
  return kNames;
}

// Where the behaviour log-probs of the importance ratio come from.
enum class OldLogprobs {
  kRollout,    // recorded per token by the rollout worker
  kRecompute,  // recomputed by the learner before the first update of a batch
};
inline ConfigEnumTable<OldLogprobs> ConfigEnumNames(OldLogprobs) {
  static constexpr ConfigEnumName<OldLogprobs> kNames[] = {{OldLogprobs::kRollout, "rollout"},
                                                           {OldLogprobs::kRecompute, "recompute"}};
  return kNames;
}

// The learning rate after warm-up.
enum class LrSchedule { kConstant, kCosine };
inline ConfigEnumTable<LrSchedule> ConfigEnumNames(LrSchedule) {
  static constexpr ConfigEnumName<LrSchedule> kNames[] = {{LrSchedule::kConstant, "constant"},
                                                          {LrSchedule::kCosine, "cosine"}};
  return kNames;
}

// dtype of published weights on the wire, spelled as the file dtype it is (core/tensors/dtype.h).
enum class WireDType { kF32, kBF16, kF16 };
inline ConfigEnumTable<WireDType> ConfigEnumNames(WireDType) {
  static constexpr ConfigEnumName<WireDType> kNames[] = {
      {WireDType::kF32, "F32"}, {WireDType::kBF16, "BF16"}, {WireDType::kF16, "F16"}};
  return kNames;
}

struct GrpoConfig {
  // Advantages: (r - mean) / (std + adv_eps), std unbiased (Bessel, as torch.std and verl).
  double adv_eps = 1e-6;
  bool scale_by_std = true;  // false: Dr. GRPO's r - mean
  LossAggMode loss_agg_mode = LossAggMode::kTokenMean;
  double clip_ratio_low = 0.2;
  double clip_ratio_high = 0.28;
  // Dual clip for negative advantages: the per-token loss is at most clip_ratio_c * |A|.
  // 0 disables it. Default 3.0 as verl: it never binds on-policy (ratio near 1) and bounds the
  // damage of a stale sample whose ratio exploded.
  double clip_ratio_c = 3.0;
  double entropy_coeff = 0.0;  // bonus: loss -= entropy_coeff * entropy
  double kl_coef = 0.0;        // KL to the initial policy (k3 estimator); 0 = no reference
  // DAPO overlong shaping: 0 penalty up to max_len - cache, linear to -1 at max_len.
  bool overlong_shaping = false;
  int64_t overlong_max_len = 512;
  int64_t overlong_cache_len = 128;
  double overlong_penalty = 1.0;  // scale of the shaped penalty
  double temperature = 1.0;       // the rollout's sampling temperature: logits are divided by it
  OldLogprobs old_logprobs = OldLogprobs::kRollout;  // behaviour log-probs

  template <typename V>
  void VisitFields(V& v) {
    v("adv_eps", adv_eps, "Epsilon added to the group std in (r - mean) / (std + eps)");
    v("scale_by_std", scale_by_std, "Divide advantages by the group std (false: Dr. GRPO)");
    v("loss_agg_mode", loss_agg_mode,
      "token-mean | seq-mean-token-sum | seq-mean-token-mean (normalised over the mini-batch)");
    v("clip_ratio_low", clip_ratio_low, "PPO clip: ratio >= 1 - clip_ratio_low");
    v("clip_ratio_high", clip_ratio_high, "PPO clip-higher: ratio <= 1 + clip_ratio_high");
    v("clip_ratio_c", clip_ratio_c, "Dual-clip bound for negative advantages (0: off)");
    v("entropy_coeff", entropy_coeff, "Entropy bonus coefficient (0: off)");
    v("kl_coef", kl_coef, "KL penalty to the initial policy, k3 estimator (0: off, no reference)");
    v("overlong_shaping", overlong_shaping, "DAPO soft overlong punishment on rewards");
    v("overlong_max_len", overlong_max_len, "DAPO L_max (response tokens)");
    v("overlong_cache_len", overlong_cache_len, "DAPO L_cache (response tokens)");
    v("overlong_penalty", overlong_penalty, "Scale of the overlong penalty");
    v("temperature", temperature, "Sampling temperature of the rollout (logits / temperature)");
    v("old_logprobs", old_logprobs, "Behaviour log-probs: rollout | recompute");
  }
  absl::Status Validate() const;
};

struct OptimizerConfig {
  double lr = 1e-6;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;  // decoupled (AdamW); matrices only, not biases or norms
  double max_grad_norm = 1.0;  // 0: no clipping
  int64_t warmup_steps = 0;    // linear warm-up from lr/warmup_steps to lr
  LrSchedule schedule = LrSchedule::kConstant;
  int64_t total_steps = 0;    // cosine: updates to decay over
  double min_lr_ratio = 0.0;  // cosine: floor as a fraction of lr

  template <typename V>
  void VisitFields(V& v) {
    v("lr", lr, "Peak learning rate");
    v("beta1", beta1, "Adam beta1");
    v("beta2", beta2, "Adam beta2");
    v("eps", eps, "Adam epsilon");
    v("weight_decay", weight_decay, "Decoupled weight decay on matrices (AdamW)");
    v("max_grad_norm", max_grad_norm, "Clip the global gradient norm to this (0: off)");
    v("warmup_steps", warmup_steps, "Optimizer updates of linear warm-up");
    v("schedule", schedule, "constant | cosine (after warm-up)");
    v("total_steps", total_steps, "Cosine: updates over which the rate decays");
    v("min_lr_ratio", min_lr_ratio, "Cosine: final rate as a fraction of lr");
  }
  absl::Status Validate() const;
};

struct TrainerConfig {
  GrpoConfig grpo;
  OptimizerConfig optim;
  // Prompt groups per optimizer update; 0 = the whole batch is one update.
  int64_t mini_batch_groups = 0;
  // Sequences per forward/backward on one rank (gradient accumulation); 0 = the rank's share
  // of the mini-batch at once.
  int64_t micro_batch_size = 8;
  int64_t epochs = 1;      // passes over the batch (ppo_epochs)
  bool freeze_mtp = true;  // MTP layers are frozen in RL (MiMo)
  uint64_t seed = 0;
  // What each data-parallel rank holds (learner/flat_parameters.h): none | optimizer |
  // gradients | full (ZeRO stages 0-3).
  Sharding sharding = Sharding::kNone;
  // fp32 | bf16: bf16 weights and activations in the forward and backward passes, float32
  // master weights, gradients, AdamW state, log-softmax and loss.
  Precision precision = Precision::kFp32;
  // Keep only each layer's input through the forward pass and recompute the layer in the
  // backward pass. Always on under gradients / full sharding and bf16 (learner/unit_forward.h).
  bool activation_checkpointing = false;
  // Micro-batches by token budget: sequences are taken in order while the micro-batch's
  // padded tokens (sequences x longest) stay within it; 0 uses micro_batch_size alone.
  int64_t max_tokens_per_micro_batch = 0;

  // Groups per mini-batch for a batch of `groups` (the trainer splits every rank's batch so).
  int64_t GroupsPerUpdate(int64_t groups) const {
    return mini_batch_groups > 0 ? mini_batch_groups : groups;
  }
  // Optimizer updates one batch of `groups` makes: mini-batches times epochs.
  int64_t UpdatesPerBatch(int64_t groups) const {
    const int64_t per = GroupsPerUpdate(groups);
    const int64_t minibatches = per > 0 ? (groups + per - 1) / per : 1;
    return minibatches * (epochs > 1 ? epochs : 1);
  }

  template <typename V>
  void VisitFields(V& v) {
    v("grpo", grpo, "The GRPO objective");
    v("optim", optim, "AdamW and the learning-rate schedule");
    v("mini_batch_groups", mini_batch_groups, "Prompt groups per update (0: whole batch)");
    v("micro_batch_size", micro_batch_size, "Sequences per forward/backward per rank (0: all)");
    v("epochs", epochs, "Passes over each batch");
    v("freeze_mtp", freeze_mtp, "Freeze the MTP layers (they are trained in SFT)");
    v("seed", seed, "Seed of the learner's random state");
    v("sharding", sharding,
      "What each rank holds: none | optimizer | gradients | full (ZeRO stages 0-3)");
    v("precision", precision, "fp32 | bf16 compute (master weights and AdamW stay float32)");
    v("activation_checkpointing", activation_checkpointing,
      "Recompute each layer in the backward pass (always on for gradients/full and bf16)");
    v("max_tokens_per_micro_batch", max_tokens_per_micro_batch,
      "Padded tokens per micro-batch (0: micro_batch_size sequences)");
  }
  absl::Status Validate() const;
};

struct LearnerConfig {
  TrainerConfig trainer;
  std::string model = "default";  // HF directory or "default"
  std::string checkpoint_dir;     // empty: no checkpoints
  int64_t checkpoint_every = 0;   // steps between checkpoints (0: only on request)
  int64_t keep_checkpoints = 2;
  bool resume = true;  // resume from checkpoint_dir's latest if present
  WireDType publish_dtype = WireDType::kF32;
  std::string rollout_workers;  // comma-separated HOST:PORT to push weights to
  double collective_timeout_s = 1800;
  std::string device = "cpu";    // cpu, cuda, cuda:N or auto (one GPU per rank)
  std::string backend = "gloo";  // collectives: gloo, or nccl on GPU builds
  std::string run_id;            // TrainStep of another run is refused ("" : any run)

  template <typename V>
  void VisitFields(V& v) {
    v("trainer", trainer, "Optimisation and GRPO");
    v("model", model, "Initial model: a Hugging Face directory or 'default'");
    v("checkpoint_dir", checkpoint_dir, "Where checkpoints go (empty: none)");
    v("checkpoint_every", checkpoint_every, "Steps between checkpoints (0: on request only)");
    v("keep_checkpoints", keep_checkpoints, "Complete checkpoints kept");
    v("resume", resume, "Resume from the latest complete checkpoint in checkpoint_dir");
    v("publish_dtype", publish_dtype, "dtype of published weights: F32 | BF16 | F16");
    v("rollout_workers", rollout_workers, "Comma-separated rollout workers to push weights to");
    v("collective_timeout_s", collective_timeout_s, "Timeout of one c10d collective");
    v("device", device, "cpu, cuda, cuda:N or auto (one GPU per rank)");
    v("backend", backend, "Collective backend: gloo, or nccl on GPU builds");
    v("run_id", run_id, "The run this learner trains: TrainStep of another is refused");
  }
  absl::Status Validate() const;
};

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_LEARNER_CONFIG_H_
