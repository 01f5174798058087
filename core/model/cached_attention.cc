#include "core/model/cached_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/model/attention_context.h"
#include "core/model/kv_cache.h"

namespace seamless {
namespace {

// out = x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1] (Hugging Face's RoPE).
void Rope(const float* x, const float* cos, const float* sin, int64_t dim, float scale,
          float* out) {
  const int64_t half = dim / 2;
  for (int64_t d = 0; d < half; ++d) {
    out[d] = (x[d] * cos[d] - x[d + half] * sin[d]) * scale;
    out[d + half] = (x[d + half] * cos[d + half] + x[d] * sin[d + half]) * scale;
  }
}

// One query head over `keys` cached keys stored in blocks of `block` keys: key s is row
// s % block of k_blocks[s / block] (likewise values). out = softmax(q·Kᵀ) V, summed in key
// order as over one contiguous array. `scores` holds `keys` floats of scratch. Compiled three
// times; the loader picks the widest the CPU supports.
__attribute__((target_clones("avx512f", "avx2", "default"))) void AttendOneQuery(
    const float* __restrict q, const float* const* k_blocks, const float* const* v_blocks,
    int64_t keys, int64_t block, int64_t dim, float* __restrict scores, float* __restrict out) {
  float max_score = -INFINITY;
  for (int64_t s0 = 0, j = 0; s0 < keys; s0 += block, ++j) {
    const int64_t n = std::min(block, keys - s0);
    const float* __restrict kb = k_blocks[j];
    for (int64_t i = 0; i < n; ++i) {
      const float* key = kb + i * dim;
      float dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int64_t d = 0; d < dim; ++d) dot += q[d] * key[d];
      scores[s0 + i] = dot;
      max_score = std::max(max_score, dot);
    }
  }
  float total = 0;
  for (int64_t s = 0; s < keys; ++s) {
    scores[s] = std::exp(scores[s] - max_score);
    total += scores[s];
  }
  const float inv = 1.0f / total;
  for (int64_t d = 0; d < dim; ++d) out[d] = 0;
  for (int64_t s0 = 0, j = 0; s0 < keys; s0 += block, ++j) {
    const int64_t n = std::min(block, keys - s0);
    const float* __restrict vb = v_blocks[j];
    for (int64_t i = 0; i < n; ++i) {
      const float p = scores[s0 + i] * inv;
      const float* value = vb + i * dim;
#pragma omp simd
      for (int64_t d = 0; d < dim; ++d) out[d] += p * value[d];
    }
  }
}

}  // namespace

at::Tensor CachedAttentionStep(const at::Tensor& qkv_in, const AttentionContext& ctx, int64_t layer,
                               int64_t heads, int64_t kv_heads) {
  KvCache& cache = *ctx.cache;
  at::Tensor& k_pool = cache.keys(layer);
  at::Tensor& v_pool = cache.values(layer);
  TORCH_CHECK(qkv_in.scalar_type() == at::kFloat && qkv_in.device().is_cpu() &&
                  k_pool.scalar_type() == at::kFloat && k_pool.device().is_cpu() &&
                  k_pool.is_contiguous() && v_pool.is_contiguous(),
              "CachedAttentionStep needs float32 CPU tensors and contiguous pools");
  const at::Tensor qkv = qkv_in.contiguous(), cos = ctx.cos.contiguous(),
                   sin = ctx.sin.contiguous();
  const int64_t batch = qkv.size(0), len = qkv.size(1);
  const int64_t dim = k_pool.size(3), block = k_pool.size(2);
  const int64_t width = (heads + 2 * kv_heads) * dim, group = heads / kv_heads;
  TORCH_CHECK(qkv.size(2) == width, "qkv width ", qkv.size(2), " != ", width);
  const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
  at::Tensor out = at::empty({batch, len, heads * dim}, qkv.options());
  const float* in = qkv.data_ptr<float>();
  const float* cp = cos.data_ptr<float>();
  const float* sp = sin.data_ptr<float>();
  float* kc = k_pool.data_ptr<float>();
  float* vc = v_pool.data_ptr<float>();
  float* op = out.data_ptr<float>();
  // Start of (block, kv head) in a pool.
  auto at_block = [&](int32_t blk, int64_t h) { return (blk * kv_heads + h) * block * dim; };
  std::vector<float> q(heads * dim), scores(ctx.kv_len);
  std::vector<const float*> k_blocks, v_blocks;

  // Keys and values of every new token first: query t may attend to key t' > t of the same
  // step only through the causal limit, which excludes it.
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int32_t>& table = cache.block_table(ctx.group, ctx.slots[b]);
    for (int64_t t = 0; t < len; ++t) {
      const int64_t pos = ctx.start[b] + t;
      TORCH_CHECK(pos / block < static_cast<int64_t>(table.size()), "KV cache position ", pos,
                  " of slot ", ctx.slots[b], " has no block");
      const float* row = in + (b * len + t) * width;
      const float* c = cp + (b * len + t) * dim;
      const float* s = sp + (b * len + t) * dim;
      for (int64_t h = 0; h < kv_heads; ++h) {
        const int64_t at = at_block(table[pos / block], h) + (pos % block) * dim;
        Rope(row + (heads + h) * dim, c, s, dim, 1.0f, kc + at);
        std::memcpy(vc + at, row + (heads + kv_heads + h) * dim, dim * sizeof(float));
      }
    }
  }
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int32_t>& table = cache.block_table(ctx.group, ctx.slots[b]);
    const int64_t blocks = (ctx.start[b] + len + block - 1) / block;
    for (int64_t hk = 0; hk < kv_heads; ++hk) {
      k_blocks.resize(blocks);
      v_blocks.resize(blocks);
      for (int64_t j = 0; j < blocks; ++j) {
        k_blocks[j] = kc + at_block(table[j], hk);
        v_blocks[j] = vc + at_block(table[j], hk);
      }
      for (int64_t t = 0; t < len; ++t) {
        const float* row = in + (b * len + t) * width;
        const float* c = cp + (b * len + t) * dim;
        const float* s = sp + (b * len + t) * dim;
        const int64_t keys = ctx.start[b] + t + 1;
        for (int64_t h = hk * group; h < (hk + 1) * group; ++h) {
          Rope(row + h * dim, c, s, dim, scale, q.data() + h * dim);
          AttendOneQuery(q.data() + h * dim, k_blocks.data(), v_blocks.data(), keys, block, dim,
                         scores.data(), op + (b * len + t) * heads * dim + h * dim);
        }
      }
    }
  }
  return out;
}

}  // namespace seamless
