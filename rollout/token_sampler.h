// Draws one token from a row of logits under temperature / top-k / top-p, and reports its
// log-probability under the distribution it was drawn from (the behaviour log-prob RL needs).
//
// Randomness is counter-based: the uniform for a draw is a hash of (seed, position), so a
// request's tokens depend on its seed and the weights only, never on what else is batched.
#ifndef SEAMLESS_ROLLOUT_TOKEN_SAMPLER_H_
#define SEAMLESS_ROLLOUT_TOKEN_SAMPLER_H_

#include <cstdint>
#include <vector>

#include "rollout/sampling_options.h"

namespace seamless {

struct SampledToken {
  int32_t id = 0;
  float logprob = 0;  // log p(id) under the sampling distribution; greedy: under softmax(logits)
};

// A uniform number in [0, 1) determined by (seed, counter).
double CounterUniform(uint64_t seed, uint64_t counter);

class TokenSampler {
 public:
  // `logits` has `vocab` entries. `counter` is the draw's index within the request.
  SampledToken Sample(const float* logits, int64_t vocab, const SamplingOptions& options,
                      uint64_t counter);

  // The sampling distribution itself (after temperature, top-k and top-p), for tests and
  // for speculative decoding's accept/reject rule.
  void Distribution(const float* logits, int64_t vocab, const SamplingOptions& options,
                    std::vector<double>* probs);

 private:
  // Scratch reused across calls: Sample runs once per generated token.
  std::vector<int32_t> order_;
  std::vector<double> probs_;
};

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_TOKEN_SAMPLER_H_
