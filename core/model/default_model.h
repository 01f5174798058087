// The embedded default: a tiny MiMo (about 1M parameters, character vocabulary) that the demo
// and the tests use without downloading anything.
#ifndef SEAMLESS_CORE_MODEL_DEFAULT_MODEL_H_
#define SEAMLESS_CORE_MODEL_DEFAULT_MODEL_H_

#include <string>

#include "absl/status/status.h"
#include "core/model/mimo_model.h"
#include "core/model/model_config.h"

namespace seamless {

// Four layers, hidden 128, GQA 4:2, one MTP layer, the character tokenizer's 100 ids.
ModelConfig DefaultModelConfig();

// The default model with HF-style random initialisation from `seed`.
MimoModel CreateDefaultModel(uint64_t seed = 0);

// Writes a complete model directory (config.json, model.safetensors, seamless_tokenizer.json)
// holding the freshly initialised default model.
absl::Status WriteDefaultModelDir(const std::string& dir, uint64_t seed = 0);

// Where `--model default` resolves to: "default" means the embedded model.
inline bool IsDefaultModelName(const std::string& name) {
  return name.empty() || name == "default";
}

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_DEFAULT_MODEL_H_
