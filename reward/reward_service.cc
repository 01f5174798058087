#include "reward/reward_service.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/service/grpc_status.h"

namespace seamless {
namespace {

// A per-sample deadline further out than this (RewardConfig's own bound on
// default_deadline_seconds) is clamped: 1e300 s overflowed the clock's int64 nanoseconds,
// wrapped into the past and read as already expired.
constexpr double kMaxDeadlineSeconds = 1e6;

using Clock = RewardEngine::Clock;

std::string ResultLabel(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return "ok";
    case absl::StatusCode::kInvalidArgument:
      return "invalid_argument";
    case absl::StatusCode::kResourceExhausted:
      return "resource_exhausted";
    case absl::StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    default:
      return "error";
  }
}

void FillResponse(const ScoreRequest& request, const RewardResult& result, ScoreResponse* out) {
  out->set_request_id(request.request_id());
  out->set_reward(static_cast<float>(result.reward));
  out->set_passed(result.passed);
  out->set_detail(result.detail);
  out->set_detail_json(result.details_json);
  out->set_latency_seconds(result.seconds);
}

const char* KindLabel(const ScoreRequest& request) {
  switch (request.kind()) {
    case REWARD_KIND_MATH:
      return "math";
    case REWARD_KIND_CODE:
      return "code";
    default:
      return "unknown";
  }
}

}  // namespace

// The shared state of one ScoreBatch call: the last job to finish answers.
struct RewardServiceImpl::Batch {
  grpc::ServerUnaryReactor* reactor;
  ScoreBatchResponse* response;
  std::atomic<int> remaining;
  absl::Mutex mu;
  absl::Status first_error ABSL_GUARDED_BY(mu);
};

RewardServiceImpl::RewardServiceImpl(const RewardEngine* engine, MetricsRegistry* metrics)
    : engine_(engine) {
  if (metrics) metrics_ = std::make_unique<RewardMetrics>(metrics);
  int workers = static_cast<int>(engine->config().workers);
  if (workers <= 0) workers = std::max(1u, std::thread::hardware_concurrency());
  pool_ = std::make_unique<WorkerPool>(workers, static_cast<int>(engine->config().queue_capacity));
  if (metrics_) metrics_->SetQueueDepth(0);
}

RewardServiceImpl::~RewardServiceImpl() { pool_.reset(); }

void RewardServiceImpl::BeginShutdown() {
  stopping_.store(true);
  engine_->CancelRuns();
}

absl::StatusOr<RewardResult> RewardServiceImpl::ScoreUnlessStopping(
    const RewardTask& task, Clock::time_point deadline) const {
  if (stopping_.load()) {
    return absl::UnavailableError("reward server is shutting down; score elsewhere");
  }
  return engine_->Score(task, deadline);
}

absl::StatusOr<RewardTask> RewardServiceImpl::ToTask(const ScoreRequest& request,
                                                     const std::string& where) const {
  RewardTask task;
  switch (request.kind()) {
    case REWARD_KIND_MATH:
      task.kind = TaskKind::kMath;
      break;
    case REWARD_KIND_CODE:
      task.kind = TaskKind::kCode;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(where, "kind: unknown reward kind ",
                                                     static_cast<int>(request.kind()),
                                                     " (REWARD_KIND_MATH or REWARD_KIND_CODE)"));
  }
  if (request.deadline_seconds() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(where, "deadline_seconds: negative"));
  }
  task.response = request.response_text();
  task.ground_truth = request.ground_truth();
  task.options_json = request.extra_info_json();
  return task;
}

Clock::time_point RewardServiceImpl::Deadline(const ScoreRequest& request,
                                              const grpc::CallbackServerContext* context) const {
  const double seconds = request.deadline_seconds() > 0
                             ? std::min(request.deadline_seconds(), kMaxDeadlineSeconds)
                             : engine_->config().default_deadline_seconds;
  Clock::time_point deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(seconds));
  // The caller's own RPC deadline, if sooner.
  const auto rpc_deadline = context->deadline();
  const auto system_now = std::chrono::system_clock::now();
  if (rpc_deadline < system_now + std::chrono::hours(24 * 365)) {
    deadline = std::min(deadline, Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                     rpc_deadline - system_now));
  }
  return deadline;
}

