#include "core/tokenizer/chat_format.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

std::string StripChars(absl::string_view s, bool left, bool right) {
  size_t b = 0, e = s.size();
  if (left) {
    while (b < e && s[b] == '\n') ++b;
  }
  if (right) {
    while (e > b && s[e - 1] == '\n') --e;
  }
  return std::string(s.substr(b, e - b));
}

// Python's s.split(sep)[0] and [-1].
absl::string_view BeforeFirst(absl::string_view s, absl::string_view sep) {
  const size_t i = s.find(sep);
  return i == absl::string_view::npos ? s : s.substr(0, i);
}
absl::string_view AfterLast(absl::string_view s, absl::string_view sep) {
  const size_t i = s.rfind(sep);
  return i == absl::string_view::npos ? s : s.substr(i + sep.size());
}

}  // namespace

absl::StatusOr<std::string> FormatChat(const std::vector<ChatMessage>& input, ChatStyle style,
                                       const ChatOptions& options) {
  std::vector<ChatMessage> messages;
  if (!options.default_system_prompt.empty() && (input.empty() || input[0].role != "system")) {
    messages.push_back({"system", options.default_system_prompt, std::nullopt});
  }
  messages.insert(messages.end(), input.begin(), input.end());
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
      return absl::InvalidArgumentError(absl::StrCat("chat message ", i, ": unknown role '", role,
                                                     "' (system, user, assistant, tool)"));
    }
  }
  std::string out;
  if (style == ChatStyle::kChatMl) {
    for (const ChatMessage& m : messages) {
      absl::StrAppend(&out, "<|im_start|>", m.role, "\n", m.content, "<|im_end|>\n");
    }
    if (options.add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
  }

  // Qwen3's template, step by step (tools aside).
  const size_t n = messages.size();
  if (n > 0 && messages[0].role == "system") {
    absl::StrAppend(&out, "<|im_start|>system\n", messages[0].content, "<|im_end|>\n");
  }
  // The last user turn that is not a bare tool response.
  size_t last_query = n == 0 ? 0 : n - 1;
  for (size_t k = n; k-- > 0;) {
    const ChatMessage& m = messages[k];
    if (m.role == "user" && !(absl::StartsWith(m.content, "<tool_response>") &&
                              absl::EndsWith(m.content, "</tool_response>"))) {
      last_query = k;
      break;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "user" || (m.role == "system" && i != 0)) {
      absl::StrAppend(&out, "<|im_start|>", m.role, "\n", m.content, "<|im_end|>\n");
    } else if (m.role == "assistant") {
      std::string content = m.content, reasoning;
      if (m.reasoning_content.has_value()) {
        reasoning = *m.reasoning_content;
      } else if (absl::StrContains(m.content, "</think>")) {
        content = StripChars(AfterLast(m.content, "</think>"), true, false);
        reasoning = StripChars(
            AfterLast(StripChars(BeforeFirst(m.content, "</think>"), false, true), "<think>"), true,
            false);
      }
      if (i > last_query && (i + 1 == n || !reasoning.empty())) {
        absl::StrAppend(&out, "<|im_start|>assistant\n<think>\n", StripChars(reasoning, true, true),
                        "\n</think>\n\n", StripChars(content, true, false));
      } else {
        absl::StrAppend(&out, "<|im_start|>assistant\n", content);
      }
      out += "<|im_end|>\n";
    } else if (m.role == "tool") {
      if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
      absl::StrAppend(&out, "\n<tool_response>\n", m.content, "\n</tool_response>");
      if (i + 1 == n || messages[i + 1].role != "tool") out += "<|im_end|>\n";
    }
  }
  if (options.add_generation_prompt) {
    out += "<|im_start|>assistant\n";
    if (options.enable_thinking.has_value() && !*options.enable_thinking) {
      out += "<think>\n\n</think>\n\n";
    }
  }
  return out;
}

absl::StatusOr<std::vector<ChatMessage>> ParseChatMessages(const nlohmann::json& prompt,
                                                           const std::string& where) {
  if (!prompt.is_array()) {
    return absl::InvalidArgumentError(where + ": expected an array of chat messages");
  }
  std::vector<ChatMessage> messages;
  for (size_t i = 0; i < prompt.size(); ++i) {
    const nlohmann::json& m = prompt[i];
    const std::string at = absl::StrCat(where, ": message ", i);
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string()) {
      return absl::InvalidArgumentError(
          at + ": expected an object with string fields 'role' and 'content'");
    }
    ChatMessage message{m["role"].get<std::string>(), m["content"].get<std::string>(),
                        std::nullopt};
    if (m.contains("reasoning_content") && !m["reasoning_content"].is_null()) {
      if (!m["reasoning_content"].is_string()) {
        return absl::InvalidArgumentError(at + ": 'reasoning_content' must be a string");
      }
      message.reasoning_content = m["reasoning_content"].get<std::string>();
    }
    messages.push_back(std::move(message));
  }
  return messages;
}

}  // namespace seamless
