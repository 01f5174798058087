// Randomized tests with fixed seeds: arbitrary bytes into the loader and the encoder. Nothing
// may crash (the sanitizer build runs these too), every encoding must decode back to its
// input's bytes (to NFC of them when the tokenizer normalizes), and the two BPE algorithms
// must agree.
#include <map>
#include <random>

#include "core/tokenizer/bpe_model.h"
#include "core/tokenizer/hf_tokenizer.h"
#include "core/tokenizer/hf_tokenizer_test_util.h"
#include "core/tokenizer/unicode.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

using seamless::testing::SyntheticConfigJson;
using seamless::testing::SyntheticTokenizerJson;

// Mostly text-like bytes, sometimes anything.
std::string RandomBytes(std::mt19937& rng, size_t max_len) {
  static const std::vector<std::string> kPieces = {
      " ",       "  ",     "\n",         "\r\n",         "\t",         "'s",       "'LL",
      "'\u017f", "the",    " cat",       "aaaa",         "12",         "\u4e2d",   "e\u0301",
      "\u0301",  "\u00a0", "\u3000",     "\u200b",       "<|im_end|>", "<think>",  "<|im_",
      "!",       "...",    "\U0001F600", "\u1100\u1161", "\xff",       "\xe4\xb8", "\xed\xa0\x80"};
  std::string s;
  const size_t n = rng() % (max_len + 1);
  while (s.size() < n) {
    switch (rng() % 3) {
      case 0:
        s += kPieces[rng() % kPieces.size()];
        break;
      case 1:
        s.push_back(char(0x20 + rng() % 0x5f));
        break;
      default:
        s.push_back(char(rng() % 256));
    }
  }
  return s;
}

TEST(HfTokenizerFuzzTest, EncodeDecodeRoundTripsArbitraryBytes) {
  auto raw = HfTokenizer::FromJson(SyntheticTokenizerJson({.nfc = false}), "t.json",
                                   SyntheticConfigJson(), "c.json");
  auto nfc = HfTokenizer::FromJson(SyntheticTokenizerJson({.nfc = true}), "t.json",
                                   SyntheticConfigJson(), "c.json");
  ASSERT_TRUE(raw.ok() && nfc.ok());
  std::mt19937 rng(12345);
  for (int i = 0; i < 4000; ++i) {
    const std::string text = RandomBytes(rng, i % 100 == 0 ? 2000 : 80);
    // Without a normalizer every byte string survives exactly.
    auto ids = (*raw)->Encode(text);
    ASSERT_TRUE(ids.ok());
    ASSERT_EQ(*(*raw)->DecodeBytes(*ids), text) << "case " << i;
    if (unicode::IsValidUtf8(text)) {
      ASSERT_EQ(*(*raw)->Decode(*ids), text);
    }
    // With NFC, the text comes back normalized.
    std::string normalized;
    unicode::AppendNfc(text, &normalized);
    auto nfc_ids = (*nfc)->Encode(text);
    ASSERT_TRUE(nfc_ids.ok());
    ASSERT_EQ(*(*nfc)->DecodeBytes(*nfc_ids), normalized);
    if (unicode::IsValidUtf8(text)) {
      ASSERT_TRUE(unicode::IsValidUtf8(normalized));
      ASSERT_EQ(*(*nfc)->Decode(*nfc_ids), normalized);
      if (unicode::IsNfcQuick(text)) {
        ASSERT_EQ(normalized, text);
      }
    }
    // Decoding arbitrary id sequences never fails inside the vocabulary.
    std::vector<int32_t> random_ids(rng() % 20);
    for (auto& id : random_ids) id = int32_t(rng() % (*nfc)->vocab_size());
    ASSERT_TRUE((*nfc)->Decode(random_ids).ok());
  }
}

