#include "bench/pipeline_sim.h"

#include <gtest/gtest.h>

namespace seamless {
namespace {

TEST(PipelineSimTest, RecordOfGroupParsesLaunchedGroupIds) {
  EXPECT_EQ(PipelineRecordOfGroup("d0.17#1"), 17);
  EXPECT_EQ(PipelineRecordOfGroup("e3.5#2"), 5);
  EXPECT_EQ(PipelineRecordOfGroup("eval.1.2"), -1);
}

TEST(PipelineSimTest, WorkloadIsLongTailedAndMixed) {
  PipelineWorkload w;
  w.prompts = 1000;
  const std::vector<int64_t> lengths = PipelineAnswerLengths(w);
  int64_t longs = 0;
  for (int64_t l : lengths) longs += l == w.short_tokens * w.long_factor;
  EXPECT_GT(longs, 50);
  EXPECT_LT(longs, 150);
  const PromptDataset d = MakePipelineDataset(w);
  int zero = 0, one = 0;
  for (const auto& r : d.records) {
    zero += r.ground_truth == "0";
    one += r.ground_truth == "1";
  }
  EXPECT_GT(zero, 150);
  EXPECT_GT(one, 80);
}

TEST(PipelineSimTest, OnlyTheLastRowLooksAheadWithStalenessToMatch) {
  SchedulerConfig base;
  base.lookahead_batches = 2;
  base.max_staleness = 1;
  const auto rows = Table2Configs(base);
  ASSERT_EQ(rows.size(), 5u);
  for (size_t i = 0; i + 1 < rows.size(); ++i) {
    EXPECT_EQ(rows[i].second.lookahead_batches, 0) << rows[i].first;
    EXPECT_EQ(rows[i].second.max_staleness, 1) << rows[i].first;
  }
  EXPECT_TRUE(rows[3].second.early_termination && rows[3].second.async_reward &&
              rows[3].second.continuous);
  EXPECT_FALSE(rows[0].second.continuous || rows[0].second.async_reward ||
               rows[0].second.early_termination);
  EXPECT_EQ(rows[4].second.lookahead_batches, 2);
  EXPECT_EQ(rows[4].second.max_staleness, 3);  // launched ahead while the learner trains
  base.lookahead_batches = 0;                  // the last row looks ahead at least one batch
  base.max_staleness = 4;                      // and never lowers a larger bound
  EXPECT_EQ(Table2Configs(base)[4].second.lookahead_batches, 1);
  EXPECT_EQ(Table2Configs(base)[4].second.max_staleness, 4);
}

// The four configurations of Table 2 and the lookahead at a tiny scale: each trains every
// step, and only early termination aborts work.
TEST(PipelineSimTest, AllConfigurationsTrainAndOnlyEarlyTerminationAborts) {
  PipelineWorkload w;
  w.prompts = 512;
  w.short_tokens = 16;
  w.long_factor = 8;
  w.reward_min_ms = 1;
  w.reward_max_ms = 3;
  w.reward_slots = 16;
  w.train_ms = 5;
  SchedulerConfig base;
  base.steps = 4;
  base.group_size = 8;
  base.batch_groups = 8;
  base.max_inflight_per_worker = 4;
  base.max_launch_rounds = 50;
  base.seed = 3;
  SimulationOptions sim;
  sim.workers = 8;
  sim.slots = 8;
  sim.token_us = 150;
  sim.tokens_per_id = 1;
  auto table = RunSimulatedTable(w, base, sim);
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->size(), 5u);
  EXPECT_EQ((*table)[4].name, "+ next-batch lookahead");
  const PipelineResult& full = (*table)[3];
  for (const PipelineResult& r : *table) {
    EXPECT_EQ(r.steps, 3) << r.name;
    EXPECT_GT(r.trained_tokens, 0) << r.name;
    EXPECT_GT(r.scheduler_cpu_seconds, 0) << r.name;
  }
  // Speed and idle share are `seamless bench pipeline`'s figures, not a unit test's: here,
  // only what the configurations must do differently. Early termination aborts later work.
  EXPECT_GT(full.aborted_tokens, 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ((*table)[i].aborted_tokens, 0) << (*table)[i].name;
}

}  // namespace
}  // namespace seamless
