#include "reward/math_verifier.h"

#include <cmath>
#include <cstring>
#include <optional>

#include "reward/answer_extraction.h"
#include "reward/math_expression.h"

namespace seamless {
namespace {

// Set braces \{ \} become these bytes so that they stay apart from grouping braces.
constexpr char kSetOpen = '\x01';
constexpr char kSetClose = '\x02';

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

// Commands that only change looks or spacing: dropped.
bool IsDroppedCommand(std::string_view name) {
  static constexpr std::string_view kDropped[] = {
      "left",      "right",       "big",      "Big",       "bigg",  "Bigg",   "bigl",
      "bigr",      "Bigl",        "Bigr",     "biggl",     "biggr", "middle", "displaystyle",
      "textstyle", "scriptstyle", "quad",     "qquad",     "circ",  "degree", "limits",
      "nolimits",  "hfill",       "noindent", "mathstrut", "boxed", "fbox"};
  for (std::string_view d : kDropped) {
    if (name == d) return true;
  }
  return false;
}

// Commands whose braced argument is kept as plain text.
bool IsUnwrapCommand(std::string_view name) {
  static constexpr std::string_view kUnwrap[] = {
      "text",         "textbf", "textit", "textrm",     "textsf", "texttt",     "textnormal",
      "mathrm",       "mathbf", "mathit", "mathsf",     "mathtt", "mathnormal", "mbox",
      "operatorname", "emph",   "hbox",   "boldsymbol", "bm"};
  for (std::string_view u : kUnwrap) {
    if (name == u) return true;
  }
  return false;
}

// Unit words stripped after a number ("5 cm", "12 dollars"). Longer unknown words are
// stripped too; this list is for the short ones that could otherwise be variables.
bool IsUnitWord(std::string_view word) {
  static constexpr std::string_view kUnits[] = {
      "m",   "cm",  "mm",   "km",  "g",   "kg",  "mg", "s",  "ms",  "h",   "hr",
      "hrs", "min", "mins", "sec", "l",   "L",   "ml", "mL", "ft",  "in",  "yd",
      "mi",  "lb",  "lbs",  "oz",  "mph", "kmh", "sq", "cu", "deg", "rad", "pt",
      "pts", "cal", "kcal", "J",   "W",   "V",   "A",  "N",  "Pa",  "Hz",  "K",
      "am",  "pm",  "AM",   "PM",  "th",  "st",  "nd", "rd", "ths"};
  for (std::string_view u : kUnits) {
    if (word == u) return true;
  }
  return false;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// Strips trailing unit words ("5 square meters" -> "5"), and "percent" (setting *percent).
void StripUnits(std::string* s, bool* percent) {
  for (int round = 0; round < 4; ++round) {
    while (!s->empty() && IsSpace(s->back())) s->pop_back();
    size_t end = s->size();
    // An exponent on the unit: "cm^2", "m^{3}".
    size_t word_end = end;
    if (end >= 2 && IsDigit((*s)[end - 1]) && (*s)[end - 2] == '^') {
      word_end = end - 2;
    } else if (end >= 4 && (*s)[end - 1] == '}' && IsDigit((*s)[end - 2]) && (*s)[end - 3] == '{' &&
               (*s)[end - 4] == '^') {
      word_end = end - 4;
    }
    while (word_end < end && word_end > 0 && IsSpace((*s)[word_end - 1])) --word_end;
    size_t start = word_end;
    while (start > 0 && IsLetter((*s)[start - 1])) --start;
    if (start == word_end || (start > 0 && (*s)[start - 1] == '\\')) return;
    const std::string_view word(s->data() + start, word_end - start);
    size_t before = start;
    while (before > 0 && IsSpace((*s)[before - 1])) --before;
    if (before == 0) return;
    const char prev = (*s)[before - 1];
    if (!IsDigit(prev) && prev != '}' && prev != ')' && prev != '.' && !IsLetter(prev)) return;
    const bool spaced = before < start;
    const bool percent_word = word == "percent" || word == "Percent";
    // After a letter only further unit words go ("square meters"), never variables.
    if (IsLetter(prev) && !(spaced && (word.size() >= 3 || IsUnitWord(word)))) return;
    if (!percent_word && !IsUnitWord(word) && !(spaced && word.size() >= 3)) return;
    if (percent_word && percent) *percent = true;
    s->resize(before);
  }
}

// Drops commas that are thousands separators: 1,234,567 (groups of exactly three digits, the
// whole run of them, and nothing digit-like after it).
void DropThousandsCommas(std::string* s) {
  std::string& t = *s;
  for (size_t i = 0; i < t.size(); ++i) {
    if (!IsDigit(t[i]) || (i > 0 && (IsDigit(t[i - 1]) || t[i - 1] == '.' || t[i - 1] == ','))) {
      continue;
    }
    size_t j = i;
    while (j < t.size() && IsDigit(t[j])) ++j;
    if (j - i > 3) continue;
    size_t groups = 0;
    while (j + 3 < t.size() + 0 && t[j] == ',' && IsDigit(t[j + 1]) && IsDigit(t[j + 2]) &&
           IsDigit(t[j + 3]) && (j + 4 >= t.size() || !IsDigit(t[j + 4]))) {
      j += 4;
      ++groups;
    }
    if (groups == 0 || (j < t.size() && t[j] == ',' && j + 1 < t.size() && IsDigit(t[j + 1]))) {
      continue;
    }
    std::string digits;
    for (size_t k = i; k < j; ++k) {
      if (t[k] != ',') digits.push_back(t[k]);
    }
    t.replace(i, j - i, digits);
    i += digits.size() - 1;
  }
}

void ReplaceAll(std::string* s, std::string_view from, std::string_view to) {
  size_t at = 0;
  while ((at = s->find(from, at)) != std::string::npos) {
    s->replace(at, from.size(), to);
    at += to.size();
  }
}

// --- Structure: lists, tuples, intervals, sets ---------------------------------------------

bool IsOpen(char c) { return c == '(' || c == '[' || c == '{' || c == kSetOpen; }
bool IsClose(char c) { return c == ')' || c == ']' || c == '}' || c == kSetClose; }

// Splits at top-level occurrences of `sep`; false if brackets do not balance.
bool SplitTopLevel(std::string_view s, std::string_view sep, std::vector<std::string_view>* out) {
  out->clear();
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (IsOpen(c)) {
      ++depth;
    } else if (IsClose(c)) {
      if (--depth < 0) return false;
    } else if (depth == 0 && s.compare(i, sep.size(), sep) == 0) {
      out->push_back(s.substr(start, i - start));
      start = i + sep.size();
      i += sep.size() - 1;
    }
  }
  if (depth != 0) return false;
  out->push_back(s.substr(start));
  return true;
}

// True if s[0] is an opening bracket whose partner is the last character.
bool WrappedWhole(std::string_view s) {
  if (s.size() < 2 || !IsOpen(s.front()) || !IsClose(s.back())) return false;
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (IsOpen(s[i])) {
      ++depth;
    } else if (IsClose(s[i])) {
      if (--depth == 0) return i + 1 == s.size();
    }
  }
  return false;
}

struct Listing {
  enum Kind { kScalar, kOrdered, kUnordered } kind = kScalar;
  char open = 0, close = 0;  // brackets of an ordered tuple or interval
  std::vector<std::string_view> items;
};

Listing ParseListing(std::string_view s) {
  Listing listing;
  std::vector<std::string_view> parts;
  if (WrappedWhole(s) && s.front() != '{') {
    if (SplitTopLevel(s.substr(1, s.size() - 2), ",", &parts) && parts.size() >= 2) {
      const bool set = s.front() == kSetOpen;
      listing.kind = set ? Listing::kUnordered : Listing::kOrdered;
      listing.open = s.front();
      listing.close = s.back();
      listing.items = std::move(parts);
      return listing;
    }
    if (s.front() == kSetOpen && s.back() == kSetClose) {  // a one-element set
      listing.kind = Listing::kUnordered;
      listing.items = {s.substr(1, s.size() - 2)};
      return listing;
    }
  }
  if (SplitTopLevel(s, ",", &parts) && parts.size() >= 2) {
    listing.kind = Listing::kUnordered;  // "1, 2": a list of solutions, in any order
    listing.items = std::move(parts);
  }
  return listing;
}

// --- Scalars --------------------------------------------------------------------------------

bool IsPlainInteger(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!IsDigit(s[i])) return false;
  }
  return true;
}

