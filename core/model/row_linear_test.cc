#include "core/model/row_linear.h"

#include <gtest/gtest.h>

#include "core/model/transformer_layers.h"

namespace seamless {
namespace {

void ExpectClose(const at::Tensor& a, const at::Tensor& b) {
  ASSERT_EQ(a.sizes(), b.sizes());
  EXPECT_TRUE(at::allclose(a, b, 1e-5, 1e-5)) << (a - b).abs().max().item<float>();
}

TEST(RowLinearTest, MatchesAtLinearForFewRows) {
  at::manual_seed(1);
  at::NoGradGuard no_grad;
  const at::Tensor w = at::randn({37, 29}), b = at::randn({37});
  for (int64_t rows = 1; rows <= 6; ++rows) {
    const at::Tensor x = at::randn({rows, 29});
    ExpectClose(InferenceLinear(x, w, b), at::linear(x, w, b));
    ExpectClose(InferenceLinear(x, w), at::linear(x, w));
  }
  // [B, T, in] with a strided last-but-one dimension (down_proj reads half of gate_up).
  const at::Tensor wide = at::randn({2, 1, 58});
  const at::Tensor half = wide.narrow(-1, 0, 29);
  ExpectClose(InferenceLinear(half, w, b), at::linear(half, w, b));
  EXPECT_EQ(InferenceLinear(half, w, b).sizes(), (std::vector<int64_t>{2, 1, 37}));
}

TEST(RowLinearTest, TrainingNumericsAndOtherDtypesUseAtLinear) {
  at::manual_seed(2);
  const at::Tensor w = at::randn({8, 16}), x = at::randn({1, 16});
  {
    at::NoGradGuard no_grad;
    TrainingNumericsScope training;
    EXPECT_TRUE(InferenceLinear(x, w).equal(at::linear(x, w)));
  }
  at::Tensor wg = w.clone().requires_grad_(true);
  at::Tensor y = InferenceLinear(x, wg);
  y.sum().backward();
  EXPECT_TRUE(wg.grad().defined()) << "autograd flows under grad mode";
  at::NoGradGuard no_grad;
  const at::Tensor xd = x.to(at::kDouble), wd = w.to(at::kDouble);
  EXPECT_TRUE(InferenceLinear(xd, wd).equal(at::linear(xd, wd)));
}

}  // namespace
}  // namespace seamless
