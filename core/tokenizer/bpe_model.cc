#include "core/tokenizer/bpe_model.h"

#include <cstring>
#include <queue>

namespace seamless {

BpeModel::BpeModel(const std::array<int32_t, 256>& byte_ids, const std::vector<Merge>& merges)
    : byte_ids_(byte_ids) {
  size_t size = 16;
  int bits = 4;
  while (size < 2 * merges.size() + 2) {
    size *= 2;
    ++bits;
  }
  table_.assign(size, Slot{kEmpty, kNoMerge, -1});
  mask_ = size - 1;
  shift_ = 64 - bits;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const Merge& m = merges[rank];
    Slot& s = const_cast<Slot&>(Find(m.left, m.right));
    s.key = (uint64_t(uint32_t(m.left)) << 32) | uint32_t(m.right);
    s.rank = uint32_t(rank);
    s.merged = m.merged;
  }
}

void BpeModel::Encode(absl::string_view piece, std::vector<int32_t>* ids) const {
  if (piece.size() <= kFlatLimit) {
    EncodeFlat(piece, ids);
  } else {
    EncodeHeap(piece, ids);
  }
}

void BpeModel::EncodeFlat(absl::string_view piece, std::vector<int32_t>* ids) const {
  const size_t n = piece.size();
  if (n == 0) return;
  if (n == 1) {
    ids->push_back(byte_ids_[uint8_t(piece[0])]);
    return;
  }
  // sym[i] the symbols; rank[i]/merged[i] describe the pair (sym[i], sym[i+1]).
  int32_t sym_buf[kFlatLimit], merged_buf[kFlatLimit];
  uint32_t rank_buf[kFlatLimit];
  std::vector<int32_t> sym_heap, merged_heap;
  std::vector<uint32_t> rank_heap;
  int32_t *sym = sym_buf, *merged = merged_buf;
  uint32_t* rank = rank_buf;
  if (n > kFlatLimit) {  // only when called directly (tests)
    sym_heap.resize(n);
    merged_heap.resize(n);
    rank_heap.resize(n);
    sym = sym_heap.data();
    merged = merged_heap.data();
    rank = rank_heap.data();
  }
  for (size_t i = 0; i < n; ++i) sym[i] = byte_ids_[uint8_t(piece[i])];
  size_t m = n;
  for (size_t i = 0; i + 1 < m; ++i) {
    const Slot& s = Find(sym[i], sym[i + 1]);
    rank[i] = s.rank;
    merged[i] = s.merged;
  }
  while (m > 1) {
    size_t best = 0;
    uint32_t best_rank = rank[0];
    for (size_t i = 1; i + 1 < m; ++i) {
      if (rank[i] < best_rank) {
        best_rank = rank[i];
        best = i;
      }
    }
    if (best_rank == kNoMerge) break;
    sym[best] = merged[best];
    // Remove symbol best+1 and pair best (pair best-1 and best are recomputed below).
    std::memmove(sym + best + 1, sym + best + 2, (m - best - 2) * sizeof(int32_t));
    if (best + 2 < m) {
      std::memmove(rank + best + 1, rank + best + 2, (m - best - 3) * sizeof(uint32_t));
      std::memmove(merged + best + 1, merged + best + 2, (m - best - 3) * sizeof(int32_t));
    }
    --m;
    if (best > 0) {
      const Slot& s = Find(sym[best - 1], sym[best]);
      rank[best - 1] = s.rank;
      merged[best - 1] = s.merged;
    }
    if (best + 1 < m) {
      const Slot& s = Find(sym[best], sym[best + 1]);
      rank[best] = s.rank;
      merged[best] = s.merged;
    }
  }
  ids->insert(ids->end(), sym, sym + m);
}

void BpeModel::EncodeHeap(absl::string_view piece, std::vector<int32_t>* ids) const {
  const size_t n = piece.size();
  if (n == 0) return;
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  std::vector<Symbol> sym(n);
  for (size_t i = 0; i < n; ++i) {
    sym[i] = {byte_ids_[uint8_t(piece[i])], int32_t(i) - 1, i + 1 < n ? int32_t(i + 1) : -1, true};
  }
  // Min-heap on (rank, position), as the reference orders its queue.
  struct Candidate {
    uint32_t rank;
    int32_t pos;
    int32_t merged;
    bool operator<(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate> queue;
  auto push = [&](int32_t pos) {
    const int32_t next = sym[pos].next;
    if (next < 0) return;
    const Slot& s = Find(sym[pos].id, sym[next].id);
    if (s.rank != kNoMerge) queue.push({s.rank, pos, s.merged});
  };
  for (size_t i = 0; i + 1 < n; ++i) push(int32_t(i));
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = sym[top.pos];
    if (!left.alive || left.next < 0) continue;
    // Stale when either side changed since the candidate was queued.
    const Slot& s = Find(left.id, sym[left.next].id);
    if (s.rank != top.rank || s.merged != top.merged) continue;
    Symbol& right = sym[left.next];
    left.id = top.merged;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) sym[right.next].prev = top.pos;
    if (left.prev >= 0) push(left.prev);
    push(top.pos);
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next) ids->push_back(sym[i].id);
}

}  // namespace seamless
