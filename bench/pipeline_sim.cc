#include "bench/pipeline_sim.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace seamless {
namespace {

using SteadyClock = std::chrono::steady_clock;

uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
double Unit(uint64_t a, uint64_t b) { return double(Mix(a, b) >> 11) * 0x1.0p-53; }
uint64_t HashString(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }
SteadyClock::duration FromSeconds(double s) {
  return std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(s));
}
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

}  // namespace

PromptDataset MakePipelineDataset(const PipelineWorkload& w) {
  PromptDataset d;
  d.path = "pipeline-workload";
  for (int64_t i = 0; i < w.prompts; ++i) {
    const double u = Unit(w.seed, 2 * i);
    double p;
    if (u < w.hard_share) {
      p = 0;
    } else if (u < w.hard_share + w.easy_share) {
      p = 1;
    } else {
      p = w.min_pass + (w.max_pass - w.min_pass) * Unit(w.seed + 1, i);
    }
    PromptRecord r;
    r.index = i;
    r.line = i + 1;
    r.prompt = absl::StrCat("q", i);
    r.ability = "code";
    r.ground_truth = absl::StrCat(p);
    d.records.push_back(std::move(r));
  }
  return d;
}

std::vector<int64_t> PipelineAnswerLengths(const PipelineWorkload& w) {
  std::vector<int64_t> out(w.prompts);
  for (int64_t i = 0; i < w.prompts; ++i) {
    out[i] =
        Unit(w.seed, 2 * i + 1) < w.long_share ? w.short_tokens * w.long_factor : w.short_tokens;
  }
  return out;
}

int64_t PipelineRecordOfGroup(const std::string& group_id) {
  const size_t dot = group_id.find('.');
  const size_t hash = group_id.find('#');
  int64_t record = -1;
  if (dot == std::string::npos || hash == std::string::npos || hash < dot) return -1;
  if (!absl::SimpleAtoi(group_id.substr(dot + 1, hash - dot - 1), &record)) return -1;
  return record;
}

// ---------------------------------------------------------------------------- TimerLoop

TimerLoop::TimerLoop() : thread_([this] { Run(); }) {}

TimerLoop::~TimerLoop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    wake_ = true;
  }
  thread_.join();
}

void TimerLoop::At(SteadyClock::time_point due, std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  const bool earliest = events_.empty() || due < events_.top().due;
  events_.push({due, seq_++, std::move(fn)});
  if (earliest) wake_ = true;
}

void TimerLoop::Run() {
  mu_.Lock();
  while (!stop_) {
    wake_ = false;
    if (events_.empty()) {
      mu_.Await(absl::Condition(&wake_));
      continue;
    }
    const auto due = events_.top().due;
    const auto now = SteadyClock::now();
    if (now < due) {
      mu_.AwaitWithTimeout(
          absl::Condition(&wake_),
          absl::FromChrono(std::chrono::duration_cast<std::chrono::nanoseconds>(due - now)));
      continue;
    }
    std::function<void()> fn = std::move(const_cast<Event&>(events_.top()).fn);
    events_.pop();
    mu_.Unlock();
    fn();
    mu_.Lock();
  }
  mu_.Unlock();
}

// -------------------------------------------------------------------------- SleepReward

SleepReward::SleepReward(const PipelineWorkload& w) : w_(w), free_(w.reward_slots) {}

SleepReward::~SleepReward() = default;

void SleepReward::Score(ScoreJob job, std::function<void(absl::StatusOr<ScoreResult>)> done) {
  absl::MutexLock lock(&mu_);
  Job j{std::move(job), std::move(done)};
  if (free_ > 0) {
    StartLocked(std::move(j));
  } else {
    waiting_.push(std::move(j));
  }
}

void SleepReward::StartLocked(Job job) {
  --free_;
  const uint64_t h = HashString(job.job.request_id) ^ w_.seed;
  double ms = w_.reward_min_ms + (w_.reward_max_ms - w_.reward_min_ms) * Unit(h, 1);
  if (Unit(h, 2) < w_.reward_tail_share) ms *= 4;
  busy_seconds_ += ms / 1e3;
  auto shared = std::make_shared<Job>(std::move(job));
  timer_.At(SteadyClock::now() + FromSeconds(ms / 1e3),
            [this, shared] { Finish(std::move(*shared)); });
}

