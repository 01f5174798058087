#include "core/base/config.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/base/file_util.h"
#include "core/base/json_limits.h"
#include "core/base/status_macros.h"
#include "yaml-cpp/depthguard.h"

namespace seamless {
namespace internal {
namespace {

// Bytes of one config file at most: configs are a few KB; more is a data set passed by mistake.
constexpr size_t kMaxConfigBytes = size_t{16} << 20;

absl::Status TypeError(const std::string& where, const YAML::Node& node, const char* expected) {
  std::string got = node.IsScalar()     ? "'" + node.Scalar() + "'"
                    : node.IsMap()      ? "a mapping"
                    : node.IsSequence() ? "a list"
                                        : "nothing";
  return absl::InvalidArgumentError(absl::StrCat(where, ": expected ", expected, ", got ", got));
}

}  // namespace

std::string Where(const std::string& file, const YAML::Node& node, const std::string& key_path) {
  const YAML::Mark mark = node.Mark();
  if (mark.line >= 0) return absl::StrCat(file, ":", mark.line + 1, ": key '", key_path, "'");
  return absl::StrCat(file, ": key '", key_path, "'");
}

absl::Status EnumValueError(const std::string& file, const YAML::Node& node,
                            const std::string& path, const std::string& valid_names) {
  const YAML::Mark mark = node.Mark();
  const std::string at = mark.line >= 0 ? absl::StrCat(file, ":", mark.line + 1) : file;
  const std::string got = node.IsScalar()     ? "'" + node.Scalar() + "'"
                          : node.IsMap()      ? "a mapping"
                          : node.IsSequence() ? "a list"
                                              : "nothing";
  return absl::InvalidArgumentError(
      absl::StrCat(at, ": ", path, " is ", got, "; valid values: ", valid_names));
}

absl::Status ReadScalar(const YAML::Node& node, const std::string& where, bool* out) {
  if (!node.IsScalar()) return TypeError(where, node, "true or false");
  const std::string& s = node.Scalar();
  if (s == "true" || s == "True") {
    *out = true;
  } else if (s == "false" || s == "False") {
    *out = false;
  } else {
    return TypeError(where, node, "true or false");
  }
  return absl::OkStatus();
}

template <typename Int>
absl::Status ReadInteger(const YAML::Node& node, const std::string& where, Int* out) {
  int64_t value = 0;
  if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value) ||
      value < static_cast<int64_t>(std::numeric_limits<Int>::min()) ||
      (value > 0 && static_cast<uint64_t>(value) > std::numeric_limits<Int>::max())) {
    return TypeError(where, node, "an integer");
  }
  *out = static_cast<Int>(value);
  return absl::OkStatus();
}

absl::Status ReadScalar(const YAML::Node& node, const std::string& where, int32_t* out) {
  return ReadInteger(node, where, out);
}
absl::Status ReadScalar(const YAML::Node& node, const std::string& where, int64_t* out) {
  return ReadInteger(node, where, out);
}
absl::Status ReadScalar(const YAML::Node& node, const std::string& where, uint64_t* out) {
  uint64_t value = 0;
  if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value)) {
    return TypeError(where, node, "a non-negative integer");
  }
  *out = value;
  return absl::OkStatus();
}

namespace {

// Fewest significant digits (%g) whose text parses back to the same value of type T.
template <typename T>
std::string Shortest(T value) {
  char buffer[40];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", digits, static_cast<double>(value));
    if (static_cast<T>(std::strtod(buffer, nullptr)) == value) break;
  }
  return buffer;
}

}  // namespace

std::string FormatShortest(double value) { return Shortest(value); }
std::string FormatShortest(float value) { return Shortest(value); }

absl::Status ReadScalar(const YAML::Node& node, const std::string& where, double* out) {
  double value = 0;
  if (!node.IsScalar() || !absl::SimpleAtod(node.Scalar(), &value) || std::isnan(value)) {
    return TypeError(where, node, "a number");
  }
  *out = value;
  return absl::OkStatus();
}
absl::Status ReadScalar(const YAML::Node& node, const std::string& where, float* out) {
  double value = 0;
  absl::Status s = ReadScalar(node, where, &value);
  if (s.ok()) *out = static_cast<float>(value);
  return s;
}

