// The rollout engine's core loop, single-threaded and deterministic so tests can drive it step
// by step (RolloutEngine runs it on its own thread and feeds it from gRPC):
//
//   Step() = admit queued samples into free KV-cache slots (prefill), then advance every
//            running sequence by one decode step (or one MTP draft-and-verify step).
//
// Continuous batching: a finished sequence frees its slot within the step, and the next step
// refills it; no sequence waits for the longest one. The KV cache is a pool of blocks allocated
// once (KvCache, paged): a sequence takes blocks as it grows and returns them when it ends, so
// joining and leaving are bookkeeping. The samples of a group share the prompt's prefill: the
// group keeps the prompt's blocks while it has samples to start, and later siblings share them
// (the block a sibling first writes into is copied).
//
// NOTE [KV block admission and preemption]: a sample is admitted only when its prompt plus one
// block of growth fits in the free blocks (two tokens when nothing else runs); otherwise
// admission waits. Before each decode step every running sequence reserves the blocks the
// step writes, oldest first. When the pool runs out, the prompt blocks kept for queued groups
// go first, then the newest sequence is preempted: its blocks are returned and its sample goes
// back to the front of the queue to restart from its prompt (vLLM's recompute preemption; the
// same seed gives the same tokens). The context is capped so that one sequence always fits the
// pool alone, so the oldest sequence always makes progress.
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

  // Copies (or swaps) new weights in; call between steps. Later tokens record `version`.
  void ApplyWeights(PreparedWeights& weights, int64_t version);

  bool HasWork() const { return !queue_.empty() || !running_.empty(); }
  int64_t running() const { return static_cast<int64_t>(running_.size()); }
  int64_t queued_samples() const { return queued_samples_; }
  int64_t version() const { return version_; }
  bool speculative() const { return speculative_; }
  int64_t max_len() const { return max_len_; }
  const EngineOptions& options() const { return options_; }
  const BatcherStats& stats() const { return stats_; }
  // KV cache blocks in use and in all (every pool: the main stack's and the MTP layer's).
  int64_t kv_blocks_used() const;
  int64_t kv_blocks_total() const;
  int64_t kv_cache_bytes() const { return cache_->bytes(); }
  // Samples restarted because the KV pool ran out (NOTE [KV block admission and preemption]),
  // and the tokens they had generated.
  int64_t preempted_samples() const { return preempted_samples_; }
  int64_t preempted_tokens() const { return preempted_tokens_; }
  MimoModel& model() { return model_; }

 private:
  struct Group {
    uint64_t serial = 0;  // unique per group
    GroupRequest request;
    int32_t next_index = 0;             // samples started so far
    std::set<int32_t> aborted_indices;  // unstarted samples aborted by request id
    std::deque<int32_t> requeued;       // preempted samples, started again before next_index
    bool in_queue = true;
    // With share_prefill, prefilled means `prefix` holds the prompt's KV blocks.
    bool prefilled = false;
    KvCache::Prefix prefix;
    std::vector<float> prompt_logits;  // logits after the last prompt token
    at::Tensor prompt_last_hidden;     // [hidden]: the first MTP draft's input
  };

  struct Sequence {
    std::shared_ptr<Group> group;
    int64_t slot = 0;
    uint64_t admitted = 0;  // admission order: the newest is preempted first
    bool preempted = false;
    SamplingOptions sampling;  // the group's, with this sample's seed
    RolloutSample out;
    int32_t last_token = 0;  // emitted, not yet fed to the main model
    int pending_rows = 0;    // see NOTE [MTP pending rows]
    int32_t pending_tokens[2] = {0, 0};
  };

  ContinuousBatcher(MimoModel model, const EngineOptions& options, int32_t eos_id,
                    Detokenizer detokenizer);
  void Admit(std::vector<RolloutSample>* finished);
  void Prefill(Group& group, int64_t slot);
  // Whether `slot` (empty, or sharing the group's prefix) can take a prompt of n tokens plus
  // `growth` more in every cache group the engine uses.
  bool FitsBlocks(int64_t slot, int64_t n, int64_t growth) const;
  // Returns the prompt blocks kept for queued groups; false when there were none.
  bool ReleaseQueuedPrefixes();
  void ReleasePrefix(Group& group);
  void PopQueueFront();
  // Reserves this step's KV writes for every running sequence, preempting as needed.
  void ReserveDecodeBlocks();
  bool ReserveStep(const Sequence& seq);
  void Preempt(Sequence& seq);
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
  uint64_t next_serial_ = 1;
  uint64_t next_admission_ = 0;
  int64_t context_len_ = 0;  // max_len before the pool's cap (for error messages)
  int64_t preempted_samples_ = 0;
  int64_t preempted_tokens_ = 0;
  int64_t version_ = 0;

  TokenSampler sampler_;
  std::vector<double> target_, scratch_;
  std::vector<std::vector<double>> drafts_;
  BatcherStats stats_;
};

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_CONTINUOUS_BATCHER_H_
