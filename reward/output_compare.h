// How a program's stdout is checked against a test's expected output.
#ifndef SEAMLESS_REWARD_OUTPUT_COMPARE_H_
#define SEAMLESS_REWARD_OUTPUT_COMPARE_H_

#include <string_view>

#include "core/base/config_enum.h"

namespace seamless {

enum class CompareMode {
  kExact,       // byte-equal, except trailing whitespace at the very end
  kWhitespace,  // equal sequences of whitespace-separated tokens
  kFloat,       // as kWhitespace, but tokens that are non-integer numbers may differ by
                // `tolerance` (absolute, or relative to the expected value)
};

// Config spellings (reward.code.comparison); "tokens" is an old name of whitespace.
inline ConfigEnumTable<CompareMode> ConfigEnumNames(CompareMode) {
  static constexpr ConfigEnumName<CompareMode> kNames[] = {{CompareMode::kExact, "exact"},
                                                           {CompareMode::kWhitespace, "whitespace"},
                                                           {CompareMode::kWhitespace, "tokens"},
                                                           {CompareMode::kFloat, "float"}};
  return kNames;
}

bool OutputsMatch(std::string_view actual, std::string_view expected, CompareMode mode,
                  double tolerance);

}  // namespace seamless

#endif  // SEAMLESS_REWARD_OUTPUT_COMPARE_H_
