// The parameters of a MiMo / Qwen2 model computed from its config alone, without building it:
// Hugging Face names, shapes and how HF initialises each. Used to write a model tensor by
// tensor (random_model_writer.h) and to size one (capacity_plan.h). No LibTorch.
#ifndef SEAMLESS_CORE_MODEL_PARAMETER_LAYOUT_H_
#define SEAMLESS_CORE_MODEL_PARAMETER_LAYOUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/model_config.h"

namespace seamless {

struct ParameterSpec {
  enum class Init {
    kNormal,
    kZeros,
    kOnes
  };  // HF: normal(0, std) matrices, zero biases, unit norms

  std::string name;            // e.g. "model.layers.3.self_attn.q_proj.weight"
  std::vector<int64_t> shape;  // [out, in] for matrices
  Init init = Init::kNormal;
  // -1: embedding, final norm and LM head; 0 .. num_hidden_layers-1: decoder blocks;
  // num_hidden_layers + k: MTP layer k.
  int64_t layer = -1;

  int64_t NumElements() const;
};

// Every parameter of the model the config describes, in MimoModel's registration order
// (named_parameters()). The sum of NumElements() is config.ParameterCount().
std::vector<ParameterSpec> ParameterLayout(const ModelConfig& config);

// Parameters of one decoder block / one MTP layer (the largest units a sharded learner
// all-gathers besides the embedding).
int64_t DecoderLayerParameters(const ModelConfig& config);
int64_t MtpLayerParameters(const ModelConfig& config);

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_PARAMETER_LAYOUT_H_
