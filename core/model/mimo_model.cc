#include "core/model/mimo_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>
#include <torch/nn/init.h>

#include <limits>

#include "core/model/row_linear.h"

namespace seamless {

MimoBackboneImpl::MimoBackboneImpl(const ModelConfig& c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(DecoderLayer(c, i));
  norm = register_module("norm", RmsNorm(c.hidden_size, c.rms_norm_eps));
  mtp_layers = register_module("mtp_layers", torch::nn::ModuleList());
  for (int64_t k = 0; k < c.num_nextn_predict_layers; ++k) {
    mtp_layers->push_back(MtpLayer(c, c.num_hidden_layers + k));
  }
}

MimoModelImpl::MimoModelImpl(const ModelConfig& config) : config_(config) {
  model = register_module("model", MimoBackbone(config));
  if (!config.tie_word_embeddings) {
    lm_head = register_module(
        "lm_head",
        torch::nn::Linear(
            torch::nn::LinearOptions(config.hidden_size, config.vocab_size).bias(false)));
  }
  // RoPE tables in float64, then rounded once, so long positions stay accurate.
  const int64_t dim = config.head_dim();
  const int64_t positions = config.max_position_embeddings + config.num_nextn_predict_layers;
  at::Tensor inv_freq =
      1.0 / at::pow(config.rope_theta, at::arange(0, dim, 2, at::kDouble) / double(dim));
  at::Tensor angles = at::outer(at::arange(positions, at::kDouble), inv_freq);
  at::Tensor full = at::cat({angles, angles}, -1);
  rope_cos_ = full.cos().to(at::kFloat);
  rope_sin_ = full.sin().to(at::kFloat);
}

void MimoModelImpl::InitializeWeights(uint64_t seed, double stddev) {
  at::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& item : named_parameters()) {
    at::Tensor& p = item.value();
    const std::string& name = item.key();
    at::Tensor init;
    if (name.find("norm") != std::string::npos) {
      init = at::ones_like(p, at::TensorOptions().device(at::kCPU));
    } else if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) {
      init = at::zeros_like(p, at::TensorOptions().device(at::kCPU));
    } else {
      init = at::normal(0.0, stddev, p.sizes(), gen, at::TensorOptions().dtype(p.dtype()));
    }
    p.copy_(init);
  }
}

void MimoModelImpl::PackFusedProjections() {
  for (const auto& module : modules()) {
    if (auto* attention = module->as<AttentionImpl>()) attention->PackProjections();
    if (auto* mlp = module->as<MlpImpl>()) mlp->PackProjections();
  }
}

void MimoModelImpl::FillRope(AttentionContext& ctx, const at::Device& device) {
  if (rope_cos_.device() != device) {
    rope_cos_ = rope_cos_.to(device);
    rope_sin_ = rope_sin_.to(device);
  }
  const int64_t batch = ctx.positions.size(0), len = ctx.positions.size(1);
  at::Tensor flat = ctx.positions.reshape({-1});
  TORCH_CHECK(flat.numel() == 0 || flat.max().item<int64_t>() < rope_cos_.size(0), "position ",
              flat.numel() ? flat.max().item<int64_t>() : 0, " is past max_position_embeddings ",
              config_.max_position_embeddings);
  ctx.cos = rope_cos_.index_select(0, flat).view({batch, 1, len, -1});
  ctx.sin = rope_sin_.index_select(0, flat).view({batch, 1, len, -1});
}

AttentionContext MimoModelImpl::FullContext(const at::Tensor& input_ids) {
  AttentionContext ctx =
      AttentionContext::Full(input_ids.size(0), input_ids.size(1), 0, input_ids.device());
  FillRope(ctx, input_ids.device());
  return ctx;
}

