#include "core/tokenizer/hf_tokenizer.h"

#include <fstream>

#include "absl/strings/match.h"
#include "core/base/file_util.h"
#include "core/tokenizer/chat_format.h"
#include "core/tokenizer/hf_tokenizer_test_util.h"
#include "core/tokenizer/qwen_pretokenizer.h"
#include "core/tokenizer/unicode.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

using seamless::testing::SyntheticConfigJson;
using seamless::testing::SyntheticTokenizerJson;
using seamless::testing::SyntheticTokenizerOptions;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<HfTokenizer> Synthetic(SyntheticTokenizerOptions options = {}) {
  auto t = HfTokenizer::FromJson(SyntheticTokenizerJson(options), "tokenizer.json",
                                 SyntheticConfigJson(), "tokenizer_config.json");
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(*t);
}

// Pieces as Hugging Face's pre-tokenizer cuts them (taken from the npm `tokenizers` library).
TEST(QwenPreTokenizerTest, CutsLikeTheReference) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"Hello world's   x\n\n  y", {"Hello", " world", "'s", "  ", " x", "\n\n", " ", " y"}},
      {"x'\u017fx", {"x", "'\u017f", "x"}},
      {"don'T I'M we'LL 're 've", {"don", "'T", " I", "'M", " we", "'LL", " '", "re", " '", "ve"}},
      {"  \t\n \r\n  z", {"  \t\n \r\n", " ", " z"}},
      {"a   ", {"a", "   "}},
      {"!!abc !x  !", {"!!", "abc", " !", "x", " ", " !"}},
      {"12345 \u00bd\u2460", {"1", "2", "3", "4", "5", " ", "\u00bd", "\u2460"}},
      {"\u00a0word \twor\u0301d", {"\u00a0word", " ", "\twor", "\u0301d"}},
      {"\u4e2d\u6587abc\u00e9", {"\u4e2d\u6587abc\u00e9"}},
      {"x\r\n\r\ny", {"x", "\r\n\r\n", "y"}},
      {"a\u200bb c\u3000d", {"a", "\u200bb", " c", "\u3000d"}},
      {"...\n\n\nz", {"...\n\n\n", "z"}},
      {" \u0085x", {" ", "\u0085x"}},
      {"'", {"'"}},
      {"' ", {"'", " "}},
      {"'a'b", {"'a", "'b"}},
      {"\t\tx", {"\t", "\tx"}},
      {"\u0645\u0631\u062d\u0628\u0627 \u0661\u0662",
       {"\u0645\u0631\u062d\u0628\u0627", " ", "\u0661", "\u0662"}},
  };
  for (const auto& [text, pieces] : cases) {
    EXPECT_EQ(QwenPreTokenize(text), pieces) << nlohmann::json(text).dump();
  }
  // Invalid UTF-8 bytes are single "other" characters: nothing is lost.
  EXPECT_THAT(QwenPreTokenize("a\xff\xfe b"), ElementsAre("a", "\xff\xfe", " b"));
}

TEST(UnicodeTest, NfcComposesReordersAndKeepsInvalidBytes) {
  auto nfc = [](const std::string& s) {
    std::string out;
    unicode::AppendNfc(s, &out);
    return out;
  };
  EXPECT_EQ(nfc("e\u0301"), "\u00e9");
  EXPECT_EQ(nfc("\u212b"), "\u00c5");                // singleton decomposition
  EXPECT_EQ(nfc("\u1112\u1161\u11ab"), "\ud55c");    // Hangul LVT
  EXPECT_EQ(nfc("q\u0307\u0323"), "q\u0323\u0307");  // canonical reordering
  EXPECT_EQ(nfc("s\u0323\u0307"), "\u1e69");         // composes through the marks
  EXPECT_EQ(nfc("\u0958"), "\u0915\u093c");          // composition exclusion
  EXPECT_EQ(nfc("a\xff\u0301"), "a\xff\u0301");      // an invalid byte blocks
  EXPECT_TRUE(unicode::IsNfcQuick("plain ascii"));
  EXPECT_FALSE(unicode::IsNfcQuick("e\u0301"));
  EXPECT_EQ(unicode::ClassOf(0x4e2d), unicode::kLetter);
  EXPECT_EQ(unicode::ClassOf(0x2460), unicode::kNumber);
  EXPECT_EQ(unicode::ClassOf(0x3000), unicode::kSpace);
  EXPECT_EQ(unicode::ClassOf(0x200b), unicode::kOther);
}

