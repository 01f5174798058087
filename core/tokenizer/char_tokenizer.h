// A character-level tokenizer for the built-in tasks: a few special tokens, then one token per
// character of a fixed alphabet (printable ASCII, newline and tab by default). Text with a
// character outside the alphabet is rejected with its offset, never silently mangled.
#ifndef SEAMLESS_CORE_TOKENIZER_CHAR_TOKENIZER_H_
#define SEAMLESS_CORE_TOKENIZER_CHAR_TOKENIZER_H_

#include <array>
#include <string>

#include "core/tokenizer/tokenizer.h"

namespace seamless {

class CharTokenizer : public Tokenizer {
 public:
  static constexpr int32_t kPad = 0, kBos = 1, kEos = 2;
  static constexpr int32_t kFirstChar = 3;

  // Printable ASCII plus '\n' and '\t'.
  static std::string DefaultAlphabet();

  // `alphabet` lists distinct single-byte characters; ids follow its order after the specials.
  explicit CharTokenizer(std::string alphabet = DefaultAlphabet());

  absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view text) const override;
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids) const override;
  int32_t vocab_size() const override { return kFirstChar + int32_t(alphabet_.size()); }
  int32_t eos_id() const override { return kEos; }
  int32_t bos_id() const override { return kBos; }
  int32_t pad_id() const override { return kPad; }

  const std::string& alphabet() const { return alphabet_; }

  // {"type": "seamless_char", "alphabet": "..."}
  std::string ToJson() const;
  static absl::StatusOr<CharTokenizer> FromJson(const std::string& json_text,
                                                const std::string& file);

 private:
  std::string alphabet_;
  std::array<int32_t, 256> id_of_byte_;
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_TOKENIZER_CHAR_TOKENIZER_H_
