#include "rollout/token_sampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

namespace seamless {
namespace {

using ::testing::HasSubstr;

const std::vector<float> kLogits = {2.0f, 1.0f, 0.5f, -1.0f, 0.0f, 1.5f};

SamplingOptions Options(double t, double top_p = 1.0, int64_t top_k = 0) {
  SamplingOptions o;
  o.temperature = t;
  o.top_p = top_p;
  o.top_k = top_k;
  return o;
}

std::vector<double> Softmax(const std::vector<float>& logits, double t) {
  std::vector<double> p(logits.size());
  double total = 0;
  for (size_t i = 0; i < logits.size(); ++i) total += p[i] = std::exp(logits[i] / t);
  for (double& x : p) x /= total;
  return p;
}

TEST(TokenSamplerTest, CounterUniformIsDeterministicAndInRange) {
  EXPECT_EQ(CounterUniform(1, 2), CounterUniform(1, 2));
  EXPECT_NE(CounterUniform(1, 2), CounterUniform(2, 2));
  EXPECT_NE(CounterUniform(1, 2), CounterUniform(1, 3));
  double mean = 0;
  for (int i = 0; i < 10000; ++i) {
    double u = CounterUniform(5, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    mean += u / 10000;
  }
  EXPECT_NEAR(mean, 0.5, 0.02);
}

TEST(TokenSamplerTest, TemperatureScalesTheSoftmax) {
  TokenSampler sampler;
  std::vector<double> p;
  sampler.Distribution(kLogits.data(), kLogits.size(), Options(0.7), &p);
  std::vector<double> expected = Softmax(kLogits, 0.7);
  for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(p[i], expected[i], 1e-12);
}

TEST(TokenSamplerTest, TopKAndTopPKeepTheRightSets) {
  TokenSampler sampler;
  std::vector<double> p;
  sampler.Distribution(kLogits.data(), kLogits.size(), Options(1.0, 1.0, 2), &p);
  std::vector<double> s = Softmax(kLogits, 1.0);
  // Tokens 0 (2.0) and 5 (1.5) survive, renormalised.
  EXPECT_NEAR(p[0], s[0] / (s[0] + s[5]), 1e-12);
  EXPECT_NEAR(p[5], s[5] / (s[0] + s[5]), 1e-12);
  EXPECT_EQ(p[1] + p[2] + p[3] + p[4], 0.0);

  // Sorted probabilities: 0.420 (id 0), 0.255 (id 5), 0.154 (id 1), ...
  // top_p = 0.4 keeps one token; 0.5 needs the first two.
  sampler.Distribution(kLogits.data(), kLogits.size(), Options(1.0, 0.4), &p);
  EXPECT_EQ(p[0], 1.0);
  sampler.Distribution(kLogits.data(), kLogits.size(), Options(1.0, 0.5), &p);
  EXPECT_GT(p[0], 0);
  EXPECT_GT(p[5], 0);
  EXPECT_EQ(p[1], 0);
  EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-12);
  // top_p = 0.7 needs a third token (0.420 + 0.255 < 0.7).
  sampler.Distribution(kLogits.data(), kLogits.size(), Options(1.0, 0.7), &p);
  EXPECT_GT(p[1], 0);
  EXPECT_EQ(p[2], 0);
}

TEST(TokenSamplerTest, FrequenciesMatchTheDistribution) {
  // Chi-square goodness of fit; 5 degrees of freedom at most, critical value 20.5 at p=0.001.
  TokenSampler sampler;
  for (const SamplingOptions& base :
       {Options(1.0), Options(0.6), Options(1.3, 0.9), Options(1.0, 1.0, 3)}) {
    SamplingOptions o = base;
    o.seed = 1234;
    std::vector<double> p;
    sampler.Distribution(kLogits.data(), kLogits.size(), o, &p);
    const int n = 30000;
    std::vector<int> counts(kLogits.size(), 0);
    for (int i = 0; i < n; ++i) {
      SampledToken t = sampler.Sample(kLogits.data(), kLogits.size(), o, i);
      ASSERT_GT(p[t.id], 0) << "sampled a token with no mass";
      EXPECT_NEAR(t.logprob, std::log(p[t.id]), 1e-5);
      ++counts[t.id];
    }
    double chi2 = 0;
    for (size_t k = 0; k < p.size(); ++k) {
      if (p[k] > 0) chi2 += std::pow(counts[k] - n * p[k], 2) / (n * p[k]);
    }
    EXPECT_LT(chi2, 20.5) << "T=" << o.temperature << " top_p=" << o.top_p;
  }
}

TEST(TokenSamplerTest, SameSeedAndCounterGiveTheSameToken) {
  TokenSampler sampler;
  SamplingOptions o = Options(1.0);
  o.seed = 99;
  std::vector<int32_t> a, b;
  for (int i = 0; i < 50; ++i) a.push_back(sampler.Sample(kLogits.data(), 6, o, i).id);
  for (int i = 0; i < 50; ++i) b.push_back(sampler.Sample(kLogits.data(), 6, o, i).id);
  EXPECT_EQ(a, b);
  o.seed = 100;
  std::vector<int32_t> c;
  c.reserve(50);
  for (int i = 0; i < 50; ++i) c.push_back(sampler.Sample(kLogits.data(), 6, o, i).id);
  EXPECT_NE(a, c);
}

TEST(TokenSamplerTest, GreedyTakesTheArgmaxWithItsSoftmaxLogprob) {
  TokenSampler sampler;
  SampledToken t = sampler.Sample(kLogits.data(), kLogits.size(), Options(0.0), 0);
  EXPECT_EQ(t.id, 0);
  EXPECT_NEAR(t.logprob, std::log(Softmax(kLogits, 1.0)[0]), 1e-6);
}

TEST(TokenSamplerTest, ValidateNamesTheField) {
  EXPECT_THAT(Options(-1).Validate().message(), HasSubstr("temperature"));
  EXPECT_THAT(Options(1, 0).Validate().message(), HasSubstr("top_p"));
  EXPECT_THAT(Options(1, 1.5).Validate().message(), HasSubstr("top_p"));
  EXPECT_THAT(Options(1, 1, -2).Validate().message(), HasSubstr("top_k"));
  SamplingOptions o;
  o.max_new_tokens = 0;
  EXPECT_THAT(o.Validate().message(), HasSubstr("max_new_tokens"));
  EXPECT_TRUE(Options(0.0, 1.0, 5).Validate().ok());
}

}  // namespace
}  // namespace seamless
