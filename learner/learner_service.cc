#include "learner/learner_service.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/base/log.h"
#include "core/service/grpc_status.h"
#include "core/tensors/weight_stream.h"
#include "learner/checkpoint_location.h"

namespace seamless {
namespace {

// Cancels `context` once `timeout_s` pass without Progress().
class StallWatchdog {
 public:
  StallWatchdog(grpc::ServerContext* context, double timeout_s)
      : context_(context),
        timeout_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(timeout_s))),
        last_(std::chrono::steady_clock::now()),
        thread_([this] { Run(); }) {}
  ~StallWatchdog() {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    thread_.join();
  }
  void Progress() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    last_ = std::chrono::steady_clock::now();
  }
  bool fired() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return fired_;
  }

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    while (!done_) {
      const auto deadline = last_ + timeout_;
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        fired_ = true;
        context_->TryCancel();
        return;
      }
      mu_.AwaitWithTimeout(absl::Condition(&done_), absl::FromChrono(deadline - now));
    }
  }

  grpc::ServerContext* context_;
  const std::chrono::steady_clock::duration timeout_;
  absl::Mutex mu_;
  std::chrono::steady_clock::time_point last_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool fired_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts after the fields
};

}  // namespace

LearnerServiceImpl::LearnerServiceImpl(Learner* learner,
                                       std::function<void(const StepOutcome&)> on_step,
                                       double get_weights_timeout_s)
    : learner_(learner),
      on_step_(std::move(on_step)),
      get_weights_timeout_s_(get_weights_timeout_s) {}

grpc::Status LearnerServiceImpl::TrainStep(grpc::ServerContext* context,
                                           grpc::ServerReader<TrainBatchPart>* reader,
                                           TrainStepResult* result) {
  std::vector<TrainBatchPart> parts;
  TrainBatchPart part;
  bool last = false;
  while (reader->Read(&part)) {
    last = part.last();
    parts.push_back(std::move(part));
    part.Clear();
  }
  if (!last) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the batch stream ended without a part marked last");
  }
  // Nothing may escape into gRPC's thread (it would end the process, unlogged): an exception
  // from the step, its publishing, its checkpoint or on_step becomes a logged error.
  absl::Status status;
  try {
    status = Train(parts, result);
  } catch (const std::exception& e) {
    status = absl::InternalError(absl::StrCat("training step threw: ", e.what()));
  } catch (...) {
    status = absl::InternalError("training step threw a non-standard exception");
  }
  if (!status.ok()) SLOG(ERROR) << "TrainStep failed: " << status.message();
  return ToGrpcStatus(status);
}

absl::Status LearnerServiceImpl::Train(const std::vector<TrainBatchPart>& parts,
                                       TrainStepResult* result) {
  bool replayed = false;
  auto outcome = learner_->TrainStep(BatchFromProto(parts), &replayed);
  if (!outcome.ok()) return outcome.status();
  result->set_step(outcome->step);
  result->set_policy_version(outcome->policy_version);
  result->set_skipped(outcome->updates_applied == 0);
  result->set_replayed(replayed);
  for (const auto& [name, value] : outcome->metrics) (*result->mutable_metrics())[name] = value;
  if (on_step_ && !replayed) on_step_(*outcome);  // each step's metrics once
  return absl::OkStatus();
}

grpc::Status LearnerServiceImpl::GetWeights(grpc::ServerContext* context,
                                            const GetWeightsRequest* request,
                                            grpc::ServerWriter<WeightsMessage>* writer) {
  WeightPublisher& publisher = learner_->publisher();
  // The client's own deadline, if sooner, and its cancelling end the wait: an abandoned call
  // must not hold a server thread for get_weights_timeout_s.
  const double client_s =
      std::chrono::duration<double>(context->deadline() - std::chrono::system_clock::now()).count();
  auto found = publisher.WaitForVersion(request->min_version(),
                                        std::max(0.0, std::min(get_weights_timeout_s_, client_s)),
                                        [context] { return context->IsCancelled(); });
  if (!found.ok()) return ToGrpcStatus(found.status());
  // The source holds the parameters (the learner's lock) while it lives: a client that stops
  // reading is cancelled after stall_timeout_s without a written message, like a pushed
  // worker, so it cannot hold training up for longer.
  StallWatchdog watchdog(context, publisher.options().stall_timeout_s);
  absl::Status sent =
      StreamWeights(*found->source, found->version, [&](WeightsMessage&& m) -> absl::Status {
        if (context->IsCancelled() || !writer->Write(m)) {
          return absl::CancelledError(watchdog.fired() ? "the client stopped reading"
                                                       : "the client went away");
        }
        watchdog.Progress();
        return absl::OkStatus();
      });
  found->source.reset();  // releases the parameters before the last round trip
  return ToGrpcStatus(sent);
}

grpc::Status LearnerServiceImpl::Checkpoint(grpc::ServerContext* context,
                                            const CheckpointRequest* request,
                                            CheckpointResponse* response) {
  // A client names a directory under checkpoint_dir, never an arbitrary path.
  auto dir = ConfineCheckpointDir(learner_->config().checkpoint_dir, request->directory());
  if (!dir.ok()) return ToGrpcStatus(dir.status());
  auto path = learner_->SaveCheckpointNow(*dir);
  if (!path.ok()) return ToGrpcStatus(path.status());
  response->set_path(*path);
  response->set_step(learner_->trainer().step());
  return grpc::Status::OK;
}

grpc::Status LearnerServiceImpl::GetRunState(grpc::ServerContext* context,
                                             const RunStateRequest* request, RunState* response) {
  const Learner::RunState state = learner_->run_state();
  response->set_run_id(state.run_id);
  response->set_step(state.step);
  response->set_policy_version(state.policy_version);
  response->set_commit_state(state.commit_state);
  for (const auto& [name, value] : state.last_metrics) {
    (*response->mutable_last_metrics())[name] = value;
  }
  return grpc::Status::OK;
}

}  // namespace seamless
