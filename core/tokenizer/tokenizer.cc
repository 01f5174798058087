#include "core/tokenizer/tokenizer.h"

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"
#include "core/tokenizer/char_tokenizer.h"
#include "core/tokenizer/hf_tokenizer.h"
#include "nlohmann/json.hpp"

namespace seamless {

absl::StatusOr<std::string> Tokenizer::FormatChat(const std::vector<ChatMessage>& messages,
                                                  const ChatOptions& options) const {
  return absl::UnimplementedError("this tokenizer has no chat format");
}

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& model_dir) {
  const std::string char_file = model_dir + "/seamless_tokenizer.json";
  if (FileExists(char_file)) {
    ASSIGN_OR_RETURN(std::string text, ReadFileToString(char_file));
    ASSIGN_OR_RETURN(CharTokenizer tokenizer, CharTokenizer::FromJson(text, char_file));
    return std::unique_ptr<Tokenizer>(new CharTokenizer(std::move(tokenizer)));
  }
  if (FileExists(model_dir + "/tokenizer.json")) {
    ASSIGN_OR_RETURN(std::unique_ptr<HfTokenizer> tokenizer, HfTokenizer::Load(model_dir));
    return std::unique_ptr<Tokenizer>(std::move(tokenizer));
  }
  return absl::NotFoundError(
      absl::StrCat(model_dir, ": no tokenizer (seamless_tokenizer.json or tokenizer.json)"));
}

absl::StatusOr<std::string> RenderPrompt(const Tokenizer& tokenizer, const nlohmann::json& prompt,
                                         const ChatOptions& options, const std::string& where) {
  if (prompt.is_string()) return prompt.get<std::string>();
  if (!prompt.is_array()) {
    return absl::InvalidArgumentError(where +
                                      ": a prompt is a JSON string or an array of chat messages");
  }
  ASSIGN_OR_RETURN(std::vector<ChatMessage> messages, ParseChatMessages(prompt, where));
  auto text = tokenizer.FormatChat(messages, options);
  if (!text.ok()) {
    return absl::Status(text.status().code(), where + ": " + std::string(text.status().message()));
  }
  return text;
}

}  // namespace seamless
