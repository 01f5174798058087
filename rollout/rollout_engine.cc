#include "rollout/rollout_engine.h"

#include <algorithm>
#include <future>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/log.h"
#include "core/base/process_memory.h"
#include "core/base/status_macros.h"
#include "core/model/model_files.h"
#include "core/model/torch_raw_tensor.h"
#include "rollout/continuous_batcher.h"

namespace seamless {
namespace {

// PrepareWeights (core/model/model_files.cc) without its full converted copy: the same checks
// (CheckWeightTensor, CheckNoUnexpectedTensors), but each value is the received bytes themselves,
// wrapped as a tensor of the wire dtype that keeps `weights` alive. ApplyPreparedWeights' copy_
// then converts them (bf16 -> fp32, say) straight into the existing parameters. For parameters on
// an accelerator the bytes are copied to it here, still in the wire dtype (half the bytes of fp32).
// Parameters named in `decoded` come from `staged` instead, swapped in (`swapped` gets their
// names in the order of prepared.swaps).
absl::StatusOr<PreparedWeights> PrepareInPlace(MimoModel& model,
                                               std::shared_ptr<RawTensorMap> weights,
                                               StagedParameters& staged,
                                               const std::set<std::string>& decoded,
                                               const std::string& source,
                                               std::vector<std::string>* swapped) {
  at::NoGradGuard no_grad;
  PreparedWeights prepared;
  std::set<std::string> used;
  for (auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    if (decoded.count(name)) {
      // WeightAssembler checked the element count against this buffer, which StagedParameters
      // shaped like the parameter.
      auto buffer = staged.tensors.find(name);
      if (buffer == staged.tensors.end() || !buffer->second.sizes().equals(item.value().sizes())) {
        return absl::InternalError(absl::StrCat(source, ": no staged buffer for '", name, "'"));
      }
      prepared.bytes += static_cast<int64_t>(buffer->second.nbytes());
      prepared.swaps.emplace_back(item.value(), buffer->second);
      swapped->push_back(name);
      continue;
    }
    auto found = weights->find(name);
    if (found == weights->end()) {
      return absl::NotFoundError(absl::StrCat(source, ": missing tensor '", name, "'"));
    }
    RawTensor& raw = found->second;
    at::Tensor& param = item.value();
    RETURN_IF_ERROR(CheckWeightTensor(param, raw, name, source));
    ASSIGN_OR_RETURN(at::ScalarType type, ToScalarType(raw.dtype));
    try {
      at::Tensor value;
      if (raw.data.empty()) {
        value = at::empty(raw.shape, at::TensorOptions().dtype(type));
      } else {
        value = at::from_blob(
            raw.data.data(), raw.shape, [weights](void*) {}, at::TensorOptions().dtype(type));
      }
      if (param.device() != value.device()) value = value.to(param.device());
      prepared.bytes += static_cast<int64_t>(param.numel() * param.element_size());
      prepared.assignments.emplace_back(param, std::move(value));
    } catch (const c10::Error& e) {
      return absl::InternalError(
          absl::StrCat(source, ": tensor '", name, "': ", e.what_without_backtrace()));
    }
    used.insert(name);
  }
  RETURN_IF_ERROR(CheckNoUnexpectedTensors(model, *weights, used, source));
  return prepared;
}

}  // namespace

struct RolloutEngine::Metrics {
  explicit Metrics(MetricsRegistry* r)
      : generated(r->GetCounter("seamless_rollout_generated_tokens_total",
                                "Tokens generated (emitted into samples)")),
        prompt(r->GetCounter("seamless_rollout_prompt_tokens_total",
                             "Prompt tokens run through the model (prefill)")),
        shared_prefix(
            r->GetCounter("seamless_rollout_shared_prefix_tokens_total",
                          "Prompt tokens copied from a sibling's KV cache instead of prefilled")),
        drafts(r->GetCounter("seamless_rollout_spec_draft_tokens_total",
                             "MTP draft tokens verified by the main model")),
        accepted(r->GetCounter("seamless_rollout_spec_accepted_tokens_total",
                               "MTP draft tokens accepted")),
        acceptance(r->GetGauge("seamless_rollout_spec_acceptance_ratio",
                               "Accepted / drafted tokens per draft position, since start",
                               {{"position", "1"}})),
        aborted_tokens(r->GetCounter("seamless_rollout_aborted_tokens_total",
                                     "Tokens generated for samples that were then aborted")),
        steps(r->GetCounter("seamless_rollout_decode_steps_total", "Decode steps run")),
        idle(r->GetCounter("seamless_rollout_idle_seconds_total",
                           "Seconds the engine had nothing to generate")),
        running(r->GetGauge("seamless_rollout_running_requests", "Sequences in the running batch")),
        queue(r->GetGauge("seamless_rollout_queue_depth", "Samples waiting for a batch slot")),
        version(r->GetGauge("seamless_rollout_weight_version", "Policy version now serving")),
        kv_used(r->GetGauge("seamless_rollout_kv_blocks_used", "KV cache blocks in use")),
        kv_total(r->GetGauge("seamless_rollout_kv_blocks_total", "KV cache blocks in the pools")),
        preempted(r->GetCounter("seamless_rollout_preempted_samples_total",
                                "Samples restarted because the KV cache pool ran out")),
        stop(r->GetCounter("seamless_rollout_samples_total", "Samples returned, by finish reason",
                           {{"finish", "stop"}})),
        length(r->GetCounter("seamless_rollout_samples_total", "Samples returned, by finish reason",
                             {{"finish", "length"}})),
        aborted(r->GetCounter("seamless_rollout_samples_total",
                              "Samples returned, by finish reason", {{"finish", "aborted"}})),
        weight_load(r->GetHistogram("seamless_rollout_weight_load_seconds",
                                    "Time from a complete weight stream to serving it",
                                    LatencySecondsBuckets())) {}
  Counter *generated, *prompt, *shared_prefix, *drafts, *accepted;
  Gauge* acceptance;
  Counter *aborted_tokens, *steps, *idle;
  Gauge *running, *queue, *version, *kv_used, *kv_total;
  Counter* preempted;
  int64_t last_preempted = 0;
  Counter *stop, *length, *aborted;
  Histogram* weight_load;
  BatcherStats last;  // stats already added to the counters
};

std::unique_ptr<RolloutEngine> RolloutEngine::Start(std::unique_ptr<ContinuousBatcher> batcher,
                                                    MetricsRegistry* metrics) {
  // The engine's model only runs inference, so its fused projections can be the parameters
  // themselves (no concatenated copies); packed before StageableParameters reads the layout
  // that the staged sets mirror.
  batcher->model()->PackFusedProjections();
  ReleaseFreedMemory();  // their former storage (0.9 GiB at 0.5B) back to the kernel
  return std::unique_ptr<RolloutEngine>(new RolloutEngine(std::move(batcher), metrics));
}

RolloutEngine::RolloutEngine(std::unique_ptr<ContinuousBatcher> batcher, MetricsRegistry* metrics)
    : batcher_(std::move(batcher)),
      max_queued_(batcher_->options().max_queued_samples),
      stageable_(StageableParameters(batcher_->model())),
      started_(std::chrono::steady_clock::now()) {
  if (metrics) {
    metrics_ = std::make_unique<Metrics>(metrics);
    metrics_->version->Set(0);
  }
  thread_ = std::thread([this] { Run(); });
  loader_ = std::thread([this] { RunLoader(); });
}

RolloutEngine::~RolloutEngine() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  loader_.join();
  thread_.join();
}

