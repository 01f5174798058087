// The parts of a code sample in the data's own terms: the test cases of the ground truth
// (APPS / TACO / verl: {"inputs": [...], "outputs": [...]} plus an optional "levels" list) and
// the program in the response (a fenced block whose tag names the language, or bare Python).
#ifndef SEAMLESS_REWARD_CODE_TASK_H_
#define SEAMLESS_REWARD_CODE_TASK_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace seamless {

inline constexpr size_t kMaxTestsPerSample = 1000;

struct CodeTests {
  std::vector<std::string> inputs;   // stdin of each test
  std::vector<std::string> outputs;  // expected stdout of each test
  std::vector<int> levels;           // difficulty level of each test (0 = easiest)
};

// Accepts the object, or a JSON string holding it (as verl stores it), or APPS's
// {"input_output": "<json>"}. A test given as a list of lines is joined with newlines. Errors
// are INVALID_ARGUMENT naming the field ("ground_truth.outputs[2]: expected a string").
absl::StatusOr<CodeTests> ParseCodeTests(std::string_view ground_truth);

enum class Language { kPython, kCpp };
const char* LanguageName(Language language);
// "python", "py", "python3", "cpp", "c++", "cc", "cxx", "cpp17" (case-insensitive).
std::optional<Language> ParseLanguage(std::string_view name);

struct Program {
  Language language = Language::kPython;
  std::string source;
};

// The last fenced block whose tag names a language we run; else the last untagged block (as
// Python); else the whole response as Python. `forced` overrides the language.
Program ExtractProgram(std::string_view response, std::optional<Language> forced = std::nullopt);

}  // namespace seamless

#endif  // SEAMLESS_REWARD_CODE_TASK_H_