AttentionContext MimoModelImpl::PackedContext(const std::vector<int64_t>& lengths,
                                              const at::Device& device) {
  int64_t total = 0;
  for (int64_t n : lengths) total += n;
  AttentionContext ctx = AttentionContext::Full(1, total, 0, device);
  std::vector<int64_t> positions, segment;
  for (size_t s = 0; s < lengths.size(); ++s) {
    for (int64_t t = 0; t < lengths[s]; ++t) {
      positions.push_back(t);
      segment.push_back(int64_t(s));
    }
  }
  auto i64 = at::TensorOptions().dtype(at::kLong);
  ctx.positions = at::tensor(positions, i64).to(device).view({1, total});
  at::Tensor seg = at::tensor(segment, i64).to(device);
  at::Tensor other = seg.view({-1, 1}) != seg.view({1, -1});  // [query, key]
  ctx.mask = ctx.mask.view({total, total})
                 .masked_fill(other, -std::numeric_limits<float>::infinity())
                 .view({1, 1, 1, total, total});
  FillRope(ctx, device);
  return ctx;
}

at::Tensor MimoModelImpl::Hidden(const at::Tensor& input_ids) {
  AttentionContext ctx = FullContext(input_ids);
  at::Tensor x = model->embed_tokens(input_ids);
  for (auto& layer : *model->layers) x = layer->as<DecoderLayer>()->forward(x, ctx);
  return model->norm(x);
}

at::Tensor MimoModelImpl::Logits(const at::Tensor& hidden) {
  // InferenceLinear: at::linear, or at decode time a pass at memory speed (row_linear.h).
  return InferenceLinear(hidden, lm_head ? lm_head->weight : model->embed_tokens->weight);
}

at::Tensor MimoModelImpl::RunMtp(int64_t k, const at::Tensor& hidden, const at::Tensor& next_ids,
                                 AttentionContext& ctx) {
  TORCH_CHECK(k >= 0 && k < config_.num_nextn_predict_layers, "no MTP layer ", k);
  FillRope(ctx, hidden.device());
  return model->mtp_layers[k]->as<MtpLayer>()->forward(hidden, model->embed_tokens(next_ids), ctx);
}

at::Tensor MimoModelImpl::MtpHidden(int64_t k, const at::Tensor& hidden,
                                    const at::Tensor& input_ids) {
  const int64_t len = input_ids.size(1) - 1;
  TORCH_CHECK(len >= 1, "MTP needs at least two tokens");
  AttentionContext ctx = AttentionContext::Full(input_ids.size(0), len, 1, input_ids.device());
  return RunMtp(k, hidden.narrow(1, 0, len), input_ids.narrow(1, 1, len), ctx);
}

at::Tensor MimoModelImpl::HiddenIncremental(const at::Tensor& input_ids, KvCache& cache,
                                            const std::vector<int64_t>& slots) {
  const int64_t len = input_ids.size(1);
  AttentionContext ctx =
      AttentionContext::Incremental(&cache, 0, slots, len, 0, input_ids.device());
  TORCH_CHECK(ctx.kv_len <= cache.max_len(), "KV cache overflow: ", ctx.kv_len, " > ",
              cache.max_len());
  FillRope(ctx, input_ids.device());
  at::Tensor x = model->embed_tokens(input_ids);
  for (auto& layer : *model->layers) x = layer->as<DecoderLayer>()->forward(x, ctx);
  for (size_t b = 0; b < slots.size(); ++b) cache.set_length(0, slots[b], ctx.start[b] + len);
  return model->norm(x);
}

at::Tensor MimoModelImpl::MtpHiddenIncremental(int64_t k, const at::Tensor& hidden,
                                               const at::Tensor& next_ids, KvCache& cache,
                                               const std::vector<int64_t>& slots) {
  const int64_t len = next_ids.size(1);
  const int group = static_cast<int>(1 + k);
  AttentionContext ctx =
      AttentionContext::Incremental(&cache, group, slots, len, 1, next_ids.device());
  TORCH_CHECK(ctx.kv_len <= cache.max_len(), "KV cache overflow in MTP layer ", k);
  at::Tensor out = RunMtp(k, hidden, next_ids, ctx);
  for (size_t b = 0; b < slots.size(); ++b) {
    cache.set_length(group, slots[b], ctx.start[b] + len);
  }
  return out;
}

}  // namespace seamless