void SleepReward::Finish(Job job) {
  double p = 0;
  if (!absl::SimpleAtod(job.job.ground_truth, &p)) p = 0;
  ScoreResult r;
  r.passed = Unit(HashString(job.job.request_id) ^ w_.seed, 3) < p;
  r.reward = r.passed ? 1 : 0;
  job.done(r);
  absl::MutexLock lock(&mu_);
  ++free_;
  if (!waiting_.empty()) {
    Job next = std::move(waiting_.front());
    waiting_.pop();
    StartLocked(std::move(next));
  }
}

double SleepReward::busy_seconds() const {
  absl::MutexLock lock(&mu_);
  return busy_seconds_;
}

// ------------------------------------------------------------------------- SleepLearner

absl::StatusOr<TrainResult> SleepLearner::Train(const TrainCall& call) {
  const int64_t step = call.step;
  const std::vector<TrainGroupData>& groups = call.groups;
  int64_t ids = 0;
  for (const auto& g : groups) {
    for (const auto& s : g.samples) ids += static_cast<int64_t>(s.sample.tokens.size());
  }
  std::this_thread::sleep_for(FromSeconds(seconds_));
  {
    absl::MutexLock lock(&mu_);
    trained_ids_ += ids;
  }
  TrainResult r;
  r.policy_version = step + 1;
  return r;
}

int64_t SleepLearner::trained_ids() const {
  absl::MutexLock lock(&mu_);
  return trained_ids_;
}

// --------------------------------------------------------------------- SimulatedRollout

SimulatedRollout::SimulatedRollout(int workers, int slots, std::vector<int64_t> lengths,
                                   double token_seconds, int64_t tokens_per_id)
    : lengths_(std::move(lengths)),
      token_seconds_(token_seconds),
      tokens_per_id_(std::max<int64_t>(1, tokens_per_id)),
      total_slots_(int64_t(workers) * slots),
      num_workers_(workers),
      workers_(workers),
      last_change_(SteadyClock::now()) {
  for (Worker& w : workers_) w.free = slots;
}

SimulatedRollout::~SimulatedRollout() = default;

void SimulatedRollout::AccountLocked() {
  const auto now = SteadyClock::now();
  busy_slot_seconds_ += double(busy_) * Seconds(now - last_change_);
  last_change_ = now;
}

double SimulatedRollout::busy_slot_seconds() {
  absl::MutexLock lock(&mu_);
  AccountLocked();
  return busy_slot_seconds_;
}

int64_t SimulatedRollout::samples_returned() {
  absl::MutexLock lock(&mu_);
  return returned_;
}

RolloutSample SimulatedRollout::MakeSample(const Group& g, int32_t index, int64_t tokens,
                                           Finish finish) const {
  RolloutSample s;
  s.group_id = g.request.group_id;
  s.request_id = RequestId(g.request.group_id, index);
  s.index_in_group = index;
  s.launch_seq = g.request.launch_seq;
  s.tokens.assign((tokens + tokens_per_id_ - 1) / tokens_per_id_, 7);
  s.finish = finish;
  return s;
}

void SimulatedRollout::Generate(int worker, GroupRequest request,
                                std::function<void(RolloutSample)> on_sample,
                                std::function<void(absl::Status)> on_done) {
  auto g = std::make_shared<Group>();
  const int64_t record = PipelineRecordOfGroup(request.group_id);
  g->length = record >= 0 && record < int64_t(lengths_.size()) ? lengths_[record]
                                                               : request.sampling.max_new_tokens;
  g->request = std::move(request);
  g->on_sample = std::move(on_sample);
  g->on_done = std::move(on_done);
  absl::MutexLock lock(&mu_);
  for (int32_t i = 0; i < g->request.num_samples; ++i) workers_[worker].waiting.push_back({g, i});
  AdmitLocked(worker);
}

