#include "learner/learner.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/base/config.h"
#include "core/base/log.h"
#include "core/base/mutex_handoff.h"
#include "core/base/status_macros.h"
#include "core/model/model_files.h"
#include "core/tensors/dtype.h"
#include "learner/checkpoint.h"
#include "learner/cursor_source.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

constexpr char kTrain = 'T', kPing = 'P', kStop = 'S', kCheckpoint = 'C', kExport = 'E';

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The file dtype that WireDType's spelling names (F32, BF16, F16).
DType WireTensorDType(WireDType dtype) {
  return ParseDType(EnumToString(dtype)).value_or(DType::kF32);
}

std::string TorchRngState() {
  const at::Generator& gen = at::detail::getDefaultCPUGenerator();
  at::Tensor state = gen.get_state();
  return std::string(static_cast<const char*>(state.data_ptr()), size_t(state.numel()));
}

void SetTorchRngState(const std::string& bytes) {
  if (bytes.empty()) return;
  at::Tensor state = at::empty({int64_t(bytes.size())}, at::kByte);
  std::memcpy(state.data_ptr(), bytes.data(), bytes.size());
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  gen.set_state(state);
}

// The trainer's step with LibTorch's exceptions as a Status: whatever escapes the trainer's
// own checks (an allocation that fails, a kernel's shape check) becomes an error that names
// the step, out of memory as RESOURCE_EXHAUSTED with what to change, never an UNKNOWN from
// gRPC or a crash.
absl::StatusOr<StepOutcome> GuardedStep(GrpoTrainer& trainer, const RolloutBatch& batch) {
  try {
    return trainer.Step(batch);
  } catch (const std::exception& e) {
    return TorchExceptionToStatus(e, absl::StrCat("training step ", trainer.step() + 1));
  }
}

// A step's answer as run_state.json keeps it, for a TrainStep replayed after a restart.
std::string OutcomeToJson(const StepOutcome& o) {
  return nlohmann::json{{"step", o.step},
                        {"policy_version", o.policy_version},
                        {"updates_applied", o.updates_applied},
                        {"updates_skipped", o.updates_skipped},
                        {"metrics", o.metrics}}
      .dump();
}

absl::StatusOr<StepOutcome> OutcomeFromJson(const std::string& text) {
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    StepOutcome o;
    o.step = j.at("step").get<int64_t>();
    o.policy_version = j.at("policy_version").get<int64_t>();
    o.updates_applied = j.at("updates_applied").get<int64_t>();
    o.updates_skipped = j.at("updates_skipped").get<int64_t>();
    o.metrics = j.at("metrics").get<std::map<std::string, double>>();
    return o;
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("the checkpoint's last step result: ", e.what()));
  }
}

}  // namespace

Learner::Learner(LearnerConfig config, Collective* collective,
                 std::map<std::string, std::string> extra_files)
    : config_(std::move(config)),
      collective_(collective),
      extra_files_(std::move(extra_files)),
      last_command_(std::chrono::steady_clock::now()),
      run_id_(config_.run_id) {}

Learner::~Learner() {
  {
    absl::MutexLock lock(&command_mu_);
    stopping_ = true;
  }
  if (pinger_.joinable()) pinger_.join();
}

