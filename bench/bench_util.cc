#include "bench/bench_util.h"

#include "core/model/transformer_layers.h"

namespace seamless {

void SyncDevice(const at::Device& device) {
  if (!device.is_cpu()) at::zeros({1}, at::TensorOptions().device(device)).cpu();
}

MatmulPeak::MatmulPeak(const at::Device& device, int64_t n)
    : device_(device),
      n_(n),
      a_(at::randn({n, n}, at::TensorOptions().device(device))),
      b_(at::randn({n, n}, at::TensorOptions().device(device))) {}

double MatmulPeak::MeasureSeconds(int reps) {
  return BestSeconds(device_, reps, [&] { at::mm(a_, b_); });
}

double KeysPerQuery(int64_t seq_len) {
  const int64_t block = AttentionImpl::kQueryBlock;
  if (seq_len <= block) return double(seq_len);
  double products = 0;
  for (int64_t s = 0; s < seq_len; s += block) {
    const int64_t e = std::min(seq_len, s + block);
    products += double(e - s) * e;
  }
  return products / seq_len;
}

namespace {
double ProjectionAndMlpFlops(const ModelConfig& c) {
  const double h = c.hidden_size, kv = c.num_key_value_heads * c.head_dim();
  return 2 * (h * h + 2 * h * kv + h * h + 3 * h * c.intermediate_size);
}
}  // namespace

double ForwardFlops(const ModelConfig& c, int64_t batch, int64_t seq_len) {
  const double t = double(batch) * seq_len, h = c.hidden_size;
  const double attention = 2.0 * 2.0 * KeysPerQuery(seq_len) * h;  // QK^T and PV
  return t * (c.num_hidden_layers * (ProjectionAndMlpFlops(c) + attention) + 2 * h * c.vocab_size);
}

double DecodeTokenFlops(const ModelConfig& c, int64_t context) {
  const double h = c.hidden_size;
  return c.num_hidden_layers * (ProjectionAndMlpFlops(c) + 2.0 * 2.0 * context * h) +
         2 * h * c.vocab_size;
}

}  // namespace seamless
