// Publishing new policy versions to the rollout workers.
//
// After each update the learner exports every parameter (MTP layers included: stale drafts
// would collapse speculative acceptance) under its Hugging Face name, tags it with the policy
// version, and
//   - pushes it to each configured worker over RolloutService.LoadWeights as a chunked,
//     checksummed WeightsMessage stream (core/tensors/weight_stream.h), workers in parallel;
//   - keeps it as the latest version, which LearnerService.GetWeights streams to workers that
//     pull instead (a restarted worker catching up).
// BroadcastWeights is the collective path (NCCL on GPU builds, Gloo on CPU) for workers that
// join the learner's process group.
#ifndef SEAMLESS_LEARNER_WEIGHT_PUBLISHER_H_
#define SEAMLESS_LEARNER_WEIGHT_PUBLISHER_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/mimo_model.h"
#include "core/tensors/dtype.h"
#include "core/tensors/raw_tensor.h"
#include "learner/collective.h"

namespace seamless {

struct PublishStats {
  int64_t version = -1;
  uint64_t bytes = 0;
  double export_s = 0;  // parameters -> bytes
  double push_s = 0;    // streaming to every worker (parallel)
  int workers_ok = 0;
  int workers_failed = 0;
};

class WeightPublisher {
 public:
  struct Options {
    std::vector<std::string> workers;  // HOST:PORT of RolloutService
    DType dtype = DType::kF32;
    double timeout_s = 120;  // per push
  };
  explicit WeightPublisher(Options options);

  // Exports `model` as `version`, keeps it for GetWeights and pushes it to every worker.
  // Errors name the workers that failed; the version is kept either way.
  absl::Status Publish(MimoModel& model, int64_t version);
  absl::Status PublishExported(std::shared_ptr<const RawTensorMap> weights, int64_t version);
  // Makes `weights` the latest version for GetWeights without pushing it.
  void SetLatest(std::shared_ptr<const RawTensorMap> weights, int64_t version);

  // The newest weights once their version is >= min_version; DeadlineExceeded after
  // timeout_s. A null map means nothing was published.
  absl::StatusOr<std::pair<std::shared_ptr<const RawTensorMap>, int64_t>> WaitForVersion(
      int64_t min_version, double timeout_s);

  PublishStats last_stats() const;

 private:
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const RawTensorMap> latest_;  // guarded by mu_
  int64_t latest_version_ = -1;                 // guarded by mu_
  PublishStats stats_;                          // guarded by mu_
};

// One push of `weights` as `version` to the RolloutService at `address`.
absl::Status PushWeights(const std::string& address, const RawTensorMap& weights, int64_t version,
                         double timeout_s);

// Every parameter of `model` from `root` to all ranks of `collective`, in place.
absl::Status BroadcastWeights(Collective& collective, MimoModel& model, int root);

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_WEIGHT_PUBLISHER_H_
