// Test helpers: synthetic rollout batches whose behaviour log-probs come from a model.
#ifndef SEAMLESS_LEARNER_TEST_BATCHES_H_
#define SEAMLESS_LEARNER_TEST_BATCHES_H_

#include <random>
#include <string>

#include "core/model/mimo_model.h"
#include "learner/rollout_batch.h"
#include "learner/token_logprobs.h"

namespace seamless {
namespace testing {

// `groups` x `group_size` sequences with random prompts (2..6 tokens), responses (1..8),
// 0/1 rewards, and behaviour log-probs = the model's own plus uniform noise in +-noise.
inline RolloutBatch RandomBatch(MimoModel& model, int groups, int group_size, uint64_t seed,
                                double noise = 0.05) {
  std::mt19937_64 rng(seed);
  const int64_t vocab = model->config().vocab_size;
  RolloutBatch batch;
  for (int g = 0; g < groups; ++g) {
    RolloutGroup group;
    group.group_id = "g" + std::to_string(g);
    std::vector<int32_t> prompt(2 + rng() % 5);
    for (auto& t : prompt) t = int32_t(rng() % vocab);
    for (int i = 0; i < group_size; ++i) {
      RolloutSequence s;
      s.prompt_ids = prompt;
      s.response_ids.resize(1 + rng() % 8);
      for (auto& t : s.response_ids) t = int32_t(rng() % vocab);
      s.reward = double(rng() % 2);
      group.sequences.push_back(std::move(s));
    }
    batch.groups.push_back(std::move(group));
  }
  at::NoGradGuard no_grad;
  std::uniform_real_distribution<double> jitter(-noise, noise);
  for (auto& group : batch.groups) {
    for (auto& s : group.sequences) {
      at::Tensor lp = ResponseLogProbs(model, PackSequences({&s}), 1.0, false).logp;
      for (int64_t j = 0; j < lp.numel(); ++j) {
        s.behaviour_logprobs.push_back(float(lp[j].item<double>() + jitter(rng)));
      }
    }
  }
  return batch;
}

}  // namespace testing
}  // namespace seamless

#endif  // SEAMLESS_LEARNER_TEST_BATCHES_H_
