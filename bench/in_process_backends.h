// The reward and learner roles in this process, behind the Orchestrator's backends (no gRPC):
// with EngineRollout (bench/engine_rollout.h) they run the distributed loop's code — the
// Orchestrator unmodified — on one machine, as `seamless bench recipe` does.
//
//   EngineReward    the reward role's core (RewardEngine: the math verifier, or code), called
//                   as the reward server calls it, the sample's ability choosing the kind.
//   TrainerLearner  the learner's GrpoTrainer on one rank; after each step the new weights
//                   go to the rollout engines (LoadWeights: swapped in between two decode
//                   steps), as the learner's publisher pushes them to the workers.
#ifndef SEAMLESS_BENCH_IN_PROCESS_BACKENDS_H_
#define SEAMLESS_BENCH_IN_PROCESS_BACKENDS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "learner/trainer.h"
#include "reward/reward_engine.h"
#include "rollout/rollout_engine.h"
#include "scheduler/backends.h"

namespace seamless {

class EngineReward : public RewardBackend {
 public:
  explicit EngineReward(const RewardEngine* engine) : engine_(engine) {}
  // Scores on the caller's thread (a math check takes microseconds), then calls `done`.
  void Score(ScoreJob job, std::function<void(absl::StatusOr<ScoreResult>)> done) override;

 private:
  const RewardEngine* engine_;
};

class TrainerLearner : public LearnerBackend {
 public:
  // `engines` receive each new version's weights; both must outlive this. Steps asked for at
  // or after `deadline` fail with CANCELLED (a time-limited run ends there).
  TrainerLearner(GrpoTrainer* trainer, std::vector<RolloutEngine*> engines,
                 std::chrono::steady_clock::time_point deadline =
                     std::chrono::steady_clock::time_point::max());
  absl::StatusOr<TrainResult> Train(const TrainCall& call) override;
  bool deadline_passed() const { return deadline_passed_.load(); }

 private:
  GrpoTrainer* trainer_;
  std::vector<RolloutEngine*> engines_;
  std::chrono::steady_clock::time_point deadline_;
  std::atomic<bool> deadline_passed_{false};
};

// The scored groups as the learner's batch (what the learner service builds from the stream).
RolloutBatch BatchOfGroups(int64_t step, const std::vector<TrainGroupData>& groups);

}  // namespace seamless

#endif  // SEAMLESS_BENCH_IN_PROCESS_BACKENDS_H_
