#include "scheduler/grpc_backends.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/service/grpc_server.h"
#include "core/service/grpc_status.h"
#include "rollout/rollout_proto.h"

namespace seamless {

GrpcRolloutBackend::GrpcRolloutBackend(const std::vector<std::string>& addresses,
                                       const Tokenizer* tokenizer)
    : tokenizer_(tokenizer) {
  for (const auto& a : addresses) clients_.push_back(std::make_unique<RolloutClient>(a));
}

GrpcRolloutBackend::~GrpcRolloutBackend() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &GrpcRolloutBackend::Idle));
}

void GrpcRolloutBackend::Generate(int worker, GroupRequest request,
                                  std::function<void(RolloutSample)> on_sample,
                                  std::function<void(absl::Status)> on_done) {
  {
    absl::MutexLock lock(&mu_);
    ++open_streams_;
  }
  RolloutClient* client = clients_[worker].get();
  std::thread([this, client, request = std::move(request), on_sample = std::move(on_sample),
               on_done = std::move(on_done)] {
    auto samples = client->Generate(request, [&](const RolloutSample& s) { on_sample(s); });
    on_done(samples.ok() ? absl::OkStatus() : samples.status());
    absl::MutexLock lock(&mu_);
    --open_streams_;
  }).detach();
}

void GrpcRolloutBackend::Abort(const AbortSpec& spec) {
  for (auto& c : clients_) {
    auto r = c->Abort(spec);
    if (!r.ok()) {
      SLOG(WARNING) << "abort on a rollout worker failed: " << r.status().message();
    }
  }
}

std::string GrpcRolloutBackend::Detokenize(const std::vector<int32_t>& ids) {
  auto text = tokenizer_->Decode(ids);
  return text.ok() ? *text : std::string();
}

double GrpcRolloutBackend::IdleFraction() {
  double sum = 0;
  int n = 0;
  for (auto& c : clients_) {
    auto s = c->Status();
    if (!s.ok()) continue;
    sum += s->idle_fraction();
    ++n;
  }
  return n > 0 ? sum / n : -1;
}

GrpcRewardBackend::GrpcRewardBackend(const std::vector<std::string>& addresses, int threads,
                                     double deadline_seconds, int retries, const Clock* clock)
    : deadline_seconds_(deadline_seconds),
      retries_(retries),
      clock_(clock != nullptr ? clock : DefaultClock()) {
  for (const auto& a : addresses) clients_.push_back(std::make_unique<RewardClient>(a));
  {
    absl::MutexLock lock(&mu_);
    down_until_.resize(clients_.size());
  }
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

GrpcRewardBackend::~GrpcRewardBackend() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  for (auto& t : threads_) t.join();
}

void GrpcRewardBackend::Score(ScoreJob job, std::function<void(absl::StatusOr<ScoreResult>)> done) {
  absl::MutexLock lock(&mu_);
  jobs_.emplace_back(std::move(job), std::move(done));
}

size_t GrpcRewardBackend::PickServer(size_t first, int attempt, bool* all_down) {
  // Prefer a server not marked down; if all are, try the planned one anyway.
  const Clock::TimePoint now = clock_->Now();
  absl::MutexLock lock(&mu_);
  *all_down = false;
  for (size_t k = 0; k < clients_.size(); ++k) {
    const size_t candidate = (first + attempt + k) % clients_.size();
    if (down_until_[candidate] <= now) return candidate;
  }
  *all_down = true;
  return (first + attempt) % clients_.size();
}

void GrpcRewardBackend::MarkDown(size_t server, const absl::Status& status) {
  const Clock::TimePoint until = clock_->Now() + std::chrono::seconds(10);
  absl::MutexLock lock(&mu_);
  down_until_[server] = until;
  SLOG(WARNING) << "reward server " << server << " " << status.message()
                << "; skipping it for 10 s";
}

void GrpcRewardBackend::Loop() {
  while (true) {
    Job item;
    size_t first;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &GrpcRewardBackend::HasWork));
      if (stop_) return;
      item = std::move(jobs_.front());
      jobs_.pop_front();
      first = next_server_++;
    }
    const ScoreJob& job = item.first;
    ScoreRequest request;
    request.set_request_id(job.request_id);
    request.set_kind(job.ability == "code" ? REWARD_KIND_CODE : REWARD_KIND_MATH);
    request.set_response_text(job.response_text);
    request.set_ground_truth(job.ground_truth);
    request.set_extra_info_json(job.extra_info_json);
    request.set_deadline_seconds(deadline_seconds_);
    absl::StatusOr<ScoreResult> scored = ScoreWithRetries(request, first);
    if (!scored.ok()) scored = Annotate(scored.status(), absl::StrCat("scoring ", job.request_id));
    item.second(std::move(scored));
  }
}

