#include "reward/output_compare.h"

#include <cmath>
#include <cstdlib>
#include <string>

namespace seamless {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Next whitespace-separated token from *s, or empty at the end.
std::string_view NextToken(std::string_view* s) {
  size_t i = 0;
  while (i < s->size() && IsSpace((*s)[i])) ++i;
  size_t j = i;
  while (j < s->size() && !IsSpace((*s)[j])) ++j;
  std::string_view token = s->substr(i, j - i);
  s->remove_prefix(j);
  return token;
}

// The token as a number, if all of it is one; *integer tells whether it was written as one.
bool ParseNumber(std::string_view token, double* value, bool* integer) {
  if (token.empty() || token.size() > 64) return false;
  char buffer[72];
  token.copy(buffer, token.size());
  buffer[token.size()] = '\0';
  char* end = nullptr;
  *value = std::strtod(buffer, &end);
  if (end != buffer + token.size()) return false;
  *integer = token.find_first_of(".eEnN") == std::string_view::npos;  // nan/inf are not
  return true;
}

bool TokensMatch(std::string_view a, std::string_view e, double tolerance) {
  if (a == e) return true;
  double va, ve;
  bool ia, ie;
  if (!ParseNumber(a, &va, &ia) || !ParseNumber(e, &ve, &ie)) return false;
  if (ia && ie) return false;  // different integers: no tolerance
  if (!std::isfinite(va) || !std::isfinite(ve)) return false;
  const double diff = std::fabs(va - ve);
  return diff <= tolerance || diff <= tolerance * std::fabs(ve);
}

}  // namespace

bool OutputsMatch(std::string_view actual, std::string_view expected, CompareMode mode,
                  double tolerance) {
  if (mode == CompareMode::kExact) return TrimRight(actual) == TrimRight(expected);
  while (true) {
    const std::string_view a = NextToken(&actual);
    const std::string_view e = NextToken(&expected);
    if (a.empty() || e.empty()) return a.empty() && e.empty();
    if (mode == CompareMode::kWhitespace ? a != e : !TokensMatch(a, e, tolerance)) return false;
  }
}

}  // namespace seamless
