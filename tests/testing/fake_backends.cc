#include "tests/testing/fake_backends.h"

#include <algorithm>
#include <utility>

#include "absl/time/time.h"
#include "rollout/rollout_types.h"
#include "rollout/token_sampler.h"

namespace seamless {
namespace testing {

PromptDataset FakeDataset(int n) {
  PromptDataset d;
  d.path = "fake.jsonl";
  for (int i = 0; i < n; ++i) {
    PromptRecord r;
    r.index = i;
    r.line = i + 1;
    r.prompt = "p" + std::to_string(i);
    r.ground_truth = "1";
    d.records.push_back(r);
  }
  return d;
}

PromptEncoder FakeEncoder() {
  return [](const PromptRecord& r) -> absl::StatusOr<std::vector<int32_t>> {
    return std::vector<int32_t>{static_cast<int32_t>(r.index + 3)};
  };
}

namespace {
bool IsEval(const GroupRequest& request) { return request.group_id.rfind("eval.", 0) == 0; }
}  // namespace

FakeRollout::FakeRollout(int workers, std::vector<double> pass, std::vector<int> duration_ms)
    : workers_(workers), pass_(std::move(pass)), duration_(std::move(duration_ms)), dead_(workers) {
  if (std::any_of(duration_.begin(), duration_.end(), [](int d) { return d > 0; })) {
    thread_ = std::thread([this] { Loop(); });
  }
}

FakeRollout::~FakeRollout() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void FakeRollout::set_on_generate(std::function<bool(int, const GroupRequest&)> hook) {
  on_generate_ = std::move(hook);
}

void FakeRollout::set_token_version(std::function<int64_t(int worker)> version) {
  token_version_ = std::move(version);
}

void FakeRollout::set_validate(std::function<absl::Status(const GroupRequest&)> validate) {
  validate_ = std::move(validate);
}

void FakeRollout::Generate(int worker, GroupRequest request,
                           std::function<void(RolloutSample)> on_sample,
                           std::function<void(absl::Status)> on_done) {
  if (validate_) {
    absl::Status valid = validate_(request);
    if (!valid.ok()) return on_done(valid);
  }
  const bool hold = on_generate_ && on_generate_(worker, request);
  const int p = request.prompt[0] - 3;
  Job job{worker, std::move(request), std::move(on_sample), std::move(on_done),
          std::chrono::steady_clock::now() + std::chrono::milliseconds(duration_[p])};
  bool dead;
  {
    absl::MutexLock lock(&mu_);
    ++generated_groups_;
    dead = dead_[worker];
    if (!dead) {
      if (IsEval(job.request)) eval_num_samples_.push_back(job.request.num_samples);
      if (hold || duration_[p] > 0) {
        if (hold) job.due = std::chrono::steady_clock::time_point::max();
        jobs_.push_back(std::move(job));
        max_jobs_ = std::max<int64_t>(max_jobs_, int64_t(jobs_.size()));
        return;
      }
    }
  }
  if (dead) return job.on_done(absl::UnavailableError("worker is dead"));
  Answer(job);
}

void FakeRollout::Abort(const AbortSpec& spec) {
  std::vector<Job> hit;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      const bool match =
          (spec.by_launch_seq && it->request.launch_seq > spec.launched_after) ||
          std::count(spec.group_ids.begin(), spec.group_ids.end(), it->request.group_id);
      if (!match) {
        ++it;
        continue;
      }
      hit.push_back(std::move(*it));
      it = jobs_.erase(it);
    }
  }
  for (Job& job : hit) {
    for (int i = 0; i < job.request.num_samples; ++i) {
      RolloutSample s = MakeSample(job, i);
      s.finish = Finish::kAborted;
      job.on_sample(std::move(s));
    }
    job.on_done(absl::OkStatus());
  }
}

std::string FakeRollout::Detokenize(const std::vector<int32_t>& ids) {
  return ids.empty() ? "" : std::to_string(ids[0]);
}

void FakeRollout::Revive(int worker) {
  absl::MutexLock lock(&mu_);
  dead_[worker] = false;
}

