// ChatML prompts (`<|im_start|>role\n...<|im_end|>\n`) as the Qwen chat templates render them,
// in plain C++ instead of a Jinja engine. Two styles: plain ChatML (Qwen2, MiMo), and Qwen3's,
// which moves an assistant turn's `<think>...</think>` block into a reasoning section after the
// last user query and honours the `enable_thinking` switch. Tool calls are not rendered.
#ifndef SEAMLESS_CORE_TOKENIZER_CHAT_FORMAT_H_
#define SEAMLESS_CORE_TOKENIZER_CHAT_FORMAT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace seamless {

struct ChatMessage {
  std::string role;  // system, user, assistant or tool
  std::string content;
  std::optional<std::string> reasoning_content;  // Qwen3: an assistant turn's thinking
};

enum class ChatStyle { kChatMl, kQwen3 };

struct ChatOptions {
  // End with `<|im_start|>assistant\n` so the model answers next.
  bool add_generation_prompt = true;
  // Qwen3 only: false appends an empty think block to the generation prompt (no thinking);
  // unset or true leaves thinking to the model, as the template does.
  std::optional<bool> enable_thinking;
  // Rendered as a leading system message when the messages have none; empty: none.
  std::string default_system_prompt;
};

absl::StatusOr<std::string> FormatChat(const std::vector<ChatMessage>& messages, ChatStyle style,
                                       const ChatOptions& options);

// Chat messages from JSON: an array of {"role", "content"[, "reasoning_content"]} objects.
// `where` names the prompt in errors. (Tokenizer's RenderPrompt also takes plain text.)
absl::StatusOr<std::vector<ChatMessage>> ParseChatMessages(const nlohmann::json& messages,
                                                           const std::string& where);

}  // namespace seamless

#endif  // SEAMLESS_CORE_TOKENIZER_CHAT_FORMAT_H_
