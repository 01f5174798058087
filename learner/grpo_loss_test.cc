#include "learner/grpo_loss.h"

#include <gtest/gtest.h>

#include <cmath>

namespace seamless {
namespace {

at::Tensor D(std::vector<double> v) { return at::tensor(at::ArrayRef<double>(v), at::kDouble); }

// Ratios 1, 1.5, 0.5, 4 with advantages +1, +1, -1, -1 (clip 0.2 / 0.28, dual clip 3):
//   t0: unclipped, pg = -1          t1: clip-high binds, pg = -1.28
//   t2: clip-low binds, pg = 0.8    t3: dual clip binds, pg = min(4, 3) = 3
struct HandCase {
  PolicyLossInputs in;
  HandCase() {
    in.old_logp = D({-1, -1, -1, -1});
    in.logp = (in.old_logp + D({0, std::log(1.5), std::log(0.5), std::log(4.0)}))
                  .detach()
                  .requires_grad_(true);
    in.advantages = D({1, 1, -1, -1});
    in.weights = D({0.25, 0.25, 0.25, 0.25});
  }
};

TEST(GrpoLossTest, ClipHigherAndDualClipByHand) {
  HandCase c;
  GrpoConfig config;
  PolicyLoss loss = ComputePolicyLoss(c.in, config);
  EXPECT_NEAR(loss.loss.item<double>(), (-1 - 1.28 + 0.8 + 3) / 4, 1e-12);
  EXPECT_NEAR(loss.sums.pg_loss, 0.38, 1e-12);
  EXPECT_EQ(loss.sums.clipped, 2);                       // t1 and t2
  EXPECT_EQ(loss.sums.clipped_lower, 1);                 // t3
  EXPECT_NEAR(loss.sums.ppo_kl, -std::log(3.0), 1e-12);  // sum of old - new = -log(1.5*0.5*4)
  EXPECT_EQ(loss.sums.tokens, 4);
  loss.loss.backward();
  // Only the unclipped token carries gradient: d(-A r w)/d logp = -A r w = -0.25.
  at::Tensor grad = c.in.logp.grad();
  EXPECT_NEAR(grad[0].item<double>(), -0.25, 1e-12);
  EXPECT_EQ(grad[1].item<double>(), 0.0);
  EXPECT_EQ(grad[2].item<double>(), 0.0);
  EXPECT_EQ(grad[3].item<double>(), 0.0);
}

TEST(GrpoLossTest, WithoutDualClipTheNegativeTokenIsUnbounded) {
  HandCase c;
  GrpoConfig config;
  config.clip_ratio_c = 0;
  PolicyLoss loss = ComputePolicyLoss(c.in, config);
  EXPECT_NEAR(loss.sums.pg_loss, (-1 - 1.28 + 0.8 + 4) / 4, 1e-12);
  EXPECT_EQ(loss.sums.clipped_lower, 0);
  loss.loss.backward();
  EXPECT_NEAR(c.in.logp.grad()[3].item<double>(), 1.0, 1e-12);  // -A r w = 4 * 0.25
}

TEST(GrpoLossTest, AggregationWeightsFoldInGlobalCounts) {
  // Two local sequences (2 and 3 tokens) of a mini-batch with 10 tokens in 4 sequences.
  auto w = [](LossAggMode mode) {
    at::Tensor t = AggregationWeights({2, 3}, mode, 10, 4);
    return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  };
  EXPECT_EQ(w(LossAggMode::kTokenMean), std::vector<float>(5, 0.1f));
  EXPECT_EQ(w(LossAggMode::kSeqMeanTokenSum), std::vector<float>(5, 0.25f));
  EXPECT_EQ(w(LossAggMode::kSeqMeanTokenMean),
            std::vector<float>({0.125f, 0.125f, 1 / 12.f, 1 / 12.f, 1 / 12.f}));
  EXPECT_FALSE(ParseLossAggMode("seq-mean").ok());
  EXPECT_EQ(*ParseLossAggMode("seq-mean-token-mean"), LossAggMode::kSeqMeanTokenMean);
}

// Central differences of the full loss (pg, entropy bonus, KL) against autograd, in float64,
// at points away from the clip boundaries.
TEST(GrpoLossTest, GradientMatchesFiniteDifferences) {
  at::manual_seed(3);
  const int64_t n = 12;
  at::Tensor logits = at::randn({n, 5}, at::kDouble).requires_grad_(true);
  at::Tensor targets = at::randint(0, 5, {n}, at::kLong);
  at::Tensor old_logp = at::log_softmax(at::randn({n, 5}, at::kDouble), -1)
                            .gather(1, targets.unsqueeze(1))
                            .squeeze(1);
  at::Tensor ref_logp = old_logp + 0.1 * at::randn({n}, at::kDouble);
  GrpoConfig config;
  config.entropy_coeff = 0.01;
  config.kl_coef = 0.05;
  auto loss_of = [&](const at::Tensor& lg) {
    at::Tensor logp_all = at::log_softmax(lg, -1);
    PolicyLossInputs in;
    in.logp = logp_all.gather(1, targets.unsqueeze(1)).squeeze(1);
    in.old_logp = old_logp;
    in.ref_logp = ref_logp;
    in.entropy = -(logp_all.exp() * logp_all).sum(-1);
    in.advantages = at::linspace(-1.5, 1.5, n, at::kDouble);
    in.weights = at::full({n}, 1.0 / n, at::kDouble);
    return ComputePolicyLoss(in, config).loss;
  };
  loss_of(logits).backward();
  const at::Tensor& analytic = logits.grad();
  at::NoGradGuard no_grad;
  const double h = 1e-6;
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < 5; ++j) {
      at::Tensor plus = logits.detach().clone(), minus = logits.detach().clone();
      plus[i][j] += h;
      minus[i][j] -= h;
      const double numeric =
          (loss_of(plus).item<double>() - loss_of(minus).item<double>()) / (2 * h);
      worst = std::max(worst, std::abs(numeric - analytic[i][j].item<double>()));
    }
  }
  EXPECT_LT(worst, 1e-7);
}

}  // namespace
}  // namespace seamless
