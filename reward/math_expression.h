// A small arithmetic expression over numbers and single-letter variables, parsed from a
// normalised answer ("3\frac{1}{2}", "2\sqrt{2}+1", "(x+1)^2", "1.5*10^3"), so that answers
// written differently can be compared by value. No allocation per evaluation; bounded depth.
#ifndef SEAMLESS_REWARD_MATH_EXPRESSION_H_
#define SEAMLESS_REWARD_MATH_EXPRESSION_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace seamless {

class MathExpression {
 public:
  // Understands: decimal numbers, + - * / ^ (also **), implicit multiplication, ( ) and { }
  // grouping, \frac{a}{b} (and \frac12), mixed numbers (2\frac{1}{2}), \sqrt{x}, \sqrt[n]{x},
  // \pi, postfix ! on small integers, and the letters a-z A-Z as variables. `text` must be
  // normalised (no spaces; \dfrac, \cdot, \left ... already rewritten). nullopt when it is
  // anything else, including a run of three or more letters (a word, not a product).
  static std::optional<MathExpression> Parse(std::string_view text);

  // Bit i set: variable i is used (a-z are 0-25, A-Z are 26-51).
  uint64_t variables() const { return variables_; }

  // The value with variable i bound to values[i] (values may be null when there are none).
  // NaN when undefined (division by zero, even root of a negative, ...).
  double Evaluate(const double* values = nullptr) const;

 private:
  enum class Op : uint8_t {
    kNumber,
    kVariable,
    kAdd,
    kSub,
    kMul,
    kDiv,
    kPow,
    kNeg,
    kRoot,
    kFactorial
  };
  struct Node {
    Op op;
    int32_t a = -1, b = -1;  // operand node indices
    double value = 0;        // kNumber: the number; kVariable: its index
  };
  friend class MathExpressionParser;

  double Eval(int32_t node, const double* values) const;

  std::vector<Node> nodes_;
  int32_t root_ = -1;
  uint64_t variables_ = 0;
};

}  // namespace seamless

#endif  // SEAMLESS_REWARD_MATH_EXPRESSION_H_
