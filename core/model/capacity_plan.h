// How much GPU memory a model needs per rank, by component, for the learner (ZeRO-style
// sharding over its data-parallel ranks) and for a rollout worker (weights plus the KV cache
// that fits in what is left). Used by `seamless plan` and by the learner to refuse a model
// that cannot fit before loading it. Plain arithmetic on a ModelConfig: no LibTorch.
//
// NOTE [Learner memory accounting] — what the learner allocates per rank, with R ranks:
//   master weights fp32 4 B/param, gradients fp32 4 B/param, AdamW m and v 8 B/param.
//   sharding optimizer: optimizer state / R; gradients: + gradients / R; full: + weights / R.
//   precision bf16 adds a bf16 compute copy (2 B/param) unless sharding is full, where only
//   the all-gathered unit exists in bf16.
//   buffers: the largest all-gathered unit (one decoder layer, or the embedding matrix, which
//   is gathered for the input embedding and the tied LM head) in the gathered dtype, times 2
//   for prefetch; none when nothing is sharded.
//   activations, per-layer checkpointing: the saved layer inputs (tokens x hidden x layers),
//   one layer's full activations while it is recomputed (attention probabilities included),
//   or, without checkpointing (SFT), every trained layer's full activations at once; and the
//   logits of the response tokens in fp32 (tokens x vocab x 4 B x 3: logits,
//   log_softmax, their gradient).
// Frozen parameters (the MTP layers in RL) have weights but no gradients or optimizer state.
#ifndef SEAMLESS_CORE_MODEL_CAPACITY_PLAN_H_
#define SEAMLESS_CORE_MODEL_CAPACITY_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/config_enum.h"
#include "core/model/model_config.h"

namespace seamless {

enum class Sharding { kNone, kOptimizer, kGradients, kFull };
enum class Precision { kFp32, kBf16 };
// Their config spellings (learner.trainer.sharding, learner.trainer.precision).
inline ConfigEnumTable<Sharding> ConfigEnumNames(Sharding) {
  static constexpr ConfigEnumName<Sharding> kNames[] = {{Sharding::kNone, "none"},
                                                        {Sharding::kOptimizer, "optimizer"},
                                                        {Sharding::kGradients, "gradients"},
                                                        {Sharding::kFull, "full"}};
  return kNames;
}
inline ConfigEnumTable<Precision> ConfigEnumNames(Precision) {
  static constexpr ConfigEnumName<Precision> kNames[] = {{Precision::kFp32, "fp32"},
                                                         {Precision::kBf16, "bf16"}};
  return kNames;
}

absl::StatusOr<Sharding> ParseSharding(absl::string_view name);  // none|optimizer|gradients|full
std::string ShardingName(Sharding sharding);
absl::StatusOr<Precision> ParsePrecision(absl::string_view name);  // fp32|bf16
std::string PrecisionName(Precision precision);
// "141GiB", "80GB", "512MiB", "2.5TiB", "1000000" (bytes). GiB/MiB/KiB are powers of two,
// GB/MB/KB powers of ten; G/M/K alone mean GiB/MiB/KiB.
absl::StatusOr<uint64_t> ParseByteSize(absl::string_view text);

inline constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// One component of a plan: its bytes per rank and the arithmetic that gives them.
struct MemoryItem {
  std::string name;  // "weights", "gradients", ...
  uint64_t bytes = 0;
  std::string why;  // "494,032,768 params x 4 B (fp32 master) / 8 ranks"
};

struct LearnerPlanOptions {
  int64_t ranks = 1;  // data-parallel learner ranks the state is sharded over
  Sharding sharding = Sharding::kNone;
  Precision precision = Precision::kFp32;  // compute dtype of forward and backward
  // Tokens (prompt + response) in one forward/backward on one rank.
  int64_t tokens_per_micro_batch = 8192;
  // Tokens whose logits are computed (the responses); -1: all of tokens_per_micro_batch.
  int64_t logit_tokens_per_micro_batch = -1;
  // Longest sequence (keys per query in attention); 0: min(tokens, max_position_embeddings).
  int64_t seq_len = 0;
  bool freeze_mtp = true;  // TrainerConfig::freeze_mtp: MTP layers get no grads or optimizer
  // Per-layer activation checkpointing; false (SftTrainer) keeps every layer's activations.
  bool activation_checkpointing = true;
  // What a learner process holds besides its tensors: LibTorch, Gloo or NCCL, allocator slack
  // (measured 0.71-0.75 GiB on CPU at 0.5B, bench learner-memory; a GPU adds its CUDA context).
  uint64_t runtime_overhead_bytes = uint64_t(0.75 * (1ull << 30));
};

struct LearnerMemoryPlan {
  int64_t parameters = 0;            // all of them (ModelConfig::ParameterCount)
  int64_t trainable_parameters = 0;  // with gradients and optimizer state
  // Bytes per rank.
  uint64_t weights = 0;          // fp32 master weights
  uint64_t compute_weights = 0;  // the bf16 compute copy (bf16 without full sharding)
  uint64_t gradients = 0;
  uint64_t optimizer = 0;
  uint64_t buffers = 0;           // all-gather / prefetch buffers
  uint64_t activations = 0;       // saved inputs + recomputed layer + logits
  uint64_t runtime = 0;           // the process's own (LearnerPlanOptions::runtime_overhead_bytes)
  std::vector<MemoryItem> items;  // the same figures with their arithmetic, in that order

