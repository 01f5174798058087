#include "learner/learner_service.h"

#include <vector>

#include "core/service/grpc_status.h"
#include "core/tensors/weight_stream.h"

namespace seamless {

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
  auto outcome = learner_->TrainStep(BatchFromProto(parts));
  if (!outcome.ok()) return ToGrpcStatus(outcome.status());
  result->set_step(outcome->step);
  result->set_policy_version(outcome->policy_version);
  result->set_skipped(outcome->updates_applied == 0);
  for (const auto& [name, value] : outcome->metrics) (*result->mutable_metrics())[name] = value;
  if (on_step_) on_step_(*outcome);
  return grpc::Status::OK;
}

grpc::Status LearnerServiceImpl::GetWeights(grpc::ServerContext* context,
                                            const GetWeightsRequest* request,
                                            grpc::ServerWriter<WeightsMessage>* writer) {
  auto found = learner_->publisher().WaitForVersion(request->min_version(), get_weights_timeout_s_);
  if (!found.ok()) return ToGrpcStatus(found.status());
  absl::Status sent = StreamWeights(*found->first, found->second, [&](const WeightsMessage& m) {
    if (context->IsCancelled() || !writer->Write(m)) {
      return absl::CancelledError("the client went away");
    }
    return absl::OkStatus();
  });
  return ToGrpcStatus(sent);
}

grpc::Status LearnerServiceImpl::Checkpoint(grpc::ServerContext* context,
                                            const CheckpointRequest* request,
                                            CheckpointResponse* response) {
  auto path = learner_->SaveCheckpointNow(request->directory());
  if (!path.ok()) return ToGrpcStatus(path.status());
  response->set_path(*path);
  response->set_step(learner_->trainer().step());
  return grpc::Status::OK;
}

}  // namespace seamless