absl::Status RolloutEngine::Submit(GroupRequest request, SampleCallback on_sample) {
  RETURN_IF_ERROR(batcher_->Validate(request));  // reads only immutable configuration
  absl::MutexLock lock(&mu_);
  if (stop_) return absl::UnavailableError("the rollout engine is shutting down");
  if (callbacks_.count(request.group_id)) {
    return absl::AlreadyExistsError(
        absl::StrCat("group '", request.group_id, "' is already being generated"));
  }
  // The batcher's queue only shrinks between steps, so this bound is never optimistic.
  const int64_t waiting = batcher_queued_ + inbox_samples_;
  if (waiting + request.num_samples > max_queued_) {
    return absl::ResourceExhaustedError(absl::StrCat("queue full: ", waiting,
                                                     " samples waiting (max_queued_samples ",
                                                     max_queued_, "); retry later"));
  }
  inbox_samples_ += request.num_samples;
  callbacks_[request.group_id] = {std::move(on_sample), request.num_samples};
  new_groups_.push_back({std::move(request)});
  return absl::OkStatus();
}

void RolloutEngine::Abort(AbortSpec spec, AbortCallback done) {
  absl::MutexLock lock(&mu_);
  aborts_.push_back({std::move(spec), std::move(done)});
}

void RolloutEngine::LoadWeights(RawTensorMap tensors, int64_t version, WeightsCallback done) {
  LoadWeights(std::move(tensors), StagedParameters(), {}, version, std::move(done));
}