void SimulatedRollout::AdmitLocked(int worker) {
  Worker& w = workers_[worker];
  while (w.free > 0 && !w.waiting.empty()) {
    auto [g, index] = std::move(w.waiting.front());
    w.waiting.pop_front();
    AccountLocked();
    --w.free;
    ++busy_;
    const uint64_t id = next_serial_++;
    const auto now = SteadyClock::now();
    running_[id] = Running{g, index, now, worker};
    timer_.At(now + FromSeconds(double(g->length) * token_seconds_), [this, id] {
      absl::MutexLock lock(&mu_);
      FinishLocked(id, /*aborted=*/false);
    });
  }
}

void SimulatedRollout::FinishLocked(uint64_t id, bool aborted) {
  auto it = running_.find(id);
  if (it == running_.end()) return;  // aborted earlier
  Running r = std::move(it->second);
  running_.erase(it);
  AccountLocked();
  --busy_;
  ++workers_[r.worker].free;
  int64_t tokens = r.group->length;
  if (aborted) {
    tokens =
        std::min<int64_t>(tokens, int64_t(Seconds(SteadyClock::now() - r.start) / token_seconds_));
  }
  ++returned_;
  r.group->on_sample(
      MakeSample(*r.group, r.index, tokens, aborted ? Finish::kAborted : Finish::kLength));
  if (++r.group->returned == r.group->request.num_samples) r.group->on_done(absl::OkStatus());
  AdmitLocked(r.worker);
}

void SimulatedRollout::Abort(const AbortSpec& spec) {
  auto hit = [&spec](const GroupRequest& req, int32_t index) {
    if (spec.by_launch_seq && req.launch_seq > spec.launched_after) return true;
    if (std::count(spec.group_ids.begin(), spec.group_ids.end(), req.group_id)) return true;
    return spec.request_ids.empty() ? false
                                    : std::count(spec.request_ids.begin(), spec.request_ids.end(),
                                                 RequestId(req.group_id, index)) > 0;
  };
  absl::MutexLock lock(&mu_);
  for (Worker& w : workers_) {
    for (auto it = w.waiting.begin(); it != w.waiting.end();) {
      if (!hit(it->first->request, it->second)) {
        ++it;
        continue;
      }
      Group& g = *it->first;
      ++returned_;
      g.on_sample(MakeSample(g, it->second, 0, Finish::kAborted));
      if (++g.returned == g.request.num_samples) g.on_done(absl::OkStatus());
      it = w.waiting.erase(it);
    }
  }
  std::vector<uint64_t> ids;
  for (const auto& [id, r] : running_) {
    if (hit(r.group->request, r.index)) ids.push_back(id);
  }
  for (uint64_t id : ids) FinishLocked(id, /*aborted=*/true);
}

// ------------------------------------------------------------------------------ harness

std::vector<std::pair<std::string, SchedulerConfig>> Table2Configs(const SchedulerConfig& base) {
  std::vector<std::pair<std::string, SchedulerConfig>> out;
  SchedulerConfig c = base;
  c.lookahead_batches = 0;
  c.dynamic_sampling = true;
  c.continuous = false;
  c.async_reward = false;
  c.early_termination = false;
  out.push_back({"naive dynamic sampling", c});
  c.continuous = true;
  out.push_back({"+ continuous rollout", c});
  c.async_reward = true;
  out.push_back({"+ asynchronous reward", c});
  c.early_termination = true;
  out.push_back({"+ early termination", c});
  // Seamless beyond MiMo's table: the next batches' work stays in flight (base's
  // lookahead_batches, at least 1). Staleness lookahead + 1 lets launching ahead go on while
  // the learner trains; with one less it pauses there, and steps alternate quick and slow
  // (simulated, lookahead 1 at staleness 1: 3.2-3.4x and 30-35% idle; at 2: 4.0x and 29%).
  c.lookahead_batches = std::max<int64_t>(1, base.lookahead_batches);
  c.max_staleness = std::max<int64_t>(c.lookahead_batches + 1, c.max_staleness);
  out.push_back({"+ next-batch lookahead", c});
  return out;
}

