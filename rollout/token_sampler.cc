#include "rollout/token_sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace seamless {

absl::Status SamplingOptions::Validate() const {
  if (!(temperature >= 0) || !std::isfinite(temperature)) {
    return absl::InvalidArgumentError(absl::StrCat("temperature ", temperature, " must be >= 0"));
  }
  if (!(top_p > 0 && top_p <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("top_p ", top_p, " must be in (0, 1]"));
  }
  if (top_k < 0) return absl::InvalidArgumentError(absl::StrCat("top_k ", top_k, " must be >= 0"));
  if (max_new_tokens <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_new_tokens ", max_new_tokens, " must be positive"));
  }
  return absl::OkStatus();
}

double CounterUniform(uint64_t seed, uint64_t counter) {
  // SplitMix64 over a mix of both inputs; 53 random bits -> [0, 1).
  uint64_t z =
      seed * 0x9E3779B97F4A7C15ull + counter * 0xD1B54A32D192ED03ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

void TokenSampler::Distribution(const float* logits, int64_t vocab, const SamplingOptions& options,
                                std::vector<double>* probs) {
  probs->assign(vocab, 0.0);
  if (options.temperature == 0) {
    const int64_t best = std::max_element(logits, logits + vocab) - logits;
    (*probs)[best] = 1.0;
    return;
  }
  const double inv_t = 1.0 / options.temperature;
  const double max_logit = *std::max_element(logits, logits + vocab);
  double total = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    (*probs)[i] = std::exp((logits[i] - max_logit) * inv_t);
    total += (*probs)[i];
  }
  for (double& p : *probs) p /= total;
  const bool truncate_k = options.top_k > 0 && options.top_k < vocab;
  if (!truncate_k && options.top_p >= 1.0) return;

  order_.resize(vocab);
  std::iota(order_.begin(), order_.end(), 0);
  // Ties broken by id so the kept set is deterministic.
  std::sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) {
    return (*probs)[a] != (*probs)[b] ? (*probs)[a] > (*probs)[b] : a < b;
  });
  int64_t keep = truncate_k ? options.top_k : vocab;
  if (options.top_p < 1.0) {
    double mass = 0;
    for (int64_t i = 0; i < keep; ++i) {
      mass += (*probs)[order_[i]];
      if (mass >= options.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double kept = 0;
  for (int64_t i = 0; i < keep; ++i) kept += (*probs)[order_[i]];
  for (int64_t i = keep; i < vocab; ++i) (*probs)[order_[i]] = 0;
  for (int64_t i = 0; i < keep; ++i) (*probs)[order_[i]] /= kept;
}

SampledToken TokenSampler::Sample(const float* logits, int64_t vocab,
                                  const SamplingOptions& options, uint64_t counter) {
  SampledToken out;
  if (options.temperature == 0) {
    const int64_t best = std::max_element(logits, logits + vocab) - logits;
    double max_logit = logits[best], total = 0;
    for (int64_t i = 0; i < vocab; ++i) total += std::exp(logits[i] - max_logit);
    out.id = static_cast<int32_t>(best);
    out.logprob = static_cast<float>(-std::log(total));
    return out;
  }
  std::vector<double>& probs = probs_;
  Distribution(logits, vocab, options, &probs);
  const double u = CounterUniform(options.seed, counter);
  double cumulative = 0;
  int64_t chosen = -1;
  for (int64_t i = 0; i < vocab; ++i) {
    if (probs[i] <= 0) continue;
    chosen = i;  // the last token with mass absorbs rounding at the top end
    cumulative += probs[i];
    if (u < cumulative) break;
  }
  out.id = static_cast<int32_t>(chosen);
  out.logprob = static_cast<float>(std::log(probs[chosen]));
  return out;
}

}  // namespace seamless
