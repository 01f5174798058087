// LearnerService (proto/learner.proto) over a rank-0 Learner: TrainStep assembles the streamed
// batch and trains it, GetWeights streams the current version once it is >= min_version (from
// the publisher's source: the parameters themselves, no kept copy; a client that cancels or
// whose deadline passes frees its thread at once), Checkpoint saves into checkpoint_dir or a
// directory under it (ConfineCheckpointDir; anything else is INVALID_ARGUMENT).
#ifndef SEAMLESS_LEARNER_LEARNER_SERVICE_H_
#define SEAMLESS_LEARNER_LEARNER_SERVICE_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "learner/learner.h"
#include "proto/learner.grpc.pb.h"

namespace seamless {

class LearnerServiceImpl final : public LearnerService::Service {
 public:
  // `learner` must outlive the service. `on_step` (optional) sees each step's outcome (the
  // main writes metrics with it).
  explicit LearnerServiceImpl(Learner* learner,
                              std::function<void(const StepOutcome&)> on_step = nullptr,
                              double get_weights_timeout_s = 600);

  grpc::Status TrainStep(grpc::ServerContext* context, grpc::ServerReader<TrainBatchPart>* reader,
                         TrainStepResult* result) override;
  grpc::Status GetWeights(grpc::ServerContext* context, const GetWeightsRequest* request,
                          grpc::ServerWriter<WeightsMessage>* writer) override;
  grpc::Status Checkpoint(grpc::ServerContext* context, const CheckpointRequest* request,
                          CheckpointResponse* response) override;
  grpc::Status GetRunState(grpc::ServerContext* context, const RunStateRequest* request,
                           RunState* response) override;

 private:
  // TrainStep's work once the parts are read; may throw (TrainStep catches).
  absl::Status Train(const std::vector<TrainBatchPart>& parts, TrainStepResult* result);

  Learner* learner_;
  std::function<void(const StepOutcome&)> on_step_;
  double get_weights_timeout_s_;
};

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_LEARNER_SERVICE_H_