  uint64_t total() const {
    return weights + compute_weights + gradients + optimizer + buffers + activations + runtime;
  }
};

// See NOTE [Learner memory accounting]. Options out of range (ranks < 1, ...) are clamped
// to the nearest valid value.
LearnerMemoryPlan EstimateLearnerMemory(const ModelConfig& config,
                                        const LearnerPlanOptions& options);

// OK when EstimateLearnerMemory fits in `gpu_memory_bytes`; otherwise ResourceExhausted with
// the numbers and what would fit ("needs 160.3 GiB per rank, 141.0 GiB available; try
// --sharding full (54.1 GiB per rank) or more ranks"). `what` names the model in the message.
absl::Status CheckLearnerFits(const ModelConfig& config, const LearnerPlanOptions& options,
                              uint64_t gpu_memory_bytes, const std::string& what);

struct RolloutPlanOptions {
  int64_t weight_bytes = 2;  // serving dtype of the weights (bf16)
  int64_t kv_bytes = 2;      // dtype of the KV cache (bf16)
  // CUDA context, cuBLAS workspace, allocator slack, the logits and sampling scratch of a
  // decode batch: measured-order figure, not derived.
  uint64_t runtime_overhead_bytes = 2ull << 30;
  // Longest sequence a worker must hold at least once; 0: max_position_embeddings.
  int64_t seq_len = 0;
};

struct RolloutMemoryPlan {
  int64_t parameters = 0;
  uint64_t weights = 0;
  uint64_t runtime_overhead = 0;
  uint64_t kv_bytes_per_token = 0;  // 2 x (layers + MTP layers) x kv_heads x head_dim x bytes
  uint64_t kv_cache = 0;            // what is left for it (0 when nothing is)
  int64_t kv_tokens = 0;            // tokens of KV cache that fit
  int64_t seq_len = 0;
  bool fits = false;  // at least one seq_len sequence fits
  std::vector<MemoryItem> items;
};

RolloutMemoryPlan EstimateRolloutMemory(const ModelConfig& config,
                                        const RolloutPlanOptions& options,
                                        uint64_t gpu_memory_bytes);

// Trainable parameters under `freeze_mtp`.
int64_t TrainableParameters(const ModelConfig& config, bool freeze_mtp);

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_CAPACITY_PLAN_H_
