// The orchestrator's backends over gRPC: rollout workers, reward servers and learner rank 0
// as separate processes (the real deployment and `seamless train`).
#ifndef SEAMLESS_SCHEDULER_GRPC_BACKENDS_H_
#define SEAMLESS_SCHEDULER_GRPC_BACKENDS_H_

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "proto/learner.grpc.pb.h"
#include "reward/reward_client.h"
#include "rollout/rollout_client.h"
#include "scheduler/backends.h"

namespace seamless {

// One Generate stream per group, each on a thread of its own while it runs (a blocking
// client keeps this simple; the streams share each worker's HTTP/2 connection).
class GrpcRolloutBackend : public RolloutBackend {
 public:
  GrpcRolloutBackend(const std::vector<std::string>& addresses, const Tokenizer* tokenizer);
  ~GrpcRolloutBackend() override;  // waits for the streams still open

  int num_workers() const override { return static_cast<int>(clients_.size()); }
  void Generate(int worker, GroupRequest request, std::function<void(RolloutSample)> on_sample,
                std::function<void(absl::Status)> on_done) override;
  void Abort(const AbortSpec& spec) override;
  std::string Detokenize(const std::vector<int32_t>& ids) override;
  double IdleFraction() override;

 private:
  std::vector<std::unique_ptr<RolloutClient>> clients_;
  const Tokenizer* tokenizer_;
  std::mutex mu_;
  std::condition_variable idle_;
  int open_streams_ = 0;  // guarded by mu_
};

// A bounded pool of scoring threads; each job tries the servers in turn, with a deadline per
// call, until one answers or `retries` more have failed.
class GrpcRewardBackend : public RewardBackend {
 public:
  GrpcRewardBackend(const std::vector<std::string>& addresses, int threads,
                    double deadline_seconds, int retries);
  ~GrpcRewardBackend() override;
  void Score(ScoreJob job, std::function<void(absl::StatusOr<ScoreResult>)> done) override;

 private:
  void Loop();
  std::vector<std::unique_ptr<RewardClient>> clients_;
  double deadline_seconds_;
  int retries_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::pair<ScoreJob, std::function<void(absl::StatusOr<ScoreResult>)>>> jobs_;
  bool stop_ = false;
  size_t next_server_ = 0;  // guarded by mu_: round robin
  // A server that timed out or was unreachable is skipped for a while (guarded by mu_), so a
  // hung server costs one deadline, not one per sample.
  std::vector<std::chrono::steady_clock::time_point> down_until_;
  std::vector<std::thread> threads_;
};

// TrainStep to learner rank 0, the batch streamed a few groups per message.
class GrpcLearnerBackend : public LearnerBackend {
 public:
  explicit GrpcLearnerBackend(const std::string& address);
  absl::StatusOr<TrainResult> Train(int64_t step, const std::vector<TrainGroupData>& groups) override;

 private:
  std::unique_ptr<LearnerService::Stub> stub_;
};

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_GRPC_BACKENDS_H_
