#include "core/model/transformer_layers.h"

#include <cmath>
#include <tuple>

#include "core/model/cached_attention.h"
#include "core/model/kv_cache.h"
#include "core/model/row_linear.h"

namespace seamless {
namespace {

torch::nn::Linear MakeLinear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

// Qwen2's rotate-half RoPE: the two halves of each head are the real and imaginary parts.
at::Tensor ApplyRope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  at::Tensor x1 = x.narrow(-1, 0, half);
  at::Tensor x2 = x.narrow(-1, half, half);
  return x * cos + at::cat({-x2, x1}, -1) * sin;
}

thread_local int training_numerics_depth = 0;

}  // namespace

TrainingNumericsScope::TrainingNumericsScope() { ++training_numerics_depth; }
TrainingNumericsScope::~TrainingNumericsScope() { --training_numerics_depth; }
bool TrainingNumericsScope::active() { return training_numerics_depth > 0; }

namespace {

// `parts` as one tensor without a copy, when they lie end to end in one storage (same dtype,
// contiguous, same trailing sizes); undefined otherwise.
at::Tensor EndToEndView(const std::vector<at::Tensor>& parts) {
  const at::Tensor& first = parts.front();
  if (!first.defined()) return {};
  int64_t rows = 0;
  const char* next = static_cast<const char*>(first.data_ptr());
  for (const at::Tensor& p : parts) {
    if (!p.defined() || !p.is_contiguous() || p.dim() == 0 ||
        p.scalar_type() != first.scalar_type() || !p.storage().is_alias_of(first.storage()) ||
        p.data_ptr() != next || !p.sizes().slice(1).equals(first.sizes().slice(1))) {
      return {};
    }
    rows += p.size(0);
    next += p.nbytes();
  }
  std::vector<int64_t> sizes = first.sizes().vec();
  sizes[0] = rows;
  return first.detach().as_strided(sizes, first.strides(), first.storage_offset());
}

}  // namespace

at::Tensor FusedParameters::Get(const std::vector<at::Tensor>& parts) {
  if (TrainingNumerics()) return at::cat(parts);
  std::vector<std::pair<const void*, uint32_t>> key;
  key.reserve(parts.size());
  for (const at::Tensor& p : parts) key.emplace_back(p.data_ptr(), p._version());
  if (!fused_.defined() || key != key_) {
    // Checked when a part changes, not on every decode step.
    at::Tensor view = EndToEndView(parts);
    fused_ = view.defined() ? std::move(view) : at::cat(parts);
    key_ = std::move(key);
  }
  return fused_;
}

void FusedParameters::PackEndToEnd(const std::vector<at::Tensor>& parts) {
  for (const at::Tensor& p : parts) {
    if (!p.defined()) return;
  }
  if (parts.empty() || EndToEndView(parts).defined()) return;
  at::NoGradGuard no_grad;
  const at::Tensor whole = at::cat(parts);
  int64_t row = 0;
  for (const at::Tensor& part : parts) {  // set_data changes the parameter itself
    const int64_t rows = part.size(0);
    part.set_data(whole.narrow(0, row, rows));
    row += rows;
  }
}

RmsNormImpl::RmsNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", at::ones({dim}));
}

at::Tensor RmsNormImpl::forward(const at::Tensor& x) {
  if (!TrainingNumerics() && x.device().is_cpu() && x.scalar_type() == at::kFloat &&
      weight.scalar_type() == at::kFloat) {
    // Inference on CPUs: one pass instead of five tensor ops (decode is op-overhead bound).
    const at::Tensor in = x.contiguous(), w = weight.contiguous();
    at::Tensor out = at::empty_like(in);
    const int64_t dim = in.size(-1), rows = dim == 0 ? 0 : in.numel() / dim;
    const float* xp = in.data_ptr<float>();
    const float* wp = w.data_ptr<float>();
    float* op = out.data_ptr<float>();
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = xp + r * dim;
      float sum = 0;
      for (int64_t d = 0; d < dim; ++d) sum += xr[d] * xr[d];
      const float inv = 1.0f / std::sqrt(sum / dim + static_cast<float>(eps_));
      for (int64_t d = 0; d < dim; ++d) op[r * dim + d] = xr[d] * inv * wp[d];
    }
    return out;
  }
  at::Tensor variance = x.pow(2).mean(-1, /*keepdim=*/true);
  return x * at::rsqrt(variance + eps_) * weight;
}

