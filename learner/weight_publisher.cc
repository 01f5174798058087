#include "learner/weight_publisher.h"

#include <grpc/slice.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/sync_stream.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/model/model_files.h"
#include "core/model/torch_raw_tensor.h"
#include "core/service/grpc_server.h"
#include "core/service/grpc_status.h"
#include "core/tensors/weight_stream.h"
#include "proto/rollout.grpc.pb.h"

namespace seamless {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kLoadWeightsMethod[] = "/seamless.RolloutService/LoadWeights";

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Waits on `cv` until signalled or `deadline` (a steady-clock time) passes.
void WaitUntil(absl::CondVar& cv, absl::Mutex& mu, Clock::time_point deadline)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
  cv.WaitWithTimeout(&mu, absl::FromChrono(deadline - Clock::now()));
}

// Each message as one gRPC slice, written in place by StreamSerializedWeights and handed to
// `send` as a byte buffer that shares the slice.
class SliceSink final : public SerializedWeightsSink {
 public:
  explicit SliceSink(std::function<absl::Status(grpc::ByteBuffer&&)> send)
      : send_(std::move(send)) {}
  ~SliceSink() override {
    if (pending_) grpc_slice_unref(slice_);
  }
  char* Allocate(size_t size) override {
    if (pending_) grpc_slice_unref(slice_);
    slice_ = grpc_slice_malloc(size);
    pending_ = true;
    return reinterpret_cast<char*>(GRPC_SLICE_START_PTR(slice_));
  }
  absl::Status Send() override {
    grpc::Slice owned(slice_, grpc::Slice::STEAL_REF);
    pending_ = false;
    return send_(grpc::ByteBuffer(&owned, 1));
  }

 private:
  std::function<absl::Status(grpc::ByteBuffer&&)> send_;
  grpc_slice slice_;
  bool pending_ = false;
};

// A kept map as a source that shares its ownership.
class SharedMapSource final : public WeightSource {
 public:
  explicit SharedMapSource(std::shared_ptr<const RawTensorMap> map)
      : map_(std::move(map)), inner_(*map_) {}
  const std::vector<TensorSpec>& specs() const override { return inner_.specs(); }
  absl::Status Read(size_t i, const Sink& sink) override { return inner_.Read(i, sink); }

 private:
  std::shared_ptr<const RawTensorMap> map_;
  RawTensorMapSource inner_;
};

// One stream fanned out to several workers; see NOTE [weight push fan-out]. The producer
// (Send, Close, Wait) is the publishing thread; each worker has a writer thread.
class FanOut {
 public:
  struct Result {
    std::string address;
    absl::Status status;
    bool dropped = false;  // cancelled for stalling
  };

  FanOut(const std::vector<std::string>& addresses,
         const std::vector<std::shared_ptr<grpc::Channel>>& channels, int64_t version,
         const WeightPublisher::Options& options)
      : version_(version), options_(options) {
    const auto deadline = std::chrono::system_clock::now() +
                          std::chrono::milliseconds(int64_t(options.timeout_s * 1000));
    for (size_t i = 0; i < addresses.size(); ++i) {
      auto w = std::make_unique<Worker>();
      w->address = addresses[i];
      w->channel = channels[i];
      w->context.set_deadline(deadline);
      workers_.push_back(std::move(w));
      WorkerState state;
      state.progress = Clock::now();
      states_.push_back(state);
    }
    for (size_t i = 0; i < workers_.size(); ++i) {
      workers_[i]->thread = std::thread([this, i] { Run(i); });
    }
  }

  ~FanOut() {
    Abort();
    for (auto& w : workers_) {
      if (w->thread.joinable()) w->thread.join();
    }
  }

