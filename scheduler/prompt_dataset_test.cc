#include "scheduler/prompt_dataset.h"

#include <gtest/gtest.h>

#include <string>

#include "scheduler/scheduler_state.h"

namespace seamless {
namespace {

TEST(PromptDatasetHostileTest, ADeeplyNestedGroundTruthIsRefusedWithFileAndLine) {
  // 150,000 levels in a train_data line's ground_truth crashed the scheduler.
  const std::string line =
      "{\"prompt\": \"1+1?\", \"reward_model\": {\"ground_truth\": " + std::string(150000, '[') +
      std::string(150000, ']') + "}}";
  auto record = ParsePromptRecord(line, 4, "train.jsonl");
  EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(record.status().message(), "train.jsonl:4: nested 150002 levels deep; at most 512");
}

TEST(PromptDatasetHostileTest, ADeeplyNestedStateFileIsDataLoss) {
  auto state = SchedulerState::FromJson(std::string(100000, '{'));
  EXPECT_EQ(state.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(state.status().message(), "nested 100000 levels deep; at most 512");
}

}  // namespace
}  // namespace seamless
