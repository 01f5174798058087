// Consolidated tensors read one at a time in name order — what checkpoints and weight
// publishing stream — so that no full copy of the weights or the optimizer state is built.
// Under full sharding each group is all-gathered when the cursor reaches its first tensor
// and dropped when it leaves it: every rank must drain the same cursor in lock step
// (followers call Drain()).
#ifndef SEAMLESS_LEARNER_TENSOR_CURSOR_H_
#define SEAMLESS_LEARNER_TENSOR_CURSOR_H_

#include <ATen/ATen.h>

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensors/safetensors_writer.h"

namespace seamless {

class TensorCursor {
 public:
  virtual ~TensorCursor() = default;
  // Every tensor, sorted by name, as float32.
  virtual const std::vector<TensorEntry>& entries() const = 0;
  // The next tensor of entries(), float32, valid until the next call.
  virtual absl::StatusOr<at::Tensor> Next() = 0;
  // The next tensor as consecutive flat pieces (row-major order), each valid during its call:
  // what streams use, so that a vocabulary-sized matrix under full sharding is never gathered
  // whole. By default one piece, the whole tensor.
  using PieceFn = std::function<absl::Status(const at::Tensor& piece)>;
  virtual absl::Status NextInPieces(const PieceFn& fn) {
    auto t = Next();
    if (!t.ok()) return t.status();
    return fn(*t);
  }

  // Reads every remaining tensor (followers take part in the gathers).
  absl::Status Drain() {
    const PieceFn ignore = [](const at::Tensor&) { return absl::OkStatus(); };
    for (size_t i = position_; i < entries().size(); ++i) {
      absl::Status s = NextInPieces(ignore);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 protected:
  size_t position_ = 0;  // tensors returned so far
};

// A cursor over tensors that exist already (the plain path's parameters and moments).
class ListCursor final : public TensorCursor {
 public:
  // `tensors` in any order; they are sorted by name.
  explicit ListCursor(std::vector<std::pair<std::string, at::Tensor>> tensors);
  const std::vector<TensorEntry>& entries() const override { return entries_; }
  absl::StatusOr<at::Tensor> Next() override;

 private:
  std::vector<TensorEntry> entries_;
  std::vector<at::Tensor> tensors_;
};

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_TENSOR_CURSOR_H_