std::string_view CanonicalInteger(std::string_view s, bool* negative) {
  *negative = false;
  if (s[0] == '-' || s[0] == '+') {
    *negative = s[0] == '-';
    s.remove_prefix(1);
  }
  while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);
  if (s == "0") *negative = false;
  return s;
}

bool NumbersEqual(double a, double b, double relative_tolerance) {
  if (!std::isfinite(a) || !std::isfinite(b)) return false;
  const double diff = std::fabs(a - b);
  return diff <= 1e-12 || diff <= relative_tolerance * std::max(std::fabs(a), std::fabs(b));
}

bool IsWordOnly(std::string_view s) {
  for (char c : s) {
    if (!IsLetter(c)) return false;
  }
  return true;
}

// "(B)" -> "B": a choice label in parentheses.
std::string_view StripChoiceParens(std::string_view s) {
  if (s.size() == 3 && s[0] == '(' && s[2] == ')' && IsLetter(s[1])) return s.substr(1, 1);
  return s;
}

// The right-hand side of "x=5", "f(x)=...", "x\in[1,2]" when the left is a lone name.
std::string_view StripAssignment(std::string_view s) {
  size_t eq = s.find('=');
  size_t skip = 1;
  const size_t in = s.find("\\in");
  if (in != std::string_view::npos && (eq == std::string_view::npos || in < eq) &&
      !(in + 3 < s.size() && IsLetter(s[in + 3]))) {
    eq = in;
    skip = 3;
  }
  if (eq == std::string_view::npos || eq == 0 || eq > 12) return s;
  if (s.find('=', eq + skip) != std::string_view::npos) return s;
  if (eq > 0 && (s[eq - 1] == '<' || s[eq - 1] == '>' || s[eq - 1] == '!')) return s;
  const std::string_view lhs = s.substr(0, eq);
  if (!IsLetter(lhs[0]) && lhs[0] != '(') return s;
  for (char c : lhs) {
    if (!IsLetter(c) && !IsDigit(c) && c != '_' && c != '{' && c != '}' && c != '(' && c != ')' &&
        c != '\'' && c != ',') {
      return s;
    }
  }
  const std::string_view rhs = s.substr(eq + skip);
  return rhs.empty() ? s : rhs;
}

