#include "core/model/model_loading.h"

#include "core/base/status_macros.h"
#include "core/model/default_model.h"
#include "core/model/model_files.h"
#include "core/model/tokenizer_fit.h"
#include "core/tokenizer/char_tokenizer.h"

namespace seamless {

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerOrDefault(const std::string& name) {
  if (IsDefaultModelName(name)) return std::unique_ptr<Tokenizer>(new CharTokenizer());
  return LoadTokenizer(name);
}

absl::StatusOr<LoadedModel> LoadModelOrDefault(const std::string& name) {
  LoadedModel loaded;
  if (IsDefaultModelName(name)) {
    loaded.model = CreateDefaultModel();
  } else {
    ASSIGN_OR_RETURN(loaded.model, LoadModelDir(name));
  }
  ASSIGN_OR_RETURN(loaded.tokenizer, LoadTokenizerOrDefault(name));
  RETURN_IF_ERROR(CheckTokenizerFitsModel(
      *loaded.tokenizer, IsDefaultModelName(name) ? "" : TokenizerFileIn(name),
      loaded.model->config().vocab_size, IsDefaultModelName(name) ? "" : name + "/config.json"));
  return loaded;
}

}  // namespace seamless
