// The architecture hyper-parameters of a MiMo / Qwen2 model, with Hugging Face config.json
// field names so that real checkpoints load unchanged.
#ifndef SEAMLESS_CORE_MODEL_MODEL_CONFIG_H_
#define SEAMLESS_CORE_MODEL_MODEL_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace seamless {

// Upper bounds ModelConfig::Validate enforces: several times every published model's, so they
// refuse only configs that would exhaust memory before any other check (1,000,000 layers).
inline constexpr int64_t kMaxVocabSize = int64_t{4} << 20;   // 4M rows (Qwen2: 152k)
inline constexpr int64_t kMaxHiddenSize = 65536;             // (Qwen2.5-72B: 8192)
inline constexpr int64_t kMaxLayers = 1024;                  // (Qwen2.5-72B: 80)
inline constexpr int64_t kMaxHeads = 1024;                   // (Qwen2.5-72B: 64)
inline constexpr int64_t kMaxPositions = int64_t{16} << 20;  // 16M tokens (Qwen2.5: 128k)
inline constexpr int64_t kMaxMtpLayers = 64;                 // (MiMo-7B: 1)

struct ModelConfig {
  std::string model_type = "mimo";  // "qwen2" or "mimo" (qwen2 + MTP layers)
  int64_t vocab_size = 128;
  int64_t hidden_size = 128;
  int64_t intermediate_size = 384;
  int64_t num_hidden_layers = 4;
  int64_t num_attention_heads = 4;
  int64_t num_key_value_heads = 2;
  int64_t max_position_embeddings = 512;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = true;
  int64_t num_nextn_predict_layers = 1;
  int64_t bos_token_id = 1;
  int64_t eos_token_id = 2;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }

  template <typename V>
  void VisitFields(V& v) {
    v("model_type", model_type, "Architecture: qwen2, or mimo (qwen2 plus MTP layers)");
    v("vocab_size", vocab_size, "Rows of the embedding and the LM head");
    v("hidden_size", hidden_size, "Width of the residual stream");
    v("intermediate_size", intermediate_size, "Width of the SwiGLU MLP");
    v("num_hidden_layers", num_hidden_layers, "Decoder blocks of the main model");
    v("num_attention_heads", num_attention_heads, "Query heads");
    v("num_key_value_heads", num_key_value_heads, "Key/value heads (GQA groups)");
    v("max_position_embeddings", max_position_embeddings, "Longest sequence (context length)");
    v("rope_theta", rope_theta, "RoPE base frequency");
    v("rms_norm_eps", rms_norm_eps, "RMSNorm epsilon");
    v("tie_word_embeddings", tie_word_embeddings, "LM head shares the embedding matrix");
    v("num_nextn_predict_layers", num_nextn_predict_layers,
      "MTP layers (mimo only; each drafts one more token)");
    v("bos_token_id", bos_token_id, "Beginning-of-sequence token id");
    v("eos_token_id", eos_token_id, "End-of-sequence token id");
  }

  // Checks divisibility and ranges (the bounds above; intermediate_size up to 4 x
  // kMaxHiddenSize); the error names the field and its valid range.
  absl::Status Validate() const;
  // Number of parameters, counting a tied head once.
  int64_t ParameterCount() const;
};

// Reads a Hugging Face config.json (keys the model does not use are ignored; "qwen2" configs
// get zero MTP layers) and validates it.
absl::StatusOr<ModelConfig> ReadHfConfig(const std::string& path);
// Writes config.json with HF's keys ("architectures", "model_type", ...).
absl::Status WriteHfConfig(const ModelConfig& config, const std::string& path);

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_MODEL_CONFIG_H_
