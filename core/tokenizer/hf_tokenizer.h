// A Hugging Face byte-level BPE tokenizer (Qwen2, Qwen3, MiMo) loaded from tokenizer.json and
// tokenizer_config.json, with ids identical to Hugging Face's `tokenizers` library:
//
//   added/special tokens are cut out first (leftmost, longest; on the raw text for tokens with
//   "normalized": false, on the normalized text otherwise), each remaining segment is NFC
//   normalized, split by the Qwen pre-tokenizer (qwen_pretokenizer.h) and each piece's bytes go
//   through BPE (bpe_model.h). Decoding concatenates each token's bytes and, like the
//   reference, replaces invalid UTF-8 with U+FFFD; DecodeBytes keeps the raw bytes.
//
// Only what these models use is implemented; anything else in the files (another model type,
// normalizer, pre-tokenizer pattern, post-processor) is refused at load with an error naming
// the file and field. Thread-safe after loading: Encode and Decode keep no shared state.
#ifndef SEAMLESS_CORE_TOKENIZER_HF_TOKENIZER_H_
#define SEAMLESS_CORE_TOKENIZER_HF_TOKENIZER_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/tokenizer/bpe_model.h"
#include "core/tokenizer/chat_format.h"
#include "core/tokenizer/tokenizer.h"

namespace seamless {

class HfTokenizer : public Tokenizer {
 public:
  // Reads DIR/tokenizer.json and, when present, DIR/tokenizer_config.json.
  static absl::StatusOr<std::unique_ptr<HfTokenizer>> Load(const std::string& dir);
  // The same from file contents; `config_json` may be empty (no config file). The names are
  // used in error messages.
  static absl::StatusOr<std::unique_ptr<HfTokenizer>> FromJson(absl::string_view tokenizer_json,
                                                               const std::string& tokenizer_file,
                                                               absl::string_view config_json,
                                                               const std::string& config_file);

  absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view text) const override;
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids) const override;
  // The tokens' bytes without UTF-8 repair (a prefix of a sequence may end mid-character).
  absl::StatusOr<std::string> DecodeBytes(const std::vector<int32_t>& ids) const;

  // Never fails: byte-level BPE expresses every byte string.
  void EncodeTo(absl::string_view text, std::vector<int32_t>* ids) const;

  int32_t vocab_size() const override { return int32_t(token_offsets_.size()) - 1; }
  int32_t eos_id() const override { return eos_id_; }
  int32_t bos_id() const override { return bos_id_; }  // -1: none
  int32_t pad_id() const override { return pad_id_; }  // -1: none

  absl::StatusOr<std::string> FormatChat(const std::vector<ChatMessage>& messages,
                                         const ChatOptions& options) const override;
  ChatStyle chat_style() const { return chat_style_; }

  // The id of a token as tokenizer.json spells it (byte-level characters, or an added token).
  std::optional<int32_t> TokenToId(absl::string_view token) const;
  bool IsSpecial(int32_t id) const;

 private:
  struct AddedToken {
    std::string content;
    int32_t id = -1;
    bool special = false, lstrip = false, rstrip = false, normalized = true;
  };
  // Leftmost-longest matching of a set of added tokens (few: a linear probe per candidate
  // first byte is faster than an automaton).
  struct AddedMatcher {
    std::vector<const AddedToken*> tokens;  // longest first
    std::array<bool, 256> first_byte{};
    int single_first_byte = -1;  // when all share one first byte: memchr for it
    void Build();
    bool empty() const { return tokens.empty(); }
  };

  HfTokenizer() = default;
  absl::Status Parse(absl::string_view tokenizer_json, const std::string& tokenizer_file,
                     absl::string_view config_json, const std::string& config_file);
  // Cuts `text` at the matcher's tokens: `segment(piece)` for text between them, ids of the
  // tokens appended to *ids in order.
  template <typename SegmentFn>
  void SplitAdded(const AddedMatcher& matcher, absl::string_view text, std::vector<int32_t>* ids,
                  SegmentFn segment) const;
  void EncodeNormalized(absl::string_view text, std::vector<int32_t>* ids) const;
  void EncodeModel(absl::string_view text, std::vector<int32_t>* ids) const;

  std::unique_ptr<BpeModel> bpe_;
  bool nfc_ = false;
  bool ignore_merges_ = false;
  absl::flat_hash_map<std::string, int32_t> vocab_;        // tokenizer.json spelling -> id
  absl::flat_hash_map<std::string, int32_t> bytes_to_id_;  // raw bytes -> id (ignore_merges)
  std::vector<std::unique_ptr<AddedToken>> added_;
  AddedMatcher raw_added_, normalized_added_;
  absl::flat_hash_map<std::string, int32_t> added_by_content_;
  // Each id's decoded bytes: pool_[token_offsets_[id], token_offsets_[id + 1]).
  std::string pool_;
  std::vector<uint32_t> token_offsets_;
  std::vector<uint8_t> flags_;  // kPresent, kSpecial
  int32_t eos_id_ = -1, bos_id_ = -1, pad_id_ = -1;
  ChatStyle chat_style_ = ChatStyle::kChatMl;
  bool has_chat_tokens_ = false;
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_TOKENIZER_HF_TOKENIZER_H_
