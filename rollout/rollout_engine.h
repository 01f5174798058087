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
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/metrics/metrics.h"
#include "core/tensors/raw_tensor.h"
#include "rollout/engine_options.h"
#include "rollout/rollout_types.h"
#include "rollout/staged_parameters.h"

namespace seamless {

class ContinuousBatcher;
struct PreparedWeights;

struct EngineStatus {
  int64_t weight_version = 0;
  int64_t running = 0;  // sequences in the batch
  int64_t queued = 0;   // samples waiting for a slot
  double generated_tokens = 0;
  double idle_fraction = 0;  // share of wall time with nothing to do, since start
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
  // rejected with the old version still serving. Versions never go backwards: one below the
  // newest accepted is FAILED_PRECONDITION ("version 3 after 5"); the same version again is
  // loaded (idempotent: a learner's retry or catch-up re-push must not fail), and any
  // version is fine after a restart (which starts at 0).
  void LoadWeights(RawTensorMap tensors, int64_t version, WeightsCallback done);
  // The same for a stream decoded partly into `staged` (from TakeStagedParameters): the
  // tensors named in `decoded` are in `staged`, the rest in `tensors`. The staged ones are
  // swapped in, not copied.
  void LoadWeights(RawTensorMap tensors, StagedParameters staged, std::set<std::string> decoded,
                   int64_t version, WeightsCallback done);

  // The buffers of the last weight set applied (or rejected), for the next stream to assemble
  // into (WeightAssembler::Reuse); empty if there are none. The engine keeps one such set.
  RawTensorMap TakeSpareWeights();
  // The spare set of the model's CPU float32 parameters for the next stream to decode into
  // (WeightAssembler::DecodeInto): the set the last version replaced, or a fresh one.
  StagedParameters TakeStagedParameters();
  // Hands back a set taken but not loaded (its stream failed).
  void KeepStagedParameters(StagedParameters staged) ABSL_LOCKS_EXCLUDED(mu_);

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
    StagedParameters staged;
    std::set<std::string> decoded;  // the tensors in `staged`
    int64_t version = 0;
    WeightsCallback done;
  };
  struct PendingWeights {
    std::shared_ptr<PreparedWeights> weights;  // views of `buffers`, and the staged swaps
    std::shared_ptr<RawTensorMap> buffers;     // the received bytes
    std::vector<std::string> swapped;          // weights->swaps' parameter names
    int64_t version;
    WeightsCallback done;
  };
  struct Metrics;

  RolloutEngine(std::unique_ptr<ContinuousBatcher> batcher, MetricsRegistry* metrics);
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  void RunLoader() ABSL_LOCKS_EXCLUDED(mu_);
  void Deliver(std::vector<RolloutSample>& samples) ABSL_LOCKS_EXCLUDED(mu_);
  void PublishStats() ABSL_LOCKS_EXCLUDED(mu_);
  void KeepSpare(std::shared_ptr<RawTensorMap> buffers) ABSL_LOCKS_EXCLUDED(mu_);
  // What wakes the engine thread when it has nothing to step, and the loader thread.
  bool InboxOrStop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || !new_groups_.empty() || !aborts_.empty() || !weights_.empty();
  }
  bool ToPrepareOrStop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || !to_prepare_.empty();
  }

  std::unique_ptr<ContinuousBatcher> batcher_;  // engine thread only (after construction)
  const int64_t max_queued_;
  std::unique_ptr<Metrics> metrics_;

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<PendingGroup> new_groups_ ABSL_GUARDED_BY(mu_);
  std::deque<PendingAbort> aborts_ ABSL_GUARDED_BY(mu_);
  std::deque<PendingWeights> weights_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, std::pair<SampleCallback, int32_t>> callbacks_
      ABSL_GUARDED_BY(mu_);
  int64_t inbox_samples_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t batcher_queued_ ABSL_GUARDED_BY(mu_) = 0;  // last step's
  EngineStatus status_ ABSL_GUARDED_BY(mu_);

  std::deque<UnpreparedWeights> to_prepare_ ABSL_GUARDED_BY(mu_);
  RawTensorMap spare_weights_ ABSL_GUARDED_BY(mu_);
  const std::vector<StageableParameter> stageable_;  // the model's, read at construction
  std::optional<StagedParameters> spare_staged_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> loading_{0};  // weight sets not yet serving
  // The newest version prepared (serving or about to): the loader refuses older ones.
  int64_t newest_version_ ABSL_GUARDED_BY(mu_) = 0;
  std::chrono::steady_clock::time_point started_;
  double idle_seconds_ = 0;  // engine thread
  std::thread thread_;       // runs Run(): the batcher's steps
  std::thread loader_;       // runs RunLoader(): prepares weight sets
};

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_ROLLOUT_ENGINE_H_
