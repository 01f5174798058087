// A client of RewardService for the scheduler, tools and tests.
#ifndef SEAMLESS_REWARD_REWARD_CLIENT_H_
#define SEAMLESS_REWARD_REWARD_CLIENT_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "proto/reward.grpc.pb.h"

namespace seamless {

class RewardClient {
 public:
  explicit RewardClient(const std::string& address);

  // Blocks until the server's health check says SERVING, or `timeout` passes.
  absl::Status WaitUntilServing(std::chrono::milliseconds timeout);

  // `wait_for_ready`: a server that is not listening (restarting) is waited for, up to the
  // timeout, instead of failing at once.
  absl::StatusOr<ScoreResponse> Score(const ScoreRequest& request,
                                      std::chrono::milliseconds timeout = std::chrono::minutes(5),
                                      bool wait_for_ready = false);
  absl::StatusOr<ScoreBatchResponse> ScoreBatch(
      const ScoreBatchRequest& request,
      std::chrono::milliseconds timeout = std::chrono::minutes(10));

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<RewardService::Stub> stub_;
};

}  // namespace seamless

#endif  // SEAMLESS_REWARD_REWARD_CLIENT_H_
