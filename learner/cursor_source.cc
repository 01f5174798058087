#include "learner/cursor_source.h"

#include "absl/strings/str_cat.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/model/torch_raw_tensor.h"

namespace seamless {

CursorWeightSource::CursorWeightSource(std::unique_ptr<TensorCursor> cursor, DType wire_dtype,
                                       HeldMutex lock)
    : cursor_(std::move(cursor)), dtype_(wire_dtype), lock_(std::move(lock)) {
  for (const TensorEntry& e : cursor_->entries()) specs_.push_back({e.name, dtype_, e.shape});
}

CursorWeightSource::~CursorWeightSource() {
  absl::Status s = Finish();
  if (!s.ok()) SLOG(WARNING) << "finishing a weight stream: " << s.message();
}

absl::Status CursorWeightSource::Read(size_t i, const Sink& sink) {
  if (i != next_) {
    return absl::InternalError(
        absl::StrCat("weight source read out of order: tensor ", i, ", expected ", next_));
  }
  ++next_;
  ASSIGN_OR_RETURN(at::ScalarType wire, ToScalarType(dtype_));
  return cursor_->NextInPieces([&](const at::Tensor& piece) {
    at::Tensor bytes = piece.to(wire).contiguous();
    return sink(absl::string_view(static_cast<const char*>(bytes.data_ptr()), bytes.nbytes()));
  });
}

absl::Status CursorWeightSource::Finish() {
  absl::Status status;
  while (next_ < specs_.size()) {
    ++next_;
    absl::Status s = cursor_->NextInPieces([](const at::Tensor&) { return absl::OkStatus(); });
    if (!s.ok() && status.ok()) status = s;
  }
  return status;
}

}  // namespace seamless
