// Depth and size limits for JSON read from a user, a file or an RPC, checked before parsing.
//
// nlohmann's parser is iterative, but dump(), comparisons and our own walks recurse, so a
// 300 KB line of 150,000 nested brackets overflows the stack of whatever touches the parsed
// value (a SIGSEGV that one Score RPC could send). CheckJsonLimits scans the text without
// recursion first; ParseJson checks and then parses. Every JSON reader of outside input goes
// through one of them.
#ifndef SEAMLESS_CORE_BASE_JSON_LIMITS_H_
#define SEAMLESS_CORE_BASE_JSON_LIMITS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json_fwd.hpp"

namespace seamless {

// Nesting of arrays and objects at most. Real files stay far below it: tokenizer.json nests
// about 10 levels, config files and data lines fewer.
inline constexpr int kMaxJsonDepth = 512;
// Bytes of one JSON document at most (tokenizer.json of a 150k vocabulary is ~11 MB; a
// data line with code tests a few MB).
inline constexpr size_t kMaxJsonBytes = size_t{256} << 20;

struct JsonLimits {
  int max_depth = kMaxJsonDepth;
  size_t max_bytes = kMaxJsonBytes;
};

// OK when `text` nests arrays and objects at most `limits.max_depth` deep (brackets inside
// strings do not count) and is at most `limits.max_bytes` long; otherwise INVALID_ARGUMENT
// "nested 150000 levels deep; at most 512" or "312000000 bytes; at most 268435456". Does not
// check that `text` is JSON.
absl::Status CheckJsonLimits(absl::string_view text, const JsonLimits& limits = {});

// CheckJsonLimits, then parses: INVALID_ARGUMENT "not JSON: <parser's message>" when `text`
// is not one JSON value. Callers add where the text came from (Annotate).
absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text, const JsonLimits& limits = {});

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_JSON_LIMITS_H_
