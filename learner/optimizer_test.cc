#include "learner/optimizer.h"

#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include <cmath>

namespace seamless {
namespace {

TEST(AdamWTest, FirstStepByHand) {
  at::Tensor p = at::full({1, 1}, 1.0f).requires_grad_(true);
  p.mutable_grad() = at::full({1, 1}, 0.5f);
  OptimizerConfig c;
  c.weight_decay = 0;
  AdamW adam({{"p", p}}, c);
  adam.Step(0.1);
  // m_hat = 0.5, v_hat = 0.25: p = 1 - 0.1 * 0.5 / (0.5 + 1e-8).
  EXPECT_NEAR(p.item<float>(), 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-7);
  EXPECT_EQ(adam.step(), 1);
}

TEST(AdamWTest, MatchesTorchAdamW) {
  at::manual_seed(0);
  at::Tensor a = at::randn({4, 3}).requires_grad_(true);
  at::Tensor b = a.detach().clone().requires_grad_(true);
  OptimizerConfig c;
  c.weight_decay = 0.1;
  AdamW ours({{"a", a}}, c);
  torch::optim::AdamW theirs({b}, torch::optim::AdamWOptions(0.01).weight_decay(0.1));
  for (int step = 0; step < 5; ++step) {
    at::Tensor g = at::randn({4, 3});
    a.mutable_grad() = g.clone();
    b.mutable_grad() = g.clone();
    ours.Step(0.01);
    theirs.step();
  }
  EXPECT_LT((a - b).abs().max().item<float>(), 1e-6);
}

TEST(AdamWTest, StateRoundTrips) {
  at::Tensor p = at::ones({2, 2}).requires_grad_(true);
  p.mutable_grad() = at::full({2, 2}, 0.3f);
  AdamW adam({{"w", p}}, OptimizerConfig());
  adam.Step(0.1);
  RawTensorMap state = adam.ExportState();
  ASSERT_EQ(state.size(), 2u);
  at::Tensor q = at::ones({2, 2}).requires_grad_(true);
  AdamW restored({{"w", q}}, OptimizerConfig());
  ASSERT_TRUE(restored.ImportState(MapTensorProvider(state), adam.step()).ok());
  EXPECT_EQ(restored.ExportState(), state);
  EXPECT_EQ(restored.step(), 1);
  const RawTensorMap empty;
  EXPECT_FALSE(restored.ImportState(MapTensorProvider(empty), 1).ok());
}

TEST(ScheduleTest, WarmupThenConstantOrCosine) {
  OptimizerConfig c;
  c.lr = 1.0;
  c.warmup_steps = 4;
  EXPECT_DOUBLE_EQ(LearningRate(c, 0), 0.25);
  EXPECT_DOUBLE_EQ(LearningRate(c, 3), 1.0);
  EXPECT_DOUBLE_EQ(LearningRate(c, 100), 1.0);
  c.schedule = LrSchedule::kCosine;
  c.total_steps = 14;
  c.min_lr_ratio = 0.1;
  EXPECT_DOUBLE_EQ(LearningRate(c, 1), 0.5);
  EXPECT_NEAR(LearningRate(c, 4), 1.0, 1e-12);
  EXPECT_NEAR(LearningRate(c, 9), 0.55, 1e-12);
  EXPECT_NEAR(LearningRate(c, 14), 0.1, 1e-12);
  EXPECT_NEAR(LearningRate(c, 50), 0.1, 1e-12);
}

TEST(ClipTest, ScalesToMaxNorm) {
  std::vector<at::Tensor> grads{at::tensor({3.0f}), at::tensor({4.0f})};
  const double norm = GradNorm(grads);
  EXPECT_DOUBLE_EQ(norm, 5.0);
  ClipGradients(grads, norm, 1.0);
  EXPECT_NEAR(grads[0].item<float>(), 0.6, 1e-6);
  EXPECT_NEAR(grads[1].item<float>(), 0.8, 1e-6);
  ClipGradients(grads, 1.0, 2.0);  // under the bound: untouched
  EXPECT_NEAR(grads[0].item<float>(), 0.6, 1e-6);
  grads[1][0] = std::nanf("");
  EXPECT_FALSE(std::isfinite(GradNorm(grads)));
}

}  // namespace
}  // namespace seamless
