#include "scheduler/orchestrator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "scheduler/prompt_dataset.h"
#include "tests/testing/fake_backends.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;

using testing::FakeLearner;
using testing::FakeReward;
using testing::FakeRollout;

PromptDataset Dataset(int n) { return testing::FakeDataset(n); }
PromptEncoder Encoder() { return testing::FakeEncoder(); }

SchedulerConfig Config(int64_t steps) { return testing::FakeRunConfig(steps, /*eval_prompts=*/5); }

void ExpectBalancedAndNoDuplicates(const Orchestrator& o, const FakeLearner& learner) {
  EXPECT_TRUE(o.ledger().CheckBalanced().ok());
  LedgerSummary s = o.ledger().Summary();
  EXPECT_EQ(s.taken, s.queued + s.generating + s.scoring + s.complete + s.dropped + s.trained);
  std::set<std::string> trained;
  int64_t groups = 0;
  for (const auto& batch : learner.batches()) {
    for (const auto& g : batch) {
      const std::string uid = g.group_id.substr(0, g.group_id.find('#'));
      EXPECT_TRUE(trained.insert(uid).second) << uid << " trained twice";
      ++groups;
    }
  }
  EXPECT_EQ(s.trained, groups);
}

TEST(OrchestratorTest, TrainsBatchesOfMixedGroupsAndKeepsTheLedgerExact) {
  // Prompts pass with probability 0 (a third), 1 (a third) or 0.5.
  const int n = 60;
  std::vector<double> pass(n);
  std::vector<int> duration(n);
  for (int i = 0; i < n; ++i) {
    pass[i] = i % 3 == 0 ? 0.0 : i % 3 == 1 ? 1.0 : 0.5;
    duration[i] = i % 7 == 0 ? 30 : 2;  // a long tail
  }
  PromptDataset train = Dataset(n), val = Dataset(10);
  FakeRollout rollout(2, pass, duration);
  FakeReward reward;
  FakeLearner learner;
  Orchestrator o(Config(4), &train, &val, Encoder(), &rollout, &reward, &learner);
  std::vector<StepReport> reports;
  o.set_on_step([&](const StepReport& r) { reports.push_back(r); });
  ASSERT_TRUE(o.Run().ok());
  ASSERT_EQ(learner.batches().size(), 4u);
  for (const auto& batch : learner.batches()) {
    ASSERT_EQ(batch.size(), 3u);
    for (const auto& g : batch) {
      ASSERT_EQ(g.samples.size(), 4u);
      int passed = 0;
      for (const auto& s : g.samples) passed += s.score.passed;
      EXPECT_GT(passed, 0) << "all-fail group trained";
      EXPECT_LT(passed, 4) << "all-pass group trained";
    }
  }
  ExpectBalancedAndNoDuplicates(o, learner);
  LedgerSummary s = o.ledger().Summary();
  EXPECT_GT(s.dropped_by_reason["all_pass"], 0);
  EXPECT_GT(s.dropped_by_reason["all_fail"], 0);
  // Step reports: the start evaluation plus one per step, with verl's names.
  ASSERT_EQ(reports.size(), 5u);
  EXPECT_TRUE(reports.front().metrics.count("val/accuracy"));
  EXPECT_TRUE(reports.back().metrics.count("val/accuracy"));
  EXPECT_TRUE(reports.back().metrics.count("critic/score/mean"));
  EXPECT_EQ(reports.back().policy_version, 4);
}

