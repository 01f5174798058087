// The rollout engine's core loop, single-threaded and deterministic so tests can drive it step
// by step (RolloutEngine runs it on its own thread and feeds it from gRPC):
//
//   Step() = admit queued samples into free KV-cache slots (prefill), then advance every
//            running sequence by one decode step (or one MTP draft-and-verify step).
//
// Continuous batching: a finished sequence frees its slot within the step, and the next step
// refills it; no sequence waits for the longest one. The KV cache is preallocated once
// (KvCache), so joining and leaving are bookkeeping. The samples of a group share the prompt's
// prefill: later siblings copy the prompt's keys and values from a running sibling's slot.
//
// MTP speculative decoding (one draft token per step, MiMo's setting): the MTP layer drafts the
// token after the pending one, the main model scores [pending, draft] in one forward, and
// VerifyDraft (speculative.h) accepts or resamples so every emitted token is an exact sample
// of the target distribution. On acceptance the main model's second position also yields a
// "bonus" token, so a step emits 1 or 2 tokens per sequence. Rejected drafts roll the KV
// cache back by one entry.
//
// NOTE [MTP pending rows]: the MTP layer consumes pairs (h_i, x_{i+1}) of a main hidden state
// and the following token. After a step, each sequence has 1 (rejected or first step) or 2
// (accepted) such pairs not yet in the MTP cache; the next draft forward feeds both rows for
// every sequence (padding the 1-row ones) and rolls the padded entry back.
#ifndef SEAMLESS_ROLLOUT_CONTINUOUS_BATCHER_H_
#define SEAMLESS_ROLLOUT_CONTINUOUS_BATCHER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/kv_cache.h"
#include "core/model/mimo_model.h"
#include "core/model/model_files.h"
#include "rollout/engine_options.h"
#include "rollout/rollout_types.h"
#include "rollout/token_sampler.h"

namespace seamless {

class ContinuousBatcher {
 public:
  static absl::StatusOr<std::unique_ptr<ContinuousBatcher>> Create(MimoModel model,
                                                                   const EngineOptions& options,
                                                                   int32_t eos_id,
                                                                   Detokenizer detokenizer = {});
  // (A null detokenizer refuses requests with stop strings.)

  // INVALID_ARGUMENT naming the field for a bad request.
  absl::Status Validate(const GroupRequest& request) const;
  // Queues a group. RESOURCE_EXHAUSTED when the queue is full, ALREADY_EXISTS for a group id
  // still in flight.
  absl::Status Add(GroupRequest request);
  // Aborts what `spec` selects, queued or running; the aborted samples (with whatever tokens
  // they have) are appended to `aborted` and their slots are free at once.
  AbortCounts Abort(const AbortSpec& spec, std::vector<RolloutSample>* aborted);
  // Admits queued work, then runs one decode step. Finished samples go to `finished`.
  absl::Status Step(std::vector<RolloutSample>* finished);

  // Copies new weights in; call between steps. Later tokens record `version`.
  void ApplyWeights(const PreparedWeights& weights, int64_t version);

  bool HasWork() const { return !queue_.empty() || !running_.empty(); }
  int64_t running() const { return static_cast<int64_t>(running_.size()); }
  int64_t queued_samples() const { return queued_samples_; }
  int64_t version() const { return version_; }
  bool speculative() const { return speculative_; }
  int64_t max_len() const { return max_len_; }
  const EngineOptions& options() const { return options_; }
  const BatcherStats& stats() const { return stats_; }
  MimoModel& model() { return model_; }

 private:
  struct Group {
    uint64_t serial = 0;                 // unique per group (addresses get reused)
    GroupRequest request;
    int32_t next_index = 0;              // samples started so far
    std::set<int32_t> aborted_indices;   // unstarted samples aborted by request id
    bool prefilled = false;
    std::vector<float> prompt_logits;    // logits after the last prompt token
    at::Tensor prompt_last_hidden;       // [hidden]: the first MTP draft's input
    std::vector<int64_t> live_slots;     // running siblings; their slots hold the prompt's KV
  };

  struct Sequence {
    std::shared_ptr<Group> group;
    int64_t slot = 0;
    SamplingOptions sampling;            // the group's, with this sample's seed
    RolloutSample out;
    int32_t last_token = 0;              // emitted, not yet fed to the main model
    int pending_rows = 0;                // see NOTE [MTP pending rows]
    int32_t pending_tokens[2] = {0, 0};
  };


  ContinuousBatcher(MimoModel model, const EngineOptions& options, int32_t eos_id,
                    Detokenizer detokenizer);
  void Admit(std::vector<RolloutSample>* finished);
  void Prefill(Group& group, int64_t slot);
  void CopyPrefix(int64_t from_slot, int64_t to_slot, int64_t prompt_len);
  // Truncates `slot` (which holds the prompt's KV) back to just the prompt.
  void ReusePrefix(int64_t slot, int64_t prompt_len);
  void DecodePlain(std::vector<RolloutSample>* finished);
  void DecodeSpeculative(std::vector<RolloutSample>* finished);
  // Appends a token; true when the sequence is finished.
  bool Emit(Sequence& seq, int32_t token, float logprob);
  void Release(Sequence& seq, Finish reason, std::vector<RolloutSample>* out);
  float Logprob(const float* logits, const std::vector<double>& probs, int32_t token,
                const SamplingOptions& sampling) const;

  MimoModel model_;
  EngineOptions options_;
  int32_t eos_id_;
  Detokenizer detokenizer_;
  int64_t vocab_ = 0;
  int64_t max_len_ = 0;
  bool speculative_ = false;
  at::Device device_;
  std::unique_ptr<KvCache> cache_;
  at::Tensor pending_hidden_;  // [slots, 2, hidden]: see NOTE [MTP pending rows]

  std::deque<std::shared_ptr<Group>> queue_;
  std::unordered_map<std::string, int32_t> unfinished_;  // group id -> samples not yet returned
  int64_t queued_samples_ = 0;
  std::vector<Sequence> running_;
  std::vector<int64_t> free_slots_;
  // Serial of the group whose prompt KV a slot holds (0: none). A free slot keeps its contents,
  // so a later sibling can take it over with no prefill and no copy.
  std::vector<uint64_t> slot_prompt_of_;
  uint64_t next_serial_ = 1;
  int64_t version_ = 0;

  TokenSampler sampler_;
  std::vector<double> target_, scratch_;
  std::vector<std::vector<double>> drafts_;
  BatcherStats stats_;
};

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_CONTINUOUS_BATCHER_H_
