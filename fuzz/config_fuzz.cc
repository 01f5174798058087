// libFuzzer: a role's config file (YAML or JSON), as `--config` loads it: the scheduler's
// keys, every Validate() hook included.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/base/config.h"
#include "scheduler/scheduler_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  seamless::SchedulerConfig config;
  (void)seamless::LoadConfigString(text, "fuzz.yaml", &config);
  return 0;
}
