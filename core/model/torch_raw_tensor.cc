#include "core/model/torch_raw_tensor.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace seamless {

namespace {
// Every file dtype with the LibTorch scalar type that holds it.
constexpr std::pair<DType, at::ScalarType> kScalarTypes[] = {
    {DType::kF32, at::kFloat},  {DType::kF16, at::kHalf}, {DType::kBF16, at::kBFloat16},
    {DType::kF64, at::kDouble}, {DType::kI64, at::kLong}, {DType::kI32, at::kInt},
    {DType::kI16, at::kShort},  {DType::kI8, at::kChar},  {DType::kU8, at::kByte},
    {DType::kBool, at::kBool},
};
}  // namespace

absl::StatusOr<at::ScalarType> ToScalarType(DType dtype) {
  for (const auto& [file_dtype, type] : kScalarTypes) {
    if (file_dtype == dtype) return type;
  }
  return absl::InvalidArgumentError("unknown dtype");
}

absl::StatusOr<DType> FromScalarType(at::ScalarType type) {
  for (const auto& [dtype, scalar_type] : kScalarTypes) {
    if (scalar_type == type) return dtype;
  }
  return absl::InvalidArgumentError(absl::StrCat("no file dtype for ", at::toString(type)));
}

namespace {

// raw's scalar type, once its byte count is checked against its shape and dtype.
absl::StatusOr<at::ScalarType> CheckedScalarType(const RawTensor& raw) {
  ASSIGN_OR_RETURN(at::ScalarType type, ToScalarType(raw.dtype));
  if (static_cast<size_t>(raw.NumElements()) * DTypeSize(raw.dtype) != raw.data.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor bytes ", raw.data.size(), " do not match its shape and dtype"));
  }
  return type;
}

}  // namespace

absl::StatusOr<at::Tensor> RawToTensor(const RawTensor& raw) {
  ASSIGN_OR_RETURN(at::ScalarType type, CheckedScalarType(raw));
  at::Tensor t = at::empty(raw.shape, at::TensorOptions().dtype(type));
  if (!raw.data.empty()) std::memcpy(t.data_ptr(), raw.data.data(), raw.data.size());
  return t;
}

absl::StatusOr<at::Tensor> BorrowTensor(const RawTensor& raw) {
  ASSIGN_OR_RETURN(at::ScalarType type, CheckedScalarType(raw));
  if (raw.data.empty()) return at::empty(raw.shape, at::TensorOptions().dtype(type));
  return at::from_blob(const_cast<char*>(raw.data.data()), raw.shape,
                       at::TensorOptions().dtype(type));
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
