// Resolves a --model argument: a Hugging Face directory, or "default" for the embedded model.
#ifndef SEAMLESS_CORE_MODEL_MODEL_LOADING_H_
#define SEAMLESS_CORE_MODEL_MODEL_LOADING_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/model/mimo_model.h"
#include "core/tokenizer/tokenizer.h"

namespace seamless {

struct LoadedModel {
  MimoModel model{nullptr};
  std::unique_ptr<Tokenizer> tokenizer;
};

absl::StatusOr<LoadedModel> LoadModelOrDefault(const std::string& name);
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerOrDefault(const std::string& name);

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_MODEL_LOADING_H_