class Comparer {
 public:
  explicit Comparer(double relative_tolerance) : tolerance_(relative_tolerance) {}

  bool Equal(std::string_view a, std::string_view b, bool percent_a, bool percent_b,
             int depth = 0) const {
    if (a == b) return true;
    if (depth > 8 || a.empty() || b.empty()) return false;
    a = StripAssignment(a);
    b = StripAssignment(b);
    if (a == b) return true;
    // Unions of intervals, then equations, then lists.
    std::vector<std::string_view> pa, pb;
    if (SplitTopLevel(a, "\\cup", &pa) && SplitTopLevel(b, "\\cup", &pb) &&
        (pa.size() > 1 || pb.size() > 1)) {
      return ItemsEqual(pa, pb, /*ordered=*/false, depth);
    }
    if (SplitTopLevel(a, "=", &pa) && SplitTopLevel(b, "=", &pb) && pa.size() == 2 &&
        pb.size() == 2) {
      return Equal(pa[0], pb[0], false, false, depth + 1) &&
             Equal(pa[1], pb[1], false, false, depth + 1);
    }
    const Listing la = ParseListing(a);
    const Listing lb = ParseListing(b);
    if (la.kind != Listing::kScalar || lb.kind != Listing::kScalar) {
      // A one-element solution set {2} is the answer 2.
      if (la.kind == Listing::kUnordered && la.items.size() == 1 && lb.kind == Listing::kScalar) {
        return Equal(la.items[0], b, false, false, depth + 1);
      }
      if (lb.kind == Listing::kUnordered && lb.items.size() == 1 && la.kind == Listing::kScalar) {
        return Equal(a, lb.items[0], false, false, depth + 1);
      }
      if (la.kind != lb.kind) return false;
      if (la.kind == Listing::kOrdered && (la.open != lb.open || la.close != lb.close)) {
        return false;
      }
      return ItemsEqual(la.items, lb.items, la.kind == Listing::kOrdered, depth);
    }
    return ScalarEqual(a, b, percent_a, percent_b);
  }

