// A small synthetic byte-level BPE tokenizer.json for tests that must not need the npm
// reference: the 256 byte tokens (ids 0-255 in byte order), a few merges, added tokens.
#ifndef SEAMLESS_CORE_TOKENIZER_HF_TOKENIZER_TEST_UTIL_H_
#define SEAMLESS_CORE_TOKENIZER_HF_TOKENIZER_TEST_UTIL_H_

#include <string>

namespace seamless {
namespace testing {

struct SyntheticTokenizerOptions {
  bool nfc = true;            // NFC normalizer, else none
  bool pair_merges = false;   // merges as ["a", "b"] instead of "a b"
  bool strip_tokens = false;  // add "<mask>" with lstrip and rstrip
};

// Ids: bytes 0-255, then one per merge in order (see the .cc), then the added tokens
// <|endoftext|>, <|im_start|>, <|im_end|> (special), <think> (not special).
std::string SyntheticTokenizerJson(const SyntheticTokenizerOptions& options = {});
std::string SyntheticConfigJson();

}  // namespace testing
}  // namespace seamless

#endif  // SEAMLESS_CORE_TOKENIZER_HF_TOKENIZER_TEST_UTIL_H_
