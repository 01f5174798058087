// Conversion between LibTorch tensors and RawTensor bytes (files, the wire).
#ifndef SEAMLESS_CORE_MODEL_TORCH_RAW_TENSOR_H_
#define SEAMLESS_CORE_MODEL_TORCH_RAW_TENSOR_H_

#include <ATen/ATen.h>

#include "absl/status/statusor.h"
#include "core/tensors/raw_tensor.h"

namespace seamless {

absl::StatusOr<at::ScalarType> ToScalarType(DType dtype);
absl::StatusOr<DType> FromScalarType(at::ScalarType type);

// A CPU tensor owning a copy of the bytes, in the raw tensor's own dtype.
absl::StatusOr<at::Tensor> RawToTensor(const RawTensor& raw);
// The same tensor over raw's own bytes, not copied: valid while `raw` is, and only to be read
// (importers copy it into their own buffers).
absl::StatusOr<at::Tensor> BorrowTensor(const RawTensor& raw);
// The tensor's values converted to `dtype`, contiguous, on the CPU.
absl::StatusOr<RawTensor> TensorToRaw(const at::Tensor& tensor, DType dtype);

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_TORCH_RAW_TENSOR_H_
