// RewardService over gRPC (callback API): a thin adapter from the wire messages to
// RewardEngine. Handlers never block: each sample becomes a job on the bounded worker pool,
// and the reactor finishes when the job is done. A full pool answers RESOURCE_EXHAUSTED.
#ifndef SEAMLESS_REWARD_REWARD_SERVICE_H_
#define SEAMLESS_REWARD_REWARD_SERVICE_H_

#include <atomic>
#include <memory>

#include "proto/reward.grpc.pb.h"
#include "reward/reward_engine.h"
#include "reward/worker_pool.h"

namespace seamless {

class RewardServiceImpl final : public RewardService::CallbackService {
 public:
  // `engine` and `metrics` (nullable) must outlive the service.
  RewardServiceImpl(const RewardEngine* engine, MetricsRegistry* metrics);
  ~RewardServiceImpl() override;  // finishes queued samples first

  // Before grpc::Server::Shutdown, which waits for every call to be answered: samples still
  // queued are answered UNAVAILABLE unscored and running code samples are killed
  // (RewardEngine::CancelRuns), so the server stops within seconds, not after its queue's
  // deadlines. The clients retry elsewhere.
  void BeginShutdown();

  grpc::ServerUnaryReactor* Score(grpc::CallbackServerContext* context, const ScoreRequest* request,
                                  ScoreResponse* response) override;
  grpc::ServerUnaryReactor* ScoreBatch(grpc::CallbackServerContext* context,
                                       const ScoreBatchRequest* request,
                                       ScoreBatchResponse* response) override;

 private:
  struct Batch;
  // Converts one request; INVALID_ARGUMENT names the field, prefixed by `where`.
  absl::StatusOr<RewardTask> ToTask(const ScoreRequest& request, const std::string& where) const;
  RewardEngine::Clock::time_point Deadline(const ScoreRequest& request,
                                           const grpc::CallbackServerContext* context) const;
  void Record(const std::string& kind, const absl::Status& status, double seconds);
  // engine_->Score, or UNAVAILABLE once shutting down.
  absl::StatusOr<RewardResult> ScoreUnlessStopping(const RewardTask& task,
                                                   RewardEngine::Clock::time_point deadline) const;

  const RewardEngine* engine_;
  std::unique_ptr<RewardMetrics> metrics_;
  std::unique_ptr<WorkerPool> pool_;
  std::atomic<bool> stopping_{false};
};

}  // namespace seamless

#endif  // SEAMLESS_REWARD_REWARD_SERVICE_H_
