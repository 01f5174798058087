// The order prompts are drawn in: a fresh seeded shuffle every epoch. Light on purpose (no
// JSON): the orchestrator's header holds one.
#ifndef SEAMLESS_SCHEDULER_PROMPT_SAMPLER_H_
#define SEAMLESS_SCHEDULER_PROMPT_SAMPLER_H_

#include <cstdint>
#include <vector>

namespace seamless {

// Draws records epoch after epoch, each epoch a permutation fixed by (seed, epoch). Its whole
// state is (epoch, position), so a resumed run continues the same order.
class PromptSampler {
 public:
  PromptSampler(int64_t size, uint64_t seed);
  // Index of the next record.
  int64_t Next();
  int64_t epoch() const { return epoch_; }
  int64_t position() const { return position_; }
  void Restore(int64_t epoch, int64_t position);

 private:
  void Shuffle();
  int64_t size_;
  uint64_t seed_;
  int64_t epoch_ = 0, position_ = 0;
  std::vector<int64_t> order_;
};

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_PROMPT_SAMPLER_H_
