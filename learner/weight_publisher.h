// Publishing new policy versions to the rollout workers.
//
// After each update the learner streams every parameter (MTP layers included: stale drafts
// would collapse speculative acceptance) under its Hugging Face name, tagged with the policy
// version, as a chunked, checksummed WeightsMessage stream (core/tensors/weight_stream.h)
// read straight from a WeightSource over the parameters: no copy of the whole weights is
// made or kept, only one tensor's worth of conversion at a time.
//
// NOTE [weight push fan-out]
//   - One read of the source feeds every worker: each chunk is converted once and queued, in
//     a shared window of Options::window_chunks chunks, to one writer thread per worker
//     (RolloutService.LoadWeights), so K workers cost one conversion and the source is read
//     at the pace of the slowest healthy worker.
//   - A worker whose stream fails, that accepts no chunk for stall_timeout_s while it has
//     chunks to take, or that does not answer within stall_timeout_s of its last chunk (it
//     applies the weights before answering) is cancelled and dropped from this push, so a
//     hung worker holds Publish about stall_timeout_s, not the push deadline (timeout_s,
//     which bounds a slow but steady worker).
//   - Catch-up: nothing pulls GetWeights today (rollout workers do not know the learner's
//     address: they start before it), so a dropped worker would keep serving its old version.
//     Instead it leaves the regular fan-out and a catch-up thread owns it: every retry (from
//     catchup_retry_s, doubling to catchup_max_retry_s while it fails) it asks the worker's
//     Status cheaply and, once the worker answers, pushes it the current version through the
//     source opener; when the worker holds the newest version it rejoins the fan-out. A
//     worker back within a training step so never misses more than the version it was
//     dropped from. A catch-up push holds the opener's source (the learner's lock) like a
//     Publish does, bounded by the same stall rule.
//   - LearnerService.GetWeights streams the current version on demand: WaitForVersion waits
//     for the version and opens a source with the opener the owner installed
//     (SetSourceOpener), which locks the parameters for as long as the source lives.
//
// Without an opener (older callers), Publish(MimoModel&) exports a copy, keeps it for
// GetWeights and the catch-up, and pushes it: the old behaviour.
//
// BroadcastWeights is the collective path (NCCL on GPU builds, Gloo on CPU) for workers that
// join the learner's process group.
#ifndef SEAMLESS_LEARNER_WEIGHT_PUBLISHER_H_
#define SEAMLESS_LEARNER_WEIGHT_PUBLISHER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/metrics/metrics.h"
#include "core/model/mimo_model.h"
#include "core/tensors/dtype.h"
#include "core/tensors/raw_tensor.h"
#include "core/tensors/weight_source.h"
#include "learner/collective.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace seamless {

struct PublishStats {
  int64_t version = -1;
  uint64_t bytes = 0;
  double export_s = 0;  // parameters -> a kept copy (only without a source opener)
  double push_s = 0;    // streaming to every worker, their apply included
  double wait_s = 0;    // of push_s, the source waited for the slowest worker
  int workers_ok = 0;
  int workers_failed = 0;   // errors and drops, this push
  int workers_dropped = 0;  // of those, cancelled for stalling
  int workers_behind = 0;   // left to the catch-up (not pushed by this Publish)
};

// A source of the current parameters and the version they are.
struct VersionedSource {
  std::unique_ptr<WeightSource> source;
  int64_t version = -1;
};
// Opens a source over the current parameters. The source must keep them from changing while
// it lives (hold the owner's lock); the publisher destroys it as soon as the stream ends.
using SourceOpener = std::function<absl::StatusOr<VersionedSource>()>;

class WeightPublisher {
 public:
  struct Options {
    std::vector<std::string> workers;    // HOST:PORT of RolloutService
    DType dtype = DType::kF32;           // wire dtype of Publish(MimoModel&)
    double timeout_s = 120;              // deadline of one push (a slow but steady worker)
    double stall_timeout_s = 10;         // no progress this long: the worker is dropped
    size_t window_chunks = 8;            // chunks in flight between the source and workers
    double catchup_retry_s = 1;          // first retry of a dropped worker
    double catchup_max_retry_s = 30;     // retries back off to this
    MetricsRegistry* metrics = nullptr;  // optional: drop and catch-up counters
  };
  explicit WeightPublisher(Options options);
  ~WeightPublisher();  // stops the catch-up thread (waits for a push in progress)

