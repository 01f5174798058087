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
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/base/clock.h"
#include "scheduler/backends.h"
#include "scheduler/event_queue.h"
#include "scheduler/ledger.h"
#include "scheduler/prompt_sampler.h"
#include "scheduler/run_journal.h"
#include "scheduler/scheduler_config.h"
#include "scheduler/scheduler_state.h"

namespace seamless {

struct PromptDataset;  // scheduler/prompt_dataset.h
struct PromptRecord;

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

struct OrchestratorOptions {
  // Time of leases, the evaluation deadline, a failed worker's backoff, the lease checks and
  // step timing; nullptr: the real clock. Tests pass a fake one and move it past a lease.
  // Must outlive the orchestrator.
  const Clock* clock = nullptr;
};

class Orchestrator {
 public:
  Orchestrator(SchedulerConfig config, const PromptDataset* train, const PromptDataset* val,
               PromptEncoder encode, RolloutBackend* rollout, RewardBackend* reward,
               LearnerBackend* learner, OrchestratorOptions options = {});
  ~Orchestrator();

  // Called on the loop thread after every step, and once with step 0 for the evaluation
  // before training (val/accuracy only).
  void set_on_step(std::function<void(const StepReport&)> on_step) {
    on_step_ = std::move(on_step);
  }
  // Where the run's journal goes (scheduler/run_journal.h); optional, must outlive Run.
  void set_journal(RunJournal* journal) { journal_ = journal; }
  // Resume (before Run): the commit state of the learner's last step (or what SaveState
  // returned then). Its pending prompts are taken again, first, under their uids; the
  // ledger's totals count on from its.
  absl::Status RestoreState(const SchedulerState& state);
  SchedulerState SaveState() const;  // loop thread only (inside on_step), or before Run

  // Runs config.steps steps (from the restored step). Fails on a broken invariant, on a
  // "generated too many" batch, or when the learner fails.
  absl::Status Run();

  RunSnapshot Snapshot() const;
  const Ledger& ledger() const { return ledger_; }  // after Run returns

 private:
  // What a launch is for, as the loop knows it (never parsed back out of an id).
  struct LaunchKey {
    static LaunchKey Train(std::string uid);
    static LaunchKey Eval(int64_t step, int64_t record);
    bool eval = false;
    std::string uid;      // training: the ledger uid; eval: the group id "eval.<step>.<record>"
    int64_t record = -1;  // eval: index into the held-out data (training: in the ledger)
  };
  struct GroupRun {
    LaunchKey key;
    std::string group_id;
    int64_t record = 0;
    uint64_t launch_seq = 0;
    int worker = -1;
    int64_t version = 0;
    int64_t expected = 0, generated = 0, scored = 0;
    bool generation_done = false, reward_failed = false;
    std::vector<TrainSample> samples;     // index_in_group order once complete
    std::vector<RolloutSample> unscored;  // held back when rewards wait for the round
    int64_t tokens = 0;
  };

  // Launching one group (training or held-out).
  void Launch(const LaunchKey& key);
  std::optional<std::vector<int32_t>> EncodePrompt(const GroupRun& run);
  int ChooseWorker(bool eval) const;
  GroupRequest MakeRequest(GroupRun& run, std::vector<int32_t> prompt) const;
  bool RecordTrainLaunch(const GroupRun& run);
  void StartGeneration(GroupRun run, GroupRequest request);
  std::string NextPrompt();
  int PickWorker() const;

  // Events from the backends, on the loop thread.
  void OnSample(const std::string& group_id, RolloutSample sample);
  void OnGenerationDone(const std::string& group_id, absl::Status status);
  void ScoreSample(GroupRun& run, RolloutSample sample);
  void OnScored(const std::string& group_id, RolloutSample sample,
                absl::StatusOr<ScoreResult> result);
  void MaybeComplete(GroupRun& run);
  // Why a complete group is dropped ("" when it is valid); adds an all-pass one to the pool.
  std::string DropReason(const GroupRun& done, int64_t passed);
  // The oldest weight version any token of the group was generated with (max without any).
  static int64_t OldestTokenVersion(const GroupRun& run);
  void UpdateValidRate(bool valid);
  void ScoreHeldSamples();
  // A request the worker refused as invalid: dropped (training) or failed (held-out).
  void RefusedByWorker(const GroupRun& gone, const absl::Status& status);
  void Requeue(GroupRun& run, const std::string& reason);
  void CheckLeases();

