// JSON Lines text read one object at a time, errors naming the file and line.
#ifndef SEAMLESS_CORE_BASE_JSON_LINES_H_
#define SEAMLESS_CORE_BASE_JSON_LINES_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "nlohmann/json_fwd.hpp"

namespace seamless {

// Calls `row(where, value)` for each non-blank line of `text` in order, `where` being
// "<file>:<line number>" for the row's own errors. Stops at the first row that fails, or at a
// line that is not JSON (INVALID_ARGUMENT "<where>: not JSON: <parser's message>") or is
// beyond the limits of core/base/json_limits.h ("<where>: nested 150000 levels deep; ...").
absl::Status ForEachJsonLine(
    const std::string& text, const std::string& file,
    const std::function<absl::Status(const std::string& where, const nlohmann::json& value)>& row);

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_JSON_LINES_H_