  // Queues `message` (a serialized WeightsMessage) for every live worker; waits while the
  // window is full, dropping a worker that stalls. Unavailable once no worker is left.
  absl::Status Send(grpc::ByteBuffer&& message) ABSL_LOCKS_EXCLUDED(mu_) {
    auto shared = std::make_shared<const grpc::ByteBuffer>(std::move(message));
    absl::MutexLock lock(&mu_);
    const auto wait_start = Clock::now();
    bool waited = false;
    while (true) {
      size_t live = 0, slowest = produced_;
      for (const WorkerState& w : states_) {
        if (w.done || w.dropped) continue;
        ++live;
        slowest = std::min(slowest, w.next);
      }
      if (live == 0) {
        exhausted_ = true;
        return absl::UnavailableError("every worker failed or was dropped");
      }
      if (produced_ - slowest < std::max<size_t>(options_.window_chunks, 1)) break;
      waited = true;
      bool dropped = false;
      const auto next_check = DropStalledLocked(&dropped);
      if (!dropped) WaitUntil(cv_, mu_, next_check);
    }
    if (waited) wait_s_ += SecondsSince(wait_start);
    window_.push_back({std::move(shared), Clock::now()});
    ++produced_;
    cv_.SignalAll();
    return absl::OkStatus();
  }

  // After the last message: waits for every worker's answer, dropping those that stall.
  std::vector<Result> Wait() ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
      cv_.SignalAll();
      while (!std::all_of(states_.begin(), states_.end(),
                          [](const WorkerState& w) { return w.done; })) {
        bool dropped = false;
        const auto next_check = DropStalledLocked(&dropped);
        if (!dropped) WaitUntil(cv_, mu_, next_check);
      }
    }
    for (auto& w : workers_) w->thread.join();
    std::vector<Result> out;
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < workers_.size(); ++i) {
      out.push_back({workers_[i]->address, states_[i].status, states_[i].dropped});
    }
    return out;
  }

  // The stream will not be completed (the source failed): cancel every worker.
  void Abort() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (aborted_) return;
    aborted_ = true;
    for (size_t i = 0; i < workers_.size(); ++i) {
      if (!states_[i].done) workers_[i]->context.TryCancel();
    }
    cv_.SignalAll();
  }

  double wait_s() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return wait_s_;
  }
  // Send failed because no worker was left (not the source's fault).
  bool exhausted() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return exhausted_;
  }

 private:
  struct Worker {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    grpc::ClientContext context;
    LoadWeightsResponse response;
    std::thread thread;
  };
  // A worker's progress (states_[i] is workers_[i]'s).
  struct WorkerState {
    size_t next = 0;             // messages written
    Clock::time_point progress;  // last write done (or the start)
    bool done = false;           // the thread has its result
    bool dropped = false;
    absl::Status status;  // once done
  };
  struct Queued {
    std::shared_ptr<const grpc::ByteBuffer> message;
    Clock::time_point at;  // when the producer queued it
  };

  // Drops every live worker that stalls now (sets *dropped); returns when the next one would.
  Clock::time_point DropStalledLocked(bool* dropped) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const auto now = Clock::now();
    const auto stall = Seconds(options_.stall_timeout_s);
    auto next_check = now + stall;
    for (size_t i = 0; i < workers_.size(); ++i) {
      WorkerState& w = states_[i];
      if (w.done || w.dropped) continue;
      // Waiting for a message it has not been given is not stalling.
      if (w.next == produced_ && !closed_) continue;
      auto since = w.progress;
      if (w.next < produced_) since = std::max(since, window_[w.next - base_].at);
      if (now - since >= stall) {
        w.dropped = true;
        *dropped = true;
        workers_[i]->context.TryCancel();
        SLOG(WARNING) << "weights version " << version_ << ": dropping worker "
                      << workers_[i]->address << " from the push (no progress for "
                      << options_.stall_timeout_s << " s, " << w.next << " of " << produced_
                      << " messages taken)";
        TrimLocked();
        cv_.SignalAll();
      } else {
        next_check = std::min(next_check, since + stall);
      }
    }
    return next_check;
  }

  // Frees the messages every live worker has written.
  void TrimLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    size_t keep_from = produced_;
    for (const WorkerState& w : states_) {
      if (!w.done && !w.dropped) keep_from = std::min(keep_from, w.next);
    }
    while (base_ < keep_from) {
      window_.pop_front();
      ++base_;
    }
  }

  void Run(size_t i) ABSL_LOCKS_EXCLUDED(mu_) {
    Worker& w = *workers_[i];
    // RolloutService.LoadWeights with the messages already serialized (the generated stub
    // would serialize a WeightsMessage, copying every chunk once more); this is the call the
    // stub makes, writing byte buffers. Writing one shares its slices, copying nothing.
    const grpc::internal::RpcMethod method(kLoadWeightsMethod,
                                           grpc::internal::RpcMethod::CLIENT_STREAMING);
    std::unique_ptr<grpc::ClientWriter<grpc::ByteBuffer>> writer(
        grpc::internal::ClientWriterFactory<grpc::ByteBuffer>::Create(w.channel.get(), method,
                                                                      &w.context, &w.response));
    bool wrote_all = false, write_failed = false;
    while (true) {
      std::shared_ptr<const grpc::ByteBuffer> message;
      {
        absl::MutexLock lock(&mu_);
        WorkerState& s = states_[i];
        while (!(s.next < produced_ || closed_ || aborted_ || s.dropped)) cv_.Wait(&mu_);
        if (aborted_ || s.dropped) break;
        if (s.next == produced_) {  // closed_ and everything written
          wrote_all = true;
          break;
        }
        message = window_[s.next - base_].message;
      }
      if (!writer->Write(*message)) {
        write_failed = true;
        break;
      }
      absl::MutexLock lock(&mu_);
      ++states_[i].next;
      states_[i].progress = Clock::now();
      TrimLocked();
      cv_.SignalAll();
    }
    if (wrote_all) writer->WritesDone();
    const absl::Status finished = FromGrpcStatus(writer->Finish());
    absl::MutexLock lock(&mu_);
    WorkerState& s = states_[i];
    if (s.dropped) {
      s.status = absl::DeadlineExceededError(
          absl::StrCat("dropped: no progress for ", options_.stall_timeout_s, " s"));
    } else if (!finished.ok()) {
      s.status = finished;  // the server's reason beats "closed the stream"
    } else if (write_failed || !wrote_all) {
      s.status = absl::UnavailableError("the worker closed the stream");
    } else if (w.response.version() != version_) {
      s.status = absl::InternalError(absl::StrCat(
          "the worker serves version ", w.response.version(), " after loading ", version_));
    }
    s.done = true;
    TrimLocked();
    cv_.SignalAll();
  }

  const int64_t version_;
  const WeightPublisher::Options& options_;
  std::vector<std::unique_ptr<Worker>> workers_;  // fixed at construction
  mutable absl::Mutex mu_;
  absl::CondVar cv_;  // any change of the window or of a worker's state
  std::vector<WorkerState> states_ ABSL_GUARDED_BY(mu_);  // one per worker
  std::deque<Queued> window_ ABSL_GUARDED_BY(mu_);        // messages base_ .. produced_ - 1
  size_t base_ ABSL_GUARDED_BY(mu_) = 0;
  size_t produced_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;  // no more messages
  bool aborted_ ABSL_GUARDED_BY(mu_) = false;
  double wait_s_ ABSL_GUARDED_BY(mu_) = 0;
  bool exhausted_ ABSL_GUARDED_BY(mu_) = false;
};