// q [B, heads, T, d] against k, v [B, kv_heads, S, d] with an additive mask broadcastable to
// [B, 1, 1, T, S]; returns [B, heads, T, d].
at::Tensor AttentionImpl::Attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                 const at::Tensor& mask) const {
  const int64_t batch = q.size(0), len = q.size(2), keys = k.size(2), group = heads_ / kv_heads_;
  at::Tensor qg = q.reshape({batch, kv_heads_, group * len, head_dim_});
  at::Tensor scores = at::matmul(qg, k.transpose(-1, -2));
  scores.view({batch, kv_heads_, group, len, keys}).add_(mask);
  at::Tensor probs = at::softmax(scores, -1);
  return at::matmul(probs, v).view({batch, heads_, len, head_dim_});
}

AttentionImpl::AttentionImpl(const ModelConfig& c, int64_t cache_layer)
    : heads_(c.num_attention_heads),
      kv_heads_(c.num_key_value_heads),
      head_dim_(c.head_dim()),
      cache_layer_(cache_layer) {
  q_proj = register_module("q_proj", MakeLinear(c.hidden_size, heads_ * head_dim_, true));
  k_proj = register_module("k_proj", MakeLinear(c.hidden_size, kv_heads_ * head_dim_, true));
  v_proj = register_module("v_proj", MakeLinear(c.hidden_size, kv_heads_ * head_dim_, true));
  o_proj = register_module("o_proj", MakeLinear(heads_ * head_dim_, c.hidden_size, false));
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, AttentionContext& ctx) {
  const int64_t batch = x.size(0), len = x.size(1);
  // One GEMM for q, k and v: concatenating the (small) weights per call is cheaper than
  // three passes over the activations, and autograd flows through the cat.
  const int64_t q_width = heads_ * head_dim_, kv_width = kv_heads_ * head_dim_;
  at::Tensor qkv =
      InferenceLinear(x, qkv_weight_.Get({q_proj->weight, k_proj->weight, v_proj->weight}),
                      qkv_bias_.Get({q_proj->bias, k_proj->bias, v_proj->bias}));
  if (ctx.cache != nullptr && len <= kCachedAttentionMaxQueries && x.device().is_cpu() &&
      !TrainingNumerics() && x.scalar_type() == at::kFloat) {
    // Decode and MTP verification on CPUs: see cached_attention.h.
    return InferenceLinear(CachedAttentionStep(qkv, ctx, cache_layer_, heads_, kv_heads_),
                           o_proj->weight);
  }
  at::Tensor q = qkv.narrow(-1, 0, q_width).view({batch, len, heads_, head_dim_}).transpose(1, 2);
  at::Tensor k =
      qkv.narrow(-1, q_width, kv_width).view({batch, len, kv_heads_, head_dim_}).transpose(1, 2);
  at::Tensor v = qkv.narrow(-1, q_width + kv_width, kv_width)
                     .view({batch, len, kv_heads_, head_dim_})
                     .transpose(1, 2);
  q = ApplyRope(q, ctx.cos, ctx.sin);
  k = ApplyRope(k, ctx.cos, ctx.sin);

  if (ctx.cache != nullptr) std::tie(k, v) = ctx.AppendAndRead(cache_layer_, k, v);
  // GQA without copying keys: fold the query heads of a group into the row dimension.
  // Scaling q (T x d) is cheaper than scaling the scores (T x S).
  q = q * (1.0 / std::sqrt(double(head_dim_)));
  at::Tensor out;
  if (ctx.cache == nullptr && len > kQueryBlock) {
    // Causal attention in tiles of (kBatchTile rows x kQueryBlock queries): a tile needs
    // keys [0, end of its block) only, which skips the masked upper triangle (~40% of the
    // work at 4 blocks), and its scores stay small enough for the cache.
    std::vector<at::Tensor> rows;
    for (int64_t b0 = 0; b0 < batch; b0 += kBatchTile) {
      const int64_t nb = std::min(kBatchTile, batch - b0);
      std::vector<at::Tensor> blocks;
      for (int64_t s = 0; s < len; s += kQueryBlock) {
        const int64_t e = std::min(len, s + kQueryBlock);
        blocks.push_back(Attend(
            q.narrow(0, b0, nb).narrow(2, s, e - s), k.narrow(0, b0, nb).narrow(2, 0, e),
            v.narrow(0, b0, nb).narrow(2, 0, e), ctx.Mask().narrow(3, s, e - s).narrow(4, 0, e)));
      }
      rows.push_back(at::cat(blocks, 2));
    }
    out = rows.size() == 1 ? rows[0] : at::cat(rows, 0);
  } else {
    out = Attend(q, k, v, ctx.Mask());
  }
  out = out.transpose(1, 2).reshape({batch, len, heads_ * head_dim_});
  return InferenceLinear(out, o_proj->weight);
}

