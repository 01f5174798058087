#include "core/model/cached_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

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

// One query head over `keys` cached keys: out = softmax(q·Kᵀ) V. `scores` holds `keys`
// floats of scratch. Compiled three times; the loader picks the widest the CPU supports.
__attribute__((target_clones("avx512f", "avx2", "default")))
void AttendOneQuery(const float* __restrict q, const float* __restrict k,
                    const float* __restrict v, int64_t keys, int64_t dim,
                    float* __restrict scores, float* __restrict out) {
  float max_score = -INFINITY;
  for (int64_t s = 0; s < keys; ++s) {
    const float* key = k + s * dim;
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t d = 0; d < dim; ++d) dot += q[d] * key[d];
    scores[s] = dot;
    max_score = std::max(max_score, dot);
  }
  float total = 0;
  for (int64_t s = 0; s < keys; ++s) {
    scores[s] = std::exp(scores[s] - max_score);
    total += scores[s];
  }
  const float inv = 1.0f / total;
  for (int64_t d = 0; d < dim; ++d) out[d] = 0;
  for (int64_t s = 0; s < keys; ++s) {
    const float p = scores[s] * inv;
    const float* value = v + s * dim;
#pragma omp simd
    for (int64_t d = 0; d < dim; ++d) out[d] += p * value[d];
  }
}

}  // namespace

at::Tensor CachedAttentionStep(const at::Tensor& qkv_in, const at::Tensor& cos_in,
                               const at::Tensor& sin_in, at::Tensor& k_cache,
                               at::Tensor& v_cache, const std::vector<int64_t>& slots,
                               const std::vector<int64_t>& start, int64_t heads,
                               int64_t kv_heads) {
  TORCH_CHECK(qkv_in.scalar_type() == at::kFloat && qkv_in.device().is_cpu() &&
                  k_cache.is_contiguous() && v_cache.is_contiguous(),
              "CachedAttentionStep needs float32 CPU tensors and contiguous caches");
  const at::Tensor qkv = qkv_in.contiguous(), cos = cos_in.contiguous(), sin = sin_in.contiguous();
  const int64_t batch = qkv.size(0), len = qkv.size(1);
  const int64_t dim = k_cache.size(3), max_len = k_cache.size(2);
  const int64_t width = (heads + 2 * kv_heads) * dim, group = heads / kv_heads;
  TORCH_CHECK(qkv.size(2) == width, "qkv width ", qkv.size(2), " != ", width);
  const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
  at::Tensor out = at::empty({batch, len, heads * dim}, qkv.options());
  const float* in = qkv.data_ptr<float>();
  const float* cp = cos.data_ptr<float>();
  const float* sp = sin.data_ptr<float>();
  float* kc = k_cache.data_ptr<float>();
  float* vc = v_cache.data_ptr<float>();
  float* op = out.data_ptr<float>();
  std::vector<float> q(heads * dim), scores(max_len);

  // Keys and values of every new token first: query t may attend to key t' > t of the same
  // step only through the causal limit, which excludes it.
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < len; ++t) {
      const int64_t pos = start[b] + t;
      TORCH_CHECK(pos < max_len, "KV cache overflow: position ", pos, " of ", max_len);
      const float* row = in + (b * len + t) * width;
      const float* c = cp + (b * len + t) * dim;
      const float* s = sp + (b * len + t) * dim;
      for (int64_t h = 0; h < kv_heads; ++h) {
        const int64_t at = ((slots[b] * kv_heads + h) * max_len + pos) * dim;
        Rope(row + (heads + h) * dim, c, s, dim, 1.0f, kc + at);
        std::memcpy(vc + at, row + (heads + kv_heads + h) * dim, dim * sizeof(float));
      }
    }
  }
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < len; ++t) {
      const float* row = in + (b * len + t) * width;
      const float* c = cp + (b * len + t) * dim;
      const float* s = sp + (b * len + t) * dim;
      const int64_t keys = start[b] + t + 1;
      for (int64_t h = 0; h < heads; ++h) {
        Rope(row + h * dim, c, s, dim, scale, q.data() + h * dim);
        const int64_t base = (slots[b] * kv_heads + h / group) * max_len * dim;
        AttendOneQuery(q.data() + h * dim, kc + base, vc + base, keys, dim, scores.data(),
                       op + (b * len + t) * heads * dim + h * dim);
      }
    }
  }
  return out;
}

}  // namespace seamless
