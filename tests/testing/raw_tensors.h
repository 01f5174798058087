// Raw tensors of random bytes for tests of the file and wire formats.
#ifndef SEAMLESS_TESTS_TESTING_RAW_TENSORS_H_
#define SEAMLESS_TESTS_TESTING_RAW_TENSORS_H_

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "core/tensors/raw_tensor.h"

namespace seamless {
namespace testing {

// A tensor of `dtype` and `shape` whose bytes come from an mt19937 seeded with `seed`.
inline RawTensor RandomRawTensor(DType dtype, std::vector<int64_t> shape, uint32_t seed) {
  RawTensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.data.resize(t.NumElements() * DTypeSize(dtype));
  std::mt19937 rng(seed);
  for (char& c : t.data) c = static_cast<char>(rng());
  return t;
}

// A few tensors named as in a model, in F32, BF16 and F16, with a scalar and an empty one.
inline RawTensorMap SampleRawTensors() {
  RawTensorMap m;
  m["model.embed_tokens.weight"] = RandomRawTensor(DType::kF32, {7, 4}, 1);
  m["model.layers.0.self_attn.q_proj.bias"] = RandomRawTensor(DType::kBF16, {4}, 2);
  m["model.norm.weight"] = RandomRawTensor(DType::kF16, {4}, 3);
  m["scalar"] = RandomRawTensor(DType::kF32, {}, 4);
  m["empty"] = RandomRawTensor(DType::kF32, {0, 3}, 5);
  return m;
}

}  // namespace testing
}  // namespace seamless

#endif  // SEAMLESS_TESTS_TESTING_RAW_TENSORS_H_
