// The pipeline benchmark's workload and harness (`seamless bench pipeline`, MiMo's Table 2):
// one Orchestrator, four SchedulerConfigs (naive dynamic sampling, + continuous rollout,
// + asynchronous reward, + early termination), and the same workload under each:
//
//   prompts    a pass probability each (some 0, some 1, the rest mixed, so dynamic sampling
//              drops some groups) and an answer length each (most short, a few long_factor x
//              longer); both are fixed per prompt, so every configuration sees the same data;
//   reward     a code sandbox stand-in: each sample occupies one of `slots` sandboxes for a
//              long-tailed time, then passes when a hash of its request id is below the
//              prompt's pass probability (so a re-launch draws new verdicts);
//   learner    sleeps a fixed time per step.
//
// The rollout side is either real RolloutEngines (bench/bench_pipeline.cc) or, here,
// SimulatedRollout: virtual workers with decode slots whose samples take length x token time.
// Every duration is real (steady-clock) time: the Orchestrator runs unmodified on its own
// clock, so the simulation scales a cluster's durations down instead of replacing the clock.
#ifndef SEAMLESS_BENCH_PIPELINE_SIM_H_
#define SEAMLESS_BENCH_PIPELINE_SIM_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "scheduler/backends.h"
#include "scheduler/orchestrator.h"
#include "scheduler/prompt_dataset.h"
#include "scheduler/scheduler_config.h"

namespace seamless {

struct PipelineWorkload {
  int64_t prompts = 2048;
  double hard_share = 0.25;                 // pass probability 0 (every group is dropped)
  double easy_share = 0.15;                 // pass probability 1 (dropped, goes to the easy pool)
  double min_pass = 0.15, max_pass = 0.85;  // the others: uniform in this range
  int64_t short_tokens = 16;                // answer length of most prompts
  int64_t long_factor = 8;                  // long answers are this many times longer
  double long_share = 0.1;                  // share of prompts with a long answer
  double reward_min_ms = 20;                // a sample's sandbox time: uniform in [min, max] ms ...
  double reward_max_ms = 80;
  double reward_tail_share = 0.05;  // ... and this share of samples takes 4x longer
  int64_t reward_slots = 8;         // sandboxes running at once
  double train_ms = 200;            // the learner's step time
  uint64_t seed = 1;
};

// The prompt data: record i's ground_truth is its pass probability; answer lengths by record.
PromptDataset MakePipelineDataset(const PipelineWorkload& w);
std::vector<int64_t> PipelineAnswerLengths(const PipelineWorkload& w);
// Record index of a launched group ("<kind><n>.<record>#<launch>"), or -1.
int64_t PipelineRecordOfGroup(const std::string& group_id);

// One thread running callbacks at steady-clock deadlines (the simulations' clock).
class TimerLoop {
 public:
  using Clock = std::chrono::steady_clock;
  TimerLoop();
  ~TimerLoop();
  void At(Clock::time_point due, std::function<void()> fn);

 private:
  struct Event {
    Clock::time_point due;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Event& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };
  void Run();
  absl::Mutex mu_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_ ABSL_GUARDED_BY(mu_);
  uint64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;  // an earlier event, or the stop: Run looks again
  std::thread thread_;
};

// Sandboxes: `reward_slots` at once, FIFO.
class SleepReward : public RewardBackend {
 public:
  explicit SleepReward(const PipelineWorkload& w);
  ~SleepReward() override;
  void Score(ScoreJob job, std::function<void(absl::StatusOr<ScoreResult>)> done) override;
  double busy_seconds() const;  // sandbox-seconds used (real time)

 private:
  struct Job {
    ScoreJob job;
    std::function<void(absl::StatusOr<ScoreResult>)> done;
  };
  void StartLocked(Job job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Finish(Job job);
  PipelineWorkload w_;
  mutable absl::Mutex mu_;
  int64_t free_ ABSL_GUARDED_BY(mu_) = 0;
  std::queue<Job> waiting_ ABSL_GUARDED_BY(mu_);
  double busy_seconds_ ABSL_GUARDED_BY(mu_) = 0;
  TimerLoop timer_;  // last: its thread stops before the state it touches goes
};

class SleepLearner : public LearnerBackend {
 public:
  explicit SleepLearner(double seconds) : seconds_(seconds) {}
  absl::StatusOr<TrainResult> Train(const TrainCall& call) override;
  int64_t trained_ids() const;  // token ids in trained samples

