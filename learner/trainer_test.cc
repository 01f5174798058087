#include "learner/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "core/base/config.h"
#include "core/model/test_models.h"
#include "learner/test_batches.h"
#include "learner/token_logprobs.h"

namespace seamless {
namespace {

TrainerConfig Config(const std::string& agg = "token-mean") {
  TrainerConfig c;
  c.grpo.loss_agg_mode = EnumFromString<LossAggMode>(agg).value();
  c.optim.lr = 1e-2;
  // A large Adam epsilon makes the update proportional to the gradient, so that rounding
  // noise in tiny gradients cannot be amplified into different updates by m / sqrt(v).
  c.optim.eps = 1.0;
  c.optim.max_grad_norm = 0;
  c.micro_batch_size = 0;
  c.freeze_mtp = true;
  return c;
}

struct RunResult {
  std::vector<at::Tensor> params;              // after the step
  std::vector<std::vector<at::Tensor>> grads;  // all-reduced, per update
  StepOutcome outcome;
};

// Trains one step of `batch` on `world` in-process ranks (threads over Gloo), each with
// `micro` sequences per micro-batch; returns rank 0's result and checks all ranks agree.
RunResult Train(const RolloutBatch& batch, TrainerConfig config, int world, int64_t micro,
                bool double_precision = false) {
  config.micro_batch_size = micro;
  InProcessRendezvous rendezvous;
  std::vector<RunResult> results(world);
  std::vector<std::thread> threads;
  threads.reserve(world);
  std::vector<std::string> errors(world);
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      auto collective = rendezvous.Join(r, world);
      if (!collective.ok()) {
        errors[r] = collective.status().ToString();
        return;
      }
      MimoModel model = TinyTestModel();
      if (double_precision) model->to(at::kDouble);
      auto trainer = GrpoTrainer::Create(model, config, collective->get());
      if (!trainer.ok()) {
        errors[r] = trainer.status().ToString();
        return;
      }
      (*trainer)->SetGradientHookForTest([&, r](const std::vector<at::Tensor>& grads) {
        std::vector<at::Tensor> copy;
        copy.reserve(grads.size());
        for (const auto& g : grads) copy.push_back(g.clone());
        results[r].grads.push_back(copy);
      });
      auto outcome = (*trainer)->Step(batch);
      if (!outcome.ok()) {
        errors[r] = outcome.status().ToString();
        return;
      }
      results[r].outcome = *outcome;
      for (auto& p : (*trainer)->model()->parameters())
        results[r].params.push_back(p.detach().clone());
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < world; ++r) EXPECT_EQ(errors[r], "") << "rank " << r;
  for (int r = 1; r < world; ++r) {
    for (size_t i = 0; i < results[0].params.size(); ++i) {
      EXPECT_TRUE(results[r].params[i].equal(results[0].params[i])) << "rank " << r << " differs";
    }
  }
  return results[0];
}

double MaxDiff(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
  return worst;
}

double MaxAbs(const std::vector<at::Tensor>& a) {
  double worst = 0;
  for (const auto& t : a) worst = std::max(worst, t.abs().max().item<double>());
  return worst;
}

class PartitionTest : public ::testing::TestWithParam<std::string> {};

// NOTE [Global token normalisation] (grpo_loss.h): 1 rank x 4 micro-batches, 2 ranks x 2 and
// 4 ranks x 1 give the update of one big batch, in every aggregation mode, over two
// mini-batch updates.
TEST_P(PartitionTest, RanksAndMicroBatchesGiveTheUpdateOfOneBigBatch) {
  MimoModel model = TinyTestModel();
  RolloutBatch batch = testing::RandomBatch(model, /*groups=*/4, /*group_size=*/4, /*seed=*/7);
  TrainerConfig config = Config(GetParam());
  config.mini_batch_groups = 2;  // two updates of 8 sequences
  // float64, so that summation order (micro-batches, ranks) leaves only ~1e-15 differences
  // and a normalisation error could not hide below the tolerance.
  RunResult big = Train(batch, config, 1, 0, /*double_precision=*/true);
  ASSERT_EQ(big.grads.size(), 2u);
  ASSERT_GT(MaxAbs(big.grads[0]), 1e-3);
  for (auto [world, micro] : {std::pair<int, int64_t>{1, 2}, {2, 2}, {4, 2}}) {
    RunResult split = Train(batch, config, world, micro, /*double_precision=*/true);
    ASSERT_EQ(split.grads.size(), 2u);
    for (int u = 0; u < 2; ++u) {
      EXPECT_LT(MaxDiff(split.grads[u], big.grads[u]), 1e-12 * MaxAbs(big.grads[u]))
          << world << " ranks x micro " << micro << ", update " << u;
    }
    EXPECT_LT(MaxDiff(split.params, big.params), 1e-12) << world << " ranks x micro " << micro;
    EXPECT_NEAR(split.outcome.metrics["actor/pg_loss"], big.outcome.metrics["actor/pg_loss"],
                1e-12);
    EXPECT_NEAR(split.outcome.metrics["actor/pg_clipfrac"],
                big.outcome.metrics["actor/pg_clipfrac"], 1e-9);
  }
}

INSTANTIATE_TEST_SUITE_P(AggModes, PartitionTest,
                         ::testing::Values("token-mean", "seq-mean-token-sum",
                                           "seq-mean-token-mean"));

TEST(TrainerTest, ReportsVerlMetrics) {
  MimoModel model = TinyTestModel();
  RolloutBatch batch = testing::RandomBatch(model, 2, 4, 1);
  RunResult r = Train(batch, Config(), 1, 3);
  for (const char* name :
       {"actor/pg_loss", "actor/pg_clipfrac", "actor/pg_clipfrac_lower", "actor/ppo_kl",
        "actor/entropy", "actor/grad_norm", "actor/lr", "critic/score/mean",
        "critic/advantages/mean", "response_length/mean", "timing_s/update_actor",
        "perf/throughput", "training/rollout_logprob_abs_diff_mean"}) {
    EXPECT_TRUE(r.outcome.metrics.count(name)) << name;
  }
  EXPECT_EQ(r.outcome.updates_applied, 1);
  EXPECT_EQ(r.outcome.policy_version, 1);
  EXPECT_DOUBLE_EQ(r.outcome.metrics["actor/lr"], 1e-2);
  EXPECT_GT(r.outcome.metrics["actor/entropy"], 0);
  // Rollout log-probs carry +-0.05 uniform noise: mean |diff| about 0.025.
  EXPECT_NEAR(r.outcome.metrics["training/rollout_logprob_abs_diff_mean"], 0.025, 0.01);
}

// `seamless train` sizes its cosine schedule with UpdatesPerBatch: it must count the
// updates the trainer actually makes.
TEST(TrainerTest, UpdatesPerBatchCountsTheUpdatesMade) {
  MimoModel model = TinyTestModel();
  RolloutBatch batch = testing::RandomBatch(model, 3, 2, 5);
  for (const auto& [mini, epochs] :
       std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {1, 1}, {2, 1}, {2, 2}, {3, 3}}) {
    TrainerConfig config = Config();
    config.mini_batch_groups = mini;
    config.epochs = epochs;
    RunResult r = Train(batch, config, 1, 0);
    EXPECT_EQ(r.outcome.updates_applied + r.outcome.updates_skipped, config.UpdatesPerBatch(3))
        << "mini_batch_groups " << mini << ", epochs " << epochs;
  }
  TrainerConfig config;
  config.mini_batch_groups = 8;
  EXPECT_EQ(config.UpdatesPerBatch(32), 4);  // the `seamless train` default
}