TEST(OrchestratorTest, SampledEvaluationAveragesEverySampleOfEveryHeldOutPrompt) {
  // Held-out prompts pass with probability 0, 1 or 0.5 (by index mod 3).
  std::vector<double> pass(30);
  for (int i = 0; i < 30; ++i) pass[i] = i % 3 == 0 ? 0.0 : i % 3 == 1 ? 1.0 : 0.5;
  PromptDataset train = Dataset(30), val = Dataset(12);
  for (double temperature : {1.0, 0.0}) {
    FakeRollout rollout(2, pass, std::vector<int>(30, 1));
    FakeReward reward;
    FakeLearner learner;
    SchedulerConfig c = Config(1);
    c.dynamic_sampling = false;
    c.eval_prompts = 12;
    c.eval_samples = 8;
    c.eval_temperature = temperature;
    std::vector<StepReport> reports;
    Orchestrator o(c, &train, &val, Encoder(), &rollout, &reward, &learner);
    o.set_on_step([&](const StepReport& r) { reports.push_back(r); });
    ASSERT_TRUE(o.Run().ok());
    // Two evaluations (start and end) of 12 prompts; greedy takes one sample per prompt.
    const int per_prompt = temperature > 0 ? 8 : 1;
    EXPECT_THAT(rollout.eval_num_samples(), ::testing::Each(per_prompt));
    EXPECT_EQ(rollout.eval_num_samples().size(), 24u);
    // Accuracy is the mean over every sample the fake produced, in both evaluations.
    const double sum =
        reports.front().metrics.at("val/accuracy") + reports.back().metrics.at("val/accuracy");
    EXPECT_NEAR(sum * 12 * per_prompt, double(rollout.eval_passes()), 1e-9);
    EXPECT_GT(reports.front().metrics.at("val/accuracy"), 0.3);  // the pass-1 third and more
  }
}

TEST(OrchestratorTest, EarlyTerminationTakesTheEarliestLaunchedValidGroupsOnly) {
  // Every prompt is valid; prompt 0..5 are slow. FIFO selection must still pick the earliest
  // launched groups (waiting for slow ones) and abort only later launches.
  const int n = 40;
  std::vector<double> pass(n, 0.5);
  std::vector<int> duration(n, 2);
  PromptDataset train = Dataset(n), val = Dataset(3);
  for (int i = 0; i < n; ++i) duration[i] = (i % 5 == 0) ? 40 : 1;
  FakeRollout rollout(2, pass, duration);
  FakeReward reward;
  FakeLearner learner;
  SchedulerConfig c = Config(3);
  c.dynamic_sampling = false;
  Orchestrator o(c, &train, &val, Encoder(), &rollout, &reward, &learner);
  ASSERT_TRUE(o.Run().ok());
  ExpectBalancedAndNoDuplicates(o, learner);
  // Within each batch, launch order is contiguous from the earliest unfinished launch: no
  // group launched later than a selected one was preferred over an earlier one.
  uint64_t previous_max = 0;
  for (const auto& batch : learner.batches()) {
    std::vector<uint64_t> seqs;
    seqs.reserve(batch.size());
    for (const auto& g : batch) seqs.push_back(g.samples[0].sample.launch_seq);
    std::sort(seqs.begin(), seqs.end());
    EXPECT_GT(seqs.front(), 0u);
    EXPECT_GT(seqs.back(), previous_max);
    previous_max = seqs.back();
  }
}

TEST(OrchestratorTest, LookaheadKeepsWorkForTheNextBatchInFlight) {
  // Mixed pass rates (dynamic sampling drops a share) and a long tail of slow groups;
  // batches of 3.
  const int n = 120;
  std::vector<double> pass(n);
  std::vector<int> duration(n);
  for (int i = 0; i < n; ++i) {
    pass[i] = i % 4 == 0 ? 0.0 : 0.5;
    duration[i] = (i % 5 == 0) ? 40 : 4;
  }
  PromptDataset train = Dataset(n), val = Dataset(3);
  // [0]: no lookahead, [1]: lookahead 1, [2]: lookahead 1 that staleness 0 forbids.
  int64_t in_flight[3] = {0, 0, 0};
  for (int run = 0; run < 3; ++run) {
    const int lookahead = run == 0 ? 0 : 1;
    FakeRollout rollout(2, pass, duration);
    FakeReward reward;
    FakeLearner learner;
    SchedulerConfig c = Config(5);
    c.max_inflight_per_worker = 20;  // room for far more than either rule launches
    c.lookahead_batches = lookahead;
    if (run == 2) c.max_staleness = 0;
    Orchestrator o(c, &train, &val, Encoder(), &rollout, &reward, &learner);
    ASSERT_TRUE(o.Run().ok());
    ExpectBalancedAndNoDuplicates(o, learner);
    EXPECT_EQ(learner.batches().size(), 5u);
    // FIFO still: each batch takes launches after the previous batch's last one.
    uint64_t previous_max = 0;
    for (const auto& batch : learner.batches()) {
      std::vector<uint64_t> seqs;
      seqs.reserve(batch.size());
      for (const auto& g : batch) seqs.push_back(g.samples[0].sample.launch_seq);
      std::sort(seqs.begin(), seqs.end());
      EXPECT_GT(seqs.front(), previous_max) << "lookahead " << lookahead;
      previous_max = seqs.back();
    }
    in_flight[run] = rollout.max_groups_in_flight();
  }
  // MiMo's rule launches what is predicted to fill one batch of 3; the lookahead a second
  // batch, about twice as much at the same running valid share (which timing moves, so the
  // comparison is relative). Staleness 0 forbids the lookahead.
  std::printf("groups in flight at most: %lld without lookahead, %lld with, %lld at staleness 0\n",
              (long long)in_flight[0], (long long)in_flight[1], (long long)in_flight[2]);
  EXPECT_GE(in_flight[1], in_flight[0] + 3);
  EXPECT_GE(in_flight[1], in_flight[2] + 3) << "work two batches ahead would train stale";
}