// The reference's two Unicode versions (found by probing it; see gen_unicode_tables.py).
TEST(UnicodeTest, ClassesFollowUnicode16AndNfcUnicode9LikeTheReference) {
  EXPECT_EQ(unicode::ClassOf(0x105c0), unicode::kLetter);  // Todhri, 16.0
  EXPECT_EQ(unicode::ClassOf(0x2ebf0), unicode::kLetter);  // CJK extension I, 15.1
  EXPECT_EQ(unicode::ClassOf(0x10940), unicode::kOther);   // Sidetic, 17.0
  auto nfc = [](const std::string& s) {
    std::string out;
    unicode::AppendNfc(s, &out);
    return out;
  };
  // A mark of 9.0 (ccc 230) is reordered after U+0323, which then composes with 'a'...
  EXPECT_EQ(nfc("a\U0001e944\u0323"), "\u1ea1\U0001e944");
  // ...a mark of 10.0 is an unknown starter to the reference's NFC.
  EXPECT_EQ(nfc("a\u1df6\u0323"), "a\u1df6\u0323");
  EXPECT_EQ(nfc("\U00011347\U0001133e"), "\U0001134b");            // 7.0 composes
  EXPECT_EQ(nfc("\U00011935\U00011930"), "\U00011935\U00011930");  // 13.0 does not
}

TEST(UnicodeTest, LossyDecodingReplacesMaximalSubparts) {
  auto lossy = [](const std::string& s) {
    std::string out;
    unicode::AppendUtf8Lossy(s, &out);
    return out;
  };
  const std::string r = "\ufffd";
  EXPECT_EQ(lossy("a\xe2\x82"), "a" + r);
  EXPECT_EQ(lossy("\xf0\x9f\x98"
                  "b"),
            r + "b");
  EXPECT_EQ(lossy("\xed\xa0\x80"), r + r + r);  // surrogates: each byte
  EXPECT_EQ(lossy("\xc0\xaf"), r + r);
  EXPECT_EQ(lossy("\xe0\x80\x80"), r + r + r);
  EXPECT_EQ(lossy("\xf4\x90\x80\x80"), r + r + r + r);
  EXPECT_EQ(lossy("\xe2\x82\xac"), "\u20ac");
}

TEST(HfTokenizerTest, EncodesBySplittingMergingAndAddedTokens) {
  auto t = Synthetic();
  // " the" 258, " cat" 263.
  EXPECT_THAT(*t->Encode("the cat"), ElementsAre('t', 257, 263));
  EXPECT_THAT(*t->Encode(" the"), ElementsAre(258));
  // Lowest rank first, leftmost among equals: aaaaa -> aaaa + a.
  EXPECT_THAT(*t->Encode("aaaaa"), ElementsAre(274, 'a'));
  // Added tokens are cut out before anything else, even mid-word.
  EXPECT_THAT(*t->Encode("a<|im_end|>b<think>"), ElementsAre('a', 278, 'b', 279));
  EXPECT_THAT(*t->Encode("<|im_end"), ElementsAre('<', '|', 'i', 'm', '_', 'e', 'n', 'd'));
  // NFC before the model: e + combining acute = é (0xc3 0xa9).
  EXPECT_THAT(*t->Encode("e\u0301"), ElementsAre(0xc3, 0xa9));
  EXPECT_THAT(*t->Encode("\u4e2d"), ElementsAre(272));
  EXPECT_EQ(*t->Decode(*t->Encode("the cat<|im_end|>")), "the cat<|im_end|>");
  EXPECT_EQ(t->eos_id(), 278);
  EXPECT_EQ(t->pad_id(), 276);
  EXPECT_EQ(t->bos_id(), -1);
  EXPECT_EQ(t->vocab_size(), 280);
  EXPECT_EQ(t->chat_style(), ChatStyle::kQwen3);
  EXPECT_EQ(*t->TokenToId("\u0120the"), 258);
  EXPECT_TRUE(t->IsSpecial(278));
  EXPECT_FALSE(t->IsSpecial(279));
}

TEST(HfTokenizerTest, BothMergeFormatsGiveTheSameTokenizer) {
  auto a = Synthetic({.pair_merges = false});
  auto b = Synthetic({.pair_merges = true});
  const std::string text = "in the cat  12 \u4e2d aaaaaaa on er";
  EXPECT_EQ(*a->Encode(text), *b->Encode(text));
}

