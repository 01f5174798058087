// The check that a model directory's tokenizer only produces ids the model has rows for.
#ifndef SEAMLESS_CORE_MODEL_TOKENIZER_FIT_H_
#define SEAMLESS_CORE_MODEL_TOKENIZER_FIT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "core/tokenizer/tokenizer.h"

namespace seamless {

// The file LoadTokenizer(model_dir) reads: seamless_tokenizer.json if present, else
// Hugging Face's tokenizer.json.
std::string TokenizerFileIn(const std::string& model_dir);

// OK when every id of `tokenizer` is below `vocab_size`. Otherwise InvalidArgument naming
// `tokenizer_file`, its largest id, and `config_file`'s line and key with the valid range:
//   q/tokenizer.json: ids go up to 151668 ('<|im_end|>' ...), past the model's vocabulary:
//   q/config.json:4: key 'vocab_size' is 1000, so ids must be in [0, 999] ...
// Either file name may be empty (the embedded default has neither).
absl::Status CheckTokenizerFitsModel(const Tokenizer& tokenizer, const std::string& tokenizer_file,
                                     int64_t vocab_size, const std::string& config_file);

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_TOKENIZER_FIT_H_
