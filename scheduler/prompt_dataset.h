// Prompt data in verl's JSONL schema, one prompt per line:
//   {"data_source": "...", "prompt": "text" | [{"role": ..., "content": ...}, ...],
//    "ability": "math" | "code", "reward_model": {"ground_truth": ...}, "extra_info": {...}}
// (the order they are drawn in: scheduler/prompt_sampler.h).
#ifndef SEAMLESS_SCHEDULER_PROMPT_DATASET_H_
#define SEAMLESS_SCHEDULER_PROMPT_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace seamless {

struct PromptRecord {
  int64_t index = 0;  // line order in the file (0-based, valid lines only)
  int64_t line = 0;   // 1-based line number, for messages
  std::string data_source;
  nlohmann::json prompt;     // a string or chat messages
  std::string ability;       // "math" (default) or "code"
  std::string ground_truth;  // the answer text; JSON text for code test cases
  nlohmann::json extra_info;
};

struct DatasetLoadOptions {
  bool skip_malformed = false;  // count and skip bad lines instead of failing
};

struct PromptDataset {
  std::string path;
  std::vector<PromptRecord> records;
  int64_t skipped_lines = 0;
};

// Errors name the file, the line and the field ("data.jsonl:12: field 'reward_model.ground_truth'
// is missing").
absl::StatusOr<PromptDataset> LoadPromptDataset(const std::string& path,
                                                const DatasetLoadOptions& options = {});
absl::StatusOr<PromptRecord> ParsePromptRecord(const std::string& json_line, int64_t line,
                                               const std::string& path);

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_PROMPT_DATASET_H_