TEST(HfTokenizerFuzzTest, FlatAndHeapBpeAgree) {
  std::array<int32_t, 256> byte_ids;
  for (int b = 0; b < 256; ++b) byte_ids[b] = b;
  // Random merges over a small alphabet so that long chains of merges happen.
  std::mt19937 rng(99);
  std::vector<std::string> tokens;
  tokens.reserve(256);
  for (int b = 0; b < 256; ++b) tokens.push_back(std::string(1, char(b)));
  std::map<std::string, int32_t> ids;
  for (int b = 0; b < 256; ++b) ids[tokens[b]] = b;
  std::vector<BpeModel::Merge> merges;
  for (int i = 0; i < 400; ++i) {
    const int32_t a = rng() % 2 ? int32_t('a' + rng() % 4) : int32_t(rng() % tokens.size());
    const int32_t b = rng() % 2 ? int32_t('a' + rng() % 4) : int32_t(rng() % tokens.size());
    const std::string merged = tokens[a] + tokens[b];
    if (ids.count(merged)) continue;
    ids[merged] = int32_t(tokens.size());
    tokens.push_back(merged);
    merges.push_back({a, b, ids[merged]});
  }
  BpeModel model(byte_ids, merges);
  for (int i = 0; i < 3000; ++i) {
    std::string piece;
    const size_t n = 1 + rng() % (i % 50 == 0 ? 600 : 40);
    for (size_t k = 0; k < n; ++k) piece.push_back(char('a' + rng() % (i % 2 ? 4 : 6)));
    std::vector<int32_t> flat, heap;
    model.EncodeFlat(piece, &flat);
    model.EncodeHeap(piece, &heap);
    ASSERT_EQ(flat, heap) << piece;
    std::string back;
    for (int32_t id : flat) back += tokens[id];
    ASSERT_EQ(back, piece);
  }
}

TEST(HfTokenizerFuzzTest, LoaderSurvivesCorruptFiles) {
  const std::string good = SyntheticTokenizerJson();
  std::mt19937 rng(4242);
  int loaded = 0;
  for (int i = 0; i < 600; ++i) {
    std::string text = good;
    const int edits = 1 + rng() % 4;
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 4) {
        case 0:
          text[at] = char(rng() % 256);
          break;
        case 1:
          text.erase(at, 1 + rng() % 8);
          break;
        case 2:
          text.insert(at, std::string(1 + rng() % 3, "{}[]\",:0-e \\"[rng() % 12]));
          break;
        default:
          text.resize(at);
      }
      if (text.empty()) text = "x";
    }
    auto t = HfTokenizer::FromJson(text, "t.json", "", "c.json");
    if (t.ok()) {
      ++loaded;
      const std::string probe = RandomBytes(rng, 60);
      auto ids = (*t)->Encode(probe);
      ASSERT_TRUE(ids.ok());
      ASSERT_TRUE((*t)->DecodeBytes(*ids).ok());
    } else {
      ASSERT_FALSE(t.status().message().empty());
    }
  }
  // Structural damage: fields replaced by values of every JSON type.
  const nlohmann::json root = nlohmann::json::parse(good);
  const std::vector<nlohmann::json> values = {nullptr,
                                              7,
                                              -1,
                                              1e300,
                                              "x",
                                              true,
                                              nlohmann::json::array(),
                                              nlohmann::json::object(),
                                              nlohmann::json::array({"a", 1})};
  const std::vector<std::vector<std::string>> paths = {{"model"},
                                                       {"model", "vocab"},
                                                       {"model", "merges"},
                                                       {"model", "type"},
                                                       {"added_tokens"},
                                                       {"normalizer"},
                                                       {"pre_tokenizer"},
                                                       {"decoder"},
                                                       {"model", "byte_fallback"},
                                                       {"model", "ignore_merges"},
                                                       {"post_processor"}};
  for (const auto& path : paths) {
    for (const auto& v : values) {
      nlohmann::json j = root;
      nlohmann::json* at = &j;
      for (size_t k = 0; k + 1 < path.size(); ++k) at = &(*at)[path[k]];
      (*at)[path.back()] = v;
      auto t = HfTokenizer::FromJson(j.dump(), "t.json", "", "c.json");
      if (t.ok()) {
        ASSERT_TRUE((*t)->Encode("the cat\xff").ok());
      }
    }
  }
  std::printf("%d of 600 corrupted files still loaded\n", loaded);
}

}  // namespace
}  // namespace seamless
