// What the rollout worker, learner and tools need from a tokenizer. Implementations: the
// character-level tokenizer of the built-in tasks (char_tokenizer.h) and Hugging Face
// byte-level BPE from tokenizer.json (hf_tokenizer.h).
#ifndef SEAMLESS_CORE_TOKENIZER_TOKENIZER_H_
#define SEAMLESS_CORE_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tokenizer/chat_format.h"
#include "nlohmann/json_fwd.hpp"

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

  // The prompt text for chat messages, in this tokenizer's chat format. The character
  // tokenizer has none.
  virtual absl::StatusOr<std::string> FormatChat(const std::vector<ChatMessage>& messages,
                                                 const ChatOptions& options) const;
};

// Loads the tokenizer stored in a model directory: seamless_tokenizer.json for the character
// tokenizer, else Hugging Face's tokenizer.json (+ tokenizer_config.json).
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& model_dir);

// The text of a prompt from the data: a JSON string is plain text, used as it is; an array of
// chat messages is formatted in the tokenizer's chat format. `where` names it in errors.
absl::StatusOr<std::string> RenderPrompt(const Tokenizer& tokenizer, const nlohmann::json& prompt,
                                         const ChatOptions& options, const std::string& where);

}  // namespace seamless

#endif  // SEAMLESS_CORE_TOKENIZER_TOKENIZER_H_