void RolloutEngine::LoadWeights(RawTensorMap tensors, StagedParameters staged,
                                std::set<std::string> decoded, int64_t version,
                                WeightsCallback done) {
  absl::MutexLock lock(&mu_);
  if (stop_) {
    done(absl::UnavailableError("the rollout engine is shutting down"), -1);
    return;
  }
  ++loading_;
  to_prepare_.push_back(
      {std::move(tensors), std::move(staged), std::move(decoded), version, std::move(done)});
}

// Preparing weights (validation, the copy to an accelerator) runs here, beside generation;
// only the final conversion into the parameters happens between two decode steps.
void RolloutEngine::RunLoader() {
  while (true) {
    UnpreparedWeights job;
    int64_t newest = 0;
    {
      absl::MutexLock lock(&mu_, absl::Condition(this, &RolloutEngine::ToPrepareOrStop));
      if (stop_) return;
      job = std::move(to_prepare_.front());
      to_prepare_.pop_front();
      newest = newest_version_;
    }
    const auto start = std::chrono::steady_clock::now();
    auto buffers = std::make_shared<RawTensorMap>(std::move(job.tensors));
    std::vector<std::string> swapped;
    // A stale push (a delayed stream, a second learner) must not roll the policy back.
    absl::StatusOr<PreparedWeights> prepared =
        job.version < newest
            ? absl::FailedPreconditionError(
                  absl::StrCat("weights version ", job.version, " after ", newest))
            : PrepareInPlace(batcher_->model(), buffers, job.staged, job.decoded,
                             absl::StrCat("weights version ", job.version), &swapped);
    if (!prepared.ok()) {
      KeepSpare(std::move(buffers));
      if (!job.decoded.empty()) KeepStagedParameters(std::move(job.staged));
      --loading_;
      SLOG(WARNING) << "rejected weights version " << job.version << ": " << prepared.status();
      job.done(prepared.status(), -1);
      continue;
    }
    absl::MutexLock lock(&mu_);
    newest_version_ = std::max(newest_version_, job.version);
    weights_.push_back(
        {std::make_shared<PreparedWeights>(std::move(*prepared)), std::move(buffers),
         std::move(swapped), job.version,
         [this, start, done = std::move(job.done)](absl::Status status, int64_t v) {
           if (metrics_) {
             metrics_->weight_load->Observe(
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
           }
           --loading_;
           done(status, v);
         }});
  }
}

void RolloutEngine::KeepSpare(std::shared_ptr<RawTensorMap> buffers) {
  // Only once nothing else points into them (views on an accelerator copy do not).
  if (!buffers || buffers.use_count() != 1) return;
  absl::MutexLock lock(&mu_);
  spare_weights_ = std::move(*buffers);
}

RawTensorMap RolloutEngine::TakeSpareWeights() {
  absl::MutexLock lock(&mu_);
  RawTensorMap out = std::move(spare_weights_);
  spare_weights_.clear();
  return out;
}

StagedParameters RolloutEngine::TakeStagedParameters() {
  {
    absl::MutexLock lock(&mu_);
    if (spare_staged_) {
      StagedParameters out = std::move(*spare_staged_);
      spare_staged_.reset();
      return out;
    }
  }
  return StagedParameters::Allocate(stageable_);
}

void RolloutEngine::KeepStagedParameters(StagedParameters staged) {
  // One spare set is kept; a second (two streams at once) is freed.
  absl::MutexLock lock(&mu_);
  if (!spare_staged_) spare_staged_ = std::move(staged);
}

AbortCounts RolloutEngine::AbortAndWait(AbortSpec spec) {
  std::promise<AbortCounts> promise;
  Abort(std::move(spec), [&promise](AbortCounts c) { promise.set_value(c); });
  return promise.get_future().get();
}

absl::Status RolloutEngine::LoadWeightsAndWait(RawTensorMap tensors, int64_t version) {
  std::promise<absl::Status> promise;
  LoadWeights(std::move(tensors), version,
              [&promise](absl::Status s, int64_t) { promise.set_value(std::move(s)); });
  return promise.get_future().get();
}

EngineStatus RolloutEngine::Status() const {
  absl::MutexLock lock(&mu_);
  EngineStatus out = status_;
  out.loading_weights = loading_.load() > 0;
  return out;
}

void RolloutEngine::Deliver(std::vector<RolloutSample>& samples) {
  for (RolloutSample& sample : samples) {
    SampleCallback callback;
    {
      absl::MutexLock lock(&mu_);
      auto it = callbacks_.find(sample.group_id);
      if (it == callbacks_.end()) continue;
      callback = it->second.first;
      if (--it->second.second == 0) callbacks_.erase(it);
    }
    if (metrics_) {
      (sample.finish == Finish::kStop     ? metrics_->stop
       : sample.finish == Finish::kLength ? metrics_->length
                                          : metrics_->aborted)
          ->Increment();
    }
    callback(std::move(sample));
  }
  samples.clear();
}

void RolloutEngine::PublishStats() {
  const BatcherStats& s = batcher_->stats();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  {
    absl::MutexLock lock(&mu_);
    batcher_queued_ = batcher_->queued_samples();
    status_.weight_version = batcher_->version();
    status_.running = batcher_->running();
    status_.queued = batcher_queued_ + inbox_samples_;
    status_.generated_tokens = static_cast<double>(s.generated_tokens);
    status_.idle_fraction = wall > 0 ? idle_seconds_ / wall : 0;
    status_.stats = s;
  }
  if (!metrics_) return;
  BatcherStats& last = metrics_->last;
  metrics_->generated->Increment(s.generated_tokens - last.generated_tokens);
  metrics_->prompt->Increment(s.prompt_tokens - last.prompt_tokens);
  metrics_->shared_prefix->Increment(s.shared_prefix_tokens - last.shared_prefix_tokens);
  metrics_->drafts->Increment(s.draft_tokens - last.draft_tokens);
  metrics_->accepted->Increment(s.accepted_tokens - last.accepted_tokens);
  metrics_->aborted_tokens->Increment(s.aborted_tokens - last.aborted_tokens);
  metrics_->steps->Increment(s.decode_steps - last.decode_steps);
  if (s.draft_tokens > 0) {
    metrics_->acceptance->Set(static_cast<double>(s.accepted_tokens) / s.draft_tokens);
  }
  metrics_->running->Set(static_cast<double>(batcher_->running()));
  metrics_->queue->Set(static_cast<double>(batcher_->queued_samples()));
  metrics_->version->Set(static_cast<double>(batcher_->version()));
  metrics_->kv_used->Set(static_cast<double>(batcher_->kv_blocks_used()));
  metrics_->kv_total->Set(static_cast<double>(batcher_->kv_blocks_total()));
  metrics_->preempted->Increment(batcher_->preempted_samples() - metrics_->last_preempted);
  metrics_->last_preempted = batcher_->preempted_samples();
  last = s;
}

void RolloutEngine::Run() {
  std::vector<RolloutSample> out;
  while (true) {
    std::deque<PendingGroup> groups;
    std::deque<PendingAbort> aborts;
    std::deque<PendingWeights> weights;
    {
      absl::MutexLock lock(&mu_);
      if (!stop_ && !batcher_->HasWork() && new_groups_.empty() && aborts_.empty() &&
          weights_.empty()) {
        const auto idle_start = std::chrono::steady_clock::now();
        mu_.Await(absl::Condition(this, &RolloutEngine::InboxOrStop));
        const double idle =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - idle_start).count();
        idle_seconds_ += idle;
        if (metrics_) metrics_->idle->Increment(idle);
      }
      if (stop_) return;
      groups.swap(new_groups_);
      aborts.swap(aborts_);
      weights.swap(weights_);
      for (const auto& g : groups) inbox_samples_ -= g.request.num_samples;
    }
    // Between two steps: new work, then aborts (which may target that new work), then weights.
    for (PendingGroup& g : groups) {
      const std::string id = g.request.group_id;
      const int32_t n = g.request.num_samples;
      const uint64_t seq = g.request.launch_seq;
      const std::vector<int32_t> prompt = g.request.prompt;
      absl::Status added = batcher_->Add(std::move(g.request));
      if (!added.ok()) {  // not expected: Submit checked the same conditions
        SLOG(ERROR) << "group " << id << " could not be queued: " << added;
        for (int32_t i = 0; i < n; ++i) {
          RolloutSample s;
          s.request_id = RequestId(id, i);
          s.group_id = id;
          s.index_in_group = i;
          s.launch_seq = seq;
          s.prompt = prompt;
          s.finish = Finish::kAborted;
          out.push_back(std::move(s));
        }
      }
    }
    std::vector<std::pair<AbortCallback, AbortCounts>> abort_results;
    abort_results.reserve(aborts.size());
    for (PendingAbort& a : aborts) {
      abort_results.emplace_back(std::move(a.done), batcher_->Abort(a.spec, &out));
    }
    for (PendingWeights& w : weights) {
      batcher_->ApplyWeights(*w.weights, w.version);
      SLOG(INFO) << "serving weights version " << w.version;
    }
    absl::Status stepped = batcher_->Step(&out);
    if (!stepped.ok()) {
      // A failed forward (out of memory, say) must not strand callers: return everything
      // in flight as aborted so the scheduler re-queues it.
      SLOG(ERROR) << stepped << "; aborting all work in flight";
      std::vector<std::string> ids;
      {
        absl::MutexLock lock(&mu_);
        for (const auto& [id, cb] : callbacks_) ids.push_back(id);
      }
      AbortSpec by_id;
      by_id.group_ids = ids;
      batcher_->Abort(by_id, &out);
    }
    PublishStats();
    Deliver(out);
    for (auto& [done, counts] : abort_results) done(counts);
    for (PendingWeights& w : weights) {
      // The swaps now hold the storage the parameters had: the next stream's buffers.
      if (!w.swapped.empty()) {
        StagedParameters previous;
        for (size_t i = 0; i < w.swapped.size(); ++i) {
          previous.tensors.emplace(w.swapped[i], std::move(w.weights->swaps[i].second));
        }
        KeepStagedParameters(std::move(previous));
      }
      w.weights.reset();  // the views; then the bytes can be reused
      KeepSpare(std::move(w.buffers));
      w.done(absl::OkStatus(), w.version);
    }
  }
}

}  // namespace seamless
