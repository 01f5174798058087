// LearnerConfig through the loader: modes are enums parsed once (bad names list the valid
// ones at the key's file:line), written back with the same spellings, and the Validate() hooks
// refuse out-of-range settings naming the key and the range.
#include "learner/learner_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/base/config.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;

TEST(LearnerConfigTest, ModesKeepTheirYamlSpellings) {
  LearnerConfig config;
  ASSERT_TRUE(LoadConfigString("publish_dtype: BF16\ntrainer:\n  sharding: gradients\n"
                               "  precision: bf16\n  grpo:\n    old_logprobs: recompute\n"
                               "    loss_agg_mode: seq-mean-token-mean\n  optim:\n"
                               "    schedule: cosine\n",
                               "learner.yaml", &config)
                  .ok());
  EXPECT_EQ(config.publish_dtype, WireDType::kBF16);
  EXPECT_EQ(config.trainer.sharding, Sharding::kGradients);
  EXPECT_EQ(config.trainer.precision, Precision::kBf16);
  EXPECT_EQ(config.trainer.grpo.old_logprobs, OldLogprobs::kRecompute);
  EXPECT_EQ(config.trainer.grpo.loss_agg_mode, LossAggMode::kSeqMeanTokenMean);
  EXPECT_EQ(config.trainer.optim.schedule, LrSchedule::kCosine);
  const std::string yaml = ConfigToYaml(config);
  for (const char* line : {"publish_dtype: BF16\n", "sharding: gradients\n", "precision: bf16\n",
                           "old_logprobs: recompute\n", "loss_agg_mode: seq-mean-token-mean\n",
                           "schedule: cosine\n"}) {
    EXPECT_THAT(yaml, HasSubstr(line));
  }
  LearnerConfig back;
  ASSERT_TRUE(LoadConfigString(yaml, "resolved.yaml", &back).ok());
  EXPECT_EQ(ConfigToYaml(back), yaml);
  EXPECT_STREQ(EnumToString(LearnerConfig().trainer.grpo.old_logprobs), "rollout");
}

TEST(LearnerConfigTest, BadModeNamesFileLineKeyAndValidValues) {
  LearnerConfig config;
  absl::Status s =
      LoadConfigString("trainer:\n  grpo:\n    old_logprobs: cached\n", "learner.yaml", &config);
  EXPECT_EQ(s.message(),
            "learner.yaml:3: trainer.grpo.old_logprobs is 'cached'; valid values: "
            "rollout | recompute");
  s = LoadConfigString("publish_dtype: F8\n", "learner.yaml", &config);
  EXPECT_EQ(s.message(), "learner.yaml:1: publish_dtype is 'F8'; valid values: F32 | BF16 | F16");
  s = LoadConfigString("trainer:\n  optim:\n    schedule: linear\n", "learner.yaml", &config);
  EXPECT_EQ(s.message(),
            "learner.yaml:3: trainer.optim.schedule is 'linear'; valid values: constant | cosine");
}

TEST(LearnerConfigTest, OutOfRangeSettingsAreRefusedNamingKeyAndRange) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"trainer:\n  epochs: 0\n", "learner.yaml:2: trainer.epochs is 0; valid range [1, 1000]"},
      {"keep_checkpoints: 0\n", "learner.yaml:1: keep_checkpoints is 0; valid range [1, 1000000]"},
      {"trainer:\n  optim:\n    lr: 0\n",
       "learner.yaml:3: trainer.optim.lr is 0; valid range [1e-12, 10]"},
      {"trainer:\n  grpo:\n    clip_ratio_low: 2\n",
       "learner.yaml:3: trainer.grpo.clip_ratio_low is 2; valid range [0, 1]"},
      {"trainer:\n  grpo:\n    temperature: 0\n",
       "learner.yaml:3: trainer.grpo.temperature is 0; valid range [1e-06, 100]"},
      {"backend: mpi\n", "learner.yaml:1: backend is 'mpi'; valid values: gloo | nccl"},
      // Absurd values: a learning rate of 1e300 threw out of TrainStep; a timeout that large
      // overflows the clock; a loss coefficient that large makes every update inf.
      {"trainer:\n  optim:\n    lr: 1e300\n",
       "learner.yaml:3: trainer.optim.lr is 1e+300; valid range [1e-12, 10]"},
      {"trainer:\n  optim:\n    lr: -0.001\n",
       "learner.yaml:3: trainer.optim.lr is -0.001; valid range [1e-12, 10]"},
      {"collective_timeout_s: 1e300\n",
       "learner.yaml:1: collective_timeout_s is 1e+300; valid range [1, 1000000]"},
      {"trainer:\n  grpo:\n    kl_coef: 1e300\n",
       "learner.yaml:3: trainer.grpo.kl_coef is 1e+300; valid range [0, 1000000]"},
  };
  for (const auto& [yaml, message] : cases) {
    SCOPED_TRACE(yaml);
    LearnerConfig config;
    absl::Status s = LoadConfigString(yaml, "learner.yaml", &config);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), message);
  }
}

}  // namespace
}  // namespace seamless
