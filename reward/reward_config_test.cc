// RewardConfig through the loader: modes are enums (a bad name lists the valid ones), and the
// Validate() hook refuses out-of-range limits naming the file:line, the key and the range.
#include "reward/reward_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/base/config.h"

namespace seamless {
namespace {

absl::Status Load(const std::string& yaml, RewardConfig* config) {
  return LoadConfigString(yaml, "reward.yaml", config);
}

TEST(RewardConfigTest, ModesReadAndWriteTheirSpellings) {
  RewardConfig config;
  ASSERT_TRUE(Load("code:\n  mode: all_or_nothing\n  comparison: whitespace\n", &config).ok());
  EXPECT_EQ(config.code.mode, RewardMode::kAllOrNothing);
  EXPECT_EQ(config.code.comparison, CompareMode::kWhitespace);
  EXPECT_THAT(ConfigToYaml(config), ::testing::HasSubstr("mode: all_or_nothing\n"));
  ASSERT_TRUE(Load("code:\n  comparison: tokens\n", &config).ok());  // the old name
  EXPECT_EQ(config.code.comparison, CompareMode::kWhitespace);
  EXPECT_TRUE(ValidateConfig(RewardConfig()).ok());
}

TEST(RewardConfigTest, BadModeNamesFileLineKeyAndValidValues) {
  RewardConfig config;
  absl::Status s = Load("workers: 2\ncode:\n  mode: lenient\n", &config);
  EXPECT_EQ(s.message(),
            "reward.yaml:3: code.mode is 'lenient'; valid values: strict | soft | "
            "pass_rate | all_or_nothing");
  s = Load("code:\n  comparison: fuzzy\n", &config);
  EXPECT_EQ(s.message(),
            "reward.yaml:2: code.comparison is 'fuzzy'; valid values: exact | "
            "whitespace | tokens | float");
}

TEST(RewardConfigTest, OutOfRangeLimitsAreRefusedNamingKeyAndRange) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"runner:\n  processes: 0\n", "reward.yaml:2: runner.processes is 0; valid range [1, 4096]"},
      {"runner:\n  processes: -5\n",
       "reward.yaml:2: runner.processes is -5; valid range [1, 4096]"},
      {"runner:\n  memory_bytes: 0\n",
       "reward.yaml:2: runner.memory_bytes is 0; valid range [16777216, 1099511627776]"},
      {"runner:\n  compile_memory_bytes: -1\n",
       "reward.yaml:2: runner.compile_memory_bytes is -1; valid range [16777216, 1099511627776]"},
      {"runner:\n  time_limit_seconds: 0\n",
       "reward.yaml:2: runner.time_limit_seconds is 0; valid range [0.001, 86400]"},
      {"runner:\n  time_limit_seconds: -3\n",
       "reward.yaml:2: runner.time_limit_seconds is -3; valid range [0.001, 86400]"},
      {"queue_capacity: 0\n", "reward.yaml:1: queue_capacity is 0; valid range [1, 1000000000]"},
      {"workers: -1\n", "reward.yaml:1: workers is -1; valid range [0, 4096]"},
      {"sandbox:\n  slots: 0\n", "reward.yaml:2: sandbox.slots is 0; valid range [1, 65536]"},
      {"code:\n  level_weights: [1, -2]\n",
       "reward.yaml:2: code.level_weights[1] is -2; valid range [0, 1000000]"},
  };
  for (const auto& [yaml, message] : cases) {
    SCOPED_TRACE(yaml);
    RewardConfig config;
    absl::Status s = Load(yaml, &config);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), message);
  }
}

}  // namespace
}  // namespace seamless