  // How GetWeights and the catch-up open the current version. `open` may be called from
  // other threads until the publisher is destroyed.
  void SetSourceOpener(SourceOpener open);

  // Streams `source` as `version` to every worker of the fan-out (see the NOTE) and makes
  // `version` current for WaitForVersion. The caller keeps the parameters unchanged during
  // the call. Errors name the workers that failed; the version is current either way.
  absl::Status Publish(WeightSource& source, int64_t version);
  // The model's parameters in options.dtype: a ParameterWeightSource, or without an opener a
  // kept copy (see above).
  absl::Status Publish(MimoModel& model, int64_t version);
  // Makes `version` current without pushing it (the weights workers start from).
  void SetVersion(int64_t version);

  // Old interface: keeps `weights` (a full copy) for GetWeights and the catch-up.
  absl::Status PublishExported(std::shared_ptr<const RawTensorMap> weights, int64_t version);
  void SetLatest(std::shared_ptr<const RawTensorMap> weights, int64_t version);

  // Once the current version is >= min_version (DeadlineExceeded after timeout_s), a source
  // of the current weights from the opener, or of the kept copy. `cancelled` (optional) is
  // polled every 100 ms while waiting: CANCELLED once it is true, so a caller that went away
  // does not pin its thread for the whole timeout.
  absl::StatusOr<VersionedSource> WaitForVersion(int64_t min_version, double timeout_s,
                                                 const std::function<bool()>& cancelled = nullptr);

  PublishStats last_stats() const;
  const Options& options() const { return options_; }
  // Workers now left to the catch-up.
  std::vector<std::string> behind() const;

 private:
  struct Counters;
  absl::StatusOr<VersionedSource> OpenCurrent() ABSL_LOCKS_EXCLUDED(mu_);
  void CatchUpLoop() ABSL_LOCKS_EXCLUDED(mu_);
  bool StopOrBehind() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || !behind_.empty(); }

  const Options options_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;  // one per worker; immutable
  std::unique_ptr<Counters> counters_;
  mutable absl::Mutex mu_;  // waits are on conditions of what it guards (version, stop)
  SourceOpener opener_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const RawTensorMap> kept_ ABSL_GUARDED_BY(mu_);  // only without an opener
  int64_t kept_version_ ABSL_GUARDED_BY(mu_) = -1;
  int64_t latest_version_ ABSL_GUARDED_BY(mu_) = -1;
  std::set<size_t> behind_ ABSL_GUARDED_BY(mu_);  // indices into workers
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  PublishStats stats_ ABSL_GUARDED_BY(mu_);
  std::thread catchup_;
};

// The parameters of `model` (not owned; it must outlive the source) in the wire dtype, by
// Hugging Face name. Read converts one slice of a tensor at a time into a reused buffer, so
// the extra memory is one chunk; a parameter already in the wire dtype on the CPU is read in
// place. The parameters must not change while a stream reads them.
class ParameterWeightSource final : public WeightSource {
 public:
  ParameterWeightSource(MimoModel& model, DType dtype);
  const std::vector<TensorSpec>& specs() const override { return specs_; }
  absl::Status Read(size_t i, const Sink& sink) override;
  // A CPU parameter that needs converting is converted straight into the message.
  bool WritesInto(size_t i) const override;
  absl::Status WriteInto(size_t i, uint64_t offset, char* dst, size_t size) override;

 private:
  std::vector<TensorSpec> specs_;
  std::vector<at::Tensor> params_;  // in specs_ order
  at::Tensor buffer_;               // conversion slices
};

// One push of `weights` as `version` to the RolloutService at `address`.
absl::Status PushWeights(const std::string& address, const RawTensorMap& weights, int64_t version,
                         double timeout_s);

// Every parameter of `model` from `root` to all ranks of `collective`, in place.
absl::Status BroadcastWeights(Collective& collective, MimoModel& model, int root);

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_WEIGHT_PUBLISHER_H_
