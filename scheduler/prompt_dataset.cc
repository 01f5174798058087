#include "scheduler/prompt_dataset.h"

#include <algorithm>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/base/json_limits.h"
#include "core/base/log.h"

namespace seamless {

absl::StatusOr<PromptRecord> ParsePromptRecord(const std::string& json_line, int64_t line,
                                               const std::string& path) {
  const std::string where = absl::StrCat(path, ":", line, ": ");
  // A data line is outside input: deep nesting would overflow the stack of what walks it.
  absl::Status limits = CheckJsonLimits(json_line);
  if (!limits.ok()) return absl::InvalidArgumentError(where + std::string(limits.message()));
  nlohmann::json j = nlohmann::json::parse(json_line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(where + "not valid JSON");
  if (!j.is_object()) return absl::InvalidArgumentError(where + "expected a JSON object");
  PromptRecord r;
  r.line = line;
  if (!j.contains("prompt")) return absl::InvalidArgumentError(where + "field 'prompt' is missing");
  r.prompt = j["prompt"];
  if (r.prompt.is_string()) {
    if (r.prompt.get<std::string>().empty()) {
      return absl::InvalidArgumentError(where + "field 'prompt' is empty");
    }
  } else if (r.prompt.is_array()) {
    if (r.prompt.empty())
      return absl::InvalidArgumentError(where + "field 'prompt' has no messages");
    for (size_t i = 0; i < r.prompt.size(); ++i) {
      const auto& m = r.prompt[i];
      if (!m.is_object() || !m.contains("role") || !m.contains("content") ||
          !m["role"].is_string() || !m["content"].is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, "field 'prompt[", i, "]' must be {\"role\": string, \"content\": string}"));
      }
    }
  } else {
    return absl::InvalidArgumentError(where +
                                      "field 'prompt' must be a string or a list of messages");
  }
  if (j.contains("data_source")) {
    if (!j["data_source"].is_string()) {
      return absl::InvalidArgumentError(where + "field 'data_source' must be a string");
    }
    r.data_source = j["data_source"].get<std::string>();
  }
  r.ability = "math";
  if (j.contains("ability")) {
    if (!j["ability"].is_string()) {
      return absl::InvalidArgumentError(where + "field 'ability' must be a string");
    }
    r.ability = j["ability"].get<std::string>();
  }
  if (r.ability != "math" && r.ability != "code") {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "field 'ability' is '", r.ability, "'; expected math or code"));
  }
  if (!j.contains("reward_model") || !j["reward_model"].is_object() ||
      !j["reward_model"].contains("ground_truth")) {
    return absl::InvalidArgumentError(where + "field 'reward_model.ground_truth' is missing");
  }
  const auto& truth = j["reward_model"]["ground_truth"];
  if (truth.is_string()) {
    r.ground_truth = truth.get<std::string>();
  } else if (truth.is_number() || truth.is_object() || truth.is_array()) {
    r.ground_truth = truth.dump();  // numbers as text; code test cases as JSON
  } else {
    return absl::InvalidArgumentError(
        where + "field 'reward_model.ground_truth' must be a string, number or object");
  }
  if (j.contains("extra_info")) r.extra_info = j["extra_info"];
  return r;
}

absl::StatusOr<PromptDataset> LoadPromptDataset(const std::string& path,
                                                const DatasetLoadOptions& options) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open prompt data '", path, "'"));
  PromptDataset data;
  data.path = path;
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    auto record = ParsePromptRecord(text, line, path);
    if (!record.ok()) {
      if (!options.skip_malformed) return record.status();
      ++data.skipped_lines;
      SLOG(WARNING) << "skipped: " << record.status().message();
      continue;
    }
    record->index = static_cast<int64_t>(data.records.size());
    data.records.push_back(std::move(*record));
  }
  if (data.records.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("prompt data '", path, "' has no prompts"));
  }
  return data;
}

}  // namespace seamless
