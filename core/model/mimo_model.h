// The MiMo causal LM: a Qwen2 decoder (GQA, RoPE, RMSNorm, SwiGLU, q/k/v bias) plus
// `num_nextn_predict_layers` MTP layers, laid out as Hugging Face's MiMoForCausalLM so that
// named_parameters() are the safetensors keys:
//   model.embed_tokens.weight, model.layers.N.*, model.norm.weight, model.mtp_layers.N.*,
//   lm_head.weight (untied heads only).
//
// Two ways to run it give the same logits (tested to 1e-5 in fp32):
//   - full sequence: Hidden(ids) for training and scoring;
//   - incremental: HiddenIncremental(new_ids, cache, slots) appends to a KvCache.
//
// MTP alignment: MTP row i pairs the main model's final hidden state at position i with the
// embedding of token i+1, sits at RoPE position i+1, and predicts token i+2. Its KV cache
// group therefore always holds one entry fewer than the main group.
#ifndef SEAMLESS_CORE_MODEL_MIMO_MODEL_H_
#define SEAMLESS_CORE_MODEL_MIMO_MODEL_H_

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "core/model/kv_cache.h"
#include "core/model/model_config.h"
#include "core/model/transformer_layers.h"

namespace seamless {

// The "model." part of the checkpoint.
class MimoBackboneImpl : public torch::nn::Module {
 public:
  explicit MimoBackboneImpl(const ModelConfig& config);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RmsNorm norm{nullptr};
  torch::nn::ModuleList mtp_layers{nullptr};
};
TORCH_MODULE(MimoBackbone);

class MimoModelImpl : public torch::nn::Module {
 public:
  explicit MimoModelImpl(const ModelConfig& config);

  const ModelConfig& config() const { return config_; }

  // HF's initialisation: normal(0, 0.02) matrices, zero biases, unit norms; deterministic.
  void InitializeWeights(uint64_t seed, double stddev = 0.02);
  // Lays each layer's q|k|v and gate|up projections end to end, so inference multiplies by
  // them fused without keeping a concatenated copy (FusedParameters). For models that only
  // run inference: it replaces those parameters' storage. Idempotent.
  void PackFusedProjections();

  // Final hidden states (after model.norm) of a causal pass over int64 ids [B, T].
  at::Tensor Hidden(const at::Tensor& input_ids);
  // The context of a full causal pass over ids [B, T] (RoPE filled in): what Hidden builds,
  // for callers that run the layers one at a time (the learner's checkpointed units).
  AttentionContext FullContext(const at::Tensor& input_ids);
  // The context of one row holding several sequences end to end, `lengths` tokens each:
  // RoPE positions restart at each sequence, and a token sees only the earlier tokens of its
  // own sequence. Packing micro-batches so, padding costs no FLOPs.
  AttentionContext PackedContext(const std::vector<int64_t>& lengths, const at::Device& device);
  // LM head: hidden [..., H] -> logits [..., V].
  at::Tensor Logits(const at::Tensor& hidden);
  // MTP layer k over a whole sequence: [B, T-1, H] hidden states predicting tokens 2..T.
  at::Tensor MtpHidden(int64_t k, const at::Tensor& hidden, const at::Tensor& input_ids);

  // Appends ids [B, T] to `slots` of `cache` (group 0) and returns their hidden states.
  at::Tensor HiddenIncremental(const at::Tensor& input_ids, KvCache& cache,
                               const std::vector<int64_t>& slots);
  // Appends MTP rows for main hidden states [B, T, H] paired with the following ids [B, T]
  // to `slots` of `cache` (group 1 + k); returns the MTP hidden states.
  at::Tensor MtpHiddenIncremental(int64_t k, const at::Tensor& hidden, const at::Tensor& next_ids,
                                  KvCache& cache, const std::vector<int64_t>& slots);

  MimoBackbone model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // null when tie_word_embeddings

 private:
  void FillRope(AttentionContext& ctx, const at::Device& device);
  at::Tensor RunMtp(int64_t k, const at::Tensor& hidden, const at::Tensor& next_ids,
                    AttentionContext& ctx);

  ModelConfig config_;
  at::Tensor rope_cos_, rope_sin_;  // [max_position + MTP layers, head_dim]
};
TORCH_MODULE(MimoModel);

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_MIMO_MODEL_H_