struct PushOutcome {
  std::vector<FanOut::Result> results;
  double wait_s = 0;
  absl::Status source;  // the source's own error (not the workers')
};

// Reads `source` once and streams it to every address (over `channels`, one each).
PushOutcome PushToAll(WeightSource& source, int64_t version,
                      const std::vector<std::string>& addresses,
                      const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                      const WeightPublisher::Options& options) {
  PushOutcome out;
  if (addresses.empty()) return out;
  FanOut fan(addresses, channels, version, options);
  SliceSink sink([&](grpc::ByteBuffer&& m) { return fan.Send(std::move(m)); });
  absl::Status streamed = StreamSerializedWeights(source, version, sink);
  if (!streamed.ok()) fan.Abort();
  if (!fan.exhausted()) out.source = streamed;
  out.results = fan.Wait();
  out.wait_s = fan.wait_s();
  return out;
}

}  // namespace

struct WeightPublisher::Counters {
  explicit Counters(MetricsRegistry* r)
      : dropped(r->GetCounter("seamless_learner_weight_push_dropped_total",
                              "Workers dropped from a weight push (failed or stalled)")),
        caught_up(r->GetCounter("seamless_learner_weight_catchup_total",
                                "Catch-up pushes that brought a dropped worker up to date")),
        behind(r->GetGauge("seamless_learner_weight_workers_behind",
                           "Workers left to the catch-up, not on the newest version")) {}
  Counter *dropped, *caught_up;
  Gauge* behind;
};

