// The scheduler's core: the seamless rollout loop of docs/DESIGN.md §3–4, with no gRPC types (the
// backends are interfaces), driven by one thread that owns all state. Callbacks from the
// backends post closures to that thread, so no lock guards the state itself.
//
// One training step:
//   launch prompt groups while the work in flight is predicted not to fill the batch
//     (continuous rollout; or whole rounds behind a barrier, for comparison);
//   score every sample as soon as it finishes (asynchronous reward);
//   a complete group with pass rate 0 or 1 is dropped (dynamic sampling; pass rate 1 also
//     goes to the easy pool), one older than the staleness bound too;
//   once N valid groups exist and every group launched before them has finished, take the N
//     earliest-launched and abort only the work launched after them (FIFO early termination),
//     re-queueing those prompts;
//   train on the batch (on a thread of its own, so generation goes on meanwhile).
// Every prompt is in the Ledger from the moment it is taken until it is trained or dropped.
#ifndef SEAMLESS_SCHEDULER_ORCHESTRATOR_H_
#define SEAMLESS_SCHEDULER_ORCHESTRATOR_H_

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "scheduler/backends.h"
#include "scheduler/ledger.h"
#include "scheduler/prompt_dataset.h"
#include "scheduler/scheduler_config.h"

namespace seamless {

// Prompt record -> token ids (the tokenizer and its chat format).
using PromptEncoder = std::function<absl::StatusOr<std::vector<int32_t>>(const PromptRecord&)>;

// What one step did, for the progress line and metrics.jsonl (verl's names where they exist).
struct StepReport {
  int64_t step = 0;
  int64_t policy_version = 0;
  std::map<std::string, double> metrics;
};

// Thread-safe view for SchedulerService.
struct RunSnapshot {
  int64_t step = 0;
  int64_t policy_version = 0;
  LedgerSummary ledger;
  double rollout_tokens_per_second = 0;
  double idle_fraction = 0;
  std::string state = "starting";
};

class Orchestrator {
 public:
  Orchestrator(SchedulerConfig config, const PromptDataset* train, const PromptDataset* val,
               PromptEncoder encode, RolloutBackend* rollout, RewardBackend* reward,
               LearnerBackend* learner);
  ~Orchestrator();

  // Called on the loop thread after every step, and once with step 0 for the evaluation
  // before training (val/accuracy only).
  void set_on_step(std::function<void(const StepReport&)> on_step) { on_step_ = std::move(on_step); }
  // Resume: the state SaveState() returned after the learner's last complete checkpoint.
  absl::Status RestoreState(const nlohmann::json& state);
  nlohmann::json SaveState() const;  // loop thread only (inside on_step)

  // Runs config.steps steps (from the restored step). Fails on a broken invariant, on a
  // "generated too many" batch, or when the learner fails.
  absl::Status Run();

  RunSnapshot Snapshot() const;
  const Ledger& ledger() const { return ledger_; }  // after Run returns

 private:
  struct GroupRun {
    std::string uid, group_id;
    int64_t record = 0;
    uint64_t launch_seq = 0;
    int worker = -1;
    int64_t version = 0;
    bool eval = false;
    int64_t expected = 0, generated = 0, scored = 0;
    bool generation_done = false, reward_failed = false;
    std::vector<TrainSample> samples;      // index_in_group order once complete
    std::vector<RolloutSample> unscored;   // held back when rewards wait for the round
    int64_t tokens = 0;
  };

  void Post(std::function<void()> task);
  void Launch(const std::string& uid, bool eval);
  void OnSample(const std::string& group_id, RolloutSample sample);
  void OnGenerationDone(const std::string& group_id, absl::Status status);
  void ScoreSample(GroupRun& run, RolloutSample sample);
  void OnScored(const std::string& group_id, RolloutSample sample,
                absl::StatusOr<ScoreResult> result);
  void MaybeComplete(GroupRun& run);
  void ScoreHeldSamples();
  void Requeue(GroupRun& run, const std::string& reason);
  // Launch decisions and batch assembly; returns a batch when one is ready.
  void Advance();
  std::string NextPrompt();
  int PickWorker() const;
  // Batches beyond the one being filled whose work may be in flight: lookahead_batches,
  // capped so that the work still trains within max_staleness versions. Batch k trains at
  // version k; while the learner trains, the version is one behind the batch being filled,
  // so one batch less may be launched ahead.
  int64_t Lookahead(bool training) const {
    if (!config_.early_termination) return 0;
    const int64_t by_staleness = config_.max_staleness - (training ? 1 : 0);
    return std::max<int64_t>(0, std::min(config_.lookahead_batches, by_staleness));
  }
  // Valid groups a launch is expected to yield (the running valid share, floored so that a
  // run of dropped groups cannot stop launching altogether).
  double ExpectedValidPerLaunch() const { return std::max(valid_rate_, 0.05); }
  // Samples per held-out prompt: eval_samples when sampling, 1 when greedy (they would agree).
  int64_t EvalSamples() const {
    return config_.eval_temperature > 0 ? std::max<int64_t>(1, config_.eval_samples) : 1;
  }
  bool BatchReady(std::vector<uint64_t>* selected) const;
  absl::Status Evaluate(int64_t step, double* accuracy);
  void Fail(absl::Status status);

  SchedulerConfig config_;
  const PromptDataset* train_;
  const PromptDataset* val_;
  PromptEncoder encode_;
  RolloutBackend* rollout_;
  RewardBackend* reward_;
  LearnerBackend* learner_;
  std::function<void(const StepReport&)> on_step_;

  // Loop-thread state.
  Ledger ledger_;
  PromptSampler sampler_;
  std::mt19937_64 rng_;
  std::deque<std::string> queue_;                 // uids waiting for a launch (requeues first)
  std::vector<int64_t> easy_pool_;                // records whose group passed every sample
  std::map<std::string, GroupRun> inflight_;      // by group id
  std::map<uint64_t, GroupRun> valid_;            // complete valid groups, by launch order
  std::vector<int64_t> worker_load_;              // groups in flight per worker
  std::vector<std::chrono::steady_clock::time_point> worker_down_until_;
  uint64_t next_launch_seq_ = 1;
  int64_t step_ = 0, policy_version_ = 0, launched_this_step_ = 0, easy_takes_ = 0;
  double valid_rate_ = 0.5;                       // recent share of complete groups that are valid
  std::deque<bool> recent_outcomes_;              // valid or not, last 64 completed groups
  bool training_ = false;                         // a batch is with the learner
  absl::Status failure_;
  // Per-step counters (reset after each step).
  std::map<std::string, double> counters_;
  std::chrono::steady_clock::time_point step_start_, run_start_;
  double generated_tokens_total_ = 0;

  // Evaluation results, gathered on the loop thread.
  int64_t eval_pending_ = 0, eval_passed_ = 0, eval_total_ = 0;

  // Task queue between backend threads and the loop thread. Backends' callbacks hold the
  // inbox, not the orchestrator: a late callback after Run() returned finds it closed.
  struct Inbox {
    std::mutex mu;
    std::condition_variable wake;
    std::deque<std::function<void()>> tasks;  // guarded by mu
    bool open = true;                         // guarded by mu
  };
  std::shared_ptr<Inbox> inbox_ = std::make_shared<Inbox>();
  bool RunOneTask(std::chrono::milliseconds wait);
  void CheckLeases();
  void PublishSnapshot(const std::string& state);

  mutable std::mutex snapshot_mu_;
  RunSnapshot snapshot_;                          // guarded by snapshot_mu_
  std::thread trainer_;
};

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_ORCHESTRATOR_H_
