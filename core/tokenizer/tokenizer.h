// What the rollout worker, learner and tools need from a tokenizer. Implementations: the
// character-level tokenizer of the built-in tasks (char_tokenizer.h); Hugging Face byte-level
// BPE comes with its own issue.
#ifndef SEAMLESS_CORE_TOKENIZER_TOKENIZER_H_
#define SEAMLESS_CORE_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace seamless {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Text -> ids. Fails (naming the byte offset) only on text the vocabulary cannot express.
  virtual absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view text) const = 0;
  // Ids -> text. Fails on ids outside the vocabulary.
  virtual absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids) const = 0;

  virtual int32_t vocab_size() const = 0;
  virtual int32_t eos_id() const = 0;
  virtual int32_t bos_id() const = 0;
  virtual int32_t pad_id() const = 0;
};

// Loads the tokenizer stored in a model directory (seamless_tokenizer.json for the
// character tokenizer).
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& model_dir);

}  // namespace seamless

#endif  // SEAMLESS_CORE_TOKENIZER_TOKENIZER_H_
