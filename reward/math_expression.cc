#include "reward/math_expression.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

namespace seamless {
namespace {

constexpr int kMaxDepth = 64;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
int LetterIndex(char c) { return c >= 'a' ? c - 'a' : 26 + (c - 'A'); }

}  // namespace

// Recursive descent over the normalised text; builds nodes into the expression's arena.
class MathExpressionParser {
 public:
  MathExpressionParser(std::string_view text, MathExpression* out) : s_(text), out_(out) {}

  bool Run() {
    int32_t root = Expr();
    if (root < 0 || pos_ != s_.size()) return false;
    out_->root_ = root;
    return true;
  }

 private:
  using Op = MathExpression::Op;

  char Peek(size_t ahead = 0) const { return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0'; }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  bool EatWord(std::string_view word) {
    // No word-boundary check: normalisation removed the space in "\pi r", and none of the
    // commands we know is a prefix of another one we would accept.
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  int32_t Add(Op op, int32_t a = -1, int32_t b = -1, double value = 0) {
    if (op != Op::kNumber && op != Op::kVariable &&
        (a < 0 || (b < 0 && op != Op::kNeg && op != Op::kFactorial))) {
      return -1;
    }
    out_->nodes_.push_back({op, a, b, value});
    return static_cast<int32_t>(out_->nodes_.size() - 1);
  }

  struct DepthGuard {
    explicit DepthGuard(int* depth) : depth_(depth) { ++*depth_; }
    ~DepthGuard() { --*depth_; }
    int* depth_;
  };

  int32_t Expr() {
    DepthGuard guard(&depth_);
    if (depth_ > kMaxDepth) return -1;
    int32_t left = Term();
    while (left >= 0) {
      if (Eat('+')) {
        left = Add(Op::kAdd, left, Term());
      } else if (Eat('-')) {
        left = Add(Op::kSub, left, Term());
      } else {
        break;
      }
    }
    return left;
  }

  bool StartsPrimary() const {
    const char c = Peek();
    return IsDigit(c) || c == '.' || IsLetter(c) || c == '(' || c == '{' || c == '\\';
  }

  int32_t Term() {
    int32_t left = Unary();
    while (left >= 0) {
      if (Peek() == '*' && Peek(1) != '*') {
        ++pos_;
        left = Add(Op::kMul, left, Unary());
      } else if (Eat('/')) {
        left = Add(Op::kDiv, left, Unary());
      } else if (StartsPrimary()) {
        // Implicit multiplication binds like '*': 2\pi, 3(x+1), 2xy.
        left = Add(Op::kMul, left, Power());
      } else {
        break;
      }
    }
    return left;
  }

  int32_t Unary() {
    DepthGuard guard(&depth_);
    if (depth_ > kMaxDepth) return -1;
    if (Eat('-')) return Add(Op::kNeg, Unary());
    if (Eat('+')) return Unary();
    return Power();
  }

  int32_t Power() {
    DepthGuard guard(&depth_);
    if (depth_ > kMaxDepth) return -1;
    int32_t base = Postfix();
    if (base < 0) return -1;
    if (Eat('^') || (Peek() == '*' && Peek(1) == '*' && (pos_ += 2))) {
      // The exponent: a group, or a signed number / letter / command; right associative.
      int32_t exponent;
      if (Eat('-')) {
        exponent = Add(Op::kNeg, Power());
      } else {
        Eat('+');
        exponent = Power();
      }
      return Add(Op::kPow, base, exponent);
    }
    return base;
  }

  int32_t Postfix() {
    int32_t node = Primary();
    while (node >= 0 && Eat('!')) node = Add(Op::kFactorial, node);
    return node;
  }

  // A command argument: {expr}, or a single digit / letter / command (\frac12, \sqrt2).
  int32_t Argument() {
    if (Eat('{')) {
      int32_t inner = Expr();
      return Eat('}') ? inner : -1;
    }
    const char c = Peek();
    if (IsDigit(c)) {
      ++pos_;
      return Add(Op::kNumber, -1, -1, c - '0');
    }
    if (IsLetter(c)) return Letter();
    if (c == '\\') return Primary();
    return -1;
  }

  int32_t Letter() {
    // Three letters in a row are a word ("yes", "Tuesday"), not a product of variables.
    if (IsLetter(Peek(1)) && IsLetter(Peek(2))) return -1;
    const int index = LetterIndex(s_[pos_++]);
    out_->variables_ |= uint64_t{1} << index;
    return Add(Op::kVariable, -1, -1, index);
  }

  int32_t Number() {
    const size_t start = pos_;
    while (IsDigit(Peek())) ++pos_;
    if (Peek() == '.' && IsDigit(Peek(1))) {
      ++pos_;
      while (IsDigit(Peek())) ++pos_;
    } else if (Peek() == '.' && pos_ > start && !IsDigit(Peek(1))) {
      ++pos_;  // "5." is 5
    }
    if (pos_ == start) return -1;
    // strtod needs a terminated buffer; numbers in answers are short.
    char buffer[64];
    const size_t len = pos_ - start;
    double value;
    if (len < sizeof(buffer)) {
      std::memcpy(buffer, s_.data() + start, len);
      buffer[len] = '\0';
      value = std::strtod(buffer, nullptr);
    } else {
      value = std::strtod(std::string(s_.substr(start, len)).c_str(), nullptr);
    }
    return Add(Op::kNumber, -1, -1, value);
  }

  int32_t Primary() {
    const char c = Peek();
    if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) {
      const bool integer_start = IsDigit(c);
      const size_t start = pos_;
      int32_t number = Number();
      // A mixed number: an integer written straight before a fraction of integers.
      if (number >= 0 && integer_start &&
          s_.substr(start, pos_ - start).find('.') == std::string_view::npos &&
          s_.substr(pos_, 5) == "\\frac") {
        const size_t save = pos_;
        const size_t nodes = out_->nodes_.size();
        pos_ += 5;
        int32_t num = Argument();
        int32_t den = num >= 0 ? Argument() : -1;
        if (num >= 0 && den >= 0 && out_->nodes_[num].op == Op::kNumber &&
            out_->nodes_[den].op == Op::kNumber) {
          return Add(Op::kAdd, number, Add(Op::kDiv, num, den));
        }
        pos_ = save;
        out_->nodes_.resize(nodes);
      }
      return number;
    }
    if (IsLetter(c)) return Letter();
    if (Eat('(')) {
      int32_t inner = Expr();
      return Eat(')') ? inner : -1;
    }
    if (Eat('{')) {
      int32_t inner = Expr();
      return Eat('}') ? inner : -1;
    }
    if (c != '\\') return -1;
    if (EatWord("\\frac")) {
      int32_t num = Argument();
      int32_t den = num >= 0 ? Argument() : -1;
      return Add(Op::kDiv, num, den);
    }
    if (EatWord("\\sqrt")) {
      int32_t degree;
      if (Eat('[')) {
        degree = Expr();
        if (!Eat(']')) return -1;
      } else {
        degree = Add(Op::kNumber, -1, -1, 2);
      }
      int32_t radicand = Argument();
      return Add(Op::kRoot, radicand, degree);
    }
    if (EatWord("\\pi")) return Add(Op::kNumber, -1, -1, M_PI);
    return -1;
  }

  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
  MathExpression* out_;
};

std::optional<MathExpression> MathExpression::Parse(std::string_view text) {
  if (text.empty()) return std::nullopt;
  MathExpression expression;
  expression.nodes_.reserve(16);
  MathExpressionParser parser(text, &expression);
  if (!parser.Run()) return std::nullopt;
  return expression;
}

double MathExpression::Evaluate(const double* values) const { return Eval(root_, values); }

double MathExpression::Eval(int32_t index, const double* values) const {
  const Node& n = nodes_[index];
  switch (n.op) {
    case Op::kNumber:
      return n.value;
    case Op::kVariable:
      return values ? values[static_cast<int>(n.value)] : NAN;
    case Op::kAdd:
      return Eval(n.a, values) + Eval(n.b, values);
    case Op::kSub:
      return Eval(n.a, values) - Eval(n.b, values);
    case Op::kMul:
      return Eval(n.a, values) * Eval(n.b, values);
    case Op::kDiv: {
      const double d = Eval(n.b, values);
      return d == 0 ? NAN : Eval(n.a, values) / d;
    }
    case Op::kPow:
      return std::pow(Eval(n.a, values), Eval(n.b, values));
    case Op::kNeg:
      return -Eval(n.a, values);
    case Op::kRoot: {
      const double x = Eval(n.a, values);
      const double degree = Eval(n.b, values);
      if (degree == 2) return std::sqrt(x);  // NaN for negatives
      if (degree == 3) return std::cbrt(x);
      if (degree == 0) return NAN;
      return x < 0 ? NAN : std::pow(x, 1.0 / degree);
    }
    case Op::kFactorial: {
      const double x = Eval(n.a, values);
      if (x < 0 || x > 170 || x != std::floor(x)) return NAN;
      double f = 1;
      for (int i = 2; i <= static_cast<int>(x); ++i) f *= i;
      return f;
    }
  }
  return NAN;
}

}  // namespace seamless