WeightPublisher::WeightPublisher(Options options) : options_(std::move(options)) {
  if (options_.metrics) counters_ = std::make_unique<Counters>(options_.metrics);
  // One channel per worker for the publisher's life: gRPC reconnects it when a worker
  // restarts, and a push does not pay for a new connection.
  for (const std::string& address : options_.workers) channels_.push_back(MakeChannel(address));
  if (!options_.workers.empty()) catchup_ = std::thread([this] { CatchUpLoop(); });
}

WeightPublisher::~WeightPublisher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (catchup_.joinable()) catchup_.join();
}

void WeightPublisher::SetSourceOpener(SourceOpener open) {
  absl::MutexLock lock(&mu_);
  opener_ = std::move(open);
  kept_.reset();
}

absl::Status WeightPublisher::Publish(MimoModel& model, int64_t version) {
  bool has_opener;
  {
    absl::MutexLock lock(&mu_);
    has_opener = opener_ != nullptr;
  }
  if (has_opener) {
    ParameterWeightSource source(model, options_.dtype);
    return Publish(source, version);
  }
  const auto start = Clock::now();
  ASSIGN_OR_RETURN(RawTensorMap weights, ExportWeights(model, options_.dtype));
  const double export_s = SecondsSince(start);
  absl::Status status =
      PublishExported(std::make_shared<const RawTensorMap>(std::move(weights)), version);
  absl::MutexLock lock(&mu_);
  stats_.export_s = export_s;
  return status;
}

absl::Status WeightPublisher::Publish(WeightSource& source, int64_t version) {
  PublishStats stats;
  stats.version = version;
  stats.bytes = TotalBytes(source.specs());
  std::vector<size_t> targets;
  std::vector<std::string> addresses;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  {
    absl::MutexLock lock(&mu_);
    latest_version_ = version;
    for (size_t i = 0; i < options_.workers.size(); ++i) {
      if (behind_.count(i)) continue;
      targets.push_back(i);
      addresses.push_back(options_.workers[i]);
      channels.push_back(channels_[i]);
    }
    stats.workers_behind = static_cast<int>(behind_.size());
  }

  const auto start = Clock::now();
  PushOutcome pushed = PushToAll(source, version, addresses, channels, options_);
  stats.push_s = SecondsSince(start);
  stats.wait_s = pushed.wait_s;
  std::vector<std::string> failures;
  {
    absl::MutexLock lock(&mu_);
    for (size_t k = 0; k < pushed.results.size(); ++k) {
      const FanOut::Result& r = pushed.results[k];
      if (r.status.ok()) {
        ++stats.workers_ok;
        continue;
      }
      ++stats.workers_failed;
      if (r.dropped) ++stats.workers_dropped;
      behind_.insert(targets[k]);
      failures.push_back(absl::StrCat(r.address, ": ", r.status.message()));
    }
    stats.workers_behind = static_cast<int>(behind_.size());
    if (counters_) {
      counters_->dropped->Increment(stats.workers_failed);
      counters_->behind->Set(stats.workers_behind);
    }
    stats_ = stats;
  }
  if (!pushed.source.ok()) {
    return Annotate(pushed.source, absl::StrCat("publishing version ", version, " (",
                                                failures.size(), " worker(s) left behind)"));
  }
  if (!failures.empty()) {
    return absl::UnavailableError(
        absl::StrCat("publishing version ", version, " failed on ", failures.size(),
                     " worker(s), left to the catch-up: ", absl::StrJoin(failures, "; ")));
  }
  return absl::OkStatus();
}

void WeightPublisher::SetVersion(int64_t version) {
  {
    absl::MutexLock lock(&mu_);
    latest_version_ = version;
  }
}

absl::Status WeightPublisher::PublishExported(std::shared_ptr<const RawTensorMap> weights,
                                              int64_t version) {
  SetLatest(weights, version);
  SharedMapSource source(std::move(weights));
  return Publish(source, version);
}

void WeightPublisher::SetLatest(std::shared_ptr<const RawTensorMap> weights, int64_t version) {
  {
    absl::MutexLock lock(&mu_);
    kept_ = std::move(weights);
    kept_version_ = version;
    latest_version_ = version;
  }
}

