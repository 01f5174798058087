#include "core/model/row_linear.h"

#include <ATen/Parallel.h>

#include "core/model/transformer_layers.h"

namespace seamless {
namespace {

// y[r * out + o] = dot(w[o], x[r]) (+ bias[o]) for o in [begin, end), every row r.
__attribute__((target_clones("avx512f", "avx2", "default"))) void RowDots(
    const float* __restrict w, const float* __restrict x, const float* __restrict bias,
    int64_t rows, int64_t in, int64_t out, int64_t begin, int64_t end, float* __restrict y) {
  for (int64_t o = begin; o < end; ++o) {
    const float* wo = w + o * in;
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * in;
      float dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int64_t i = 0; i < in; ++i) dot += wo[i] * xr[i];
      y[r * out + o] = bias != nullptr ? dot + bias[o] : dot;
    }
  }
}

}  // namespace

at::Tensor InferenceLinear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const bool fast = !TrainingNumerics() && x.device().is_cpu() && x.dim() >= 1 &&
                    x.scalar_type() == at::kFloat && weight.scalar_type() == at::kFloat &&
                    weight.dim() == 2 && weight.is_contiguous() && x.size(-1) == weight.size(1) &&
                    x.numel() <= kRowLinearMaxRows * weight.size(1) && x.numel() > 0 &&
                    (!bias.defined() || (bias.scalar_type() == at::kFloat && bias.is_contiguous() &&
                                         bias.numel() == weight.size(0)));
  if (!fast) return at::linear(x, weight, bias);
  const at::Tensor in = x.contiguous();  // at most 4 rows: a copy costs nothing
  const int64_t width = weight.size(1), out = weight.size(0), rows = in.numel() / width;
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = out;
  at::Tensor y = at::empty(shape, in.options());
  const float* wp = weight.data_ptr<float>();
  const float* xp = in.data_ptr<float>();
  const float* bp = bias.defined() ? bias.data_ptr<float>() : nullptr;
  float* yp = y.data_ptr<float>();
  // Weight rows in blocks of ~256 KiB, split over LibTorch's intra-op threads (one by default).
  const int64_t grain = std::max<int64_t>(1, (256 << 10) / (4 * width));
  at::parallel_for(0, out, grain, [&](int64_t begin, int64_t end) {
    RowDots(wp, xp, bp, rows, width, out, begin, end, yp);
  });
  return y;
}

}  // namespace seamless
