// A named tensor as bytes: what files and the wire carry, independent of LibTorch.
#ifndef SEAMLESS_CORE_TENSORS_RAW_TENSOR_H_
#define SEAMLESS_CORE_TENSORS_RAW_TENSOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensors/dtype.h"

namespace seamless {

struct RawTensor {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::string data;  // row-major, little-endian, exactly NumElements() * DTypeSize(dtype) bytes

  int64_t NumElements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  bool operator==(const RawTensor& o) const {
    return dtype == o.dtype && shape == o.shape && data == o.data;
  }
};

// Name -> tensor, ordered by name so that iteration (and files written from it) is stable.
using RawTensorMap = std::map<std::string, RawTensor>;

}  // namespace seamless

#endif  // SEAMLESS_CORE_TENSORS_RAW_TENSOR_H_
