// The building blocks of the Qwen2 / MiMo decoder, as torch modules whose parameter names are
// Hugging Face's (q_proj.weight, input_layernorm.weight, ...), so a state dict maps 1:1 to
// safetensors keys.
#ifndef SEAMLESS_CORE_MODEL_TRANSFORMER_LAYERS_H_
#define SEAMLESS_CORE_MODEL_TRANSFORMER_LAYERS_H_

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "core/model/attention_context.h"
#include "core/model/model_config.h"

namespace seamless {

// While one is alive on this thread, the modules compute exactly as they do under autograd
// even with gradients off: no fused-weight cache (the learner rebinds parameters to gathered
// or updated buffers that a cache keyed on data pointers would not notice) and no inference
// fast paths whose rounding differs. The learner's checkpointed forward needs this, so that
// its recomputation in the backward pass reproduces the forward it replaces.
class TrainingNumericsScope {
 public:
  TrainingNumericsScope();
  ~TrainingNumericsScope();
  TrainingNumericsScope(const TrainingNumericsScope&) = delete;
  TrainingNumericsScope& operator=(const TrainingNumericsScope&) = delete;
  static bool active();
};

// Gradients on, or a TrainingNumericsScope: compute as training does.
inline bool TrainingNumerics() {
  return at::GradMode::is_enabled() || TrainingNumericsScope::active();
}

class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RmsNorm);

// Grouped-query attention with q/k/v bias and rotary embeddings. `cache_layer` is this
// layer's index in the KV cache.
// The concatenation of some parameters, for one fused GEMM. Training concatenates on every
// call (autograd must flow into each part). Inference keeps a view when the parts already lie
// end to end in one storage (PackEndToEnd), else their concatenation, and reuses it until a
// part changes (new data pointer, or an in-place update bumping its version counter).
class FusedParameters {
 public:
  at::Tensor Get(const std::vector<at::Tensor>& parts);

  // Moves `parts` (parameters, same dtype, device and trailing sizes) end to end into one new
  // tensor, each becoming a view of it: Get then costs no copy of them. For models that only
  // run inference (a rollout engine's): the concatenated copy Get keeps otherwise is as large
  // as the parts, 0.9 GiB at 0.5B.
  static void PackEndToEnd(const std::vector<at::Tensor>& parts);

 private:
  at::Tensor fused_;
  std::vector<std::pair<const void*, uint32_t>> key_;
};

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const ModelConfig& config, int64_t cache_layer);
  at::Tensor forward(const at::Tensor& x, AttentionContext& ctx);
  // q, k and v projections end to end (FusedParameters::PackEndToEnd); inference models only.
  void PackProjections();

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

  // Query rows per block in full causal attention.
  static constexpr int64_t kQueryBlock = 64;
  // Sequences per tile in full causal attention.
  static constexpr int64_t kBatchTile = 8;

 private:
  at::Tensor Attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                    const at::Tensor& mask) const;
  int64_t heads_, kv_heads_, head_dim_, cache_layer_;
  FusedParameters qkv_weight_, qkv_bias_;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const ModelConfig& config);
  at::Tensor forward(const at::Tensor& x);
  // gate and up projections end to end (FusedParameters::PackEndToEnd); inference models only.
  void PackProjections();
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};

 private:
  FusedParameters gate_up_weight_;
};
TORCH_MODULE(Mlp);

// Pre-norm block: x + attn(norm(x)), then + mlp(norm(.)).
class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const ModelConfig& config, int64_t cache_layer);
  at::Tensor forward(const at::Tensor& x, AttentionContext& ctx);

  RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(DecoderLayer);

// MiMo's multi-token-prediction layer (docs/DESIGN.md §6):
//   h' = input_proj(cat[hidden_layernorm(h_t), token_layernorm(embed(x_{t+1}))])
//   one decoder block over h', then final_layernorm; the shared LM head reads the result.
class MtpLayerImpl : public torch::nn::Module {
 public:
  MtpLayerImpl(const ModelConfig& config, int64_t cache_layer);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& next_embeds,
                     AttentionContext& ctx);

  RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  RmsNorm token_layernorm{nullptr}, hidden_layernorm{nullptr}, final_layernorm{nullptr};
  torch::nn::Linear input_proj{nullptr};
  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(MtpLayer);

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_TRANSFORMER_LAYERS_H_
