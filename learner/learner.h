// One learner rank: the GRPO trainer plus what surrounds it — resume, checkpoints, weight
// publishing and the coordination of ranks.
//
// Rank 0 is the leader: the scheduler talks to it only (LearnerService). For each command
// (train a batch, checkpoint, export weights for a pull, stop) the leader broadcasts the
// command and its payload over the collective, then every rank runs it in lock step; ranks > 0
// sit in Follow(). Rank 0 alone writes checkpoints and publishes weights; under full sharding
// every rank takes part in gathering them (one group at a time, streamed: no rank ever holds
// a whole copy). While idle, the leader pings the followers so that their waiting broadcast
// never reaches the collective timeout.
#ifndef SEAMLESS_LEARNER_LEARNER_H_
#define SEAMLESS_LEARNER_LEARNER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/model/mimo_model.h"
#include "core/tensors/dtype.h"
#include "learner/collective.h"
#include "learner/learner_config.h"
#include "learner/rollout_batch.h"
#include "learner/trainer.h"
#include "learner/weight_publisher.h"

namespace seamless {

class Learner {
 public:
  // `collective` must outlive the learner. `extra_files` (tokenizer files) are written into
  // every checkpoint so that it is a complete model directory. Rank 0 resumes from
  // config.checkpoint_dir if asked and there is a checkpoint; then every rank takes rank 0's
  // state.
  static absl::StatusOr<std::unique_ptr<Learner>> Create(
      MimoModel model, LearnerConfig config, Collective* collective,
      std::map<std::string, std::string> extra_files = {});
  ~Learner();

  // Leader only. Trains one batch on every rank, publishes the new version, checkpoints
  // every config.checkpoint_every steps. Each step is applied once: batch.step must be the
  // number of steps trained so far; the last step sent again is answered from its record
  // (`replayed`), without training; any other step, or a batch of another run
  // (batch.run_id against config.run_id), is FAILED_PRECONDITION. batch.commit_state is kept
  // with the step and its checkpoint (run_state()).
  absl::StatusOr<StepOutcome> TrainStep(const RolloutBatch& batch, bool* replayed = nullptr);
  // What a resuming scheduler continues from: the run id, the steps trained and the
  // commit_state of the last of them.
  struct RunState {
    std::string run_id;
    int64_t step = 0;
    int64_t policy_version = 0;
    std::string commit_state;
    std::map<std::string, double> last_metrics;  // of the last step trained
  };
  RunState run_state() ABSL_LOCKS_EXCLUDED(command_mu_);
  // Leader only. Writes a checkpoint into `dir` (empty: config.checkpoint_dir).
  absl::StatusOr<std::string> SaveCheckpointNow(const std::string& dir);
  // Leader only. Releases the followers from Follow().
  absl::Status StopFollowers();

  // Ranks > 0: runs the leader's commands until it stops.
  absl::Status Follow();

  GrpoTrainer& trainer() { return *trainer_; }
  WeightPublisher& publisher() { return *publisher_; }
  const LearnerConfig& config() const { return config_; }
  // Where the run resumed from ("" for a fresh start).
  const std::string& resumed_from() const { return resumed_from_; }
  double last_checkpoint_s() const { return last_checkpoint_s_; }

 private:
  Learner(LearnerConfig config, Collective* collective,
          std::map<std::string, std::string> extra_files);
  absl::Status Resume();
  absl::Status SendCommand(char kind, std::string payload)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(command_mu_);
  // Publishing and checkpointing after a step, run by every rank in the same order (the
  // followers only take part in the gathers). Caller holds command_mu_ on the leader.
  absl::Status AfterStep(const StepOutcome& outcome, StepOutcome* metrics_out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(command_mu_);
  absl::Status PublishCurrent(int64_t version);
  absl::StatusOr<std::string> WriteCheckpoint(const std::string& root)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(command_mu_);
  bool checkpoint_due(int64_t step) const {
    return config_.checkpoint_every > 0 && !config_.checkpoint_dir.empty() &&
           step % config_.checkpoint_every == 0;
  }
  void PingLoop() ABSL_LOCKS_EXCLUDED(command_mu_);
  // The step check of TrainStep: OK to train, a recorded answer to replay, or the refusal.
  absl::StatusOr<bool> IsReplay(const RolloutBatch& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(command_mu_);

  LearnerConfig config_;
  Collective* collective_;
  std::map<std::string, std::string> extra_files_;
  std::unique_ptr<GrpoTrainer> trainer_;
  std::unique_ptr<WeightPublisher> publisher_;
  DType publish_dtype_ = DType::kF32;
  std::string resumed_from_;
  double last_checkpoint_s_ = 0;

  absl::Mutex command_mu_;  // one command at a time on the collective
  bool stopping_ ABSL_GUARDED_BY(command_mu_) = false;
  std::chrono::steady_clock::time_point last_command_ ABSL_GUARDED_BY(command_mu_);
  // The run as the scheduler drives it (restored from the checkpoint on resume).
  std::string run_id_ ABSL_GUARDED_BY(command_mu_);
  std::string commit_state_ ABSL_GUARDED_BY(command_mu_);
  std::optional<StepOutcome> last_outcome_ ABSL_GUARDED_BY(command_mu_);  // for a replay
  std::thread pinger_;
};

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_LEARNER_H_