void RewardServiceImpl::Record(const std::string& kind, const absl::Status& status,
                               double seconds) {
  if (!metrics_) return;
  metrics_->CountRequest(kind, ResultLabel(status));
  if (status.ok()) metrics_->ObserveLatency(kind, seconds);
  metrics_->SetQueueDepth(pool_->queued());
}

grpc::ServerUnaryReactor* RewardServiceImpl::Score(grpc::CallbackServerContext* context,
                                                   const ScoreRequest* request,
                                                   ScoreResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const auto arrival = Clock::now();
  absl::StatusOr<RewardTask> task = ToTask(*request, "");
  if (!task.ok()) {
    Record(KindLabel(*request), task.status(), 0);
    reactor->Finish(ToGrpcStatus(task.status()));
    return reactor;
  }
  const Clock::time_point deadline = Deadline(*request, context);
  const bool queued = pool_->TrySubmit(
      [this, reactor, request, response, arrival, deadline, task = std::move(*task)] {
        absl::StatusOr<RewardResult> result = ScoreUnlessStopping(task, deadline);
        const double seconds = std::chrono::duration<double>(Clock::now() - arrival).count();
        if (result.ok()) {
          result->seconds = seconds;
          FillResponse(*request, *result, response);
        }
        Record(KindLabel(*request), result.status(), seconds);
        const grpc::Status status = ToGrpcStatus(result.status());
        return WorkerPool::Completion([reactor, status] { reactor->Finish(status); });
      });
  if (!queued) {
    const absl::Status full = absl::ResourceExhaustedError(
        absl::StrCat("reward server busy: ", pool_->workers(), " workers and ",
                     engine_->config().queue_capacity, " queued samples; retry later"));
    Record(KindLabel(*request), full, 0);
    reactor->Finish(ToGrpcStatus(full));
  }
  if (metrics_) metrics_->SetQueueDepth(pool_->queued());
  return reactor;
}

grpc::ServerUnaryReactor* RewardServiceImpl::ScoreBatch(grpc::CallbackServerContext* context,
                                                        const ScoreBatchRequest* request,
                                                        ScoreBatchResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const int n = request->requests_size();
  if (n == 0) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  std::vector<RewardTask> tasks;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<RewardTask> task =
        ToTask(request->requests(i), absl::StrCat("requests[", i, "]."));
    if (!task.ok()) {
      Record(KindLabel(request->requests(i)), task.status(), 0);
      reactor->Finish(ToGrpcStatus(task.status()));
      return reactor;
    }
    tasks.push_back(std::move(*task));
    response->add_responses();
  }
  auto batch = std::make_shared<Batch>();
  batch->reactor = reactor;
  batch->response = response;
  batch->remaining = n;
  const auto arrival = Clock::now();
  std::vector<WorkerPool::Job> jobs;
  for (int i = 0; i < n; ++i) {
    const ScoreRequest* item = &request->requests(i);
    jobs.push_back([this, batch, item, i, arrival, deadline = Deadline(*item, context),
                    task = std::move(tasks[i])] {
      absl::StatusOr<RewardResult> result = ScoreUnlessStopping(task, deadline);
      const double seconds = std::chrono::duration<double>(Clock::now() - arrival).count();
      if (result.ok()) {
        result->seconds = seconds;
        FillResponse(*item, *result, batch->response->mutable_responses(i));
      } else {
        absl::MutexLock lock(&batch->mu);
        if (batch->first_error.ok()) {
          batch->first_error =
              absl::Status(result.status().code(),
                           absl::StrCat("requests[", i, "].", result.status().message()));
        }
      }
      Record(KindLabel(*item), result.status(), seconds);
      return WorkerPool::Completion([batch] {
        if (batch->remaining.fetch_sub(1) != 1) return;
        absl::MutexLock lock(&batch->mu);
        batch->reactor->Finish(ToGrpcStatus(batch->first_error));
      });
    });
  }
  if (!pool_->TrySubmit(std::move(jobs))) {
    const absl::Status full = absl::ResourceExhaustedError(absl::StrCat(
        "reward server busy: no room for ", n, " samples (", pool_->workers(), " workers, ",
        engine_->config().queue_capacity, " queued at most); retry later or send smaller batches"));
    for (int i = 0; i < n; ++i) Record(KindLabel(request->requests(i)), full, 0);
    response->clear_responses();
    reactor->Finish(ToGrpcStatus(full));
  }
  return reactor;
}

}  // namespace seamless
