#include "core/model/parameter_layout.h"

#include "absl/strings/str_cat.h"

namespace seamless {
namespace {

using Init = ParameterSpec::Init;

// The attention and MLP of one block, under `prefix` ("model.layers.3."), with
// `between` (the post-attention norm of a decoder layer) registered between them.
void AddBlock(const ModelConfig& c, const std::string& prefix, int64_t layer,
              std::vector<ParameterSpec>* out, const char* between = nullptr) {
  const int64_t h = c.hidden_size, q = c.num_attention_heads * c.head_dim(),
                kv = c.num_key_value_heads * c.head_dim(), inter = c.intermediate_size;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, Init init) {
    out->push_back({prefix + name, std::move(shape), init, layer});
  };
  // Registration order of DecoderLayerImpl / AttentionImpl / MlpImpl.
  add("self_attn.q_proj.weight", {q, h}, Init::kNormal);
  add("self_attn.q_proj.bias", {q}, Init::kZeros);
  add("self_attn.k_proj.weight", {kv, h}, Init::kNormal);
  add("self_attn.k_proj.bias", {kv}, Init::kZeros);
  add("self_attn.v_proj.weight", {kv, h}, Init::kNormal);
  add("self_attn.v_proj.bias", {kv}, Init::kZeros);
  add("self_attn.o_proj.weight", {h, q}, Init::kNormal);
  if (between != nullptr) add(between, {h}, Init::kOnes);
  add("mlp.gate_proj.weight", {inter, h}, Init::kNormal);
  add("mlp.up_proj.weight", {inter, h}, Init::kNormal);
  add("mlp.down_proj.weight", {h, inter}, Init::kNormal);
}

int64_t Sum(const std::vector<ParameterSpec>& specs) {
  int64_t n = 0;
  for (const ParameterSpec& p : specs) n += p.NumElements();
  return n;
}

}  // namespace

int64_t ParameterSpec::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<ParameterSpec> ParameterLayout(const ModelConfig& c) {
  const int64_t h = c.hidden_size;
  std::vector<ParameterSpec> out;
  out.push_back({"model.embed_tokens.weight", {c.vocab_size, h}, Init::kNormal, -1});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string prefix = absl::StrCat("model.layers.", i, ".");
    out.push_back({prefix + "input_layernorm.weight", {h}, Init::kOnes, i});
    AddBlock(c, prefix, i, &out, "post_attention_layernorm.weight");
  }
  out.push_back({"model.norm.weight", {h}, Init::kOnes, -1});
  for (int64_t k = 0; k < c.num_nextn_predict_layers; ++k) {
    const std::string prefix = absl::StrCat("model.mtp_layers.", k, ".");
    const int64_t layer = c.num_hidden_layers + k;
    for (const char* norm :
         {"input_layernorm", "post_attention_layernorm", "token_layernorm", "hidden_layernorm"}) {
      out.push_back({absl::StrCat(prefix, norm, ".weight"), {h}, Init::kOnes, layer});
    }
    out.push_back({prefix + "input_proj.weight", {h, 2 * h}, Init::kNormal, layer});
    out.push_back({prefix + "final_layernorm.weight", {h}, Init::kOnes, layer});
    AddBlock(c, prefix, layer, &out);
  }
  if (!c.tie_word_embeddings) {
    out.push_back({"lm_head.weight", {c.vocab_size, h}, Init::kNormal, -1});
  }
  return out;
}

int64_t DecoderLayerParameters(const ModelConfig& c) {
  std::vector<ParameterSpec> block;
  AddBlock(c, "", 0, &block, "post_attention_layernorm.weight");
  return Sum(block) + c.hidden_size;  // + input_layernorm
}

int64_t MtpLayerParameters(const ModelConfig& c) {
  return DecoderLayerParameters(c) + 2 * c.hidden_size * c.hidden_size + 3 * c.hidden_size;
}

}  // namespace seamless