absl::StatusOr<PipelineResult> RunPipeline(const std::string& name, SchedulerConfig config,
                                           const PromptDataset& data, PromptEncoder encode,
                                           RolloutBackend* rollout, SlotMeter* meter,
                                           SleepReward* reward, int64_t reward_slots,
                                           SleepLearner* learner, int64_t warmup_steps) {
  config.eval_every = 0;
  if (config.steps <= warmup_steps) {
    return absl::InvalidArgumentError(absl::StrCat(
        "steps (", config.steps, ") must exceed the warm-up steps (", warmup_steps, ")"));
  }
  PipelineResult out;
  out.name = name;
  Orchestrator o(config, &data, /*val=*/nullptr, std::move(encode), rollout, reward, learner);
  struct Mark {
    SteadyClock::time_point t;
    double busy_slots = 0, reward_busy = 0;
    int64_t trained_ids = 0;
  };
  Mark start{SteadyClock::now(), meter->busy_slot_seconds(), reward->busy_seconds(), 0},
      first = start, last = start;
  o.set_on_step([&](const StepReport& r) {
    if (r.step <= 0) return;
    Mark m{SteadyClock::now(), meter->busy_slot_seconds(), reward->busy_seconds(),
           learner->trained_ids()};
    if (r.step == warmup_steps) first = m;
    if (std::getenv("SEAMLESS_PIPELINE_TRACE") != nullptr) {
      std::string line =
          absl::StrCat(name, " step ", r.step, " t=", Seconds(m.t - start.t), " busy=",
                       (m.busy_slots - last.busy_slots) /
                           (double(meter->total_slots()) * std::max(1e-9, Seconds(m.t - last.t))));
      for (const auto& [k, v] : r.metrics) absl::StrAppend(&line, " ", k, "=", v);
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    last = m;
    if (r.step <= warmup_steps) return;
    auto get = [&r](const std::string& k) {
      auto it = r.metrics.find(k);
      return it == r.metrics.end() ? 0.0 : it->second;
    };
    out.generated_tokens += get("rollout/generated_tokens");
    out.aborted_tokens += get("rollout/wasted_tokens");
    out.dropped_groups += get("scheduler/dropped_all_pass") + get("scheduler/dropped_all_fail") +
                          get("scheduler/dropped_stale");
    out.launched_groups += get("scheduler/launched_groups");
    out.early_terminated_groups += get("scheduler/early_terminated_groups");
    ++out.steps;
  });
  const double cpu0 = ThreadCpuSeconds();
  const int64_t samples0 = meter->samples_returned();
  RETURN_IF_ERROR(o.Run());
  out.scheduler_cpu_seconds = ThreadCpuSeconds() - cpu0;
  out.generated_samples = double(meter->samples_returned() - samples0);
  out.scheduler_us_per_sample =
      out.generated_samples > 0 ? 1e6 * out.scheduler_cpu_seconds / out.generated_samples : 0;
  const double wall = Seconds(last.t - first.t);
  out.step_seconds = out.steps > 0 ? wall / double(out.steps) : 0;
  out.idle_share =
      wall > 0 ? 1 - (last.busy_slots - first.busy_slots) / (double(meter->total_slots()) * wall)
               : 0;
  out.reward_busy_share =
      wall > 0 ? (last.reward_busy - first.reward_busy) / (double(reward_slots) * wall) : 0;
  const double k = double(meter->tokens_per_id());
  out.generated_tokens *= k;
  out.aborted_tokens *= k;
  out.trained_tokens = double(last.trained_ids - first.trained_ids) * k;
  return out;
}

absl::StatusOr<std::vector<PipelineResult>> RunSimulatedTable(const PipelineWorkload& w,
                                                              const SchedulerConfig& base,
                                                              const SimulationOptions& sim) {
  const PromptDataset data = MakePipelineDataset(w);
  const std::vector<int64_t> lengths = PipelineAnswerLengths(w);
  PromptEncoder encode = [](const PromptRecord& r) -> absl::StatusOr<std::vector<int32_t>> {
    return std::vector<int32_t>{static_cast<int32_t>(r.index % 90 + 3)};
  };
  std::vector<PipelineResult> out;
  for (const auto& [name, config] : Table2Configs(base)) {
    SimulatedRollout rollout(sim.workers, sim.slots, lengths, sim.token_us * 1e-6,
                             sim.tokens_per_id);
    SleepReward reward(w);
    SleepLearner learner(w.train_ms / 1e3);
    ASSIGN_OR_RETURN(PipelineResult r,
                     RunPipeline(name, config, data, encode, &rollout, &rollout, &reward,
                                 w.reward_slots, &learner, sim.warmup_steps));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace seamless
