// What `seamless train` checks before it starts anything: the model's shape, the data against
// the model's tokenizer and context, and the memory of every process it would start together
// against what this machine has free. Plain C++ (no LibTorch): the model is never loaded here.
#ifndef SEAMLESS_SCHEDULER_TRAIN_PLAN_H_
#define SEAMLESS_SCHEDULER_TRAIN_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/model_config.h"
#include "core/tokenizer/tokenizer.h"
#include "scheduler/train_config.h"

namespace seamless {

// The model's config.json, or the embedded default's shape for "default".
absl::StatusOr<ModelConfig> ReadTrainModelConfig(const std::string& model);

// Tokens one rollout sequence may hold (prompt + response), as ContinuousBatcher caps it: the
// model's context less 2 positions of headroom, max_len, and the KV pool less 2.
int64_t RolloutSequenceLimit(const RolloutWorkerConfig& rollout, const ModelConfig& model);
// Tokens of KV cache a worker allocates (each layer), as ContinuousBatcher sizes its pool.
int64_t RolloutKvTokens(const RolloutWorkerConfig& rollout, const ModelConfig& model);

struct DataFit {
  int64_t records = 0;
  int64_t longest = 0;  // tokens of the longest prompt (RL data) or prompt + response (SFT)
};

// Every prompt of a verl JSONL file, rendered and tokenized as the scheduler does: an error
// names the file and line when its ids exceed the model's vocabulary or the prompt and
// `max_new_tokens` do not fit in `sequence_limit`.
absl::StatusOr<DataFit> CheckPromptData(const std::string& path, const Tokenizer& tokenizer,
                                        int64_t vocab_size, int64_t sequence_limit,
                                        int64_t max_new_tokens);
// The same for `seamless sft` pairs ({"prompt", "response"} lines; the response gets EOS).
absl::StatusOr<DataFit> CheckSftData(const std::string& path, const Tokenizer& tokenizer,
                                     int64_t vocab_size, int64_t context);

// Resident memory of every process `seamless train` starts at once, by role.
struct TrainMemoryPlan {
  struct Role {
    std::string name;  // "learner rank", "rollout worker", ...
    int64_t count = 0;
    uint64_t bytes = 0;  // each
    std::string why;
  };
  std::vector<Role> roles;  // learner ranks, rollout workers, reward servers, scheduler
  int64_t longest_prompt = 0;
  uint64_t sft_bytes = 0;  // the warm start runs alone, before the others
  uint64_t total() const;
  std::string Describe() const;  // one line per role
};

// Bytes that host memory counts for each role (a role placed on a GPU counts its process
// overhead only). `longest_prompt` and `longest_sft` come from the data checks; `resuming`
// adds the one checkpoint tensor a learner rank holds while it imports (the largest).
TrainMemoryPlan PlanTrainMemory(const TrainConfig& config, const ModelConfig& model,
                                int64_t longest_prompt, int64_t longest_sft, bool resuming = false);

// OK when the plan fits in `available` bytes; otherwise ResourceExhausted with the numbers
// and what would fit ("needs 17.1 GiB per rank, 9.8 GiB available; try sharding: full ...").
absl::Status CheckTrainFits(const TrainConfig& config, const ModelConfig& model,
                            const TrainMemoryPlan& plan, uint64_t available,
                            const std::string& what);

// MemAvailable of /proc/meminfo in bytes (0 when unreadable).
uint64_t MemAvailableBytes();

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_TRAIN_PLAN_H_
