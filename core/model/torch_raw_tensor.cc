#include "core/model/torch_raw_tensor.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace seamless {

absl::StatusOr<at::ScalarType> ToScalarType(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return at::kFloat;
    case DType::kF16:
      return at::kHalf;
    case DType::kBF16:
      return at::kBFloat16;
    case DType::kF64:
      return at::kDouble;
    case DType::kI64:
      return at::kLong;
    case DType::kI32:
      return at::kInt;
    case DType::kI16:
      return at::kShort;
    case DType::kI8:
      return at::kChar;
    case DType::kU8:
      return at::kByte;
    case DType::kBool:
      return at::kBool;
  }
  return absl::InvalidArgumentError("unknown dtype");
}

absl::StatusOr<DType> FromScalarType(at::ScalarType type) {
  for (DType d : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI64, DType::kI32,
                  DType::kI16, DType::kI8, DType::kU8, DType::kBool}) {
    if (*ToScalarType(d) == type) return d;
  }
  return absl::InvalidArgumentError(absl::StrCat("no file dtype for ", at::toString(type)));
}

absl::StatusOr<at::Tensor> RawToTensor(const RawTensor& raw) {
  auto type = ToScalarType(raw.dtype);
  if (!type.ok()) return type.status();
  if (static_cast<size_t>(raw.NumElements()) * DTypeSize(raw.dtype) != raw.data.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor bytes ", raw.data.size(), " do not match its shape and dtype"));
  }
  at::Tensor t = at::empty(raw.shape, at::TensorOptions().dtype(*type));
  if (!raw.data.empty()) std::memcpy(t.data_ptr(), raw.data.data(), raw.data.size());
  return t;
}

absl::StatusOr<RawTensor> TensorToRaw(const at::Tensor& tensor, DType dtype) {
  auto type = ToScalarType(dtype);
  if (!type.ok()) return type.status();
  at::Tensor t = tensor.detach().to(at::kCPU, *type).contiguous();
  RawTensor raw;
  raw.dtype = dtype;
  raw.shape.assign(t.sizes().begin(), t.sizes().end());
  raw.data.assign(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  return raw;
}

}  // namespace seamless