absl::StatusOr<std::unique_ptr<Learner>> Learner::Create(
    MimoModel model, LearnerConfig config, Collective* collective,
    std::map<std::string, std::string> extra_files) {
  WeightPublisher::Options publish;
  publish.dtype = WireTensorDType(config.publish_dtype);
  for (absl::string_view w : absl::StrSplit(config.rollout_workers, ',', absl::SkipWhitespace())) {
    publish.workers.emplace_back(w);
  }
  std::unique_ptr<Learner> l(new Learner(config, collective, std::move(extra_files)));
  l->publish_dtype_ = publish.dtype;
  ASSIGN_OR_RETURN(l->trainer_, GrpoTrainer::Create(std::move(model), config.trainer, collective));
  l->publisher_ = std::make_unique<WeightPublisher>(std::move(publish));
  // Every rank resumes from the same files: sharded ranks each keep their own slices.
  const bool sharded = l->trainer_->sharding() != Sharding::kNone;
  if ((collective->rank() == 0 || sharded) && config.resume && !config.checkpoint_dir.empty()) {
    RETURN_IF_ERROR(l->Resume());
  }
  RETURN_IF_ERROR(l->trainer_->SyncFromRank0());
  if (collective->rank() == 0) {
    // Pulls (GetWeights, the catch-up of a worker that fell behind) stream the current version
    // straight from the parameters, under the command lock so that no step changes them
    // meanwhile; followers take part in the gathers through an export command.
    l->publisher_->SetSourceOpener([p = l.get()]() -> absl::StatusOr<VersionedSource> {
      MutexHandoffLock lock(&p->command_mu_);
      if (p->stopping_) return absl::UnavailableError("the learner is stopping");
      RETURN_IF_ERROR(p->SendCommand(kExport, ""));
      VersionedSource out;
      out.version = p->trainer_->policy_version();
      out.source = std::make_unique<CursorWeightSource>(p->trainer_->OpenWeights(),
                                                        p->publish_dtype_, lock.Handoff());
      return out;
    });
  }
  // Workers start from the initial model; a resumed version is pushed to them.
  const int64_t version = l->trainer_->policy_version();
  if (version > 0) {
    absl::MutexLock lock(&l->command_mu_);
    absl::Status pushed = l->PublishCurrent(version);
    if (!pushed.ok()) {
      SLOG(WARNING) << pushed.message();
    }
  } else if (collective->rank() == 0) {
    l->publisher_->SetVersion(0);
  }
  if (collective->rank() == 0 && collective->world_size() > 1) {
    l->pinger_ = std::thread([p = l.get()] { p->PingLoop(); });
  }
  return l;
}

absl::Status Learner::PublishCurrent(int64_t version) {
  if (collective_->rank() != 0) {
    // Followers only take part in the gathers.
    if (!trainer_->exports_need_all_ranks()) return absl::OkStatus();
    return trainer_->OpenWeights()->Drain();
  }
  CursorWeightSource source(trainer_->OpenWeights(), publish_dtype_);
  absl::Status published = publisher_->Publish(source, version);
  RETURN_IF_ERROR(source.Finish());
  return published;
}

absl::Status Learner::Resume() {
  ASSIGN_OR_RETURN(auto loaded, LoadLatestCheckpoint(config_.checkpoint_dir));
  if (!loaded.has_value()) return absl::OkStatus();
  RETURN_IF_ERROR(
      trainer_->ImportState(*loaded->weights, *loaded->optimizer, loaded->state.optimizer_step));
  trainer_->RestoreCounters(loaded->state.step, loaded->state.policy_version,
                            loaded->state.skipped_updates);
  SetTorchRngState(loaded->state.rng_state);
  {
    absl::MutexLock lock(&command_mu_);
    if (!config_.run_id.empty() && !loaded->state.run_id.empty() &&
        loaded->state.run_id != config_.run_id) {
      return absl::FailedPreconditionError(
          absl::StrCat(loaded->path, " is a checkpoint of run ", loaded->state.run_id,
                       "; this learner is configured for run ", config_.run_id));
    }
    if (!loaded->state.run_id.empty()) run_id_ = loaded->state.run_id;
    commit_state_ = loaded->state.commit_state;
    if (!loaded->state.last_result_json.empty()) {
      ASSIGN_OR_RETURN(last_outcome_, OutcomeFromJson(loaded->state.last_result_json));
    }
  }
  resumed_from_ = loaded->path;
  SLOG(INFO) << "resumed from " << loaded->path << " (step " << loaded->state.step
             << ", policy version " << loaded->state.policy_version << ")";
  return absl::OkStatus();
}

absl::Status Learner::SendCommand(char kind, std::string payload) {
  last_command_ = std::chrono::steady_clock::now();
  if (collective_->world_size() == 1) return absl::OkStatus();
  std::string message(1, kind);
  message += payload;
  return BroadcastBytes(*collective_, &message, 0);
}