// A worker that missed every weight push (its tokens say version 0) while the launches assume
// the current version: staleness is judged by the tokens, so its groups are dropped as stale
// once they are older than max_staleness, and every trained group is within it.
TEST(OrchestratorTest, StalenessIsJudgedByTheTokensVersionsNotTheLaunch) {
  const int n = 60;
  PromptDataset train = Dataset(n), val = Dataset(3);
  FakeRollout rollout(2, std::vector<double>(n, 0.5), std::vector<int>(n, 0));
  FakeReward reward;
  FakeLearner learner;
  // Worker 0 serves the newest version (FakeLearner: version = steps trained), worker 1 never
  // got one.
  rollout.set_token_version([&](int worker) -> int64_t {
    return worker == 0 ? static_cast<int64_t>(learner.steps().size()) : 0;
  });
  SchedulerConfig c = Config(4);
  c.max_staleness = 1;
  Orchestrator o(c, &train, &val, Encoder(), &rollout, &reward, &learner);
  std::vector<StepReport> reports;
  o.set_on_step([&](const StepReport& r) { reports.push_back(r); });
  ASSERT_TRUE(o.Run().ok());
  ExpectBalancedAndNoDuplicates(o, learner);
  const auto batches = learner.batches();
  ASSERT_EQ(batches.size(), 4u);
  for (size_t step = 0; step < batches.size(); ++step) {
    for (const auto& g : batches[step]) {
      const int64_t oldest = g.samples[0].sample.versions.at(0);
      EXPECT_GE(oldest, int64_t(step) - c.max_staleness) << "step " << step << " " << g.group_id;
    }
  }
  EXPECT_GT(o.ledger().Summary().dropped_by_reason["stale"], 0);
  double lagging = 0;
  for (const auto& r : reports) {
    auto it = r.metrics.find("scheduler/lagging_groups");
    if (it != r.metrics.end()) lagging += it->second;
  }
  EXPECT_GT(lagging, 0);
}

TEST(OrchestratorTest, ADeadWorkersGroupsAreRequeuedAndTheRunCompletes) {
  const int n = 40;
  std::vector<double> pass(n, 0.5);
  std::vector<int> duration(n, 20);
  PromptDataset train = Dataset(n), val = Dataset(3);
  FakeRollout rollout(2, pass, duration);
  FakeReward reward;
  FakeLearner learner;
  Orchestrator o(Config(3), &train, &val, Encoder(), &rollout, &reward, &learner);
  // Kill worker 0 mid-run: at the first launch after the first step has trained.
  bool killed = false;
  rollout.set_on_generate([&](int, const GroupRequest&) {
    if (!killed && !learner.batches().empty()) {
      killed = true;
      rollout.Kill(0);
    }
    return false;
  });
  ASSERT_TRUE(o.Run().ok());
  EXPECT_TRUE(killed);
  ExpectBalancedAndNoDuplicates(o, learner);
  EXPECT_EQ(learner.batches().size(), 3u);
  EXPECT_GT(o.ledger().Summary().requeued_by_reason["worker_failed"], 0);
}

