// Generation over a KV cache with slot refill: each request takes a cache slot, is prefilled,
// then decodes together with every other running request one token per step; a finished
// request frees its slot for the next queued one at once. Used by `seamless generate` and as
// the decode loop the rollout engine builds on.
#ifndef SEAMLESS_ROLLOUT_BATCH_GENERATOR_H_
#define SEAMLESS_ROLLOUT_BATCH_GENERATOR_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/mimo_model.h"
#include "rollout/sampling_options.h"

namespace seamless {

enum class FinishReason { kStop, kLength, kAborted };
const char* FinishReasonName(FinishReason reason);

struct GenerationRequest {
  std::vector<int32_t> prompt;
  SamplingOptions sampling;
};

struct GenerationResult {
  std::vector<int32_t> tokens;   // generated ids, the stop token included
  std::vector<float> logprobs;   // one per generated token
  FinishReason finish = FinishReason::kLength;
};

struct GeneratorStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  int64_t decode_steps = 0;
};

class BatchGenerator {
 public:
  // `max_batch` sequences run at once; each may hold `max_len` tokens (prompt + response).
  BatchGenerator(MimoModel model, int64_t max_batch, int64_t max_len, int32_t eos_id);

  // Runs every request to completion. Bad requests fail the call with INVALID_ARGUMENT
  // naming the request index and the field.
  absl::StatusOr<std::vector<GenerationResult>> Generate(
      const std::vector<GenerationRequest>& requests);

  const GeneratorStats& stats() const { return stats_; }

 private:
  absl::Status Validate(const std::vector<GenerationRequest>& requests) const;

  MimoModel model_;
  int64_t max_batch_, max_len_;
  int32_t eos_id_;
  GeneratorStats stats_;
};

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_BATCH_GENERATOR_H_