absl::Status ReadScalar(const YAML::Node& node, const std::string& where, std::string* out) {
  if (!node.IsScalar()) return TypeError(where, node, "a string");
  *out = node.Scalar();
  return absl::OkStatus();
}

absl::Status ConfigReader::Finish() {
  if (unknown_ == UnknownKeys::kIgnore) return absl::OkStatus();
  for (const auto& entry : node_) {
    // A key that is itself a map or a list (YAML allows it): as<std::string> would throw.
    if (!entry.first.IsScalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(file_, entry.first, prefix_.empty() ? "(top level)" : prefix_),
                       ": a key must be a plain string, not a ",
                       entry.first.IsMap()        ? "map"
                       : entry.first.IsSequence() ? "list"
                                                  : "null"));
    }
    const std::string key = entry.first.as<std::string>();
    bool known = false;
    for (const auto& s : seen_) known = known || s == key;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(file_, entry.first, Path(key.c_str())),
                       ": unknown key (known keys here: ", absl::StrJoin(seen_, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<YAML::Node> ParseYamlString(const std::string& text, const std::string& name) {
  // yaml-cpp recurses once per level of nesting and only stops at 2000 (with the message
  // "bad file"), so the shared guard runs first: JSON configs are read as YAML, and YAML's flow
  // collections nest with the same brackets. A config has no business with 512 brackets in a
  // comment or plain scalar, which the scan would count too.
  JsonLimits limits;
  limits.max_bytes = kMaxConfigBytes;
  if (absl::Status s = CheckJsonLimits(text, limits); !s.ok()) return Annotate(s, name);
  try {
    return YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ":", e.mark.line + 1, ":", e.mark.column + 1,
                     ": nested too deep; yaml-cpp stops at 2000 levels"));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
}

absl::StatusOr<YAML::Node> ParseYamlFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return absl::NotFoundError(absl::StrCat(path, ": cannot open config file"));
  return ParseYamlString(*text, path);
}

absl::Status PrefixKey(const absl::Status& s, const char* key) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(key, ".", s.message()));
}

absl::Status LocateConfigError(const absl::Status& s, const YAML::Node& node,
                               const std::string& file) {
  if (s.ok()) return s;
  // The key path the message starts with: "scheduler.batch_groups is 0; ...".
  const absl::string_view message = s.message();
  size_t end = 0;
  while (end < message.size() && (std::isalnum(static_cast<unsigned char>(message[end])) ||
                                  message[end] == '_' || message[end] == '.')) {
    ++end;
  }
  std::string at = file;
  if (end > 0) {
    // Walk the mapping down the path. Nodes are rebound with reset(): yaml-cpp's operator=
    // would write into the tree.
    YAML::Node here, key;
    here.reset(node);
    bool found = true;
    for (absl::string_view part : absl::StrSplit(message.substr(0, end), '.')) {
      found = false;
      if (!here.IsMap()) break;
      for (const auto& entry : here) {  // the key node itself, for its line
        if (entry.first.IsScalar() && entry.first.Scalar() == part) {
          key.reset(entry.first);
          here.reset(entry.second);
          found = true;
          break;
        }
      }
      if (!found) break;
    }
    if (found && key.Mark().line >= 0) at = absl::StrCat(file, ":", key.Mark().line + 1);
  }
  return absl::Status(s.code(), absl::StrCat(at, ": ", message));
}

}  // namespace internal

absl::Status CheckRange(absl::string_view key, double value, double lo, double hi) {
  if (value >= lo && value <= hi) return absl::OkStatus();
  auto show = [](double v) {  // whole numbers in full: 1000000, not 1e+06
    if (std::isinf(v)) return std::string(v > 0 ? "inf" : "-inf");
    if (v == std::floor(v) && std::fabs(v) < 9e18) return absl::StrCat(static_cast<int64_t>(v));
    return absl::StrCat(v);
  };
  return absl::InvalidArgumentError(
      absl::StrCat(key, " is ", show(value), "; valid range [", show(lo), ", ", show(hi), "]"));
}

}  // namespace seamless