absl::StatusOr<ScoreResult> GrpcRewardBackend::ScoreWithRetries(const ScoreRequest& request,
                                                                size_t first) {
  const auto timeout =
      std::chrono::milliseconds(static_cast<int64_t>(deadline_seconds_ * 1000) + 500);
  absl::Status last;
  bool waited = false;  // one try per sample may wait for a server to listen
  for (int attempt = 0; attempt <= retries_; ++attempt) {
    bool all_down = false;
    const size_t server = PickServer(first, attempt, &all_down);
    const bool wait = all_down && !waited;
    waited |= wait;
    auto response = clients_[server]->Score(request, timeout, /*wait_for_ready=*/wait);
    if (response.ok()) {
      ScoreResult r;
      r.reward = response->reward();
      r.passed = response->passed();
      r.detail = response->detail();
      return r;
    }
    last = response.status();
    // A bad request will not get better elsewhere.
    if (absl::IsInvalidArgument(last)) break;
    if (absl::IsDeadlineExceeded(last) || absl::IsUnavailable(last)) {
      MarkDown(server, last);
      // Refused at once: with every server down (the only one restarting, say), failing would
      // drop sample after sample in a burst; the try is made again, and once all are down it
      // waits for a server to listen, up to the deadline.
      if (absl::IsUnavailable(last) && !waited) --attempt;
    }
  }
  return last;
}

GrpcLearnerBackend::GrpcLearnerBackend(const std::string& address, std::string run_id)
    : stub_(LearnerService::NewStub(MakeChannel(address))), run_id_(std::move(run_id)) {}

absl::StatusOr<TrainResult> GrpcLearnerBackend::Train(const TrainCall& call) {
  constexpr int kAttempts = 3;
  absl::StatusOr<TrainResult> result;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    result = TrainOnce(call);
    if (result.ok() || !absl::IsUnavailable(result.status()) || attempt == kAttempts) break;
    SLOG(WARNING) << "TrainStep of step " << call.step << " failed (" << result.status()
                  << "); sending it again";
    std::this_thread::sleep_for(std::chrono::seconds(2 * attempt));
  }
  return result;
}

absl::StatusOr<TrainResult> GrpcLearnerBackend::TrainOnce(const TrainCall& call) {
  const std::vector<TrainGroupData>& groups = call.groups;
  grpc::ClientContext context;
  TrainStepResult result;
  auto writer = stub_->TrainStep(&context, &result);
  constexpr size_t kGroupsPerPart = 4;
  for (size_t i = 0; i < std::max<size_t>(groups.size(), 1); i += kGroupsPerPart) {
    TrainBatchPart part;
    part.set_step(call.step);
    if (i == 0) {
      part.set_run_id(run_id_);
      part.set_commit_state(call.commit_state);
    }
    for (size_t g = i; g < std::min(groups.size(), i + kGroupsPerPart); ++g) {
      TrainGroup* group = part.add_groups();
      group->set_group_id(groups[g].group_id);
      for (const TrainSample& t : groups[g].samples) {
        ScoredSample* s = group->add_samples();
        *s->mutable_sample() = ToProto(t.sample);
        s->set_reward(static_cast<float>(t.score.reward));
        s->set_passed(t.score.passed);
        s->set_reward_detail(t.score.detail);
      }
    }
    part.set_last(i + kGroupsPerPart >= groups.size());
    if (!writer->Write(part)) break;
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return FromGrpcStatus(status);
  TrainResult out;
  out.policy_version = result.policy_version();
  out.skipped = result.skipped();
  out.replayed = result.replayed();
  for (const auto& [k, v] : result.metrics()) out.metrics[k] = v;
  return out;
}

absl::StatusOr<RunState> GrpcLearnerBackend::GetRunState(std::chrono::seconds timeout) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  context.set_wait_for_ready(true);  // the learner may still be starting
  RunState state;
  grpc::Status status = stub_->GetRunState(&context, RunStateRequest(), &state);
  if (!status.ok()) return Annotate(FromGrpcStatus(status), "the learner's run state");
  return state;
}

}  // namespace seamless