void Learner::PingLoop() {
  const auto period = std::chrono::duration<double>(
      std::max(0.5, std::min(60.0, config_.collective_timeout_s / 4)));
  absl::MutexLock lock(&command_mu_);
  while (!stopping_) {
    command_mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Seconds(period.count()));
    if (stopping_) break;
    if (std::chrono::steady_clock::now() - last_command_ >= period) {
      absl::Status s = SendCommand(kPing, "");
      if (!s.ok()) {
        SLOG(WARNING) << "pinging the followers: " << s.message();
      }
    }
  }
}

absl::StatusOr<bool> Learner::IsReplay(const RolloutBatch& batch) {
  if (!run_id_.empty() && !batch.run_id.empty() && batch.run_id != run_id_) {
    return absl::FailedPreconditionError(absl::StrCat("this learner trains run ", run_id_,
                                                      "; the batch is of run ", batch.run_id,
                                                      " (two runs driving one learner?)"));
  }
  const int64_t done = trainer_->step();
  if (batch.step == done) return false;
  if (last_outcome_.has_value() && last_outcome_->step == done && batch.step + 1 == done) {
    return true;  // its answer was lost on the way: the same answer again
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "step ", batch.step, " does not follow this learner's ", done, " trained steps (",
      batch.step < done ? "it was trained already" : "the steps between were never trained",
      "): resume the scheduler from the learner's state (GetRunState)"));
}

absl::StatusOr<StepOutcome> Learner::TrainStep(const RolloutBatch& batch, bool* replayed) {
  absl::MutexLock lock(&command_mu_);
  if (stopping_) return absl::FailedPreconditionError("the learner is stopping");
  ASSIGN_OR_RETURN(const bool replay, IsReplay(batch));
  if (replayed) *replayed = replay;
  if (replay) {
    SLOG(INFO) << "step " << batch.step << " sent again: answered from its record";
    return *last_outcome_;
  }
  if (collective_->world_size() > 1) {
    RETURN_IF_ERROR(SendCommand(kTrain, BatchToProto(batch).SerializeAsString()));
  }
  ASSIGN_OR_RETURN(StepOutcome out, GuardedStep(*trainer_, batch));
  // Kept with the step's checkpoint (AfterStep writes it).
  if (!batch.run_id.empty()) run_id_ = batch.run_id;
  commit_state_ = batch.commit_state;
  last_outcome_ = out;
  absl::Status after;
  try {  // publishing and the checkpoint may throw (LibTorch, allocation)
    after = AfterStep(out, &out);
  } catch (const std::exception& e) {
    after = TorchExceptionToStatus(e, absl::StrCat("after training step ", out.step));
  }
  if (!after.ok()) {
    last_outcome_.reset();  // trained but not completed: no answer to replay
    return after;
  }
  last_outcome_ = out;
  last_command_ = std::chrono::steady_clock::now();
  return out;
}

Learner::RunState Learner::run_state() {
  absl::MutexLock lock(&command_mu_);
  RunState state;
  state.run_id = run_id_;
  state.step = trainer_->step();
  state.policy_version = trainer_->policy_version();
  state.commit_state = commit_state_;
  if (last_outcome_.has_value()) state.last_metrics = last_outcome_->metrics;
  return state;
}

