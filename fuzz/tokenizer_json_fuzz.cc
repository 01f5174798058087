// libFuzzer: a tokenizer.json, as `--model DIR` loads it; a tokenizer that loads encodes and
// decodes a fixed text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/tokenizer/hf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string json(reinterpret_cast<const char*>(data), size);
  auto tokenizer = seamless::HfTokenizer::FromJson(json, "tokenizer.json", "", "");
  if (tokenizer.ok()) {
    auto ids = (*tokenizer)->Encode("Hello, world! 12 + 30 = 42\n");
    if (ids.ok()) (void)(*tokenizer)->Decode(*ids);
  }
  return 0;
}
