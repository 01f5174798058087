// Attention of a few new queries per sequence over the KV cache, on the CPU, without GEMMs.
//
// Why: at decode time each (sequence, key/value head) pair is its own tiny matrix product
// (2 query rows × 32 columns × a few hundred keys). LibTorch's CPU bmm runs those as one
// BLAS call per pair, and the per-call overhead dominated a batch-64 decode step (~75% of
// it, measured). This kernel reads each sequence's keys and values in place from its cache
// slot (no gather of scattered slots), applies the causal limit per query, and computes the
// dot products with vector instructions chosen at load time (AVX-512, AVX2 or baseline).
#ifndef SEAMLESS_CORE_MODEL_CACHED_ATTENTION_H_
#define SEAMLESS_CORE_MODEL_CACHED_ATTENTION_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace seamless {

// Queries per sequence up to which the kernel beats the GEMM path (decode is 1, an MTP
// verification step 2).
inline constexpr int64_t kCachedAttentionMaxQueries = 4;

// q: float32 [B, heads, T, head_dim] (RoPE applied and already scaled by 1/sqrt(head_dim)).
// k_cache, v_cache: float32 contiguous [slots, kv_heads, max_len, head_dim], with the new keys
// already written. Query t of row b sees keys [0, start[b] + t] of slot slots[b].
// Returns [B, heads, T, head_dim].
at::Tensor CachedAttention(const at::Tensor& q, const at::Tensor& k_cache,
                           const at::Tensor& v_cache, const std::vector<int64_t>& slots,
                           const std::vector<int64_t>& start);

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_CACHED_ATTENTION_H_
