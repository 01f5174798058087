#include "core/tokenizer/hf_tokenizer_test_util.h"

#include <utility>
#include <vector>

#include "core/tokenizer/qwen_pretokenizer.h"
#include "core/tokenizer/unicode.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace testing {
namespace {

// GPT-2's byte-to-character map (as in hf_tokenizer.cc, rebuilt so the test checks it).
std::string ByteChar(int b) {
  int next = 256;
  for (int x = 0; x < 256; ++x) {
    const bool printable = (x >= 0x21 && x <= 0x7e) || (x >= 0xa1 && x <= 0xac) || x >= 0xae;
    const int cp = printable ? x : next++;
    if (x == b) {
      std::string s;
      unicode::AppendUtf8(cp, &s);
      return s;
    }
  }
  return "";
}

std::string Spell(const std::string& raw) {
  std::string s;
  for (unsigned char c : raw) s += ByteChar(c);
  return s;
}

}  // namespace

std::string SyntheticTokenizerJson(const SyntheticTokenizerOptions& options) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[ByteChar(b)] = b;
  // Merges on raw bytes; ids 256 onwards in this order.
  const std::vector<std::pair<std::string, std::string>> merges = {
      {" ", "t"},       {"h", "e"},           {" t", "he"}, {"i", "n"},   {" ", "a"},
      {"a", "t"},       {" ", "c"},           {" c", "at"}, {" ", " "},   {"  ", "  "},
      {"e", "r"},       {" ", "s"},           {"o", "n"},   {"\n", "\n"}, {"1", "2"},
      {"\xe4", "\xb8"}, {"\xe4\xb8", "\xad"}, {"a", "a"},   {"aa", "aa"}, {"aa", "a"}};
  nlohmann::json merges_json = nlohmann::json::array();
  int id = 256;
  for (const auto& [a, b] : merges) {
    vocab[Spell(a + b)] = id++;
    if (options.pair_merges) {
      merges_json.push_back(nlohmann::json::array({Spell(a), Spell(b)}));
    } else {
      merges_json.push_back(Spell(a) + " " + Spell(b));
    }
  }
  nlohmann::json added = nlohmann::json::array();
  auto add = [&](const std::string& content, bool special, bool strip) {
    nlohmann::json token = nlohmann::json::object();
    token["id"] = id++;
    token["content"] = content;
    token["single_word"] = false;
    token["lstrip"] = strip;
    token["rstrip"] = strip;
    token["normalized"] = false;
    token["special"] = special;
    added.push_back(token);
  };
  add("<|endoftext|>", true, false);
  add("<|im_start|>", true, false);
  add("<|im_end|>", true, false);
  add("<think>", false, false);
  if (options.strip_tokens) add("<mask>", true, true);
  nlohmann::json byte_level = nlohmann::json::object();
  byte_level["type"] = "ByteLevel";
  byte_level["add_prefix_space"] = false;
  byte_level["trim_offsets"] = false;
  byte_level["use_regex"] = false;
  nlohmann::json split = nlohmann::json::object();
  split["type"] = "Split";
  split["pattern"]["Regex"] = std::string(kQwenSplitPattern);
  split["behavior"] = "Isolated";
  split["invert"] = false;
  nlohmann::json j = nlohmann::json::object();
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added;
  j["normalizer"] = nullptr;
  if (options.nfc) j["normalizer"]["type"] = "NFC";
  j["pre_tokenizer"]["type"] = "Sequence";
  j["pre_tokenizer"]["pretokenizers"] = nlohmann::json::array({split, byte_level});
  j["post_processor"] = byte_level;
  j["decoder"] = byte_level;
  nlohmann::json& model = j["model"];
  model["type"] = "BPE";
  model["dropout"] = nullptr;
  model["unk_token"] = nullptr;
  model["continuing_subword_prefix"] = "";
  model["end_of_word_suffix"] = "";
  model["fuse_unk"] = false;
  model["byte_fallback"] = false;
  model["ignore_merges"] = false;
  model["vocab"] = vocab;
  model["merges"] = merges_json;
  return j.dump(1);
}

std::string SyntheticConfigJson() {
  return R"({"eos_token": "<|im_end|>", "pad_token": {"content": "<|endoftext|>"},
             "bos_token": null, "chat_template": "{{ '<|im_start|>' }} enable_thinking"})";
}

}  // namespace testing
}  // namespace seamless
