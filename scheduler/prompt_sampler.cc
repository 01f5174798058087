#include "scheduler/prompt_sampler.h"

#include <algorithm>
#include <random>

namespace seamless {

PromptSampler::PromptSampler(int64_t size, uint64_t seed) : size_(size), seed_(seed) { Shuffle(); }

void PromptSampler::Shuffle() {
  order_.resize(size_);
  for (int64_t i = 0; i < size_; ++i) order_[i] = i;
  std::mt19937_64 rng(seed_ * 1000003 + static_cast<uint64_t>(epoch_));
  std::shuffle(order_.begin(), order_.end(), rng);
}

int64_t PromptSampler::Next() {
  if (position_ >= size_) {
    ++epoch_;
    position_ = 0;
    Shuffle();
  }
  return order_[position_++];
}

void PromptSampler::Restore(int64_t epoch, int64_t position) {
  epoch_ = epoch;
  position_ = position;
  Shuffle();
}

}  // namespace seamless
