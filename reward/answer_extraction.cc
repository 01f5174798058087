#include "reward/answer_extraction.h"

namespace seamless {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// The brace group starting at text[open] == '{', without the braces; nullopt if unbalanced.
// A backslash escapes the next character, so `\{` and `\}` do not count.
std::optional<std::string_view> BraceGroup(std::string_view text, size_t open) {
  int depth = 0;
  for (size_t i = open; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (--depth == 0) return text.substr(open + 1, i - open - 1);
    }
  }
  return std::nullopt;
}

// The argument of a box command whose name ends just before `after`.
std::optional<std::string_view> BoxArgument(std::string_view text, size_t after) {
  size_t i = after;
  while (i < text.size() && IsSpace(text[i])) ++i;
  if (i >= text.size()) return std::nullopt;
  if (text[i] == '{') return BraceGroup(text, i);
  // "\boxedx" is another command, not a box; "\boxed5" boxes the digits.
  if (i == after && !(text[i] >= '0' && text[i] <= '9')) return std::nullopt;
  // `\boxed 5`: the argument runs to the next '$' or end of line.
  size_t end = i;
  while (end < text.size() && text[end] != '$' && text[end] != '\n') ++end;
  return text.substr(i, end - i);
}

}  // namespace

std::optional<std::string_view> ExtractBoxed(std::string_view text, bool* found) {
  // Scan backwards for the last box command; an unbalanced last box is no answer, rather
  // than silently falling back to an earlier one the model moved on from.
  size_t best = std::string_view::npos;
  size_t best_len = 0;
  for (const std::string_view command : {std::string_view("\\boxed"), std::string_view("\\fbox")}) {
    const size_t at = text.rfind(command);
    if (at != std::string_view::npos && (best == std::string_view::npos || at > best)) {
      best = at;
      best_len = command.size();
    }
  }
  if (found) *found = best != std::string_view::npos;
  if (best == std::string_view::npos) return std::nullopt;
  return BoxArgument(text, best + best_len);
}

std::optional<std::string_view> ExtractAfterMarker(std::string_view text,
                                                   const std::vector<std::string>& markers) {
  size_t best = std::string_view::npos;
  size_t best_end = 0;
  for (const std::string& marker : markers) {
    if (marker.empty()) continue;
    const size_t at = text.rfind(marker);
    if (at != std::string_view::npos && (best == std::string_view::npos || at > best)) {
      best = at;
      best_end = at + marker.size();
    }
  }
  if (best == std::string_view::npos) return std::nullopt;
  size_t end = text.find('\n', best_end);
  if (end == std::string_view::npos) end = text.size();
  std::string_view answer = Trim(text.substr(best_end, end - best_end));
  if (!answer.empty() && answer.front() == ':') answer = Trim(answer.substr(1));
  while (!answer.empty() && (answer.back() == '.' || answer.back() == '$')) {
    answer.remove_suffix(1);
    answer = Trim(answer);
  }
  while (!answer.empty() && answer.front() == '$') answer = Trim(answer.substr(1));
  return answer;
}

std::optional<std::string_view> ExtractFinalAnswer(std::string_view text,
                                                   const std::vector<std::string>& markers) {
  bool boxed = false;
  std::optional<std::string_view> answer = ExtractBoxed(text, &boxed);
  if (!boxed) answer = ExtractAfterMarker(text, markers);
  if (!answer) return std::nullopt;
  std::string_view trimmed = Trim(*answer);
  if (trimmed.empty() || trimmed.size() > kMaxAnswerChars) return std::nullopt;
  return trimmed;
}

}  // namespace seamless
