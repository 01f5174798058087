#include "core/tensors/float_decoder.h"

#include <algorithm>
#include <cstring>

namespace seamless {

bool DecodesToFloat(DType dtype) { return dtype == DType::kF32 || dtype == DType::kBF16; }

FloatDecoder::FloatDecoder(DType wire, DecodeTarget target)
    : wire_(wire), element_size_(DTypeSize(wire)), target_(target) {}

void FloatDecoder::Append(const char* p, size_t n) {
  if (carry_len_ > 0) {
    const size_t take = std::min(n, element_size_ - carry_len_);
    std::memcpy(carry_ + carry_len_, p, take);
    carry_len_ += take;
    bytes_ += take;
    p += take;
    n -= take;
    if (carry_len_ < element_size_) return;
    Convert(carry_, 1, int64_t(bytes_ / element_size_) - 1);
    carry_len_ = 0;
  }
  const size_t whole = n / element_size_;
  Convert(p, whole, int64_t(bytes_ / element_size_));
  bytes_ += whole * element_size_;
  const size_t rest = n - whole * element_size_;
  if (rest > 0) {
    std::memcpy(carry_, p + whole * element_size_, rest);
    carry_len_ = rest;
    bytes_ += rest;
  }
}

void FloatDecoder::Convert(const char* p, size_t elements, int64_t first) {
  float* out = target_.data + first;
  if (wire_ == DType::kF32) {
    std::memcpy(out, p, elements * 4);
    return;
  }
  // bfloat16 is the high half of a float32: widen by a shift (byte reads: the wire bytes
  // need not be aligned). The compiler vectorises the loop.
  const auto* in = reinterpret_cast<const unsigned char*>(p);
  auto* bits = reinterpret_cast<unsigned char*>(out);
  for (size_t i = 0; i < elements; ++i) {
    const uint32_t v = (uint32_t(in[2 * i + 1]) << 24) | (uint32_t(in[2 * i]) << 16);
    std::memcpy(bits + 4 * i, &v, 4);
  }
}

}  // namespace seamless
