// What the orchestrator needs from the other roles, as interfaces: the real implementations
// talk gRPC to separate processes (grpc_backends.h); tests and the pipeline benchmark's
// simulated mode use in-process fakes.
//
// All calls are non-blocking except LearnerBackend::Train (called on a thread of its own).
// Callbacks may run on any thread; the orchestrator turns them into events.
#ifndef SEAMLESS_SCHEDULER_BACKENDS_H_
#define SEAMLESS_SCHEDULER_BACKENDS_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rollout/rollout_types.h"

namespace seamless {

class RolloutBackend {
 public:
  virtual ~RolloutBackend() = default;
  virtual int num_workers() const = 0;
  // Generates `request` on worker `worker`: `on_sample` runs once per sample as it finishes,
  // then `on_done` once, with an error when the worker failed (the samples so far are void).
  virtual void Generate(int worker, GroupRequest request,
                        std::function<void(RolloutSample)> on_sample,
                        std::function<void(absl::Status)> on_done) = 0;
  // Sent to every worker.
  virtual void Abort(const AbortSpec& spec) = 0;
  // Text of generated ids (for rewards).
  virtual std::string Detokenize(const std::vector<int32_t>& ids) = 0;
  // Share of wall time the workers had nothing to generate, or -1 when unknown.
  virtual double IdleFraction() { return -1; }
};

struct ScoreJob {
  std::string request_id;
  std::string ability;  // "math" | "code"
  std::string response_text;
  std::string ground_truth;
  std::string extra_info_json;
};

struct ScoreResult {
  double reward = 0;
  bool passed = false;
  std::string detail;
};

class RewardBackend {
 public:
  virtual ~RewardBackend() = default;
  // Scores asynchronously, with deadlines and retries on other servers inside; `done` gets an
  // error only when every try failed.
  virtual void Score(ScoreJob job, std::function<void(absl::StatusOr<ScoreResult>)> done) = 0;
};

struct TrainSample {
  RolloutSample sample;
  ScoreResult score;
};
struct TrainGroupData {
  std::string group_id;
  std::vector<TrainSample> samples;
};
struct TrainResult {
  int64_t policy_version = 0;
  bool skipped = false;
  bool replayed = false;                  // the learner had trained it: its recorded answer
  std::map<std::string, double> metrics;  // verl names
};

// One step for the learner.
struct TrainCall {
  int64_t step = 0;  // steps committed before it
  std::vector<TrainGroupData> groups;
  // The scheduler's state once this step commits (SchedulerState JSON), kept by the learner
  // with the step (scheduler/run_journal.h, NOTE [step commit]).
  std::string commit_state;
};

class LearnerBackend {
 public:
  virtual ~LearnerBackend() = default;
  // Trains one step (blocking); returns the new policy version.
  virtual absl::StatusOr<TrainResult> Train(const TrainCall& call) = 0;
};

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_BACKENDS_H_
