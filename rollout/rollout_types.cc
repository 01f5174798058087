#include "rollout/rollout_types.h"

#include "absl/strings/str_cat.h"

namespace seamless {

ConfigEnumTable<Finish> ConfigEnumNames(Finish) {
  static constexpr ConfigEnumName<Finish> kNames[] = {
      {Finish::kStop, "stop"}, {Finish::kLength, "length"}, {Finish::kAborted, "aborted"}};
  return kNames;
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
