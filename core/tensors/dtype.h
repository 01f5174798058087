// Element types of tensor files, named as safetensors names them.
#ifndef SEAMLESS_CORE_TENSORS_DTYPE_H_
#define SEAMLESS_CORE_TENSORS_DTYPE_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace seamless {

enum class DType { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool };

// "F32", "BF16", ...
std::string DTypeName(DType dtype);
std::optional<DType> ParseDType(absl::string_view name);
size_t DTypeSize(DType dtype);

}  // namespace seamless

#endif  // SEAMLESS_CORE_TENSORS_DTYPE_H_
