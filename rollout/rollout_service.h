// The gRPC adapter of the rollout engine (RolloutService in proto/rollout.proto), on gRPC's
// callback API. Nothing here generates: reactors hand work to RolloutEngine and write samples
// back as the engine thread reports them, so no reaction ever waits for a decode step.
#ifndef SEAMLESS_ROLLOUT_ROLLOUT_SERVICE_H_
#define SEAMLESS_ROLLOUT_ROLLOUT_SERVICE_H_

#include <atomic>
#include <functional>

#include "proto/rollout.grpc.pb.h"
#include "rollout/rollout_engine.h"

namespace seamless {

// LoadWeights is served raw (byte buffers): its chunks are parsed straight into the weight
// set (WeightAssembler::AddSerialized) instead of into messages first.
class RolloutGrpcService final
    : public RolloutService::WithRawCallbackMethod_LoadWeights<RolloutService::CallbackService> {
 public:
  // `set_serving(false)` is called while a weight stream loads (health: NOT_SERVING) and
  // `set_serving(true)` once it serves again; it may be empty.
  RolloutGrpcService(RolloutEngine* engine, std::function<void(bool)> set_serving);

  grpc::ServerBidiReactor<GenerateStreamMessage, Sample>* Generate(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* Abort(grpc::CallbackServerContext* context, const AbortRequest* request,
                                  AbortResponse* response) override;
  // A stream of serialized WeightsMessage; answers a serialized LoadWeightsResponse.
  grpc::ServerReadReactor<grpc::ByteBuffer>* LoadWeights(grpc::CallbackServerContext* context,
                                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const RolloutStatusRequest* request,
                                   RolloutStatus* response) override;

  // Called by weight-stream reactors.
  void WeightsLoading(bool started);

 private:
  RolloutEngine* engine_;
  std::function<void(bool)> set_serving_;
  std::atomic<int> loads_in_flight_{0};
};

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_ROLLOUT_SERVICE_H_
