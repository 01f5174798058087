#include "core/tokenizer/char_tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seamless {
namespace {

using ::testing::HasSubstr;

TEST(CharTokenizerTest, RoundTripsPrintableText) {
  CharTokenizer tok;
  const std::string text = "Q: 12 + 30 = ?\n\tA: \\boxed{42}";
  auto ids = tok.Encode(text);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), text.size());
  for (int32_t id : *ids) {
    EXPECT_GE(id, CharTokenizer::kFirstChar);
    EXPECT_LT(id, tok.vocab_size());
  }
  EXPECT_EQ(*tok.Decode(*ids), text);
}

TEST(CharTokenizerTest, SpecialTokensDecodeToNothing) {
  CharTokenizer tok;
  auto ids = *tok.Encode("ab");
  ids.insert(ids.begin(), tok.bos_id());
  ids.push_back(tok.eos_id());
  EXPECT_EQ(*tok.Decode(ids), "ab");
}

TEST(CharTokenizerTest, RejectsWhatItCannotExpress) {
  CharTokenizer tok;
  auto bad = tok.Encode("ok \xc3\xa9");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("offset 3"));
  EXPECT_THAT(tok.Decode({5, tok.vocab_size()}).status().message(), HasSubstr("index 1"));
  EXPECT_FALSE(tok.Decode({-1}).ok());
}

TEST(CharTokenizerTest, JsonRoundTripAndErrors) {
  CharTokenizer custom("abc");
  auto back = CharTokenizer::FromJson(custom.ToJson(), "t.json");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->alphabet(), "abc");
  EXPECT_EQ(back->vocab_size(), 6);
  EXPECT_THAT(CharTokenizer::FromJson("{}", "t.json").status().message(),
              HasSubstr("t.json: field 'type'"));
  EXPECT_THAT(CharTokenizer::FromJson(R"({"type":"seamless_char","alphabet":"aa"})", "t.json")
                  .status()
                  .message(),
              HasSubstr("repeated"));
  EXPECT_THAT(CharTokenizer::FromJson("not json", "t.json").status().message(),
              HasSubstr("t.json"));
}

}  // namespace
}  // namespace seamless