 private:
  double seconds_;
  mutable absl::Mutex mu_;
  int64_t trained_ids_ ABSL_GUARDED_BY(mu_) = 0;
};

// What the harness needs besides RolloutBackend: the decode-slot occupancy integral.
class SlotMeter {
 public:
  virtual ~SlotMeter() = default;
  virtual int64_t total_slots() const = 0;
  virtual double busy_slot_seconds() = 0;  // integral of occupied slots over time, so far
  virtual int64_t samples_returned() = 0;  // samples delivered (finished or aborted), so far
  virtual int64_t tokens_per_id() const { return 1; }  // see SimulatedRollout
};

// Virtual workers: each has `slots` decode slots and a FIFO of waiting samples; a sample holds
// a slot for length x token_seconds (decode time per token is taken as independent of the
// batch, as on a memory-bound accelerator). Abort frees slots at once and returns the tokens
// made so far. To keep memory small, a sample carries one token id per `tokens_per_id`
// workload tokens (the benchmark multiplies counts back).
class SimulatedRollout : public RolloutBackend, public SlotMeter {
 public:
  SimulatedRollout(int workers, int slots, std::vector<int64_t> lengths, double token_seconds,
                   int64_t tokens_per_id);
  ~SimulatedRollout() override;
  int num_workers() const override { return num_workers_; }
  void Generate(int worker, GroupRequest request, std::function<void(RolloutSample)> on_sample,
                std::function<void(absl::Status)> on_done) override;
  void Abort(const AbortSpec& spec) override;
  std::string Detokenize(const std::vector<int32_t>& ids) override { return ""; }
  int64_t total_slots() const override { return total_slots_; }
  double busy_slot_seconds() override;
  int64_t samples_returned() override;
  int64_t tokens_per_id() const override { return tokens_per_id_; }

 private:
  struct Group {
    GroupRequest request;
    int64_t length = 0;
    int32_t returned = 0;
    std::function<void(RolloutSample)> on_sample;
    std::function<void(absl::Status)> on_done;
  };
  struct Running {
    std::shared_ptr<Group> group;
    int32_t index = 0;
    TimerLoop::Clock::time_point start;
    int worker = 0;
  };
  struct Worker {
    int free = 0;
    std::deque<std::pair<std::shared_ptr<Group>, int32_t>> waiting;
  };
  void AdmitLocked(int worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(uint64_t id, bool aborted) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AccountLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  RolloutSample MakeSample(const Group& g, int32_t index, int64_t tokens, Finish finish) const;

  std::vector<int64_t> lengths_;
  double token_seconds_;
  int64_t tokens_per_id_;
  int64_t total_slots_ = 0;
  int num_workers_ = 0;
  absl::Mutex mu_;
  std::vector<Worker> workers_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Running> running_ ABSL_GUARDED_BY(mu_);  // by serial
  uint64_t next_serial_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t busy_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t returned_ ABSL_GUARDED_BY(mu_) = 0;
  double busy_slot_seconds_ ABSL_GUARDED_BY(mu_) = 0;
  TimerLoop::Clock::time_point last_change_ ABSL_GUARDED_BY(mu_);
  TimerLoop timer_;  // last: its thread stops first
};

// Figures of one configuration, over the steps after the warm-up.
struct PipelineResult {
  std::string name;
  int64_t steps = 0;
  double step_seconds = 0;  // mean wall time per measured step
  double idle_share = 0;    // 1 - occupied slot-seconds / (slots x wall)
  double generated_tokens = 0;
  double trained_tokens = 0;
  double aborted_tokens = 0;  // the orchestrator's rollout/wasted_tokens
  double dropped_groups = 0;  // dynamic sampling (pass rate 0 or 1) and staleness
  double launched_groups = 0;
  double early_terminated_groups = 0;
  double generated_samples = 0;
  double scheduler_cpu_seconds = 0;  // CPU time of the orchestrator's thread, whole run
  double scheduler_us_per_sample = 0;
  double reward_busy_share = 0;  // sandbox-seconds used / (slots x wall)
};

// The four configurations of Table 2, then Seamless's fifth: + next-batch lookahead (see
// SchedulerConfig::lookahead_batches: base's, at least 1; max_staleness raised to one more).
// Rows 1-4 have no lookahead. From `base`, whose other fields are kept.
std::vector<std::pair<std::string, SchedulerConfig>> Table2Configs(const SchedulerConfig& base);

// Runs `config` (config.steps steps; the first `warmup_steps` are not measured).
absl::StatusOr<PipelineResult> RunPipeline(const std::string& name, SchedulerConfig config,
                                           const PromptDataset& data, PromptEncoder encode,
                                           RolloutBackend* rollout, SlotMeter* meter,
                                           SleepReward* reward, int64_t reward_slots,
                                           SleepLearner* learner, int64_t warmup_steps);

// A whole simulated table: fresh backends per configuration.
struct SimulationOptions {
  int workers = 256;
  int slots = 16;        // decode slots per worker
  double token_us = 40;  // real microseconds per generated token
  int64_t tokens_per_id = 16;
  int64_t warmup_steps = 1;
};
absl::StatusOr<std::vector<PipelineResult>> RunSimulatedTable(const PipelineWorkload& w,
                                                              const SchedulerConfig& base,
                                                              const SimulationOptions& sim);

}  // namespace seamless

#endif  // SEAMLESS_BENCH_PIPELINE_SIM_H_
