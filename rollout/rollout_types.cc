#include "rollout/rollout_types.h"

#include "absl/strings/str_cat.h"

namespace seamless {

const char* FinishName(Finish reason) {
  switch (reason) {
    case Finish::kStop:
      return "stop";
    case Finish::kLength:
      return "length";
    case Finish::kAborted:
      return "aborted";
  }
  return "?";
}

uint64_t MixSeed(uint64_t seed, int32_t index) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(index) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string RequestId(const std::string& group_id, int32_t index) {
  return absl::StrCat(group_id, "/", index);
}

}  // namespace seamless
