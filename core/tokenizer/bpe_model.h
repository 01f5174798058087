// Byte-level BPE over raw bytes: the merges of a Hugging Face BPE model, applied lowest rank
// first (leftmost among equal ranks) exactly as the reference's Word::merge_all does, but on
// token ids instead of strings. Short pieces (nearly all) use a flat array with cached pair
// ranks; long ones (a paragraph of Chinese, a run of 5,000 'x') use a heap over a linked list
// so the cost stays O(n log n).
#ifndef SEAMLESS_CORE_TOKENIZER_BPE_MODEL_H_
#define SEAMLESS_CORE_TOKENIZER_BPE_MODEL_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace seamless {

class BpeModel {
 public:
  struct Merge {
    int32_t left, right, merged;
  };

  // `byte_ids[b]` is the id of the token for the single byte b; `merges` are in rank order.
  // A pair listed twice keeps its later rank, as in the reference.
  BpeModel(const std::array<int32_t, 256>& byte_ids, const std::vector<Merge>& merges);

  // Appends the ids of `piece` (one pre-tokenizer piece, raw bytes) to *ids.
  void Encode(absl::string_view piece, std::vector<int32_t>* ids) const;

  // The two algorithms, exposed so tests can check that they agree.
  void EncodeFlat(absl::string_view piece, std::vector<int32_t>* ids) const;
  void EncodeHeap(absl::string_view piece, std::vector<int32_t>* ids) const;

  static constexpr size_t kFlatLimit = 128;  // longest piece (bytes) for the flat algorithm

 private:
  static constexpr uint32_t kNoMerge = 0xffffffff;
  struct Slot {
    uint64_t key;  // left << 32 | right; kEmpty when unused
    uint32_t rank;
    int32_t merged;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};

  // Open addressing, linear probing, load <= 1/2: one cache line per lookup in practice.
  const Slot& Find(int32_t left, int32_t right) const {
    const uint64_t key = (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
    size_t i = size_t((key * 0x9e3779b97f4a7c15ull) >> shift_);
    while (true) {
      const Slot& s = table_[i];
      if (s.key == key || s.key == kEmpty) return s;
      i = (i + 1) & mask_;
    }
  }

  std::array<int32_t, 256> byte_ids_;
  std::vector<Slot> table_;
  size_t mask_ = 0;
  int shift_ = 0;
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_TOKENIZER_BPE_MODEL_H_
