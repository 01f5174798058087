#include "rollout/batch_generator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/model/test_models.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;

constexpr int32_t kEos = 2;

GenerationRequest Request(std::vector<int32_t> prompt, double temperature, uint64_t seed,
                          int64_t max_new = 8) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = temperature;
  r.sampling.seed = seed;
  r.sampling.max_new_tokens = max_new;
  return r;
}

// Log-softmax of the full forward at every position of prompt + response.
at::Tensor FullLogProbs(MimoModel& model, const std::vector<int32_t>& prompt,
                        const std::vector<int32_t>& response, double temperature) {
  at::NoGradGuard no_grad;
  std::vector<int64_t> ids(prompt.begin(), prompt.end());
  ids.insert(ids.end(), response.begin(), response.end());
  at::Tensor logits = model->Logits(model->Hidden(at::tensor(ids, at::kLong).view({1, -1})))[0];
  return at::log_softmax(logits / temperature, -1);
}

TEST(BatchGeneratorTest, GreedyMatchesFullForwardArgmax) {
  MimoModel model = TinyTestModel();
  BatchGenerator gen(model, 4, 64, /*eos_id=*/-1);
  std::vector<int32_t> prompt = {5, 9, 11, 3};
  auto results = gen.Generate({Request(prompt, 0.0, 0, 10)});
  ASSERT_TRUE(results.ok()) << results.status();
  const auto& r = (*results)[0];
  ASSERT_EQ(r.tokens.size(), 10u);
  EXPECT_EQ(r.finish, Finish::kLength);
  at::Tensor logp = FullLogProbs(model, prompt, r.tokens, 1.0);
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    const int64_t pos = prompt.size() - 1 + i;
    EXPECT_EQ(logp[pos].argmax().item<int64_t>(), r.tokens[i]) << "step " << i;
    EXPECT_NEAR(logp[pos][r.tokens[i]].item<float>(), r.logprobs[i], 1e-5);
  }
}

TEST(BatchGeneratorTest, SampledLogprobsAreTheBehaviourPolicys) {
  MimoModel model = TinyTestModel();
  BatchGenerator gen(model, 2, 64, -1);
  std::vector<int32_t> prompt = {7, 8};
  auto results = gen.Generate({Request(prompt, 0.8, 42, 12)});
  ASSERT_TRUE(results.ok());
  const auto& r = (*results)[0];
  at::Tensor logp = FullLogProbs(model, prompt, r.tokens, 0.8);
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    EXPECT_NEAR(logp[prompt.size() - 1 + i][r.tokens[i]].item<float>(), r.logprobs[i], 1e-4);
  }
}

TEST(BatchGeneratorTest, SeedDecidesTokensWhateverElseIsBatched) {
  MimoModel model = TinyTestModel();
  GenerationRequest target = Request({4, 4, 6}, 1.0, 7, 12);
  BatchGenerator alone(model, 1, 64, -1);
  auto solo = alone.Generate({target});
  ASSERT_TRUE(solo.ok());
  // The same request among others of different lengths, with slot refill (batch 2 for 6).
  std::vector<GenerationRequest> crowd = {Request({1, 2, 3, 4, 5, 6, 7}, 1.0, 1, 3),
                                          Request({9}, 1.0, 2, 20),
                                          target,
                                          Request({3, 3}, 0.5, 3, 5),
                                          Request({8, 1, 8}, 1.0, 4, 9),
                                          target};
  BatchGenerator busy(model, 2, 64, -1);
  auto many = busy.Generate(crowd);
  ASSERT_TRUE(many.ok());
  EXPECT_EQ((*many)[2].tokens, (*solo)[0].tokens);
  EXPECT_EQ((*many)[5].tokens, (*solo)[0].tokens);
  for (size_t i = 0; i < (*solo)[0].logprobs.size(); ++i) {
    EXPECT_NEAR((*many)[2].logprobs[i], (*solo)[0].logprobs[i], 1e-5);
  }
  EXPECT_EQ((*many)[0].tokens.size(), 3u);
  EXPECT_EQ((*many)[1].tokens.size(), 20u);
  EXPECT_GT(busy.stats().decode_steps, 0);
  // A different seed gives a different sample.
  auto other = alone.Generate({Request({4, 4, 6}, 1.0, 8, 12)});
  EXPECT_NE((*other)[0].tokens, (*solo)[0].tokens);
}

TEST(BatchGeneratorTest, StopsAtStopTokensAndLimits) {
  MimoModel model = TinyTestModel();
  BatchGenerator probe(model, 1, 64, -1);
  auto greedy = probe.Generate({Request({5, 6}, 0.0, 0, 4)});
  ASSERT_TRUE(greedy.ok());
  const int32_t first = (*greedy)[0].tokens[0];

  // The first greedy token as EOS, then as an extra stop id: one token, finish "stop".
  BatchGenerator with_eos(model, 1, 64, first);
  auto stopped = with_eos.Generate({Request({5, 6}, 0.0, 0, 4)});
  EXPECT_EQ((*stopped)[0].tokens, std::vector<int32_t>{first});
  EXPECT_EQ((*stopped)[0].finish, Finish::kStop);
  GenerationRequest r = Request({5, 6}, 0.0, 0, 4);
  r.sampling.stop_token_ids = {first};
  auto by_id = probe.Generate({r});
  EXPECT_EQ((*by_id)[0].finish, Finish::kStop);

  // The context (max_len 10) ends generation before max_new_tokens.
  BatchGenerator short_ctx(model, 1, 10, -1);
  auto cut = short_ctx.Generate({Request({1, 2, 3, 4, 5, 6}, 1.0, 0, 50)});
  EXPECT_EQ((*cut)[0].tokens.size(), 4u);
  EXPECT_EQ((*cut)[0].finish, Finish::kLength);
}

TEST(BatchGeneratorTest, BadRequestsNameIndexAndField) {
  MimoModel model = TinyTestModel();
  BatchGenerator gen(model, 2, 16, kEos);
  auto check = [&](GenerationRequest bad, const std::string& expected) {
    auto out = gen.Generate({Request({1}, 1.0, 0), bad});
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(out.status().message(), HasSubstr("request 1"));
    EXPECT_THAT(out.status().message(), HasSubstr(expected));
  };
  check(Request({}, 1.0, 0), "prompt is empty");
  check(Request(std::vector<int32_t>(16, 3), 1.0, 0), "context holds 16");
  check(Request({3, 50}, 1.0, 0), "token id 50");
  check(Request({3, -1}, 1.0, 0), "token id -1");
  check(Request({3}, -0.5, 0), "temperature");
  GenerationRequest top_p = Request({3}, 1.0, 0);
  top_p.sampling.top_p = 0;
  check(top_p, "top_p");
}

}  // namespace
}  // namespace seamless
