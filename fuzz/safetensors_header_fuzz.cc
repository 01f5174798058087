// libFuzzer: a safetensors file's first bytes (the length and the JSON header), as the
// checkpoint and model readers parse them, then the whole input as a file in memory.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/tensors/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  (void)seamless::ParseSafetensorsLayout(bytes, bytes.size(), "fuzz.safetensors");
  (void)seamless::ParseSafetensors(bytes, "fuzz.safetensors");
  return 0;
}
