// The rollout engine as a service core: a ContinuousBatcher driven by its own thread, fed by
// thread-safe calls that never wait for a decode step (gRPC reactors call them directly).
//
//   Submit(group, on_sample)   validates and queues; on_sample runs once per sample, on the
//                              engine thread, the moment that sample finishes.
//   Abort(spec, done)          applied between two steps; aborted samples still go through
//                              on_sample (finish reason aborted), then done(counts).
//   LoadWeights(tensors, v, done)  prepared on a loader thread while generation continues,
//                              swapped in between two steps, then done(status).
//
// No gRPC types here: rollout_service.cc adapts this to RolloutService.
#ifndef SEAMLESS_ROLLOUT_ROLLOUT_ENGINE_H_
#define SEAMLESS_ROLLOUT_ROLLOUT_ENGINE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "core/metrics/metrics.h"
#include "core/tensors/raw_tensor.h"
#include "rollout/engine_options.h"
#include "rollout/rollout_types.h"

namespace seamless {

class ContinuousBatcher;
struct PreparedWeights;

struct EngineStatus {
  int64_t weight_version = 0;
  int64_t running = 0;             // sequences in the batch
  int64_t queued = 0;              // samples waiting for a slot
  double generated_tokens = 0;
  double idle_fraction = 0;        // share of wall time with nothing to do, since start
  bool loading_weights = false;
  BatcherStats stats;
};

class RolloutEngine {
 public:
  using SampleCallback = std::function<void(RolloutSample)>;
  using AbortCallback = std::function<void(AbortCounts)>;
  using WeightsCallback = std::function<void(absl::Status, int64_t version)>;

  // Takes over `batcher` (continuous_batcher.h) and starts the engine thread. `metrics` may
  // be null.
  static std::unique_ptr<RolloutEngine> Start(std::unique_ptr<ContinuousBatcher> batcher,
                                              MetricsRegistry* metrics);
  ~RolloutEngine();  // stops the thread; undelivered samples are dropped

  // INVALID_ARGUMENT, ALREADY_EXISTS or RESOURCE_EXHAUSTED without queuing anything.
  absl::Status Submit(GroupRequest request, SampleCallback on_sample);
  void Abort(AbortSpec spec, AbortCallback done);
  // Checks names, shapes and dtypes against the model before anything changes; a bad set is
  // rejected with the old version still serving.
  void LoadWeights(RawTensorMap tensors, int64_t version, WeightsCallback done);

  // The buffers of the last weight set applied (or rejected), for the next stream to assemble
  // into (WeightAssembler::Reuse); empty if there are none. The engine keeps one such set.
  RawTensorMap TakeSpareWeights();

  // Blocking conveniences for tests and benchmarks.
  AbortCounts AbortAndWait(AbortSpec spec);
  absl::Status LoadWeightsAndWait(RawTensorMap tensors, int64_t version);

  EngineStatus Status() const;

 private:
  struct PendingGroup {
    GroupRequest request;
  };
  struct PendingAbort {
    AbortSpec spec;
    AbortCallback done;
  };
  struct UnpreparedWeights {
    RawTensorMap tensors;
    int64_t version = 0;
    WeightsCallback done;
  };
  struct PendingWeights {
    std::shared_ptr<PreparedWeights> weights;  // views of `buffers`
    std::shared_ptr<RawTensorMap> buffers;     // the received bytes
    int64_t version;
    WeightsCallback done;
  };
  struct Metrics;

  RolloutEngine(std::unique_ptr<ContinuousBatcher> batcher, MetricsRegistry* metrics);
  void Run();
  void RunLoader();
  void Deliver(std::vector<RolloutSample>& samples);
  void PublishStats();
  void KeepSpare(std::shared_ptr<RawTensorMap> buffers);

  std::unique_ptr<ContinuousBatcher> batcher_;  // engine thread only (after construction)
  const int64_t max_queued_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;                                        // guarded by mu_
  std::deque<PendingGroup> new_groups_;                      // guarded by mu_
  std::deque<PendingAbort> aborts_;                          // guarded by mu_
  std::deque<PendingWeights> weights_;                       // guarded by mu_
  std::unordered_map<std::string, std::pair<SampleCallback, int32_t>> callbacks_;  // guarded by mu_
  int64_t inbox_samples_ = 0;                                // guarded by mu_
  int64_t batcher_queued_ = 0;                               // guarded by mu_ (last step's)
  EngineStatus status_;                                      // guarded by mu_

  std::condition_variable wake_loader_;
  std::deque<UnpreparedWeights> to_prepare_;                 // guarded by mu_
  RawTensorMap spare_weights_;                               // guarded by mu_
  std::atomic<int> loading_{0};                              // weight sets not yet serving
  std::chrono::steady_clock::time_point started_;
  double idle_seconds_ = 0;                                  // engine thread
  std::thread thread_;  // runs Run(): the batcher's steps
  std::thread loader_;  // runs RunLoader(): prepares weight sets
};

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_ROLLOUT_ENGINE_H_
