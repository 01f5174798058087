// The orchestrator's backends over gRPC: rollout workers, reward servers and learner rank 0
// as separate processes (the real deployment and `seamless train`).
#ifndef SEAMLESS_SCHEDULER_GRPC_BACKENDS_H_
#define SEAMLESS_SCHEDULER_GRPC_BACKENDS_H_

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/base/clock.h"
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
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return open_streams_ == 0; }
  const Tokenizer* tokenizer_;
  absl::Mutex mu_;
  int open_streams_ ABSL_GUARDED_BY(mu_) = 0;
};

// A bounded pool of scoring threads; each job tries the servers in turn, with a deadline per
// call, until one answers or `retries` more have failed. `clock` (nullptr: the real one, else
// it must outlive the backend) times how long a failed server is skipped.
class GrpcRewardBackend : public RewardBackend {
 public:
  GrpcRewardBackend(const std::vector<std::string>& addresses, int threads, double deadline_seconds,
                    int retries, const Clock* clock = nullptr);
  ~GrpcRewardBackend() override;
  void Score(ScoreJob job, std::function<void(absl::StatusOr<ScoreResult>)> done) override;

 private:
  using Job = std::pair<ScoreJob, std::function<void(absl::StatusOr<ScoreResult>)>>;
  void Loop();
  // The server to try on `attempt`: the planned one unless it is marked down and another is
  // not.
  // The server for this attempt: the planned one or the next not marked down; `all_down` when
  // every server is (the planned one is then tried anyway, waiting for it to listen).
  size_t PickServer(size_t first, int attempt, bool* all_down);
  // Scores on the servers in turn, `retries` more times after a failure.
  absl::StatusOr<ScoreResult> ScoreWithRetries(const ScoreRequest& request, size_t first);
  void MarkDown(size_t server, const absl::Status& status);
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || !jobs_.empty(); }

  std::vector<std::unique_ptr<RewardClient>> clients_;
  double deadline_seconds_;
  int retries_;
  const Clock* clock_;
  absl::Mutex mu_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  size_t next_server_ ABSL_GUARDED_BY(mu_) = 0;  // round robin
  // A server that timed out or was unreachable is skipped for a while, so a hung server
  // costs one deadline, not one per sample.
  std::vector<Clock::TimePoint> down_until_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

// TrainStep to learner rank 0, the batch streamed a few groups per message, tagged with the
// run id and the step's commit state. Steps apply once (the learner answers a step sent
// again from its record), so a call whose connection failed (UNAVAILABLE) is sent again, a
// few times, before it fails.
class GrpcLearnerBackend : public LearnerBackend {
 public:
  GrpcLearnerBackend(const std::string& address, std::string run_id);
  absl::StatusOr<TrainResult> Train(const TrainCall& call) override;
  // Where the learner stands (a resume continues from its commit state).
  absl::StatusOr<RunState> GetRunState(std::chrono::seconds timeout);

 private:
  absl::StatusOr<TrainResult> TrainOnce(const TrainCall& call);
  std::unique_ptr<LearnerService::Stub> stub_;
  std::string run_id_;
};

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_GRPC_BACKENDS_H_