absl::StatusOr<VersionedSource> WeightPublisher::OpenCurrent() {
  SourceOpener opener;
  {
    absl::MutexLock lock(&mu_);
    if (!opener_) {
      if (!kept_) return absl::FailedPreconditionError("no weights published yet");
      return VersionedSource{std::make_unique<SharedMapSource>(kept_), kept_version_};
    }
    opener = opener_;
  }
  return opener();  // outside mu_: it takes the owner's lock
}

absl::StatusOr<VersionedSource> WeightPublisher::WaitForVersion(
    int64_t min_version, double timeout_s, const std::function<bool()>& cancelled) {
  {
    absl::MutexLock lock(&mu_);
    auto current = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return latest_version_ >= min_version && (opener_ != nullptr || kept_ != nullptr);
    };
    const absl::Time deadline = absl::Now() + absl::Seconds(timeout_s);
    while (!mu_.AwaitWithDeadline(absl::Condition(&current),
                                  std::min(deadline, absl::Now() + absl::Milliseconds(100)))) {
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat("no weights of version >= ", min_version,
                                                        " within ", timeout_s,
                                                        " s (latest: ", latest_version_, ")"));
      }
      if (cancelled && cancelled()) {
        return absl::CancelledError(absl::StrCat("the caller went away waiting for version ",
                                                 min_version, " (latest: ", latest_version_, ")"));
      }
    }
  }
  ASSIGN_OR_RETURN(VersionedSource source, OpenCurrent());
  if (source.version < min_version) {  // a kept copy older than the version announced
    return absl::UnavailableError(
        absl::StrCat("the current weights are version ", source.version, ", not >= ", min_version));
  }
  return source;
}

PublishStats WeightPublisher::last_stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

std::vector<std::string> WeightPublisher::behind() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (size_t i : behind_) out.push_back(options_.workers[i]);
  return out;
}

void WeightPublisher::CatchUpLoop() {
  double retry_s = options_.catchup_retry_s;
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    if (behind_.empty()) {
      retry_s = options_.catchup_retry_s;
      mu_.Await(absl::Condition(this, &WeightPublisher::StopOrBehind));
      continue;
    }
    // Give the worker a moment (and Publish its answer) before retrying.
    if (mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Seconds(retry_s))) break;
    const std::vector<size_t> behind(behind_.begin(), behind_.end());
    mu_.Unlock();
    bool all_ok = true;
    for (size_t i : behind) {
      const std::string& address = options_.workers[i];
      // A cheap probe first: a worker that is down or hung costs no source (no owner's lock).
      auto stub = RolloutService::NewStub(channels_[i]);
      grpc::ClientContext probe;
      probe.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
      RolloutStatus status;
      const grpc::Status probed = stub->Status(&probe, RolloutStatusRequest(), &status);
      if (probed.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
        status.set_policy_version(-1);  // alive; its version unknown
      } else if (!probed.ok()) {
        all_ok = false;
        continue;
      }
      absl::StatusOr<VersionedSource> source = OpenCurrent();
      if (!source.ok()) {
        all_ok = false;
        continue;
      }
      absl::Status result;
      if (status.policy_version() != source->version) {
        PushOutcome pushed =
            PushToAll(*source->source, source->version, {address}, {channels_[i]}, options_);
        result = !pushed.source.ok() ? pushed.source : pushed.results[0].status;
      }
      const int64_t version = source->version;
      source->source.reset();  // releases the owner's lock
      absl::MutexLock relock(&mu_);
      if (!result.ok()) {
        all_ok = false;
        SLOG(WARNING) << "catching up worker " << address << " with weights version " << version
                      << ": " << result.message();
      } else if (version >= latest_version_) {  // else: retry with the newer one
        behind_.erase(i);
        if (counters_) counters_->caught_up->Increment();
        SLOG(INFO) << "worker " << address << " caught up with weights version " << version;
      }
    }
    mu_.Lock();
    if (counters_) counters_->behind->Set(static_cast<double>(behind_.size()));
    retry_s =
        all_ok ? options_.catchup_retry_s : std::min(options_.catchup_max_retry_s, retry_s * 2);
  }
}

