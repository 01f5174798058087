// What every attention layer of one forward pass shares: RoPE positions, the mask, and where
// keys and values live. Built once per forward, not once per layer.
#ifndef SEAMLESS_CORE_MODEL_ATTENTION_CONTEXT_H_
#define SEAMLESS_CORE_MODEL_ATTENTION_CONTEXT_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace seamless {

class KvCache;

struct AttentionContext {
  // Full causal attention over the given tokens only (training, scoring).
  static AttentionContext Full(int64_t batch, int64_t seq_len, int64_t position_offset,
                               const at::Device& device);
  // Incremental: `seq_len` new tokens per row appended to `slots` of `cache` in `group`.
  // Row b's tokens take positions start[b] + position_offset + i (start = cached length).
  // Reserves the cache blocks the new tokens need; throws c10::Error when the sequence would
  // pass the cache's max_len or its pool has too few free blocks.
  static AttentionContext Incremental(KvCache* cache, int group, const std::vector<int64_t>& slots,
                                      int64_t seq_len, int64_t position_offset,
                                      const at::Device& device);

  // Writes this forward's new keys and values k, v [B, kv_heads, T, head_dim] (RoPE applied)
  // into cache layer `layer` and returns each row's keys and values [B, kv_heads, kv_len,
  // head_dim]: its cached tokens gathered from its blocks, then the new ones. Columns past a
  // row's own length hold other data and must be masked (Mask() does).
  std::pair<at::Tensor, at::Tensor> AppendAndRead(int64_t layer, const at::Tensor& k,
                                                  const at::Tensor& v);

  KvCache* cache = nullptr;
  int group = 0;               // cache group (0: main stack, 1 + k: MTP layer k)
  std::vector<int64_t> slots;  // cache slot of each batch row
  std::vector<int64_t> start;  // cached tokens of each row before this forward
  int64_t kv_len = 0;          // keys each query may see at most (columns of the mask)
  at::Tensor positions;        // int64 [B, T] RoPE positions
  // float [B, 1, 1, T, kv_len] (0 or -inf); incremental contexts build it on first use, since
  // the CPU decode kernel (cached_attention.h) needs none.
  const at::Tensor& Mask();
  at::Tensor mask;
  at::Tensor query_pos;  // int64 [B, T]: cache index of each new token (incremental)
  // Rows of a cache layer viewed as [blocks * kv_heads * block_tokens, head_dim]: where each
  // new (b, kv head, t) goes, and where each (b, kv head, s < kv_len) is read. Set on first use.
  at::Tensor write_rows, read_rows;
  at::Tensor cos, sin;  // float [B, 1, T, head_dim], filled in by the model
  int64_t seq_len = 0;  // new tokens per row (incremental)
  at::Device device = at::kCPU;

 private:
  void BuildRows(int64_t kv_heads);
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_ATTENTION_CONTEXT_H_