absl::Status Learner::AfterStep(const StepOutcome& outcome, StepOutcome* metrics_out) {
  if (outcome.updates_applied > 0) {
    absl::Status published = PublishCurrent(outcome.policy_version);
    const PublishStats stats = publisher_->last_stats();
    metrics_out->metrics["timing_s/publish_weights"] = stats.export_s + stats.push_s;
    if (!published.ok()) {
      SLOG(WARNING) << published.message();
    }
  }
  if (checkpoint_due(outcome.step)) {
    ASSIGN_OR_RETURN(std::string path, WriteCheckpoint(""));
    metrics_out->metrics["timing_s/save_checkpoint"] = last_checkpoint_s_;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Learner::SaveCheckpointNow(const std::string& dir) {
  absl::MutexLock lock(&command_mu_);
  if (stopping_) return absl::FailedPreconditionError("the learner is stopping");
  RETURN_IF_ERROR(SendCommand(kCheckpoint, ""));
  return WriteCheckpoint(dir);
}

absl::StatusOr<std::string> Learner::WriteCheckpoint(const std::string& dir) {
  if (collective_->rank() != 0) {
    if (!trainer_->exports_need_all_ranks()) return std::string();
    RETURN_IF_ERROR(trainer_->OpenWeights()->Drain());
    RETURN_IF_ERROR(trainer_->OpenOptimizerState()->Drain());
    return std::string();
  }
  const std::string root = dir.empty() ? config_.checkpoint_dir : dir;
  // Both cursors are drained whatever happens: under full sharding the followers gather too.
  std::unique_ptr<TensorCursor> weights = trainer_->OpenWeights();
  std::unique_ptr<TensorCursor> optimizer = trainer_->OpenOptimizerState();
  auto finish = [&](absl::Status s) {
    absl::Status a = weights->Drain(), b = optimizer->Drain();
    return s.ok() ? (a.ok() ? b : a) : s;
  };
  if (root.empty()) {
    return finish(absl::FailedPreconditionError("no checkpoint directory (set checkpoint_dir)"));
  }
  const auto start = std::chrono::steady_clock::now();
  CheckpointState state;
  state.step = trainer_->step();
  state.policy_version = trainer_->policy_version();
  state.skipped_updates = trainer_->skipped_updates_total();
  state.optimizer_step = trainer_->optimizer_step();
  state.rng_state = TorchRngState();
  state.config_yaml = ConfigToYaml(config_);
  state.run_id = run_id_;
  state.commit_state = commit_state_;
  if (last_outcome_.has_value()) state.last_result_json = OutcomeToJson(*last_outcome_);
  auto streamed = [](TensorCursor& cursor) {
    StreamedTensors out;
    out.entries = cursor.entries();
    out.fill = [&cursor](const TensorEntry& e, const ByteSink& sink) -> absl::Status {
      return cursor.NextInPieces([&](const at::Tensor& piece) {
        at::Tensor f32 = piece.to(at::kFloat).contiguous();
        return sink(static_cast<const char*>(f32.data_ptr()), f32.nbytes());
      });
    };
    return out;
  };
  auto path = SaveCheckpoint(root, trainer_->model()->config(), streamed(*weights),
                             streamed(*optimizer), state, config_.keep_checkpoints, extra_files_);
  RETURN_IF_ERROR(finish(path.status()));
  last_checkpoint_s_ = SecondsSince(start);
  SLOG(INFO) << "checkpoint " << *path << " written in " << last_checkpoint_s_ << " s";
  return *path;
}

absl::Status Learner::StopFollowers() {
  absl::MutexLock lock(&command_mu_);
  if (stopping_) return absl::OkStatus();
  stopping_ = true;
  return SendCommand(kStop, "");
}

absl::Status Learner::Follow() {
  if (collective_->rank() == 0) return absl::FailedPreconditionError("rank 0 leads");
  while (true) {
    std::string message;
    RETURN_IF_ERROR(BroadcastBytes(*collective_, &message, 0));
    if (message.empty()) return absl::InternalError("empty command from the leader");
    switch (message[0]) {
      case kPing:
        break;
      case kStop:
        return absl::OkStatus();
      case kCheckpoint: {
        absl::MutexLock lock(&command_mu_);  // uncontended on a follower; guards the run state
        RETURN_IF_ERROR(WriteCheckpoint("").status());
        break;
      }
      case kExport:
        if (trainer_->exports_need_all_ranks()) RETURN_IF_ERROR(trainer_->OpenWeights()->Drain());
        break;
      case kTrain: {
        TrainBatchPart part;
        if (!part.ParseFromArray(message.data() + 1, int(message.size() - 1))) {
          return absl::DataLossError("unreadable batch from the leader");
        }
        // A batch the trainer rejects is rejected on every rank alike; keep following.
        auto outcome = GuardedStep(*trainer_, BatchFromProto({part}));
        if (!outcome.ok()) {
          SLOG(WARNING) << "rank " << collective_->rank() << ": " << outcome.status().message();
          break;
        }
        StepOutcome ignored;
        absl::MutexLock lock(&command_mu_);
        RETURN_IF_ERROR(AfterStep(*outcome, &ignored));
        break;
      }
      default:
        return absl::InternalError(absl::StrCat("unknown command byte ", int(message[0])));
    }
  }
}

}  // namespace seamless
