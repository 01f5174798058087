#include "bench/in_process_backends.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/tensors/dtype.h"

namespace seamless {

void EngineReward::Score(ScoreJob job, std::function<void(absl::StatusOr<ScoreResult>)> done) {
  RewardTask task;
  task.kind = job.ability == "code" ? TaskKind::kCode : TaskKind::kMath;
  task.response = std::move(job.response_text);
  task.ground_truth = std::move(job.ground_truth);
  task.options_json = std::move(job.extra_info_json);
  absl::StatusOr<RewardResult> scored = engine_->Score(task);
  if (!scored.ok()) return done(Annotate(scored.status(), job.request_id));
  ScoreResult r;
  r.reward = scored->reward;
  r.passed = scored->passed;
  r.detail = std::move(scored->detail);
  done(std::move(r));
}

RolloutBatch BatchOfGroups(int64_t step, const std::vector<TrainGroupData>& groups) {
  RolloutBatch batch;
  batch.step = step;
  for (const TrainGroupData& g : groups) {
    RolloutGroup group;
    group.group_id = g.group_id;
    for (const TrainSample& t : g.samples) {
      RolloutSequence seq;
      seq.prompt_ids = t.sample.prompt;
      seq.response_ids = t.sample.tokens;
      seq.behaviour_logprobs = t.sample.logprobs;
      seq.reward = t.score.reward;
      group.sequences.push_back(std::move(seq));
    }
    batch.groups.push_back(std::move(group));
  }
  return batch;
}

TrainerLearner::TrainerLearner(GrpoTrainer* trainer, std::vector<RolloutEngine*> engines,
                               std::chrono::steady_clock::time_point deadline)
    : trainer_(trainer), engines_(std::move(engines)), deadline_(deadline) {}

absl::StatusOr<TrainResult> TrainerLearner::Train(const TrainCall& call) {
  const int64_t step = call.step;
  const std::vector<TrainGroupData>& groups = call.groups;
  if (std::chrono::steady_clock::now() >= deadline_) {
    deadline_passed_ = true;
    return absl::CancelledError(absl::StrCat("the time limit passed before step ", step));
  }
  ASSIGN_OR_RETURN(StepOutcome out, trainer_->Step(BatchOfGroups(step, groups)));
  ASSIGN_OR_RETURN(RawTensorMap weights, trainer_->ExportWeights(DType::kF32));
  // A copy for every engine but the last, which takes the map itself.
  for (size_t i = 0; i + 1 < engines_.size(); ++i) {
    RETURN_IF_ERROR(engines_[i]->LoadWeightsAndWait(weights, out.policy_version));
  }
  if (!engines_.empty()) {
    RETURN_IF_ERROR(engines_.back()->LoadWeightsAndWait(std::move(weights), out.policy_version));
  }
  TrainResult r;
  r.policy_version = out.policy_version;
  r.skipped = out.updates_applied == 0;
  r.metrics = std::move(out.metrics);
  return r;
}

}  // namespace seamless
