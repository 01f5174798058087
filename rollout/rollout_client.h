// A blocking client of one rollout worker, for the scheduler's simple paths, tests and
// benchmarks. Generate() opens one stream per group, so a bad request fails only its group.
#ifndef SEAMLESS_ROLLOUT_ROLLOUT_CLIENT_H_
#define SEAMLESS_ROLLOUT_ROLLOUT_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensors/raw_tensor.h"
#include "proto/rollout.grpc.pb.h"
#include "rollout/rollout_types.h"

namespace seamless {

class RolloutClient {
 public:
  explicit RolloutClient(const std::string& address);

  // Generates one group; `on_sample` (optional) sees each sample as it arrives. Returns all
  // samples (in arrival order) or the worker's error.
  absl::StatusOr<std::vector<RolloutSample>> Generate(
      const GroupRequest& request, const std::function<void(const RolloutSample&)>& on_sample = {});
  absl::StatusOr<AbortCounts> Abort(const AbortSpec& spec);
  // Streams `tensors` as weight version `version`; returns the version now serving.
  absl::StatusOr<int64_t> LoadWeights(const RawTensorMap& tensors, int64_t version);
  absl::StatusOr<RolloutStatus> Status();
  // grpc.health.v1 status of the RolloutService: true when SERVING.
  absl::StatusOr<bool> Serving();

  RolloutService::Stub* stub() { return stub_.get(); }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<RolloutService::Stub> stub_;
};

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_ROLLOUT_CLIENT_H_