  // One pass of the loop's decisions, in phases: drop what turned stale, launch, check the
  // generation cap, select a batch, terminate what was launched after it, start training.
  void Advance();
  bool DropStaleGroups();
  int64_t LaunchGroups();
  bool LaunchOne();
  bool CheckGenerationCap(int64_t in_flight);
  bool BatchReady(std::vector<uint64_t>* selected) const;
  void TerminateLaterLaunches(uint64_t last_selected);
  uint64_t TerminationCutoff(uint64_t last_selected) const;
  void StartTraining(const std::vector<uint64_t>& selected);
  // The state once the step whose batch holds `batch` (uids) commits.
  SchedulerState CommitState(const std::vector<std::string>& batch) const;
  std::vector<JournalSample> JournalSamples(const std::vector<TrainGroupData>& groups,
                                            const std::vector<std::string>& uids) const;
  // Ledger takes and drops, noted for the journal.
  std::string TakeNew(int64_t record, bool from_easy_pool, const std::string& uid);
  absl::Status DropPrompt(const std::string& uid, const std::string& reason);
  std::vector<TrainGroupData> TakeBatch(const std::vector<uint64_t>& selected,
                                        std::vector<std::string>* uids);
  // The learner's answer, back on the loop thread: account, report, evaluate.
  void OnTrained(const std::vector<std::string>& uids, double train_seconds,
                 absl::StatusOr<TrainResult> result);
  StepReport MakeStepReport(const TrainResult& result, double train_seconds) const;
  double Counter(const std::string& name) const;

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
  int64_t GenerationCap() const { return config_.max_launch_rounds * config_.batch_groups; }
  absl::Status Evaluate(int64_t step, double* accuracy);
  absl::Status EvaluateBeforeTraining();
  void StopInFlight();
  void Fail(absl::Status status);
  void PublishSnapshot(const std::string& state);

  SchedulerConfig config_;
  const PromptDataset* train_;
  const PromptDataset* val_;
  PromptEncoder encode_;
  RolloutBackend* rollout_;
  RewardBackend* reward_;
  LearnerBackend* learner_;
  const Clock* clock_;
  std::function<void(const StepReport&)> on_step_;
  RunJournal* journal_ = nullptr;

  // Loop-thread state.
  Ledger ledger_;
  PromptSampler sampler_;
  std::mt19937_64 rng_;
  std::deque<std::string> queue_;             // uids waiting for a launch (requeues first)
  std::vector<int64_t> easy_pool_;            // records whose group passed every sample
  std::map<std::string, GroupRun> inflight_;  // by group id
  std::map<uint64_t, GroupRun> valid_;        // complete valid groups, by launch order
  std::vector<int64_t> worker_load_;          // groups in flight per worker
  std::vector<Clock::TimePoint> worker_down_until_;
  uint64_t next_launch_seq_ = 1;
  int64_t step_ = 0, policy_version_ = 0, launched_this_step_ = 0, easy_takes_ = 0;
  double valid_rate_ = 0.5;           // recent share of complete groups that are valid
  std::deque<bool> recent_outcomes_;  // valid or not, last 64 completed groups
  bool training_ = false;             // a batch is with the learner
  absl::Status failure_;
  JournalEvents events_since_batch_;  // for the next step line of the journal
  // Per-step counters (reset after each step).
  std::map<std::string, double> counters_;
  Clock::TimePoint step_start_, run_start_;
  double generated_tokens_total_ = 0;

  // Evaluation results, gathered on the loop thread.
  int64_t eval_pending_ = 0, eval_passed_ = 0, eval_total_ = 0;
  std::deque<LaunchKey> eval_waiting_;  // held-out launches that found no live worker

  // Every post to the loop thread goes through this queue; callbacks hold it, not `this`.
  std::shared_ptr<EventQueue> events_ = std::make_shared<EventQueue>();

  mutable absl::Mutex snapshot_mu_;
  RunSnapshot snapshot_ ABSL_GUARDED_BY(snapshot_mu_);
  std::thread trainer_;
};

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_ORCHESTRATOR_H_
