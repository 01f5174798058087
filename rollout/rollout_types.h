// The rollout engine's vocabulary, free of gRPC and LibTorch: a prompt group to generate, the
// samples it produces, and what an abort selects. rollout_service.cc maps them to proto/.
#ifndef SEAMLESS_ROLLOUT_ROLLOUT_TYPES_H_
#define SEAMLESS_ROLLOUT_ROLLOUT_TYPES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/base/config_enum.h"
#include "rollout/sampling_options.h"

namespace seamless {

enum class Finish { kStop, kLength, kAborted };
// Their spellings as a sample's finish reason, for EnumToString: stop, length, aborted.
ConfigEnumTable<Finish> ConfigEnumNames(Finish);

// One prompt × `num_samples` responses (GRPO's group). The samples share the prompt's prefill.
struct GroupRequest {
  std::string group_id;
  std::vector<int32_t> prompt;
  int32_t num_samples = 1;
  SamplingOptions sampling;  // sample i uses seed MixSeed(sampling.seed, i)
  std::vector<std::string> stop_strings;
  uint64_t launch_seq = 0;  // the scheduler's launch order (early termination)
};

struct RolloutSample {
  std::string request_id;  // "<group_id>/<index_in_group>"
  std::string group_id;
  int32_t index_in_group = 0;
  uint64_t launch_seq = 0;
  std::vector<int32_t> prompt;
  std::vector<int32_t> tokens;    // generated ids, the stop token included
  std::vector<float> logprobs;    // behaviour log-prob of each token
  std::vector<int64_t> versions;  // weight version that produced each token
  Finish finish = Finish::kLength;
};

// Selects work to abort: the union of the three criteria.
struct AbortSpec {
  std::vector<std::string> group_ids;
  std::vector<std::string> request_ids;
  bool by_launch_seq = false;  // abort every group with launch_seq > launched_after
  uint64_t launched_after = 0;
};

struct AbortCounts {
  int32_t groups = 0;   // groups with at least one sample aborted
  int32_t samples = 0;  // samples returned with finish reason aborted
};

// Counters of a ContinuousBatcher since it started.
struct BatcherStats {
  int64_t prompt_tokens = 0;         // prompt tokens run through the model
  int64_t shared_prefix_tokens = 0;  // prompt tokens copied from a sibling instead
  int64_t generated_tokens = 0;
  int64_t decode_steps = 0;
  int64_t draft_tokens = 0;     // MTP drafts verified
  int64_t accepted_tokens = 0;  // drafts accepted
  int64_t aborted_tokens = 0;   // tokens in aborted samples (wasted work)
  int64_t completed_samples = 0;
  int64_t aborted_samples = 0;
};

// Turns generated ids into text, for stop strings.
using Detokenizer = std::function<std::string(const std::vector<int32_t>&)>;

// Seed of sample `index` of a group seeded with `seed`.
uint64_t MixSeed(uint64_t seed, int32_t index);
std::string RequestId(const std::string& group_id, int32_t index);

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_ROLLOUT_TYPES_H_
