// Rule-based math reward: extract the final answer from a response and decide whether it is
// equivalent to the ground truth. Pure functions of the strings; thread-safe; never throws.
#ifndef SEAMLESS_REWARD_MATH_VERIFIER_H_
#define SEAMLESS_REWARD_MATH_VERIFIER_H_

#include <string>
#include <string_view>
#include <vector>

namespace seamless {

struct MathVerifierOptions {
  // Looked for (last occurrence wins) when the response has no \boxed{...}.
  std::vector<std::string> answer_markers = {
      "####", "Answer:", "answer:", "ANSWER:", "answer is", "Answer is"};
  // Relative tolerance for answers that are not both plain integers.
  double relative_tolerance = 1e-9;

  template <typename V>
  void VisitFields(V& v) {
    v("answer_markers", answer_markers,
      "Answer markers tried, last occurrence first, when there is no \\boxed{}");
    v("relative_tolerance", relative_tolerance,
      "Relative tolerance when comparing numeric answers that are not both integers");
  }
};

struct MathVerdict {
  bool extracted = false;   // an answer was found
  std::string answer;       // the extracted answer as written (clipped to 200 bytes)
  bool equivalent = false;  // it matches the ground truth
};

class MathVerifier {
 public:
  explicit MathVerifier(MathVerifierOptions options = {}) : options_(std::move(options)) {}

  // Extracts the answer from `response` and compares it with `ground_truth` (plain text, or
  // itself containing \boxed{}).
  MathVerdict Verify(std::string_view response, std::string_view ground_truth) const;

  // Whether two answers (already extracted) are equivalent.
  bool Equivalent(std::string_view answer, std::string_view ground_truth) const;

 private:
  MathVerifierOptions options_;
};

// The canonical text form of an answer: LaTeX spacing, \left/\right, $, \text{}, units and
// degree signs removed, \dfrac -> \frac, \cdot -> *, thousands separators dropped, no
// whitespace. Sets *percent when a percent sign was removed. Exposed for tests.
std::string NormalizeMathAnswer(std::string_view answer, bool* percent = nullptr);

}  // namespace seamless

#endif  // SEAMLESS_REWARD_MATH_VERIFIER_H_