ParameterWeightSource::ParameterWeightSource(MimoModel& model, DType dtype) {
  std::vector<std::pair<std::string, at::Tensor>> named;
  for (const auto& item : model->named_parameters()) named.emplace_back(item.key(), item.value());
  std::sort(named.begin(), named.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [name, p] : named) {
    specs_.push_back({name, dtype, std::vector<int64_t>(p.sizes().begin(), p.sizes().end())});
    params_.push_back(p.detach());
  }
}

absl::Status ParameterWeightSource::Read(size_t i, const Sink& sink) {
  if (i >= specs_.size()) {
    return absl::OutOfRangeError(absl::StrCat("tensor ", i, " of ", specs_.size()));
  }
  const TensorSpec& spec = specs_[i];
  ASSIGN_OR_RETURN(at::ScalarType type, ToScalarType(spec.dtype));
  try {
    at::NoGradGuard no_grad;
    at::Tensor p = params_[i];
    if (p.numel() == 0) return absl::OkStatus();
    if (p.device().is_cpu() && p.scalar_type() == type && p.is_contiguous()) {
      return sink(absl::string_view(static_cast<const char*>(p.data_ptr()),
                                    p.numel() * p.element_size()));  // in place
    }
    // One chunk per slice, converted into a reused buffer: the slice is still in cache when
    // the stream copies it into its message.
    const int64_t slice = std::max<int64_t>(1, int64_t(kMaxChunkBytes / DTypeSize(spec.dtype)));
    if (!buffer_.defined() || buffer_.scalar_type() != type) {
      buffer_ = at::empty({slice}, at::TensorOptions().dtype(type));
    }
    at::Tensor flat = p.contiguous().view({-1});
    const int64_t n = flat.numel();
    for (int64_t offset = 0; offset < n; offset += slice) {
      const int64_t len = std::min(slice, n - offset);
      at::Tensor out = buffer_.narrow(0, 0, len);
      out.copy_(flat.narrow(0, offset, len));
      RETURN_IF_ERROR(sink(absl::string_view(static_cast<const char*>(out.data_ptr()),
                                             size_t(len) * out.element_size())));
    }
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("reading parameter '", spec.name, "': ", e.what_without_backtrace()));
  }
}

bool ParameterWeightSource::WritesInto(size_t i) const {
  if (i >= specs_.size()) return false;
  const at::Tensor& p = params_[i];
  auto type = ToScalarType(specs_[i].dtype);
  return type.ok() && p.device().is_cpu() && p.is_contiguous() && p.scalar_type() != *type;
}

absl::Status ParameterWeightSource::WriteInto(size_t i, uint64_t offset, char* dst, size_t size) {
  const TensorSpec& spec = specs_[i];
  const size_t element = DTypeSize(spec.dtype);
  if (!WritesInto(i) || offset % element != 0 || size % element != 0 ||
      offset + size > spec.NumBytes()) {
    return absl::InternalError(absl::StrCat("parameter '", spec.name, "': bytes ", offset, "+",
                                            size, " cannot be written into a buffer"));
  }
  ASSIGN_OR_RETURN(at::ScalarType type, ToScalarType(spec.dtype));
  try {
    at::NoGradGuard no_grad;
    const int64_t first = int64_t(offset / element), n = int64_t(size / element);
    at::Tensor out = at::from_blob(dst, {n}, at::TensorOptions().dtype(type));
    out.copy_(params_[i].view({-1}).narrow(0, first, n));
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("converting parameter '", spec.name, "': ", e.what_without_backtrace()));
  }
}

absl::Status PushWeights(const std::string& address, const RawTensorMap& weights, int64_t version,
                         double timeout_s) {
  WeightPublisher::Options options;
  options.timeout_s = timeout_s;
  options.stall_timeout_s = timeout_s;
  RawTensorMapSource source(weights);
  PushOutcome pushed = PushToAll(source, version, {address}, {MakeChannel(address)}, options);
  if (!pushed.source.ok()) return pushed.source;
  return pushed.results[0].status;
}

absl::Status BroadcastWeights(Collective& collective, MimoModel& model, int root) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> tensors;
  for (auto& p : model->parameters()) tensors.push_back(p.detach());
  return collective.Broadcast(tensors, root);
}

}  // namespace seamless
