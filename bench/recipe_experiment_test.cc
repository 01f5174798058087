#include "bench/recipe_experiment.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace seamless {
namespace {

// A tiny run: a short SFT, then two GRPO steps by the Orchestrator without dynamic sampling
// (a barely warmed model would leave no valid group to fill a batch).
RecipeConfig TinyRecipe() {
  RecipeConfig c;
  c.train_prompts = 64;
  c.sft_examples = 64;
  c.test_prompts = 8;
  c.sft.steps = 5;
  c.sft.batch_size = 8;
  c.scheduler.steps = 2;
  c.scheduler.group_size = 2;
  c.scheduler.batch_groups = 2;
  c.scheduler.dynamic_sampling = false;
  c.scheduler.eval_every = 1;
  c.scheduler.eval_prompts = 8;
  c.scheduler.sampling.max_new_tokens = 6;
  c.max_running = 8;
  c.eval_samples = 1;
  return c;
}

TEST(RecipeExperimentTest, GrpoStepsRunThroughTheOrchestrator) {
  std::vector<int64_t> steps;
  std::map<int64_t, std::map<std::string, double>> metrics;
  auto result = RunRecipeExperiment(TinyRecipe(), {}, [&](int64_t step, const auto& m) {
    steps.push_back(step);
    metrics[step].insert(m.begin(), m.end());
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rl_steps, 2);
  // Held-out accuracy after SFT (step 0) and after each step, from the run's evaluations.
  ASSERT_EQ(result->curve.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(result->curve[i].step, i);
  // Sampled pass@1 at the start and the end, outside the run.
  EXPECT_GE(result->curve.front().sampled_accuracy, 0);
  EXPECT_GE(result->curve.back().sampled_accuracy, 0);
  EXPECT_EQ(result->curve[1].sampled_accuracy, -1);
  // The scheduler's metrics (verl names), the learner's among them.
  ASSERT_TRUE(metrics.count(1) && metrics.count(2));
  EXPECT_TRUE(metrics[0].count("val/accuracy"));
  EXPECT_TRUE(metrics[1].count("scheduler/launched_groups"));
  EXPECT_TRUE(metrics[2].count("actor/pg_loss"));
  EXPECT_EQ(steps.front(), 0);
}

TEST(RecipeExperimentTest, TimeLimitEndsTheRunWithAnEvaluation) {
  RecipeConfig c = TinyRecipe();
  c.rl_time_limit_s = 1e-9;  // passed before the first step
  c.eval_sampled = false;
  auto result = RunRecipeExperiment(c, {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rl_steps, 0);
  ASSERT_EQ(result->curve.size(), 1u);
  EXPECT_EQ(result->curve[0].step, 0);
  EXPECT_EQ(result->curve[0].sampled_accuracy, -1);
}

TEST(RecipeExperimentTest, BadSchedulerSettingsAreRefused) {
  RecipeConfig c = TinyRecipe();
  c.scheduler.group_size = 1;
  auto result = RunRecipeExperiment(c, {});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("group_size"), std::string::npos) << result.status();
}

}  // namespace
}  // namespace seamless
