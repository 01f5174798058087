// libFuzzer: one line of a verl-format prompt JSONL file, as the scheduler and the data
// checks of `seamless train` read it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "scheduler/prompt_dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  (void)seamless::ParsePromptRecord(line, 1, "fuzz.jsonl");
  return 0;
}