TEST(HfTokenizerTest, StripTokensSwallowNeighbouringWhitespace) {
  auto t = Synthetic({.strip_tokens = true});
  EXPECT_THAT(*t->Encode("a \t<mask>  b"), ElementsAre('a', 280, 'b'));
}

TEST(HfTokenizerTest, DecodeRepairsBrokenUtf8AndRejectsUnknownIds) {
  auto t = Synthetic();
  auto ids = *t->Encode("\u4e2d");
  EXPECT_EQ(*t->Decode({0xe4}), "\ufffd");
  EXPECT_EQ(*t->DecodeBytes({0xe4}), "\xe4");
  auto bad = t->Decode({1, 280});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("id 280 at index 1"));
}

// Each broken file names the file and the field.
TEST(HfTokenizerTest, BadFilesNameTheFileAndField) {
  auto good = nlohmann::json::parse(SyntheticTokenizerJson());
  auto error_for = [&](const std::function<void(nlohmann::json&)>& edit,
                       const std::string& config = "") {
    nlohmann::json j = good;
    edit(j);
    auto t =
        HfTokenizer::FromJson(j.dump(), "dir/tokenizer.json", config, "dir/tokenizer_config.json");
    return t.ok() ? std::string("OK") : std::string(t.status().message());
  };
  EXPECT_THAT(error_for([](auto& j) { j.erase("model"); }),
              HasSubstr("dir/tokenizer.json: field 'model': missing"));
  EXPECT_THAT(error_for([](auto& j) { j["model"]["type"] = "Unigram"; }),
              HasSubstr("field 'model.type': unsupported model type \"Unigram\""));
  EXPECT_THAT(error_for([](auto& j) { j["model"]["merges"][3] = "\u0120t"; }),
              HasSubstr("field 'model.merges[3]': \"\u0120t\" is not two tokens"));
  EXPECT_THAT(error_for([](auto& j) { j["model"]["merges"][0] = "\u0120 zz"; }),
              HasSubstr("field 'model.merges[0]': token \"zz\" is not in model.vocab"));
  EXPECT_THAT(error_for([](auto& j) {
                j["model"]["merges"][0] = {"x", "y"};
              }),
              HasSubstr("field 'model.merges[0]': merged token \"xy\" is not in model.vocab"));
  EXPECT_THAT(error_for([](auto& j) { j["model"]["merges"][0] = 7; }),
              HasSubstr("field 'model.merges[0]': expected \"a b\""));
  EXPECT_THAT(error_for([](auto& j) { j["model"]["vocab"]["x"] = "seven"; }),
              HasSubstr("field 'model.vocab': token \"x\" has id \"seven\""));
  EXPECT_THAT(error_for([](auto& j) { j["model"]["vocab"].erase("A"); }),
              HasSubstr("field 'model.vocab': no token for byte 0x41"));
  EXPECT_THAT(error_for([](auto& j) {
                j["normalizer"] = {{"type", "NFKC"}};
              }),
              HasSubstr("field 'normalizer': unsupported normalizer"));
  EXPECT_THAT(error_for([](auto& j) {
                j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+";
              }),
              HasSubstr("field 'pre_tokenizer.pretokenizers[0]'"));
  EXPECT_THAT(error_for([](auto& j) { j["added_tokens"][0].erase("id"); }),
              HasSubstr("field 'added_tokens[0]'"));
  EXPECT_THAT(error_for([](auto& j) {
                j["post_processor"] = {{"type", "TemplateProcessing"}};
              }),
              HasSubstr("field 'post_processor'"));
  EXPECT_THAT(error_for([](auto&) {}, R"({"eos_token": "<nope>"})"),
              HasSubstr("dir/tokenizer_config.json: field 'eos_token': token \"<nope>\""));
  EXPECT_THAT(error_for([](auto&) {}, "[1"),
              HasSubstr("dir/tokenizer_config.json: not a JSON object"));
  auto not_json = HfTokenizer::FromJson("{\"model\": ", "t.json", "", "c.json");
  EXPECT_THAT(std::string(not_json.status().message()), HasSubstr("t.json: not valid JSON"));
  const std::string deep = std::string(150000, '[') + std::string(150000, ']');
  EXPECT_EQ(HfTokenizer::FromJson(deep, "t.json", "", "c.json").status().message(),
            "t.json: nested 150000 levels deep; at most 512");
  EXPECT_EQ(HfTokenizer::FromJson(good.dump(), "t.json", deep, "c.json").status().message(),
            "c.json: nested 150000 levels deep; at most 512");
}

