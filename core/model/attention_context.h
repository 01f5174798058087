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

  // Row of each new (sequence, kv head, token) in a cache layer viewed as
  // [slots * kv_heads * max_len, head_dim], in (b, h, t) order.
  at::Tensor CacheRows(int64_t kv_heads, int64_t max_len) const;

  KvCache* cache = nullptr;
  std::vector<int64_t> slots;  // cache slot of each batch row
  std::vector<int64_t> start;  // cached tokens of each row before this forward
  bool contiguous = false;     // slots are first_slot, first_slot+1, ...: read caches in place
  int64_t kv_len = 0;          // keys each query may see at most (columns of the mask)
  at::Tensor positions;        // int64 [B, T] RoPE positions
  // float [B, 1, 1, T, kv_len] (0 or -inf); incremental contexts build it on first use, since
  // the CPU decode kernel (cached_attention.h) needs none.
  const at::Tensor& Mask();
  at::Tensor mask;
  at::Tensor query_pos;        // int64 [B, T]: cache index of each new token (incremental)
  at::Tensor slot_index;       // int64 [B]
  at::Tensor write_rows;       // int64 [B * kv_heads * T]: see CacheRows; set by the first layer
  at::Tensor cos, sin;         // float [B, 1, T, head_dim], filled in by the model
  int64_t seq_len = 0;         // new tokens per row (incremental)
  at::Device device = at::kCPU;
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_ATTENTION_CONTEXT_H_
