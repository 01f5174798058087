// Offline generation of a fixed list of requests (`seamless generate`, tests, benchmarks):
// a thin driver over ContinuousBatcher that queues every request as a group of one and steps
// until all are done.
#ifndef SEAMLESS_ROLLOUT_BATCH_GENERATOR_H_
#define SEAMLESS_ROLLOUT_BATCH_GENERATOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/mimo_model.h"
#include "rollout/continuous_batcher.h"
#include "rollout/rollout_types.h"
#include "rollout/sampling_options.h"

namespace seamless {

struct GenerationRequest {
  std::vector<int32_t> prompt;
  SamplingOptions sampling;
};

struct GenerationResult {
  std::vector<int32_t> tokens;  // generated ids, the stop token included
  std::vector<float> logprobs;  // one per generated token
  Finish finish = Finish::kLength;
};

class BatchGenerator {
 public:
  // `max_batch` sequences run at once; each may hold `max_len` tokens (prompt + response).
  // `speculative`: MTP drafting (EngineOptions::speculative).
  BatchGenerator(MimoModel model, int64_t max_batch, int64_t max_len, int32_t eos_id,
                 Speculative speculative = Speculative::kAuto);

  // Runs every request to completion. Bad requests fail the call with INVALID_ARGUMENT
  // naming the request index and the field.
  absl::StatusOr<std::vector<GenerationResult>> Generate(
      const std::vector<GenerationRequest>& requests);

  // Counters of the last Generate call.
  const BatcherStats& stats() const { return stats_; }

 private:
  MimoModel model_;
  EngineOptions options_;
  int32_t eos_id_;
  BatcherStats stats_;
};

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_BATCH_GENERATOR_H_
