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

}  // namespace testing
}  // namespace seamless

#endif  // SEAMLESS_TESTS_TESTING_RAW_TENSORS_H_
