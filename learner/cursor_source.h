// A WeightSource (core/tensors/weight_source.h) over a TensorCursor: the learner's weights
// streamed to rollout workers one tensor at a time, converted to the wire dtype as they go.
// Optionally holds a lock for its lifetime (the learner's command lock, so parameters do not
// change while a pull streams them); on destruction it reads what the stream left unread, so
// that ranks gathering in lock step under full sharding always finish the cursor together.
#ifndef SEAMLESS_LEARNER_CURSOR_SOURCE_H_
#define SEAMLESS_LEARNER_CURSOR_SOURCE_H_

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "core/base/mutex_handoff.h"
#include "core/tensors/weight_source.h"
#include "learner/tensor_cursor.h"

namespace seamless {

class CursorWeightSource final : public WeightSource {
 public:
  CursorWeightSource(std::unique_ptr<TensorCursor> cursor, DType wire_dtype, HeldMutex lock = {});
  ~CursorWeightSource() override;

  const std::vector<TensorSpec>& specs() const override { return specs_; }
  absl::Status Read(size_t i, const Sink& sink) override;
  // Reads the tensors the stream has not asked for (see above).
  absl::Status Finish();

 private:
  std::unique_ptr<TensorCursor> cursor_;
  DType dtype_;
  HeldMutex lock_;
  std::vector<TensorSpec> specs_;
  size_t next_ = 0;
};

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_CURSOR_SOURCE_H_