TEST(HfTokenizerTest, LoadTokenizerPicksTheHuggingFaceFiles) {
  const std::string dir = seamless::testing::TestTempDir();
  ASSERT_TRUE(WriteFileAtomically(dir + "/tokenizer.json", SyntheticTokenizerJson()).ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/tokenizer_config.json", SyntheticConfigJson()).ok());
  auto t = LoadTokenizer(dir);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->eos_id(), 278);
  EXPECT_EQ(*(*t)->Decode(*(*t)->Encode("the cat")), "the cat");
  ASSERT_TRUE(WriteFileAtomically(dir + "/tokenizer.json", "{}").ok());
  auto bad = LoadTokenizer(dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr(dir + "/tokenizer.json: field 'model'"));
}

TEST(ChatFormatTest, PlainChatMl) {
  ChatOptions options;
  options.default_system_prompt = "You are helpful.";
  auto text = FormatChat({{"user", "Hi", std::nullopt}}, ChatStyle::kChatMl, options);
  EXPECT_EQ(*text,
            "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");
  options.add_generation_prompt = false;
  options.default_system_prompt.clear();
  EXPECT_EQ(*FormatChat({{"user", "Hi", std::nullopt}}, ChatStyle::kChatMl, options),
            "<|im_start|>user\nHi<|im_end|>\n");
  EXPECT_FALSE(FormatChat({{"robot", "x", std::nullopt}}, ChatStyle::kChatMl, options).ok());
}

// Expected strings written from Qwen3's chat template (tokenizer_config.json).
TEST(ChatFormatTest, Qwen3ThinkingHistoryAndSwitch) {
  const std::vector<ChatMessage> messages = {
      {"system", "Be brief.", std::nullopt},
      {"user", "Hi", std::nullopt},
      {"assistant", "<think>\nhmm\n</think>\n\nHello!", std::nullopt},
      {"user", "2+2?", std::nullopt}};
  ChatOptions options;
  EXPECT_EQ(*FormatChat(messages, ChatStyle::kQwen3, options),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
            "<|im_start|>assistant\n");
  options.enable_thinking = false;
  EXPECT_TRUE(absl::EndsWith(*FormatChat(messages, ChatStyle::kQwen3, options),
                             "<|im_start|>assistant\n<think>\n\n</think>\n\n"));
  // After the last user query, an assistant turn keeps its reasoning.
  const std::vector<ChatMessage> agentic = {
      {"user", "Add 1 and 2", std::nullopt},
      {"assistant", "I will call the tool.", std::string("\nneed a tool\n")},
      {"tool", "3", std::nullopt},
      {"tool", "ok", std::nullopt},
      {"assistant", "<think>done</think>It is 3.", std::nullopt}};
  options = ChatOptions();
  options.add_generation_prompt = false;
  EXPECT_EQ(*FormatChat(agentic, ChatStyle::kQwen3, options),
            "<|im_start|>user\nAdd 1 and 2<|im_end|>\n"
            "<|im_start|>assistant\n<think>\nneed a tool\n</think>\n\nI will call the tool."
            "<|im_end|>\n"
            "<|im_start|>user\n<tool_response>\n3\n</tool_response>\n<tool_response>\nok\n"
            "</tool_response><|im_end|>\n"
            "<|im_start|>assistant\n<think>\ndone\n</think>\n\nIt is 3.<|im_end|>\n");
}

TEST(ChatFormatTest, PromptsAreTextOrMessages) {
  auto t = Synthetic();
  ChatOptions options;
  EXPECT_EQ(*RenderPrompt(*t, nlohmann::json("12+30="), options, "p"), "12+30=");
  auto messages = nlohmann::json::parse(R"([{"role": "user", "content": "Hi"}])");
  EXPECT_EQ(*RenderPrompt(*t, messages, options, "p"),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  auto bad =
      RenderPrompt(*t, nlohmann::json::parse(R"([{"role": "user"}])"), options, "data.jsonl:3");
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("data.jsonl:3: message 0"));
}

}  // namespace
}  // namespace seamless
