#include "core/tensors/weight_source.h"

#include "absl/strings/str_cat.h"

namespace seamless {

int64_t TensorSpec::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

absl::Status WeightSource::WriteInto(size_t i, uint64_t, char*, size_t) {
  return absl::UnimplementedError(
      absl::StrCat("weight source: tensor ", i, " cannot be written into a buffer"));
}

uint64_t TotalBytes(const std::vector<TensorSpec>& specs) {
  uint64_t total = 0;
  for (const TensorSpec& s : specs) total += s.NumBytes();
  return total;
}

RawTensorMapSource::RawTensorMapSource(const RawTensorMap& tensors) {
  specs_.reserve(tensors.size());
  data_.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {  // a std::map: already sorted by name
    specs_.push_back({name, t.dtype, t.shape});
    data_.push_back(&t.data);
  }
}

absl::Status RawTensorMapSource::Read(size_t i, const Sink& sink) {
  if (i >= specs_.size()) {
    return absl::OutOfRangeError(absl::StrCat("tensor ", i, " of ", specs_.size()));
  }
  return sink(*data_[i]);
}

}  // namespace seamless