 private:
  bool ItemsEqual(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b,
                  bool ordered, int depth) const {
    if (a.size() != b.size() || a.size() > 64) return false;
    if (ordered) {
      for (size_t i = 0; i < a.size(); ++i) {
        if (!Equal(a[i], b[i], false, false, depth + 1)) return false;
      }
      return true;
    }
    std::vector<bool> used(b.size(), false);
    for (std::string_view item : a) {
      bool matched = false;
      for (size_t j = 0; j < b.size() && !matched; ++j) {
        if (!used[j] && Equal(item, b[j], false, false, depth + 1)) used[j] = matched = true;
      }
      if (!matched) return false;
    }
    return true;
  }

  bool ScalarEqual(std::string_view a, std::string_view b, bool percent_a, bool percent_b) const {
    a = StripChoiceParens(a);
    b = StripChoiceParens(b);
    if (a == b) return true;
    if (percent_a == percent_b && IsPlainInteger(a) && IsPlainInteger(b)) {
      // Exact, so that 20-digit answers are not "equal" by rounding.
      bool neg_a, neg_b;
      return CanonicalInteger(a, &neg_a) == CanonicalInteger(b, &neg_b) && neg_a == neg_b;
    }
    // Words ("yes", "no", "Monday") and choice letters compare as text, ignoring case.
    if ((a.size() >= 2 && IsWordOnly(a)) || (b.size() >= 2 && IsWordOnly(b)) ||
        (a.size() == 1 && b.size() == 1 && IsLetter(a[0]) && IsLetter(b[0]))) {
      return EqualsIgnoreCase(a, b);
    }
    std::optional<MathExpression> ea = MathExpression::Parse(a);
    if (!ea) return EqualsIgnoreCase(a, b);
    std::optional<MathExpression> eb = MathExpression::Parse(b);
    if (!eb) return false;
    if (ea->variables() != eb->variables()) return false;
    if (ea->variables() == 0) {
      const double va = ea->Evaluate();
      const double vb = eb->Evaluate();
      if (NumbersEqual(va, vb, tolerance_)) return true;
      // "50%" may stand for 50 or for 0.5.
      if (percent_a && !percent_b) return NumbersEqual(va / 100, vb, tolerance_);
      if (percent_b && !percent_a) return NumbersEqual(va, vb / 100, tolerance_);
      return false;
    }
    // Expressions in variables: equal at a few arbitrary points.
    double values[52];
    for (int point = 0; point < 3; ++point) {
      for (int v = 0; v < 52; ++v) values[v] = 0.3711 + 0.6173 * ((v * 7 + point * 13) % 11);
      const double va = ea->Evaluate(values);
      const double vb = eb->Evaluate(values);
      if (std::isnan(va) && std::isnan(vb)) continue;
      if (!NumbersEqual(va, vb, 1e-7)) return false;
    }
    return true;
  }

  double tolerance_;
};

}  // namespace

