#include "learner/advantages.h"

#include <gtest/gtest.h>

namespace seamless {
namespace {

TEST(GroupAdvantagesTest, UnbiasedStdAndEpsilonByHand) {
  // mean 0.5, unbiased std sqrt(1/3): 0.5 / (0.5773502692 + 1e-6) = 0.8660239038.
  std::vector<double> a = GroupAdvantages({1, 0, 0, 1}, 1e-6);
  ASSERT_EQ(a.size(), 4u);
  EXPECT_NEAR(a[0], 0.8660239038, 1e-9);
  EXPECT_NEAR(a[1], -0.8660239038, 1e-9);
  // 1, 2, 3: mean 2, unbiased std exactly 1.
  a = GroupAdvantages({1, 2, 3}, 1e-6);
  EXPECT_NEAR(a[0], -0.999999000001, 1e-12);
  EXPECT_EQ(a[1], 0.0);
  EXPECT_NEAR(a[2], 0.999999000001, 1e-12);
}

TEST(GroupAdvantagesTest, DegenerateGroupsGetZero) {
  EXPECT_EQ(GroupAdvantages({0.7}, 1e-6), std::vector<double>({0.0}));
  EXPECT_EQ(GroupAdvantages({1, 1, 1}, 1e-6), std::vector<double>({0.0, 0.0, 0.0}));
  EXPECT_TRUE(GroupAdvantages({}, 1e-6).empty());
}

TEST(GroupAdvantagesTest, WithoutStdScalingIsCentred) {
  std::vector<double> a = GroupAdvantages({1, 0, 0, 0}, 1e-6, /*scale_by_std=*/false);
  EXPECT_DOUBLE_EQ(a[0], 0.75);
  EXPECT_DOUBLE_EQ(a[1], -0.25);
}

TEST(OverlongPenaltyTest, DapoShape) {
  // L_max 20, L_cache 5: free up to 15, linear to -1 at 20, -1 beyond.
  EXPECT_EQ(OverlongPenalty(10, 20, 5), 0.0);
  EXPECT_EQ(OverlongPenalty(15, 20, 5), 0.0);
  EXPECT_DOUBLE_EQ(OverlongPenalty(16, 20, 5), -0.2);
  EXPECT_DOUBLE_EQ(OverlongPenalty(18, 20, 5), -0.6);
  EXPECT_DOUBLE_EQ(OverlongPenalty(20, 20, 5), -1.0);
  EXPECT_DOUBLE_EQ(OverlongPenalty(25, 20, 5), -1.0);
}

}  // namespace
}  // namespace seamless
