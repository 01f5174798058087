#include "core/base/json_limits.h"

#include <algorithm>
#include <exception>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace seamless {

absl::Status CheckJsonLimits(absl::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(text.size(), " bytes; at most ", limits.max_bytes));
  }
  // One pass, no recursion: brackets count only outside strings, where a backslash escapes
  // the next byte. Unbalanced text is left for the parser to report.
  int64_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  if (deepest > limits.max_depth) {
    return absl::InvalidArgumentError(
        absl::StrCat("nested ", deepest, " levels deep; at most ", limits.max_depth));
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text, const JsonLimits& limits) {
  if (absl::Status s = CheckJsonLimits(text, limits); !s.ok()) return s;
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("not JSON: ", e.what()));
  }
}

}  // namespace seamless