void FakeRollout::Kill(int worker) {
  std::vector<Job> killed;
  {
    absl::MutexLock lock(&mu_);
    dead_[worker] = true;
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      if (it->worker != worker) {
        ++it;
        continue;
      }
      killed.push_back(std::move(*it));
      it = jobs_.erase(it);
    }
  }
  for (Job& job : killed) job.on_done(absl::UnavailableError("connection reset"));
}

int64_t FakeRollout::generated_groups() {
  absl::MutexLock lock(&mu_);
  return generated_groups_;
}

std::vector<int> FakeRollout::eval_num_samples() {
  absl::MutexLock lock(&mu_);
  return eval_num_samples_;
}

int64_t FakeRollout::max_groups_in_flight() {
  absl::MutexLock lock(&mu_);
  return max_jobs_;
}

int64_t FakeRollout::eval_passes() {
  absl::MutexLock lock(&mu_);
  return eval_passes_;
}

RolloutSample FakeRollout::MakeSample(const Job& job, int i) const {
  RolloutSample s;
  s.group_id = job.request.group_id;
  s.request_id = RequestId(job.request.group_id, i);
  s.index_in_group = i;
  s.launch_seq = job.request.launch_seq;
  s.prompt = job.request.prompt;
  const int p = job.request.prompt[0] - 3;
  const double u = CounterUniform(job.request.sampling.seed, i);
  s.tokens = {u < pass_[p] ? 1 : 0};
  s.logprobs = {-0.5f};
  if (token_version_) s.versions.assign(s.tokens.size(), token_version_(job.worker));
  s.finish = Finish::kStop;
  return s;
}

void FakeRollout::Answer(Job& job) {
  for (int i = 0; i < job.request.num_samples; ++i) {
    RolloutSample s = MakeSample(job, i);
    if (IsEval(job.request) && s.tokens[0] == 1) {
      absl::MutexLock lock(&mu_);
      ++eval_passes_;
    }
    job.on_sample(std::move(s));
  }
  job.on_done(absl::OkStatus());
}

void FakeRollout::Loop() {
  while (true) {
    std::vector<Job> due;
    // Polls every 200 us for due groups; wakes at once when stopped.
    if (mu_.LockWhenWithTimeout(absl::Condition(this, &FakeRollout::Stopped),
                                absl::Microseconds(200))) {
      mu_.Unlock();
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      if (it->due <= now) {
        due.push_back(std::move(*it));
        it = jobs_.erase(it);
      } else {
        ++it;
      }
    }
    mu_.Unlock();
    for (Job& job : due) Answer(job);
  }
}

void FakeReward::Score(ScoreJob job, std::function<void(absl::StatusOr<ScoreResult>)> done) {
  if (fail_all) return done(absl::DeadlineExceededError("reward server hung"));
  ScoreResult r;
  r.passed = job.response_text == job.ground_truth;
  r.reward = r.passed ? 1 : 0;
  done(r);
}

absl::StatusOr<TrainResult> FakeLearner::Train(const TrainCall& call) {
  const int64_t step = call.step;
  const std::vector<TrainGroupData>& groups = call.groups;
  absl::MutexLock lock(&mu_);
  batches_.push_back(groups);
  steps_.push_back(step);
  commit_states_.push_back(call.commit_state);
  TrainResult r;
  r.policy_version = step + 1;
  r.metrics["actor/pg_loss"] = 0.1;
  return r;
}

std::vector<std::vector<TrainGroupData>> FakeLearner::batches() const {
  absl::MutexLock lock(&mu_);
  return batches_;
}

std::vector<int64_t> FakeLearner::steps() const {
  absl::MutexLock lock(&mu_);
  return steps_;
}

std::vector<std::string> FakeLearner::commit_states() const {
  absl::MutexLock lock(&mu_);
  return commit_states_;
}

SchedulerConfig FakeRunConfig(int64_t steps, int64_t eval_prompts) {
  SchedulerConfig c;
  c.steps = steps;
  c.group_size = 4;
  c.batch_groups = 3;
  c.max_inflight_per_worker = 4;
  c.eval_every = 0;
  c.eval_prompts = eval_prompts;
  c.seed = 1;
  return c;
}

}  // namespace testing
}  // namespace seamless
