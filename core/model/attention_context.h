// What every attention layer of one forward pass shares: RoPE positions, the mask, and where
// keys and values live. Built once per forward, not once per layer.
#ifndef SEAMLESS_CORE_MODEL_ATTENTION_CONTEXT_H_
#define SEAMLESS_CORE_MODEL_ATTENTION_CONTEXT_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace seamless {

class KvCache;

struct AttentionContext {
  // Full causal attention over the given tokens only (training, scoring).
  static AttentionContext Full(int64_t batch, int64_t seq_len, int64_t position_offset,
                               const at::Device& device);
  // Incremental: `seq_len` new tokens per row appended to `slots` of `cache` in `group`.
  // Row b's tokens take positions start[b] + position_offset + i (start = cached length).
  static AttentionContext Incremental(KvCache* cache, int group,
                                      const std::vector<int64_t>& slots, int64_t seq_len,
                                      int64_t position_offset, const at::Device& device);

  KvCache* cache = nullptr;
  std::vector<int64_t> slots;  // cache slot of each batch row
  std::vector<int64_t> start;  // cached tokens of each row before this forward
  bool contiguous = false;     // slots are first_slot, first_slot+1, ...: read caches in place
  int64_t kv_len = 0;          // keys each query may see at most (columns of the mask)
  at::Tensor positions;        // int64 [B, T] RoPE positions
  at::Tensor mask;             // float [B, 1, 1, T, kv_len], 0 or -inf
  at::Tensor slot_index;       // int64 [B]
  at::Tensor write_slots;      // int64 [B, 1]: cache slot of each new token
  at::Tensor write_positions;  // int64 [B, T]: cache position of each new token
  at::Tensor cos, sin;         // float [B, 1, T, head_dim], filled in by the model
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_ATTENTION_CONTEXT_H_
