#include "reward/reward_client.h"

#include <grpcpp/grpcpp.h>

#include <thread>

#include "core/service/grpc_server.h"
#include "core/service/grpc_status.h"
#include "core/service/unary_call.h"
#include "proto/health.grpc.pb.h"

namespace seamless {

RewardClient::RewardClient(const std::string& address)
    : channel_(MakeChannel(address)), stub_(RewardService::NewStub(channel_)) {}

absl::Status RewardClient::WaitUntilServing(std::chrono::milliseconds timeout) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  const auto deadline = std::chrono::system_clock::now() + timeout;
  grpc::Status last;
  while (std::chrono::system_clock::now() < deadline) {
    grpc::ClientContext context;
    context.set_deadline(
        std::min(deadline, std::chrono::system_clock::now() + std::chrono::seconds(2)));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("seamless.RewardService");
    grpc::health::v1::HealthCheckResponse response;
    last = health->Check(&context, request, &response);
    if (last.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError("reward server not serving: " + last.error_message());
}

absl::StatusOr<ScoreResponse> RewardClient::Score(const ScoreRequest& request,
                                                  std::chrono::milliseconds timeout,
                                                  bool wait_for_ready) {
  return UnaryCall(*stub_, &RewardService::Stub::Score, request, timeout, wait_for_ready);
}

absl::StatusOr<ScoreBatchResponse> RewardClient::ScoreBatch(const ScoreBatchRequest& request,
                                                            std::chrono::milliseconds timeout) {
  return UnaryCall(*stub_, &RewardService::Stub::ScoreBatch, request, timeout);
}

}  // namespace seamless
