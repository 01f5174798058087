#include "core/base/json_lines.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/base/json_limits.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace seamless {

absl::Status ForEachJsonLine(
    const std::string& text, const std::string& file,
    const std::function<absl::Status(const std::string& where, const nlohmann::json& value)>& row) {
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    const std::string where = absl::StrCat(file, ":", line_no);
    absl::StatusOr<nlohmann::json> value = ParseJson(line);
    if (!value.ok()) return Annotate(value.status(), where);
    RETURN_IF_ERROR(row(where, *value));
  }
  return absl::OkStatus();
}

}  // namespace seamless
