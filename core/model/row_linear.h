// y = x Wᵀ + b for decode-time inputs: a few rows on the CPU.
//
// Why: at batch 1 every projection and the LM head is a matrix-vector product, bound by reading
// the weights. LibTorch runs a one-row at::linear as a BLAS GEMM with M = 1, which OpenBLAS
// 0.3.21 executes at 4-7 GB/s of weights on the build machine, against 10-16 GB/s for its
// sgemv and 15-30 GB/s for a plain read (`seamless bench model`: lm_head_b1_gbs,
// lm_head_b1_mv_gbs, memory_bandwidth_gbs). This kernel streams each weight row once and dots
// it with every input row while it is in cache, with vector instructions chosen at load time.
#ifndef SEAMLESS_CORE_MODEL_ROW_LINEAR_H_
#define SEAMLESS_CORE_MODEL_ROW_LINEAR_H_

#include <ATen/ATen.h>

#include <cstdint>

namespace seamless {

// Rows (the product of all but the last dimension of x) up to which the kernel is used.
inline constexpr int64_t kRowLinearMaxRows = 4;

// at::linear(x, weight, bias), computed by the kernel above when it applies: inference
// (!TrainingNumerics(), transformer_layers.h), float32 CPU tensors, at most kRowLinearMaxRows
// rows. Same shape and dtype as at::linear; the summation order differs (fp32 rounding).
at::Tensor InferenceLinear(const at::Tensor& x, const at::Tensor& weight,
                           const at::Tensor& bias = at::Tensor());

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_ROW_LINEAR_H_
