#include "core/model/published_models.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"

namespace seamless {
namespace {

ModelConfig Qwen25(int64_t hidden, int64_t intermediate, int64_t layers, int64_t heads) {
  ModelConfig c;
  c.model_type = "mimo";
  c.vocab_size = 151936;
  c.hidden_size = hidden;
  c.intermediate_size = intermediate;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 32768;
  c.rope_theta = 1000000.0;
  c.rms_norm_eps = 1e-6;
  c.tie_word_embeddings = true;
  c.num_nextn_predict_layers = 1;
  c.bos_token_id = 151643;
  c.eos_token_id = 151645;
  return c;
}

// XiaomiMiMo/MiMo-7B-RL.
ModelConfig Mimo7b() {
  ModelConfig c;
  c.model_type = "mimo";
  c.vocab_size = 151680;
  c.hidden_size = 4096;
  c.intermediate_size = 11008;
  c.num_hidden_layers = 36;
  c.num_attention_heads = 32;
  c.num_key_value_heads = 8;
  c.max_position_embeddings = 32768;
  c.rope_theta = 640000.0;
  c.rms_norm_eps = 1e-5;
  c.tie_word_embeddings = false;
  c.num_nextn_predict_layers = 1;
  c.bos_token_id = 151643;
  c.eos_token_id = 151645;
  return c;
}

}  // namespace

std::vector<std::string> PublishedModelNames() {
  return {"qwen2.5-0.5b", "qwen2.5-1.5b", "mimo-7b"};
}

absl::StatusOr<ModelConfig> ModelConfigLike(const std::string& name_or_path, int64_t mtp_layers) {
  ModelConfig c;
  if (name_or_path == "qwen2.5-0.5b") {
    c = Qwen25(896, 4864, 24, 14);
  } else if (name_or_path == "qwen2.5-1.5b") {
    c = Qwen25(1536, 8960, 28, 12);
  } else if (name_or_path == "mimo-7b") {
    c = Mimo7b();
  } else if (name_or_path.find('/') != std::string::npos ||
             name_or_path.find(".json") != std::string::npos) {
    ASSIGN_OR_RETURN(c, ReadHfConfig(name_or_path));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--like '", name_or_path, "': not a known model (",
                     absl::StrJoin(PublishedModelNames(), ", "), ") nor a config.json path"));
  }
  if (mtp_layers >= 0) {
    c.num_nextn_predict_layers = mtp_layers;
    c.model_type = mtp_layers > 0 ? "mimo" : "qwen2";
  }
  absl::Status valid = c.Validate();
  if (!valid.ok()) return Annotate(valid, name_or_path);
  return c;
}

}  // namespace seamless
