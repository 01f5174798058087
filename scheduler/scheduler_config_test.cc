// SchedulerConfig's Validate() hook through the loader: an out-of-range setting is refused
// naming the file:line, the key and the valid range.
#include "scheduler/scheduler_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/base/config.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;

absl::Status Load(const std::string& yaml) {
  SchedulerConfig config;
  return LoadConfigString(yaml, "scheduler.yaml", &config);
}

TEST(SchedulerConfigTest, DefaultsAndAValidFileLoad) {
  EXPECT_TRUE(ValidateConfig(SchedulerConfig()).ok());
  EXPECT_TRUE(Load("group_size: 2\nbatch_groups: 1\nmax_staleness: 0\n").ok());
}

TEST(SchedulerConfigTest, OutOfRangeSettingsAreRefusedNamingKeyAndRange) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"steps: 1\nbatch_groups: 0\n",
       "scheduler.yaml:2: batch_groups is 0; valid range [1, 1000000]"},
      {"reward_retries: -1\n", "scheduler.yaml:1: reward_retries is -1; valid range [0, 1000]"},
      {"eval_temperature: -1\n", "scheduler.yaml:1: eval_temperature is -1; valid range [0, 100]"},
      {"max_inflight_per_worker: 0\n",
       "scheduler.yaml:1: max_inflight_per_worker is 0; valid range [1, 1000000]"},
      {"group_size: 0\n", "scheduler.yaml:1: group_size is 0; valid range [2, 4096]"},
      {"group_size: 1\n", "scheduler.yaml:1: group_size is 1; valid range [2, 4096]"},
      {"max_staleness: -1\n", "scheduler.yaml:1: max_staleness is -1; valid range [0, 1000000]"},
      {"easy_pool_prob: 1.5\n", "scheduler.yaml:1: easy_pool_prob is 1.5; valid range [0, 1]"},
      {"lease_seconds: 0\n", "scheduler.yaml:1: lease_seconds is 0; valid range [0.001, 1000000]"},
      // 1e300 s overflowed the conversion to milliseconds.
      {"lease_seconds: 1e300\n",
       "scheduler.yaml:1: lease_seconds is 1e+300; valid range [0.001, 1000000]"},
      {"reward_deadline_seconds: 1e300\n",
       "scheduler.yaml:1: reward_deadline_seconds is 1e+300; valid range [0.001, 1000000]"},
      {"eval_samples: 0\n", "scheduler.yaml:1: eval_samples is 0; valid range [1, 4096]"},
      // Nested: the sampling options' own hook, under their key path.
      {"sampling:\n  top_p: 1.5\n", "scheduler.yaml:2: sampling.top_p 1.5 must be in (0, 1]"},
  };
  for (const auto& [yaml, message] : cases) {
    SCOPED_TRACE(yaml);
    absl::Status s = Load(yaml);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), message);
  }
}

TEST(SchedulerConfigTest, ValidateConfigAfterAChangeNamesTheKey) {
  SchedulerConfig config;
  config.batch_groups = 0;  // as a flag would set it after loading
  EXPECT_THAT(ValidateConfig(config).message(), HasSubstr("batch_groups is 0"));
}

}  // namespace
}  // namespace seamless
