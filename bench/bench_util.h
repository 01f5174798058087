// Timing and FLOP-counting helpers shared by the `seamless bench` files.
#ifndef SEAMLESS_BENCH_BENCH_UTIL_H_
#define SEAMLESS_BENCH_BENCH_UTIL_H_

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>

#include "core/model/model_config.h"

namespace seamless {

inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Waits for queued device work (a copy to the host synchronises CUDA's stream).
void SyncDevice(const at::Device& device);

// Runs `fn` `reps` times after one warm-up and returns the fastest time (least disturbed by
// the other tenants of a shared machine).
template <typename Fn>
double BestSeconds(const at::Device& device, int reps, Fn fn) {
  fn();
  SyncDevice(device);
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    auto start = std::chrono::steady_clock::now();
    fn();
    SyncDevice(device);
    best = std::min(best, SecondsSince(start));
  }
  return best;
}

// The machine's fp32 ceiling: best GFLOP/s of an n×n by n×n product.
class MatmulPeak {
 public:
  explicit MatmulPeak(const at::Device& device, int64_t n = 1024);
  // Best seconds of `reps` products (one warm-up), and the GFLOP/s it implies.
  double MeasureSeconds(int reps = 3);
  double flops() const { return 2.0 * n_ * n_ * n_; }

 private:
  at::Device device_;
  int64_t n_;
  at::Tensor a_, b_;
};

// Keys each query is multiplied with in the full forward: attention runs in query blocks that
// skip the masked upper triangle beyond their block (transformer_layers.cc).
double KeysPerQuery(int64_t seq_len);
// FLOPs of one full causal forward (matmuls, counted as actually computed).
double ForwardFlops(const ModelConfig& c, int64_t batch, int64_t seq_len);
// FLOPs of one main-model decode token that attends to `context` cached keys (itself included):
// projections, MLP, attention and the LM head.
double DecodeTokenFlops(const ModelConfig& c, int64_t context);

}  // namespace seamless

#endif  // SEAMLESS_BENCH_BENCH_UTIL_H_