TEST(TrainerTest, FrozenMtpLayersStayPut) {
  MimoModel model = TinyTestModel();
  RolloutBatch batch = testing::RandomBatch(model, 2, 4, 2);
  RunResult r = Train(batch, Config(), 1, 0);
  size_t i = 0;
  MimoModel initial = TinyTestModel();
  int changed = 0, mtp = 0;
  for (auto& item : initial->named_parameters()) {
    const bool same = item.value().equal(r.params[i++]);
    if (item.key().rfind("model.mtp_layers.", 0) == 0) {
      ++mtp;
      EXPECT_TRUE(same) << item.key();
    } else {
      changed += !same;
    }
  }
  EXPECT_GT(mtp, 0);
  EXPECT_GT(changed, 0);
}

TEST(TrainerTest, PositiveAdvantageRaisesLogProb) {
  MimoModel model = TinyTestModel();
  RolloutBatch batch = testing::RandomBatch(model, 1, 2, 3, /*noise=*/0);
  batch.groups[0].sequences[0].reward = 1;
  batch.groups[0].sequences[1].reward = 0;
  auto logp = [&](MimoModel& m, const RolloutSequence& s) {
    at::NoGradGuard no_grad;
    return ResponseLogProbs(m, PackSequences({&s}), 1.0, false).logp.sum().item<double>();
  };
  auto collective = SingleRankCollective();
  TrainerConfig config = Config();
  config.optim.eps = 1e-8;
  config.optim.lr = 1e-3;
  auto trainer = GrpoTrainer::Create(TinyTestModel(), config, collective.get());
  ASSERT_TRUE(trainer.ok());
  const double before0 = logp((*trainer)->model(), batch.groups[0].sequences[0]);
  const double before1 = logp((*trainer)->model(), batch.groups[0].sequences[1]);
  ASSERT_TRUE((*trainer)->Step(batch).ok());
  EXPECT_GT(logp((*trainer)->model(), batch.groups[0].sequences[0]), before0);
  EXPECT_LT(logp((*trainer)->model(), batch.groups[0].sequences[1]), before1);
}

