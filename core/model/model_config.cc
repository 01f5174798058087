#include "core/model/model_config.h"

#include "absl/strings/str_cat.h"
#include "core/base/config.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace seamless {

absl::Status ModelConfig::Validate() const {
  auto fail = [](const std::string& field, const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("model config: ", field, " ", why));
  };
  // Upper bounds well past every published model (Qwen2.5-72B: 80 layers, hidden 8192, vocab
  // 152k): a config.json with num_hidden_layers 1000000 took 14 GB before any check. CheckRange
  // fails a NaN, so rope_theta and rms_norm_eps cannot pass as NaN either.
  auto range = [](const char* field, double value, double lo, double hi) {
    return Annotate(CheckRange(field, value, lo, hi), "model config");
  };
  if (model_type != "qwen2" && model_type != "mimo") {
    return fail("model_type", absl::StrCat("'", model_type, "' is not qwen2 or mimo"));
  }
  RETURN_IF_ERROR(range("vocab_size", vocab_size, 1, kMaxVocabSize));
  RETURN_IF_ERROR(range("hidden_size", hidden_size, 1, kMaxHiddenSize));
  RETURN_IF_ERROR(range("intermediate_size", intermediate_size, 1, 4 * kMaxHiddenSize));
  RETURN_IF_ERROR(range("num_hidden_layers", num_hidden_layers, 1, kMaxLayers));
  RETURN_IF_ERROR(range("num_attention_heads", num_attention_heads, 1, kMaxHeads));
  if (hidden_size % num_attention_heads != 0) {
    return fail("num_attention_heads", "must divide hidden_size");
  }
  if (head_dim() % 2 != 0) return fail("hidden_size", "/ num_attention_heads must be even (RoPE)");
  RETURN_IF_ERROR(range("num_key_value_heads", num_key_value_heads, 1, num_attention_heads));
  if (num_attention_heads % num_key_value_heads != 0) {
    return fail("num_key_value_heads", "must divide num_attention_heads");
  }
  RETURN_IF_ERROR(range("max_position_embeddings", max_position_embeddings, 1, kMaxPositions));
  RETURN_IF_ERROR(range("rope_theta", rope_theta, 1e-6, 1e12));
  RETURN_IF_ERROR(range("rms_norm_eps", rms_norm_eps, 1e-30, 1));
  RETURN_IF_ERROR(range("num_nextn_predict_layers", num_nextn_predict_layers, 0, kMaxMtpLayers));
  if (model_type == "qwen2" && num_nextn_predict_layers != 0) {
    return fail("num_nextn_predict_layers", "must be 0 for model_type qwen2");
  }
  return absl::OkStatus();
}

int64_t ModelConfig::ParameterCount() const {
  const int64_t h = hidden_size, kv = num_key_value_heads * head_dim();
  const int64_t block = (h * h + h) + 2 * (h * kv + kv) + h * h  // q, k, v (biased), o
                        + 3 * h * intermediate_size + 2 * h;     // SwiGLU, two norms
  const int64_t mtp = block + 2 * h * h + 3 * h;                 // + input_proj, 3 norms
  int64_t n = vocab_size * h + num_hidden_layers * block + h + num_nextn_predict_layers * mtp;
  if (!tie_word_embeddings) n += vocab_size * h;
  return n;
}

absl::StatusOr<ModelConfig> ReadHfConfig(const std::string& path) {
  ModelConfig config;
  ASSIGN_OR_RETURN(auto node, internal::ParseYamlFile(path));
  // Real configs carry many keys we do not use (torch_dtype, architectures, ...).
  RETURN_IF_ERROR(ApplyConfigNode(node, path, &config, UnknownKeys::kIgnore));
  if (!node["model_type"].IsDefined()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": missing field 'model_type'"));
  }
  if (config.model_type == "qwen2" && !node["num_nextn_predict_layers"].IsDefined()) {
    config.num_nextn_predict_layers = 0;
  }
  if (!node["num_key_value_heads"].IsDefined()) {
    config.num_key_value_heads = config.num_attention_heads;  // HF's default: no GQA
  }
  absl::Status valid = config.Validate();
  if (!valid.ok()) return Annotate(valid, path);
  return config;
}

absl::Status WriteHfConfig(const ModelConfig& c, const std::string& path) {
  nlohmann::json j = {
      {"architectures", {c.model_type == "mimo" ? "MiMoForCausalLM" : "Qwen2ForCausalLM"}},
      {"model_type", c.model_type},
      {"vocab_size", c.vocab_size},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"num_key_value_heads", c.num_key_value_heads},
      {"max_position_embeddings", c.max_position_embeddings},
      {"rope_theta", c.rope_theta},
      {"rms_norm_eps", c.rms_norm_eps},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"num_nextn_predict_layers", c.num_nextn_predict_layers},
      {"bos_token_id", c.bos_token_id},
      {"eos_token_id", c.eos_token_id},
      {"hidden_act", "silu"},
      {"torch_dtype", "float32"},
  };
  return WriteFileAtomically(path, j.dump(2) + "\n");
}

}  // namespace seamless
