#include "core/model/default_model.h"

#include "core/base/file_util.h"
#include "core/base/status_macros.h"
#include "core/model/model_files.h"
#include "core/tokenizer/char_tokenizer.h"

namespace seamless {

ModelConfig DefaultModelConfig() {
  ModelConfig c;  // the field defaults are the tiny model
  c.vocab_size = CharTokenizer().vocab_size();
  c.bos_token_id = CharTokenizer::kBos;
  c.eos_token_id = CharTokenizer::kEos;
  return c;
}

MimoModel CreateDefaultModel(uint64_t seed) {
  MimoModel model(DefaultModelConfig());
  model->InitializeWeights(seed);
  return model;
}

absl::Status WriteDefaultModelDir(const std::string& dir, uint64_t seed) {
  MimoModel model = CreateDefaultModel(seed);
  RETURN_IF_ERROR(SaveModelDir(model, dir));
  return WriteFileAtomically(dir + "/seamless_tokenizer.json", CharTokenizer().ToJson());
}

}  // namespace seamless