TEST(TrainerTest, NonFiniteGradientSkipsTheUpdate) {
  MimoModel model = TinyTestModel();
  RolloutBatch batch = testing::RandomBatch(model, 2, 4, 4);
  auto collective = SingleRankCollective();
  auto trainer = GrpoTrainer::Create(TinyTestModel(), Config(), collective.get());
  ASSERT_TRUE(trainer.ok());
  (*trainer)->SetGradientHookForTest(
      [](const std::vector<at::Tensor>& grads) { grads[1].view({-1})[0] = std::nanf(""); });
  std::vector<at::Tensor> before;
  for (auto& p : (*trainer)->model()->parameters()) before.push_back(p.detach().clone());
  auto outcome = (*trainer)->Step(batch);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->updates_skipped, 1);
  EXPECT_EQ(outcome->updates_applied, 0);
  EXPECT_EQ(outcome->policy_version, 0);
  EXPECT_EQ(outcome->metrics["actor/skipped_updates_total"], 1);
  EXPECT_EQ((*trainer)->optimizer().step(), 0);
  size_t i = 0;
  for (auto& p : (*trainer)->model()->parameters()) EXPECT_TRUE(p.equal(before[i++]));
  // The next, healthy step trains normally.
  (*trainer)->SetGradientHookForTest(nullptr);
  outcome = (*trainer)->Step(batch);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->updates_applied, 1);
  EXPECT_EQ(outcome->policy_version, 1);
}

TEST(TrainerTest, NonFiniteRewardSkipsTheUpdate) {
  MimoModel model = TinyTestModel();
  RolloutBatch batch = testing::RandomBatch(model, 1, 4, 5);
  batch.groups[0].sequences[0].reward = std::nan("");
  auto collective = SingleRankCollective();
  auto trainer = GrpoTrainer::Create(TinyTestModel(), Config(), collective.get());
  ASSERT_TRUE(trainer.ok());
  auto outcome = (*trainer)->Step(batch);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->updates_skipped, 1);
  EXPECT_EQ((*trainer)->skipped_updates_total(), 1);
}

TEST(TrainerTest, RecomputedBehaviourLogProbs) {
  MimoModel model = TinyTestModel();
  RolloutBatch batch = testing::RandomBatch(model, 2, 2, 6, /*noise=*/0);
  TrainerConfig config = Config();
  config.grpo.old_logprobs = OldLogprobs::kRecompute;
  RunResult r = Train(batch, config, 1, 0);
  // Same weights as the rollout: the learner's log-probs agree to rounding, ratio 1. (The
  // no-grad recompute takes the inference kernels, e.g. the one-pass RMSNorm, so "rounding"
  // is float32's ~1e-7, not bitwise.)
  EXPECT_LT(r.outcome.metrics["training/rollout_logprob_abs_diff_mean"], 1e-5);
  EXPECT_NEAR(r.outcome.metrics["actor/ppo_kl"], 0, 1e-6);
  EXPECT_EQ(r.outcome.metrics["actor/pg_clipfrac"], 0);
  // Without rollout log-probs, "rollout" mode says what to do.
  for (auto& s : batch.groups[0].sequences) s.behaviour_logprobs.clear();
  auto collective = SingleRankCollective();
  auto trainer = GrpoTrainer::Create(TinyTestModel(), Config(), collective.get());
  auto failed = (*trainer)->Step(batch);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("recompute"), std::string::npos);
}

TEST(TrainerTest, RejectsBadBatchesAndConfigs) {
  auto collective = SingleRankCollective();
  // A bad mode is refused where it is read: the trainer only ever sees a valid enum.
  TrainerConfig bad;
  absl::Status s = LoadConfigString("grpo:\n  loss_agg_mode: mean\n", "trainer.yaml", &bad);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("trainer.yaml:2: grpo.loss_agg_mode is 'mean'; valid values: "
                             "token-mean | seq-mean-token-sum | seq-mean-token-mean"),
            std::string::npos)
      << s;
  auto trainer = GrpoTrainer::Create(TinyTestModel(), Config(), collective.get());
  RolloutBatch batch;
  batch.groups.push_back({"g", {RolloutSequence{{1, 2}, {999}, {-1.f}, 1.0}}});
  auto outcome = (*trainer)->Step(batch);
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.status().message().find("999"), std::string::npos);
}

}  // namespace
}  // namespace seamless
