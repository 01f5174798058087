// The shapes of published checkpoints, from their Hugging Face config.json files, so that
// tools can write and size real-size models without downloading them
// (`seamless init-model --like`, `seamless plan --like`). No LibTorch.
#ifndef SEAMLESS_CORE_MODEL_PUBLISHED_MODELS_H_
#define SEAMLESS_CORE_MODEL_PUBLISHED_MODELS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/model_config.h"

namespace seamless {

// "qwen2.5-0.5b", "qwen2.5-1.5b", "mimo-7b".
std::vector<std::string> PublishedModelNames();

// The config of a published model by name, or of the config.json at `name_or_path` (anything
// that is not a known name). `mtp_layers` >= 0 sets num_nextn_predict_layers (model_type mimo
// with one or more, qwen2 with none); -1 keeps the default: one MTP layer for every published
// shape (Qwen2.5 has none of its own: one is added so MTP drafting works on it), the file's
// value for a config.json.
absl::StatusOr<ModelConfig> ModelConfigLike(const std::string& name_or_path,
                                            int64_t mtp_layers = -1);

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_PUBLISHED_MODELS_H_
