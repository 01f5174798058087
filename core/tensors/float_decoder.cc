#include "core/tensors/float_decoder.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
  // need not be aligned).
  const auto* in = reinterpret_cast<const unsigned char*>(p);
  size_t i = 0;
#if defined(__SSE2__)
  // The output (twice the wire bytes) is written once and not read again before the swap:
  // streaming stores skip reading each destination line first, a third of the traffic.
  auto widen = [&](size_t k) {
    const uint32_t v = (uint32_t(in[2 * k + 1]) << 24) | (uint32_t(in[2 * k]) << 16);
    std::memcpy(out + k, &v, 4);
  };
  for (; i < elements && reinterpret_cast<uintptr_t>(out + i) % 16 != 0; ++i) widen(i);
  const __m128i zero = _mm_setzero_si128();
  for (; i + 8 <= elements; i += 8) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * i));
    _mm_stream_si128(reinterpret_cast<__m128i*>(out + i), _mm_unpacklo_epi16(zero, x));
    _mm_stream_si128(reinterpret_cast<__m128i*>(out + i + 4), _mm_unpackhi_epi16(zero, x));
  }
  _mm_sfence();  // the streamed lines are visible before anyone reads the target
#endif
  auto* bits = reinterpret_cast<unsigned char*>(out);
  for (; i < elements; ++i) {
    const uint32_t v = (uint32_t(in[2 * i + 1]) << 24) | (uint32_t(in[2 * i]) << 16);
    std::memcpy(bits + 4 * i, &v, 4);
  }
}

}  // namespace seamless
