// What the learner trains on: scored samples grouped by prompt, independent of gRPC and torch.
// The scheduler sends them as TrainBatchPart streams (proto/learner.proto); rank 0 forwards the
// same bytes to the other ranks.
#ifndef SEAMLESS_LEARNER_ROLLOUT_BATCH_H_
#define SEAMLESS_LEARNER_ROLLOUT_BATCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/learner.pb.h"

namespace seamless {

struct RolloutSequence {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> response_ids;
  // Behaviour log-prob of each response token as the rollout sampled it; empty when the
  // worker did not record them (then the learner must recompute).
  std::vector<float> behaviour_logprobs;
  double reward = 0;
};

struct RolloutGroup {
  std::string group_id;
  std::vector<RolloutSequence> sequences;
};

struct RolloutBatch {
  int64_t step = 0;  // steps trained before this one
  std::vector<RolloutGroup> groups;
  std::string run_id;        // the sender's run ("" : any)
  std::string commit_state;  // kept with the step's checkpoint (TrainBatchPart.commit_state)

  int64_t NumSequences() const;
  int64_t NumResponseTokens() const;
};

// Checks ids against the vocabulary, the length against the context, log-prob counts.
absl::Status ValidateBatch(const RolloutBatch& batch, int64_t vocab_size, int64_t max_length);

// Concatenates the parts of one streamed batch.
RolloutBatch BatchFromProto(const std::vector<TrainBatchPart>& parts);
// One part holding the whole batch (for the in-cluster broadcast, which has no 4 MiB limit).
TrainBatchPart BatchToProto(const RolloutBatch& batch);

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_ROLLOUT_BATCH_H_
