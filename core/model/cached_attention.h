// One decode-time attention step on the CPU, fused into a single pass without GEMMs: RoPE on
// the new queries and keys, the write of the new keys and values into the KV cache, and
// attention of each new query over its sequence's cached keys.
//
// Why: at decode time each (sequence, key/value head) pair is its own tiny matrix product
// (a few query rows × head_dim × a few hundred keys). LibTorch's CPU bmm runs those as one
// BLAS call per pair, and that overhead dominated a batch-64 decode step; at batch 1 the ~25
// small tensor ops per layer (RoPE, the cache scatter, transposes) did. This kernel reads each
// sequence's keys and values in place from its cache blocks (no gather into a contiguous copy) and
// computes the dot products with vector instructions chosen at load time (AVX-512, AVX2 or
// baseline). Tested against the GEMM path (mimo_model_test: incremental == full forward).
#ifndef SEAMLESS_CORE_MODEL_CACHED_ATTENTION_H_
#define SEAMLESS_CORE_MODEL_CACHED_ATTENTION_H_

#include <ATen/ATen.h>

#include <cstdint>

namespace seamless {

// New tokens per sequence up to which the kernel beats the GEMM path (decode is 1, an MTP
// verification step 2).
inline constexpr int64_t kCachedAttentionMaxQueries = 4;

struct AttentionContext;

// qkv: float32 [B, T, (heads + 2 kv_heads) * head_dim], the fused q/k/v projection (biases
// added, RoPE not yet applied); ctx: an incremental context (its cos, sin, slots, start and
// cache group) whose blocks are reserved. The new keys and values go to positions start[b] ..
// start[b] + T - 1 of row b's blocks in cache layer `layer` (float32 CPU pools); query t of
// row b attends to keys [0, start[b] + t], read block by block from the pool in place.
// Returns float32 [B, T, heads * head_dim].
at::Tensor CachedAttentionStep(const at::Tensor& qkv, const AttentionContext& ctx, int64_t layer,
                               int64_t heads, int64_t kv_heads);

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_CACHED_ATTENTION_H_
