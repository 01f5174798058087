// libFuzzer: the math verifier on a response and a ground truth (the input split at its
// first newline), as the reward server scores every math sample.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "reward/math_verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\n');
  const std::string_view response = input.substr(0, split);
  const std::string_view truth = split == std::string_view::npos ? "" : input.substr(split + 1);
  static const seamless::MathVerifier verifier;
  (void)verifier.Verify(response, truth);
  (void)verifier.Equivalent(truth, response);
  return 0;
}
