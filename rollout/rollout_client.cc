#include "rollout/rollout_client.h"

#include <grpcpp/grpcpp.h>

#include "core/base/status_macros.h"
#include "core/service/grpc_server.h"
#include "core/service/grpc_status.h"
#include "core/service/unary_call.h"
#include "core/tensors/weight_stream.h"
#include "proto/health.grpc.pb.h"
#include "rollout/rollout_proto.h"

namespace seamless {

RolloutClient::RolloutClient(const std::string& address)
    : channel_(MakeChannel(address)), stub_(RolloutService::NewStub(channel_)) {}

absl::StatusOr<std::vector<RolloutSample>> RolloutClient::Generate(
    const GroupRequest& request, const std::function<void(const RolloutSample&)>& on_sample) {
  grpc::ClientContext context;
  auto stream = stub_->Generate(&context);
  GenerateStreamMessage message;
  *message.mutable_generate() = ToProto(request);
  std::vector<RolloutSample> samples;
  if (stream->Write(message)) stream->WritesDone();
  Sample sample;
  while (stream->Read(&sample)) {
    samples.push_back(FromProto(sample));
    if (on_sample) on_sample(samples.back());
  }
  grpc::Status status = stream->Finish();
  if (!status.ok()) return FromGrpcStatus(status);
  return samples;
}

absl::StatusOr<AbortCounts> RolloutClient::Abort(const AbortSpec& spec) {
  AbortRequest request;
  for (const auto& g : spec.group_ids) request.add_group_ids(g);
  for (const auto& r : spec.request_ids) request.add_request_ids(r);
  request.set_by_launch_seq(spec.by_launch_seq);
  request.set_launched_after(spec.launched_after);
  ASSIGN_OR_RETURN(const AbortResponse response,
                   UnaryCall(*stub_, &RolloutService::Stub::Abort, request));
  return AbortCounts{response.aborted_groups(), response.aborted_requests()};
}

absl::StatusOr<int64_t> RolloutClient::LoadWeights(const RawTensorMap& tensors, int64_t version) {
  grpc::ClientContext context;
  LoadWeightsResponse response;
  auto writer = stub_->LoadWeights(&context, &response);
  absl::Status sent = StreamWeights(tensors, version, [&](const WeightsMessage& m) {
    return writer->Write(m) ? absl::OkStatus()
                            : absl::UnavailableError("the worker closed the weight stream");
  });
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return FromGrpcStatus(status);
  if (!sent.ok()) return sent;
  return response.version();
}

absl::StatusOr<RolloutStatus> RolloutClient::Status() {
  return UnaryCall(*stub_, &RolloutService::Stub::Status, RolloutStatusRequest());
}

absl::StatusOr<bool> RolloutClient::Serving() {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("seamless.RolloutService");
  ASSIGN_OR_RETURN(const grpc::health::v1::HealthCheckResponse response,
                   UnaryCall(*health, &grpc::health::v1::Health::Stub::Check, request));
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

}  // namespace seamless
