// Decoding a tensor's wire bytes straight into float32 memory as they arrive, so that a
// receiver can fill the buffers it will serve from (one pass over the bytes) instead of
// keeping them and converting them again later.
#ifndef SEAMLESS_CORE_TENSORS_FLOAT_DECODER_H_
#define SEAMLESS_CORE_TENSORS_FLOAT_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensors/dtype.h"

namespace seamless {

// float32 memory of a tensor of `shape` that a stream decodes one tensor into; the owner
// keeps it alive for the stream's life.
struct DecodeTarget {
  float* data = nullptr;
  std::vector<int64_t> shape;
};
using DecodeTargets = std::map<std::string, DecodeTarget>;

// Whether wire bytes of `dtype` decode into float32 exactly (F32, BF16).
bool DecodesToFloat(DType dtype);

// Appends consecutive wire bytes of one tensor to its target, converting each element; an
// element split between two pieces (gRPC slices need not end on one) waits in a carry.
class FloatDecoder {
 public:
  // `wire` must satisfy DecodesToFloat; the caller bounds the bytes by the target's shape.
  FloatDecoder(DType wire, DecodeTarget target);
  void Append(const char* p, size_t n);
  uint64_t bytes() const { return bytes_; }  // appended so far, carry included

 private:
  void Convert(const char* p, size_t elements, int64_t first);

  DType wire_;
  size_t element_size_;
  DecodeTarget target_;
  uint64_t bytes_ = 0;
  char carry_[4] = {};
  size_t carry_len_ = 0;
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_TENSORS_FLOAT_DECODER_H_
