#include "reward/code_task.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "core/base/json_limits.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

using Json = nlohmann::json;

absl::Status Invalid(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("ground_truth", field, ": ", what));
}

absl::StatusOr<std::vector<std::string>> TextList(const Json& node, const char* name) {
  const std::string field = absl::StrCat(".", name);
  if (!node.contains(name)) return Invalid(field, "missing");
  const Json& list = node[name];
  if (!list.is_array()) return Invalid(field, "expected a list");
  std::vector<std::string> out;
  out.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& item = list[i];
    if (item.is_string()) {
      out.push_back(item.get<std::string>());
    } else if (item.is_array()) {
      // A test written as its lines.
      std::string joined;
      for (const Json& line : item) {
        if (!line.is_string()) {
          return Invalid(absl::StrCat(field, "[", i, "]"), "expected a string or list of strings");
        }
        absl::StrAppend(&joined, line.get<std::string>(), "\n");
      }
      out.push_back(std::move(joined));
    } else {
      return Invalid(absl::StrCat(field, "[", i, "]"), "expected a string");
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<CodeTests> ParseCodeTests(std::string_view ground_truth) {
  // Each level goes through the shared guard: a Score RPC's ground truth is outside input.
  absl::StatusOr<Json> parsed =
      ParseJson(absl::string_view(ground_truth.data(), ground_truth.size()));
  if (!parsed.ok()) return Invalid("", std::string(parsed.status().message()));
  Json root = std::move(*parsed);
  if (root.is_string()) {  // verl keeps the test object as a JSON string
    parsed = ParseJson(root.get<std::string>());
    if (!parsed.ok())
      return Invalid("", "a string that is " + std::string(parsed.status().message()));
    root = std::move(*parsed);
  }
  if (root.is_object() && root.contains("input_output") && !root.contains("inputs")) {
    Json inner = root["input_output"];
    if (inner.is_string()) {
      parsed = ParseJson(inner.get<std::string>());
      if (!parsed.ok()) return Invalid(".input_output", std::string(parsed.status().message()));
      inner = std::move(*parsed);
    }
    if (!inner.is_object()) return Invalid(".input_output", "expected an object");
    root = std::move(inner);
  }
  if (!root.is_object()) return Invalid("", "expected an object with inputs and outputs");
  if (root.contains("fn_name")) {
    return Invalid(".fn_name", "call-based tests are not supported; give stdin/stdout tests");
  }
  CodeTests tests;
  auto inputs = TextList(root, "inputs");
  if (!inputs.ok()) return inputs.status();
  auto outputs = TextList(root, "outputs");
  if (!outputs.ok()) return outputs.status();
  tests.inputs = std::move(*inputs);
  tests.outputs = std::move(*outputs);
  if (tests.inputs.empty()) return Invalid(".inputs", "no tests");
  if (tests.inputs.size() != tests.outputs.size()) {
    return Invalid(".outputs", absl::StrCat(tests.outputs.size(), " outputs for ",
                                            tests.inputs.size(), " inputs"));
  }
  if (tests.inputs.size() > kMaxTestsPerSample) {
    return Invalid(".inputs", absl::StrCat("more than ", kMaxTestsPerSample, " tests"));
  }
  if (root.contains("levels") && !root["levels"].is_null()) {
    const Json& levels = root["levels"];
    if (!levels.is_array() || levels.size() != tests.inputs.size()) {
      return Invalid(".levels", absl::StrCat("expected a list of ", tests.inputs.size(),
                                             " integers (one per test)"));
    }
    for (size_t i = 0; i < levels.size(); ++i) {
      if (!levels[i].is_number_integer() || levels[i].get<int64_t>() < 0 ||
          levels[i].get<int64_t>() > 100) {
        return Invalid(absl::StrCat(".levels[", i, "]"), "expected an integer in [0, 100]");
      }
      tests.levels.push_back(levels[i].get<int>());
    }
  } else {
    tests.levels.assign(tests.inputs.size(), 0);
  }
  return tests;
}

const char* LanguageName(Language language) {
  return language == Language::kCpp ? "cpp" : "python";
}

std::optional<Language> ParseLanguage(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "python" || lower == "py" || lower == "python3") return Language::kPython;
  if (lower == "cpp" || lower == "c++" || lower == "cc" || lower == "cxx" || lower == "cpp17" ||
      lower == "c++17") {
    return Language::kCpp;
  }
  return std::nullopt;
}

Program ExtractProgram(std::string_view response, std::optional<Language> forced) {
  std::optional<Program> tagged, untagged;
  size_t pos = 0;
  while (true) {
    const size_t open = response.find("```", pos);
    if (open == std::string_view::npos) break;
    const size_t tag_end = response.find('\n', open + 3);
    if (tag_end == std::string_view::npos) break;
    const size_t close = response.find("```", tag_end + 1);
    std::string_view tag = response.substr(open + 3, tag_end - open - 3);
    while (!tag.empty() && std::isspace(static_cast<unsigned char>(tag.back())))
      tag.remove_suffix(1);
    while (!tag.empty() && std::isspace(static_cast<unsigned char>(tag.front())))
      tag.remove_prefix(1);
    const std::string_view body = close == std::string_view::npos
                                      ? response.substr(tag_end + 1)
                                      : response.substr(tag_end + 1, close - tag_end - 1);
    if (tag.empty()) {
      untagged = Program{Language::kPython, std::string(body)};
    } else if (std::optional<Language> language = ParseLanguage(tag)) {
      tagged = Program{*language, std::string(body)};
    }
    if (close == std::string_view::npos) break;
    pos = close + 3;
  }
  Program program = tagged     ? *tagged
                    : untagged ? *untagged
                               : Program{Language::kPython, std::string(response)};
  if (forced) program.language = *forced;
  return program;
}

}  // namespace seamless
