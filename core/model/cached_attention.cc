#include "core/model/cached_attention.h"

#include <algorithm>
#include <cmath>

namespace seamless {
namespace {

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

at::Tensor CachedAttention(const at::Tensor& q_in, const at::Tensor& k_cache,
                           const at::Tensor& v_cache, const std::vector<int64_t>& slots,
                           const std::vector<int64_t>& start) {
  TORCH_CHECK(q_in.scalar_type() == at::kFloat && k_cache.is_contiguous() &&
                  v_cache.is_contiguous() && q_in.device().is_cpu(),
              "CachedAttention needs float32 CPU tensors and contiguous caches");
  const at::Tensor q = q_in.contiguous();
  const int64_t batch = q.size(0), heads = q.size(1), len = q.size(2), dim = q.size(3);
  const int64_t kv_heads = k_cache.size(1), max_len = k_cache.size(2);
  const int64_t group = heads / kv_heads;
  at::Tensor out = at::empty_like(q);
  const float* qp = q.data_ptr<float>();
  const float* kp = k_cache.data_ptr<float>();
  const float* vp = v_cache.data_ptr<float>();
  float* op = out.data_ptr<float>();
  std::vector<float> scores(max_len);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t base = (slots[b] * kv_heads + h / group) * max_len * dim;
      for (int64_t t = 0; t < len; ++t) {
        const int64_t keys = start[b] + t + 1;
        TORCH_CHECK(keys <= max_len, "CachedAttention: ", keys, " keys exceed the cache");
        const int64_t row = ((b * heads + h) * len + t) * dim;
        AttendOneQuery(qp + row, kp + base, vp + base, keys, dim, scores.data(), op + row);
      }
    }
  }
  return out;
}

}  // namespace seamless