// A prompt the worker refuses (longer than its context) is dropped once, naming the reason,
// instead of being re-queued as a worker failure until the run gives up.
TEST(OrchestratorTest, APromptTheWorkerRefusesIsDroppedNotRequeued) {
  const int n = 30;
  PromptDataset train = Dataset(n), val = Dataset(3);
  FakeRollout rollout(2, std::vector<double>(n, 0.5), std::vector<int>(n, 0));
  FakeReward reward;
  FakeLearner learner;
  int refusals = 0;
  rollout.set_validate([&](const GroupRequest& r) -> absl::Status {
    if (r.prompt[0] - 3 != 7) return absl::OkStatus();  // record 7 is too long
    ++refusals;
    return absl::InvalidArgumentError(absl::StrCat("generate: group '", r.group_id,
                                                   "': prompt has 9000 tokens; the context "
                                                   "holds 4096"));
  });
  Orchestrator o(Config(3), &train, &val, Encoder(), &rollout, &reward, &learner);
  ASSERT_TRUE(o.Run().ok());
  ExpectBalancedAndNoDuplicates(o, learner);
  const LedgerSummary s = o.ledger().Summary();
  EXPECT_GE(refusals, 1);
  EXPECT_EQ(s.dropped_by_reason.at("refused_by_worker"), refusals);
  EXPECT_EQ(s.requeued_by_reason.count("worker_failed"), 0u);
}

// Regression (found by `seamless bench chaos`): a held-out prompt relaunched while every worker
// was down was dropped, and the evaluation waited for it forever. Both workers die at the
// final evaluation's first launch and come back; the run finishes, every held-out prompt
// answered.
TEST(OrchestratorTest, AnEvaluationOutlivesEveryWorkerBeingDownAtOnce) {
  const int n = 30;
  PromptDataset train = Dataset(n), val = Dataset(3);
  FakeRollout rollout(2, std::vector<double>(n, 0.5), std::vector<int>(n, 0));
  FakeReward reward;
  FakeLearner learner;
  bool killed = false;
  std::thread revive;
  rollout.set_on_generate([&](int, const GroupRequest& r) {
    if (!killed && learner.batches().size() == 2 && absl::StartsWith(r.group_id, "eval.2.")) {
      killed = true;
      rollout.Kill(0);
      rollout.Kill(1);
      revive = std::thread([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        rollout.Revive(0);
        rollout.Revive(1);
      });
    }
    return false;
  });
  Orchestrator o(Config(2), &train, &val, Encoder(), &rollout, &reward, &learner);
  std::vector<StepReport> reports;
  o.set_on_step([&](const StepReport& r) { reports.push_back(r); });
  const absl::Status run = o.Run();
  if (revive.joinable()) revive.join();
  ASSERT_TRUE(run.ok()) << run;
  EXPECT_TRUE(killed);
  ASSERT_FALSE(reports.empty());
  EXPECT_TRUE(reports.back().metrics.count("val/accuracy"));
}

// Regression: with synchronous rewards a round is scored once nothing is generating; a group
// that failed last used to leave the others' samples unscored forever.
TEST(OrchestratorTest, SynchronousRewardsSurviveAGroupThatFailsLast) {
  const int n = 40;
  std::vector<double> pass(n, 0.5);
  std::vector<int> duration(n, 5);
  for (int i = 0; i < n; i += 4) duration[i] = 60;  // worker 0's first group finishes last
  PromptDataset train = Dataset(n), val = Dataset(2);
  FakeRollout rollout(2, pass, duration);
  FakeReward reward;
  FakeLearner learner;
  SchedulerConfig c = Config(2);
  c.continuous = false;
  c.async_reward = false;
  c.early_termination = false;
  c.eval_prompts = 0;
  Orchestrator o(c, &train, &val, Encoder(), &rollout, &reward, &learner);
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    rollout.Kill(0);  // its long group fails after the others finished generating
  });
  absl::Status s = o.Run();
  killer.join();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(learner.batches().size(), 2u);
  ExpectBalancedAndNoDuplicates(o, learner);
}