std::string NormalizeMathAnswer(std::string_view in, bool* percent) {
  bool has_percent = false;
  std::string out;
  out.reserve(in.size() + 8);
  // One entry per open brace: whether its closing brace is dropped (an unwrapped \text{}).
  std::vector<bool> drop_close;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\\') {
      if (i + 1 >= in.size()) break;
      const char next = in[i + 1];
      if (!IsLetter(next)) {
        ++i;
        switch (next) {
          case ',':
          case '!':
          case ';':
          case ':':
          case '$':
            break;
          case ' ':
            out.push_back(' ');
            break;
          case '%':
            has_percent = true;
            break;
          case '{':
            out.push_back(kSetOpen);
            break;
          case '}':
            out.push_back(kSetClose);
            break;
          default:
            out.push_back('\\');
            out.push_back(next);
        }
        continue;
      }
      size_t end = i + 1;
      while (end < in.size() && IsLetter(in[end])) ++end;
      const std::string_view name = in.substr(i + 1, end - i - 1);
      i = end - 1;
      if (IsDroppedCommand(name)) {
        if ((name == "circ" || name == "degree") && !out.empty() && out.back() == '^') {
          out.pop_back();
        }
        if (name == "quad" || name == "qquad") out.push_back(' ');
        continue;
      }
      if (IsUnwrapCommand(name)) {
        size_t j = end;
        while (j < in.size() && IsSpace(in[j])) ++j;
        if (j < in.size() && in[j] == '{') {
          drop_close.push_back(true);
          out.push_back(' ');
          i = j;
        }
        continue;
      }
      if (name == "dfrac" || name == "tfrac" || name == "cfrac") {
        out.append("\\frac");
      } else if (name == "dbinom" || name == "tbinom") {
        out.append("\\binom");
      } else if (name == "cdot" || name == "times" || name == "ast") {
        out.push_back('*');
      } else if (name == "div") {
        out.push_back('/');
      } else if (name == "percent") {
        has_percent = true;
      } else if (name == "le" || name == "leq" || name == "leqslant") {
        out.append("<=");
      } else if (name == "ge" || name == "geq" || name == "geqslant") {
        out.append(">=");
      } else if (name == "neq" || name == "ne") {
        out.append("!=");
      } else if (name == "lbrace") {
        out.push_back(kSetOpen);
      } else if (name == "rbrace") {
        out.push_back(kSetClose);
      } else {
        out.push_back('\\');
        out.append(name.data(), name.size());
        // Keep "\pi r" from gluing into one command name.
        if (i + 1 < in.size() && IsSpace(in[i + 1])) out.push_back(' ');
      }
      continue;
    }
    switch (c) {
      case '$':
        break;
      case '%':
        has_percent = true;
        break;
      case '~':
        out.push_back(' ');
        break;
      case '{':
        drop_close.push_back(false);
        out.push_back('{');
        break;
      case '}':
        if (!drop_close.empty() && drop_close.back()) {
          out.push_back(' ');
        } else {
          out.push_back('}');
        }
        if (!drop_close.empty()) drop_close.pop_back();
        break;
      case '\xc2':  // UTF-8 degree sign U+00B0
        if (i + 1 < in.size() && in[i + 1] == '\xb0') {
          ++i;
          if (!out.empty() && out.back() == '^') out.pop_back();
          break;
        }
        out.push_back(c);
        break;
      default:
        out.push_back(c);
    }
  }
  ReplaceAll(&out, "^{}", "");
  ReplaceAll(&out, "{,}", "");
  ReplaceAll(&out, "bmatrix", "pmatrix");
  while (!out.empty() && (IsSpace(out.back()) || out.back() == '.' || out.back() == '^')) {
    out.pop_back();
  }
  StripUnits(&out, &has_percent);
  DropThousandsCommas(&out);
  // No whitespace from here on: "1 000" is 1000 and "2 x" is 2x.
  size_t w = 0;
  for (size_t r = 0; r < out.size(); ++r) {
    if (!IsSpace(out[r])) out[w++] = out[r];
  }
  out.resize(w);
  while (!out.empty() && out.back() == '.') out.pop_back();
  // A lone group: "{5}" -> "5".
  while (out.size() >= 2 && out.front() == '{' && WrappedWhole(out)) {
    out = out.substr(1, out.size() - 2);
  }
  if (percent) *percent = has_percent;
  return out;
}

bool MathVerifier::Equivalent(std::string_view answer, std::string_view ground_truth) const {
  if (answer.size() > kMaxAnswerChars || ground_truth.size() > kMaxAnswerChars) return false;
  bool percent_a = false, percent_b = false;
  const std::string a = NormalizeMathAnswer(answer, &percent_a);
  const std::string b = NormalizeMathAnswer(ground_truth, &percent_b);
  if (a.empty() || b.empty()) return false;
  return Comparer(options_.relative_tolerance).Equal(a, b, percent_a, percent_b);
}

MathVerdict MathVerifier::Verify(std::string_view response, std::string_view ground_truth) const {
  MathVerdict verdict;
  std::optional<std::string_view> answer = ExtractFinalAnswer(response, options_.answer_markers);
  if (!answer) return verdict;
  verdict.extracted = true;
  verdict.answer = std::string(answer->substr(0, 200));
  // Ground truth may itself be written as a boxed answer.
  std::string_view truth = ground_truth;
  if (std::optional<std::string_view> boxed = ExtractBoxed(ground_truth)) truth = *boxed;
  verdict.equivalent = Equivalent(*answer, truth);
  return verdict;
}

}  // namespace seamless