void AttentionImpl::PackProjections() {
  FusedParameters::PackEndToEnd({q_proj->weight, k_proj->weight, v_proj->weight});
  FusedParameters::PackEndToEnd({q_proj->bias, k_proj->bias, v_proj->bias});
}

MlpImpl::MlpImpl(const ModelConfig& c) {
  gate_proj = register_module("gate_proj", MakeLinear(c.hidden_size, c.intermediate_size, false));
  up_proj = register_module("up_proj", MakeLinear(c.hidden_size, c.intermediate_size, false));
  down_proj = register_module("down_proj", MakeLinear(c.intermediate_size, c.hidden_size, false));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) {
  // gate and up in one GEMM (see AttentionImpl::forward).
  at::Tensor gate_up =
      InferenceLinear(x, gate_up_weight_.Get({gate_proj->weight, up_proj->weight}));
  const int64_t width = gate_proj->weight.size(0);
  at::Tensor gate = gate_up.narrow(-1, 0, width), up = gate_up.narrow(-1, width, width);
  if (TrainingNumerics()) return down_proj(at::silu(gate) * up);
  // Inference: no temporaries; down_proj reads the strided half in place (lda = 2 * width).
  return InferenceLinear(at::silu_(gate).mul_(up), down_proj->weight);
}

void MlpImpl::PackProjections() {
  FusedParameters::PackEndToEnd({gate_proj->weight, up_proj->weight});
}

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c, int64_t cache_layer) {
  input_layernorm = register_module("input_layernorm", RmsNorm(c.hidden_size, c.rms_norm_eps));
  self_attn = register_module("self_attn", Attention(c, cache_layer));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RmsNorm(c.hidden_size, c.rms_norm_eps));
  mlp = register_module("mlp", Mlp(c));
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& x, AttentionContext& ctx) {
  at::Tensor h = x + self_attn(input_layernorm(x), ctx);
  return h + mlp(post_attention_layernorm(h));
}

MtpLayerImpl::MtpLayerImpl(const ModelConfig& c, int64_t cache_layer) {
  const int64_t h = c.hidden_size;
  const double eps = c.rms_norm_eps;
  input_layernorm = register_module("input_layernorm", RmsNorm(h, eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RmsNorm(h, eps));
  token_layernorm = register_module("token_layernorm", RmsNorm(h, eps));
  hidden_layernorm = register_module("hidden_layernorm", RmsNorm(h, eps));
  input_proj = register_module("input_proj", MakeLinear(2 * h, h, false));
  final_layernorm = register_module("final_layernorm", RmsNorm(h, eps));
  self_attn = register_module("self_attn", Attention(c, cache_layer));
  mlp = register_module("mlp", Mlp(c));
}

at::Tensor MtpLayerImpl::forward(const at::Tensor& hidden, const at::Tensor& next_embeds,
                                 AttentionContext& ctx) {
  at::Tensor x = input_proj(at::cat({hidden_layernorm(hidden), token_layernorm(next_embeds)}, -1));
  x = x + self_attn(input_layernorm(x), ctx);
  x = x + mlp(post_attention_layernorm(x));
  return final_layernorm(x);
}

}  // namespace seamless