TEST(OrchestratorTest, TooEasyDataFailsWithGeneratedTooMany) {
  const int n = 30;
  PromptDataset train = Dataset(n), val = Dataset(2);
  FakeRollout rollout(1, std::vector<double>(n, 1.0), std::vector<int>(n, 1));
  FakeReward reward;
  FakeLearner learner;
  SchedulerConfig c = Config(2);
  c.max_launch_rounds = 3;
  Orchestrator o(c, &train, &val, Encoder(), &rollout, &reward, &learner);
  absl::Status s = o.Run();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("generated too many"));
  EXPECT_TRUE(o.ledger().CheckBalanced().ok());
}

TEST(OrchestratorTest, FailedRewardsDropTheGroupWithAReason) {
  const int n = 20;
  PromptDataset train = Dataset(n), val = Dataset(0);
  FakeRollout rollout(1, std::vector<double>(n, 0.5), std::vector<int>(n, 1));
  FakeReward reward;
  reward.fail_all = true;
  FakeLearner learner;
  SchedulerConfig c = Config(1);
  c.max_launch_rounds = 2;
  Orchestrator o(c, &train, &val, Encoder(), &rollout, &reward, &learner);
  EXPECT_FALSE(o.Run().ok());
  EXPECT_GT(o.ledger().Summary().dropped_by_reason["reward_failed"], 0);
  EXPECT_TRUE(o.ledger().CheckBalanced().ok());
}

TEST(LedgerTest, IllegalTransitionsAreRefused) {
  Ledger ledger;
  const std::string uid = ledger.Take(3, false, "d0.3");
  EXPECT_FALSE(ledger.Trained(uid, 0).ok());
  ASSERT_TRUE(ledger.Launch(uid, "g", 0, 1, 0, std::chrono::steady_clock::now()).ok());
  ASSERT_TRUE(ledger.StartScoring(uid).ok());
  ASSERT_TRUE(ledger.Complete(uid).ok());
  ASSERT_TRUE(ledger.Trained(uid, 0).ok());
  EXPECT_FALSE(ledger.Trained(uid, 1).ok()) << "trained twice";
  EXPECT_FALSE(ledger.Requeue(uid, "x").ok());
  EXPECT_TRUE(ledger.CheckBalanced().ok());
}

TEST(PromptDatasetTest, MalformedLinesNameFileLineAndField) {
  auto bad = ParsePromptRecord(R"({"prompt": "hi", "reward_model": {}})", 7, "train.jsonl");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("train.jsonl:7"));
  EXPECT_THAT(bad.status().message(), HasSubstr("reward_model.ground_truth"));
  auto msgs = ParsePromptRecord(
      R"({"prompt": [{"role": "user"}], "reward_model": {"ground_truth": 1}})", 2, "d.jsonl");
  EXPECT_THAT(msgs.status().message(), HasSubstr("prompt[0]"));
  auto ok = ParsePromptRecord(
      R"({"data_source": "x", "prompt": [{"role": "user", "content": "1+1?"}], "ability": "math",)"
      R"( "reward_model": {"style": "rule", "ground_truth": 2}, "extra_info": {"i": 1}})",
      3, "d.jsonl");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->ground_truth, "2");
  EXPECT_EQ(ok->ability, "math");
}

TEST(PromptSamplerTest, EpochsArePermutationsAndResumeContinuesTheOrder) {
  PromptSampler a(10, 5);
  std::vector<int64_t> first;
  first.reserve(25);
  for (int i = 0; i < 25; ++i) first.push_back(a.Next());
  for (int64_t e = 0; e < 2; ++e) {
    std::set<int64_t> epoch(first.begin() + e * 10, first.begin() + e * 10 + 10);
    EXPECT_EQ(epoch.size(), 10u);
  }
  PromptSampler b(10, 5);
  b.Restore(2, 3);
  PromptSampler c(10, 5);
  for (int i = 0; i < 23; ++i) c.Next();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.Next(), c.Next());
}

}  // namespace
}  // namespace seamless
