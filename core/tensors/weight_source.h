// Where a weight stream's bytes come from: a set of named tensors read one at a time, so that
// a sender can stream weights straight out of a model's parameters (converting each tensor to
// the wire dtype as it goes) without first copying them all into a RawTensorMap.
//
// The learner implements it over its parameters (learner/weight_publisher.h:
// ParameterWeightSource); RawTensorMapSource adapts a map that already exists (tests, benches,
// tools). No LibTorch here.
#ifndef SEAMLESS_CORE_TENSORS_WEIGHT_SOURCE_H_
#define SEAMLESS_CORE_TENSORS_WEIGHT_SOURCE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/tensors/dtype.h"
#include "core/tensors/raw_tensor.h"

namespace seamless {

// One tensor as it goes on the wire.
struct TensorSpec {
  std::string name;
  DType dtype = DType::kF32;  // the wire dtype
  std::vector<int64_t> shape;

  int64_t NumElements() const;
  uint64_t NumBytes() const { return uint64_t(NumElements()) * DTypeSize(dtype); }
};

class WeightSource {
 public:
  using Sink = std::function<absl::Status(absl::string_view)>;
  virtual ~WeightSource() = default;

  // Every tensor, sorted by name (the stream's order), names unique.
  virtual const std::vector<TensorSpec>& specs() const = 0;
  // Produces tensor i's bytes (exactly specs()[i].NumBytes(), wire dtype, row-major), in
  // order, as one or more pieces passed to `sink`; an error `sink` returns is returned. Called
  // for i = 0, 1, 2, ... in order, exactly once per stream. A piece need only stay valid
  // during its `sink` call. Pieces should be large (a whole tensor is best): a stream chunk
  // never spans two pieces.
  virtual absl::Status Read(size_t i, const Sink& sink) = 0;
  // For a source that converts (a parameter cast to the wire dtype): whether tensor i's
  // bytes can be written straight into the stream's buffers by WriteInto, which the stream
  // then calls chunk by chunk instead of Read (one write of each byte instead of a
  // conversion into a piece and a copy of it).
  virtual bool WritesInto(size_t i) const { return false; }
  // Writes bytes [offset, offset + size) of tensor i (wire dtype) to `dst`.
  virtual absl::Status WriteInto(size_t i, uint64_t offset, char* dst, size_t size);
};

// Sum of NumBytes over `specs`.
uint64_t TotalBytes(const std::vector<TensorSpec>& specs);

// A source over an existing map (not owned; it must outlive the source and not change).
class RawTensorMapSource final : public WeightSource {
 public:
  explicit RawTensorMapSource(const RawTensorMap& tensors);
  const std::vector<TensorSpec>& specs() const override { return specs_; }
  absl::Status Read(size_t i, const Sink& sink) override;

 private:
  std::vector<TensorSpec> specs_;
  std::vector<const std::string*> data_;
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_TENSORS_WEIGHT_SOURCE_H_
