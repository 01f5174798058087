// seamless tokenize: JSON strings in, JSON id arrays out (or the reverse with --decode).
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "core/base/json_limits.h"
#include "core/base/status_macros.h"
#include "core/model/model_loading.h"
#include "nlohmann/json.hpp"
#include "tools/subcommand.h"

namespace seamless {

absl::Status RunTokenize(const std::vector<std::string>& args) {
  std::string tokenizer_dir = "default";
  bool decode = false, chat = false, enable_thinking = true;
  ChatOptions chat_options;
  FlagSet flags("seamless tokenize [--tokenizer DIR] [--decode] [--chat] < input.jsonl",
                "Reads stdin as JSON lines. Encoding: each line is a JSON string (so texts may\n"
                "hold newlines) and one JSON array of ids is printed per line. With --decode:\n"
                "arrays in, JSON strings out. With --chat a line may also be an array of chat\n"
                "messages ({\"role\", \"content\"}), formatted in the tokenizer's chat format\n"
                "(ChatML) before encoding.");
  flags.AddString("tokenizer", &tokenizer_dir,
                  "Directory with the tokenizer files (tokenizer.json for Hugging Face BPE), or "
                  "'default' (the character tokenizer)");
  flags.AddBool("decode", &decode, "Decode id arrays instead of encoding text");
  flags.AddBool("chat", &chat, "Accept chat message arrays and format them");
  flags.AddBool("generation-prompt", &chat_options.add_generation_prompt,
                "--chat: end with the assistant's turn opening");
  flags.AddBool("enable-thinking", &enable_thinking,
                "--chat, Qwen3: --no-enable-thinking adds an empty think block (unset: the "
                "template's default)");
  flags.AddString("system", &chat_options.default_system_prompt,
                  "--chat: system prompt for conversations that have none");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  if (flags.WasSet("enable-thinking")) chat_options.enable_thinking = enable_thinking;
  ASSIGN_OR_RETURN(auto tokenizer, LoadTokenizerOrDefault(tokenizer_dir));

  std::string line;
  for (int line_no = 1; std::getline(std::cin, line); ++line_no) {
    const std::string where = absl::StrCat("stdin line ", line_no);
    RETURN_IF_ERROR(Annotate(CheckJsonLimits(line), where));
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (decode) {
      if (j.is_discarded() || !j.is_array()) {
        return absl::InvalidArgumentError(where + ": expected a JSON array of ids");
      }
      std::vector<int32_t> ids;
      for (const auto& v : j) {
        if (!v.is_number_integer()) {
          return absl::InvalidArgumentError(where + ": ids must be integers");
        }
        ids.push_back(v.get<int32_t>());
      }
      auto text = tokenizer->Decode(ids);
      if (!text.ok()) return Annotate(text.status(), where);
      std::printf("%s\n", nlohmann::json(*text)
                              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                              .c_str());
    } else {
      if (chat && !j.is_discarded() && (j.is_string() || j.is_array())) {
        auto text = RenderPrompt(*tokenizer, j, chat_options, where);
        if (!text.ok()) return text.status();
        j = *text;
      }
      if (j.is_discarded() || !j.is_string()) {
        return absl::InvalidArgumentError(
            where + (chat ? ": expected a JSON string or an array of chat messages"
                          : ": expected a JSON string"));
      }
      auto ids = tokenizer->Encode(j.get<std::string>());
      if (!ids.ok()) return Annotate(ids.status(), where);
      std::printf("%s\n", nlohmann::json(*ids).dump().c_str());
    }
  }
  return absl::OkStatus();
}

}  // namespace seamless
