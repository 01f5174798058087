#include "scheduler/orchestrator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "scheduler/prompt_dataset.h"

namespace seamless {
namespace {

using std::chrono::milliseconds;

uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

Orchestrator::LaunchKey Orchestrator::LaunchKey::Train(std::string uid) {
  LaunchKey key;
  key.uid = std::move(uid);
  return key;
}

Orchestrator::LaunchKey Orchestrator::LaunchKey::Eval(int64_t step, int64_t record) {
  LaunchKey key;
  key.eval = true;
  key.uid = absl::StrCat("eval.", step, ".", record);
  key.record = record;
  return key;
}

Orchestrator::Orchestrator(SchedulerConfig config, const PromptDataset* train,
                           const PromptDataset* val, PromptEncoder encode, RolloutBackend* rollout,
                           RewardBackend* reward, LearnerBackend* learner,
                           OrchestratorOptions options)
    : config_(std::move(config)),
      train_(train),
      val_(val),
      encode_(std::move(encode)),
      rollout_(rollout),
      reward_(reward),
      learner_(learner),
      clock_(options.clock != nullptr ? options.clock : DefaultClock()),
      sampler_(static_cast<int64_t>(train->records.size()), config_.seed),
      rng_(config_.seed * 7919 + 1),
      worker_load_(rollout->num_workers(), 0),
      worker_down_until_(rollout->num_workers()) {}

Orchestrator::~Orchestrator() {
  events_->Close();
  if (trainer_.joinable()) trainer_.join();
}

void Orchestrator::Fail(absl::Status status) {
  if (failure_.ok()) {
    SLOG(ERROR) << status;
    failure_ = std::move(status);
  }
}

std::string Orchestrator::NextPrompt() {
  if (!queue_.empty()) {
    std::string uid = queue_.front();
    queue_.pop_front();
    return uid;
  }
  std::bernoulli_distribution easy(config_.easy_pool_prob);
  if (!easy_pool_.empty() && easy(rng_)) {
    std::uniform_int_distribution<size_t> pick(0, easy_pool_.size() - 1);
    const int64_t record = easy_pool_[pick(rng_)];
    return TakeNew(record, /*from_easy_pool=*/true, absl::StrCat("e", easy_takes_++, ".", record));
  }
  const int64_t record = sampler_.Next();
  return TakeNew(record, false, absl::StrCat("d", sampler_.epoch(), ".", record));
}

std::string Orchestrator::TakeNew(int64_t record, bool from_easy_pool, const std::string& uid) {
  events_since_batch_.takes.emplace_back(uid, record);
  return ledger_.Take(record, from_easy_pool, uid);
}

absl::Status Orchestrator::DropPrompt(const std::string& uid, const std::string& reason) {
  RETURN_IF_ERROR(ledger_.Drop(uid, reason));
  events_since_batch_.drops.emplace_back(uid, reason);
  return absl::OkStatus();
}

int Orchestrator::PickWorker() const {
  const auto now = clock_->Now();
  int best = -1;
  for (int w = 0; w < static_cast<int>(worker_load_.size()); ++w) {
    if (worker_down_until_[w] > now) continue;
    if (worker_load_[w] >= config_.max_inflight_per_worker) continue;
    if (best < 0 || worker_load_[w] < worker_load_[best]) best = w;
  }
  return best;
}

// A held-out prompt goes to the least loaded live worker even when every worker is full.
int Orchestrator::ChooseWorker(bool eval) const {
  int worker = PickWorker();
  if (worker >= 0 || !eval) return worker;
  const auto now = clock_->Now();
  for (int w = 0; w < static_cast<int>(worker_load_.size()); ++w) {
    if (worker_down_until_[w] <= now && (worker < 0 || worker_load_[w] < worker_load_[worker])) {
      worker = w;
    }
  }
  return worker;
}

void Orchestrator::Launch(const LaunchKey& key) {
  GroupRun run;
  run.key = key;
  run.record = key.eval ? key.record : ledger_.Find(key.uid)->record;
  std::optional<std::vector<int32_t>> ids = EncodePrompt(run);
  if (!ids) return;
  const int worker = ChooseWorker(key.eval);
  if (worker < 0) {  // no worker can take it now: it waits (a held-out one for Evaluate)
    if (key.eval) {
      eval_waiting_.push_back(key);
    } else {
      queue_.push_front(key.uid);
    }
    return;
  }
  run.worker = worker;
  run.version = policy_version_;
  run.launch_seq = key.eval ? 0 : next_launch_seq_++;
  run.expected = key.eval ? EvalSamples() : config_.group_size;
  GroupRequest request = MakeRequest(run, std::move(*ids));
  if (!key.eval && !RecordTrainLaunch(run)) return;
  StartGeneration(std::move(run), std::move(request));
}

// The prompt's token ids, or nullopt when it cannot be encoded: a training prompt is then
// dropped, a held-out one counts as failed samples.
std::optional<std::vector<int32_t>> Orchestrator::EncodePrompt(const GroupRun& run) {
  const PromptDataset* data = run.key.eval ? val_ : train_;
  const PromptRecord& record = data->records[run.record];
  absl::StatusOr<std::vector<int32_t>> ids = encode_(record);
  if (ids.ok()) return std::move(*ids);
  SLOG(WARNING) << "prompt " << record.line << " of " << data->path
                << " cannot be encoded: " << ids.status().message();
  if (run.key.eval) {
    --eval_pending_;
    eval_total_ += EvalSamples();
  } else {
    absl::Status s = DropPrompt(run.key.uid, "bad_prompt");
    if (!s.ok()) Fail(s);
  }
  return std::nullopt;
}

// Sets run.group_id; run.worker, launch_seq and expected are set.
GroupRequest Orchestrator::MakeRequest(GroupRun& run, std::vector<int32_t> prompt) const {
  GroupRequest request;
  request.prompt = std::move(prompt);
  request.num_samples = static_cast<int32_t>(run.expected);
  request.sampling = config_.sampling;
  request.launch_seq = run.launch_seq;
  if (run.key.eval) {
    request.sampling.temperature = config_.eval_temperature;
    if (config_.eval_max_new_tokens > 0)
      request.sampling.max_new_tokens = config_.eval_max_new_tokens;
    run.group_id = run.key.uid;
    request.sampling.seed = Mix(config_.seed, static_cast<uint64_t>(run.record) + (1ull << 40));
  } else {
    run.group_id = absl::StrCat(run.key.uid, "#", ledger_.Find(run.key.uid)->launches + 1);
    request.sampling.seed = Mix(config_.seed, run.launch_seq);
  }
  request.group_id = run.group_id;
  return request;
}

// The ledger's launch with the group's lease; false (and the run failed) when refused.
bool Orchestrator::RecordTrainLaunch(const GroupRun& run) {
  const auto lease = milliseconds(static_cast<int64_t>(config_.lease_seconds * 1000));
  absl::Status launched = ledger_.Launch(run.key.uid, run.group_id, run.worker, run.launch_seq,
                                         policy_version_, clock_->Now() + lease);
  if (!launched.ok()) {
    Fail(launched);
    return false;
  }
  ++launched_this_step_;
  counters_["scheduler/launched_groups"] += 1;
  return true;
}

void Orchestrator::StartGeneration(GroupRun run, GroupRequest request) {
  const int worker = run.worker;
  const std::string gid = run.group_id;
  ++worker_load_[worker];
  inflight_[gid] = std::move(run);
  std::shared_ptr<EventQueue> events = events_;
  rollout_->Generate(
      worker, std::move(request),
      [this, events, gid](RolloutSample sample) {
        events->Post([this, gid, s = std::move(sample)]() mutable { OnSample(gid, std::move(s)); });
      },
      [this, events, gid](absl::Status status) {
        events->Post([this, gid, status] { OnGenerationDone(gid, status); });
      });
}

void Orchestrator::OnSample(const std::string& group_id, RolloutSample sample) {
  const double tokens = static_cast<double>(sample.tokens.size());
  generated_tokens_total_ += tokens;
  counters_["rollout/generated_tokens"] += tokens;
  auto it = inflight_.find(group_id);
  if (it == inflight_.end() || sample.finish == Finish::kAborted) {
    counters_["rollout/wasted_tokens"] += tokens;  // aborted or its group was given up
    if (it != inflight_.end()) it->second.tokens += sample.tokens.size();
    return;
  }
  GroupRun& run = it->second;
  run.tokens += static_cast<int64_t>(sample.tokens.size());
  ++run.generated;
  if (!run.key.eval && run.generated == run.expected) {
    absl::Status s = ledger_.StartScoring(run.key.uid);
    if (!s.ok()) return Fail(s);
  }
  if (config_.async_reward || run.key.eval) {
    ScoreSample(run, std::move(sample));
  } else {
    run.unscored.push_back(std::move(sample));
  }
}

void Orchestrator::ScoreSample(GroupRun& run, RolloutSample sample) {
  const PromptRecord& record = (run.key.eval ? val_ : train_)->records[run.record];
  ScoreJob job;
  job.request_id = sample.request_id;
  job.ability = record.ability;
  job.ground_truth = record.ground_truth;
  job.extra_info_json = record.extra_info.is_null() ? "" : record.extra_info.dump();
  job.response_text = rollout_->Detokenize(sample.tokens);
  std::shared_ptr<EventQueue> events = events_;
  const std::string gid = run.group_id;
  reward_->Score(std::move(job), [this, events, gid, sample = std::move(sample)](
                                     absl::StatusOr<ScoreResult> result) mutable {
    events->Post([this, gid, s = std::move(sample), r = std::move(result)]() mutable {
      OnScored(gid, std::move(s), std::move(r));
    });
  });
}

void Orchestrator::OnScored(const std::string& group_id, RolloutSample sample,
                            absl::StatusOr<ScoreResult> result) {
  auto it = inflight_.find(group_id);
  if (it == inflight_.end()) return;
  GroupRun& run = it->second;
  ++run.scored;
  if (!result.ok()) {
    run.reward_failed = true;
    counters_["reward/failures"] += 1;
    SLOG(WARNING) << "reward for " << sample.request_id << " failed: " << result.status().message();
  } else {
    run.samples.push_back({std::move(sample), *result});
  }
  MaybeComplete(run);
}

void Orchestrator::OnGenerationDone(const std::string& group_id, absl::Status status) {
  auto it = inflight_.find(group_id);
  if (it == inflight_.end()) return;
  GroupRun& run = it->second;
  if (!run.generation_done) --worker_load_[run.worker];
  run.generation_done = true;
  if (!status.ok() || run.generated < run.expected) {
    const std::string reason = status.ok() ? "aborted_by_worker" : "worker_failed";
    if (!status.ok()) {
      SLOG(WARNING) << "rollout worker " << run.worker << " failed group " << group_id << ": "
                    << status.message();
      if (status.code() == absl::StatusCode::kUnavailable ||
          status.code() == absl::StatusCode::kDeadlineExceeded) {
        worker_down_until_[run.worker] = clock_->Now() + std::chrono::seconds(5);
      }
    }
    // The worker refused this very request (a prompt longer than its context, say): launching
    // it again cannot help. Other groups of a stream that failed with it go back to the queue.
    const bool refused = absl::IsInvalidArgument(status) &&
                         absl::StrContains(status.message(), absl::StrCat("'", group_id, "'"));
    if (run.key.eval && !refused) {  // evaluate the prompt again elsewhere
      const LaunchKey key = run.key;
      inflight_.erase(it);
      Launch(key);
      return;
    }
    GroupRun gone = std::move(run);
    inflight_.erase(it);
    if (refused) {
      RefusedByWorker(gone, status);
    } else {
      Requeue(gone, reason);
    }
    ScoreHeldSamples();
    return;
  }
  ScoreHeldSamples();
  MaybeComplete(run);
}

void Orchestrator::RefusedByWorker(const GroupRun& gone, const absl::Status& status) {
  const PromptDataset& data = gone.key.eval ? *val_ : *train_;
  const int64_t index = gone.key.eval ? gone.key.record : gone.record;
  SLOG(ERROR) << "the rollout worker refused the prompt on line " << data.records[index].line
              << " of the " << (gone.key.eval ? "held-out" : "training")
              << " data; dropped: " << status.message();
  if (gone.key.eval) {  // scored as failed: the held-out accuracy counts every prompt
    --eval_pending_;
    eval_total_ += gone.expected;
    return;
  }
  counters_["scheduler/dropped_refused_by_worker"] += 1;
  absl::Status s = DropPrompt(gone.key.uid, "refused_by_worker");
  if (!s.ok()) Fail(s);
}

void Orchestrator::ScoreHeldSamples() {
  if (config_.async_reward) return;
  // Synchronous reward: score once every group in flight has finished generating. Called
  // after every change to the set in flight, so a group that fails or is aborted last cannot
  // leave the others' samples unscored.
  for (const auto& [gid, r] : inflight_) {
    if (!r.key.eval && !r.generation_done) return;
  }
  for (auto& [gid, r] : inflight_) {
    std::vector<RolloutSample> held = std::move(r.unscored);
    r.unscored.clear();
    for (auto& s : held) ScoreSample(r, std::move(s));
  }
}

void Orchestrator::Requeue(GroupRun& run, const std::string& reason) {
  counters_["rollout/wasted_tokens"] += static_cast<double>(run.tokens);
  counters_[absl::StrCat("scheduler/requeued_", reason)] += 1;
  absl::Status s = ledger_.Requeue(run.key.uid, reason);
  if (!s.ok()) return Fail(s);
  queue_.push_front(run.key.uid);
}

void Orchestrator::MaybeComplete(GroupRun& run) {
  if (!run.generation_done || run.scored < run.expected) return;
  auto it = inflight_.find(run.group_id);
  GroupRun done = std::move(run);
  inflight_.erase(it);
  int64_t passed = 0;
  for (const auto& t : done.samples) passed += t.score.passed;
  if (done.key.eval) {
    --eval_pending_;
    eval_total_ += done.expected;
    eval_passed_ += passed;
    return;
  }
  absl::Status s = ledger_.Complete(done.key.uid);
  if (!s.ok()) return Fail(s);
  const std::string drop = DropReason(done, passed);
  UpdateValidRate(drop.empty());
  counters_["scheduler/pass_rate_sum"] += double(passed) / done.expected;
  counters_["scheduler/completed_groups"] += 1;
  if (!drop.empty()) {
    counters_[absl::StrCat("scheduler/dropped_", drop)] += 1;
    s = DropPrompt(done.key.uid, drop);
    if (!s.ok()) Fail(s);
    return;
  }
  std::sort(done.samples.begin(), done.samples.end(),
            [](const TrainSample& a, const TrainSample& b) {
              return a.sample.index_in_group < b.sample.index_in_group;
            });
  // Staleness is the tokens' own: a worker that missed a weight push generates with older
  // weights than the launch assumed, and DropStaleGroups judges done.version.
  const int64_t oldest = OldestTokenVersion(done);
  if (oldest < done.version) {
    counters_["scheduler/lagging_groups"] += 1;
    done.version = oldest;
  }
  valid_[done.launch_seq] = std::move(done);
}

int64_t Orchestrator::OldestTokenVersion(const GroupRun& run) {
  int64_t oldest = std::numeric_limits<int64_t>::max();
  for (const TrainSample& t : run.samples) {
    for (int64_t v : t.sample.versions) oldest = std::min(oldest, v);
  }
  return oldest;
}

std::string Orchestrator::DropReason(const GroupRun& done, int64_t passed) {
  if (done.reward_failed) return "reward_failed";
  if (config_.dynamic_sampling && passed == done.expected) {
    if (std::find(easy_pool_.begin(), easy_pool_.end(), done.record) == easy_pool_.end()) {
      easy_pool_.push_back(done.record);
    }
    return "all_pass";
  }
  if (config_.dynamic_sampling && passed == 0) return "all_fail";
  return "";
}

// Share of valid groups over the last 64 completions, with a (1 + valid) / (2 + n) prior so
// that a few unlucky groups neither stop launching nor flood the workers.
void Orchestrator::UpdateValidRate(bool valid) {
  recent_outcomes_.push_back(valid);
  if (recent_outcomes_.size() > 64) recent_outcomes_.pop_front();
  const double valid_recent =
      static_cast<double>(std::count(recent_outcomes_.begin(), recent_outcomes_.end(), true));
  valid_rate_ = (valid_recent + 1) / (recent_outcomes_.size() + 2);
}

bool Orchestrator::BatchReady(std::vector<uint64_t>* selected) const {
  if (static_cast<int64_t>(valid_.size()) < config_.batch_groups) return false;
  selected->clear();
  for (const auto& [seq, run] : valid_) {
    selected->push_back(seq);
    if (static_cast<int64_t>(selected->size()) == config_.batch_groups) break;
  }
  const uint64_t last = selected->back();
  for (const auto& [gid, run] : inflight_) {
    if (run.key.eval) continue;
    // FIFO: every group launched before the selected ones must have finished first (no
    // length bias toward quick answers). Without early termination, wait for all.
    if (!config_.early_termination || run.launch_seq < last) return false;
  }
  return true;
}

void Orchestrator::CheckLeases() {
  for (const std::string& uid : ledger_.ExpiredLeases(clock_->Now())) {
    const LedgerEntry* e = ledger_.Find(uid);
    auto it = inflight_.find(e->group_id);
    if (it == inflight_.end()) continue;
    SLOG(WARNING) << "lease of group " << e->group_id << " on worker " << e->worker
                  << " expired; re-queued";
    AbortSpec spec;
    spec.group_ids = {e->group_id};
    rollout_->Abort(spec);
    GroupRun gone = std::move(it->second);
    inflight_.erase(it);
    if (!gone.generation_done) --worker_load_[gone.worker];
    Requeue(gone, "lease_expired");
    ScoreHeldSamples();
  }
}

void Orchestrator::Advance() {
  if (!failure_.ok()) return;
  if (!DropStaleGroups()) return;
  const int64_t in_flight = LaunchGroups();
  if (!CheckGenerationCap(in_flight)) return;
  if (training_ || !failure_.ok()) return;
  std::vector<uint64_t> selected;
  if (!BatchReady(&selected)) return;
  if (config_.early_termination) TerminateLaterLaunches(selected.back());
  StartTraining(selected);
}

// Drops valid groups that have become too stale to train on; false when the ledger refused.
bool Orchestrator::DropStaleGroups() {
  for (auto it = valid_.begin(); it != valid_.end();) {
    if (it->second.version >= policy_version_ - config_.max_staleness) {
      ++it;
      continue;
    }
    counters_["scheduler/dropped_stale"] += 1;
    absl::Status s = DropPrompt(it->second.key.uid, "stale");
    if (!s.ok()) {
      Fail(s);
      return false;
    }
    it = valid_.erase(it);
  }
  return true;
}

// Returns the training groups in flight as the generation cap counts them: a barrier round's
// own launches are not added (it launches only when none are in flight).
int64_t Orchestrator::LaunchGroups() {
  int64_t in_flight = 0;
  for (const auto& [gid, run] : inflight_) in_flight += !run.key.eval;
  const int64_t n = config_.batch_groups;
  if (config_.continuous) {
    // Launch while the work in flight is predicted not to fill the batch (and the lookahead
    // batches after it that staleness allows).
    const double target = double(n) * double(1 + Lookahead(training_));
    while (failure_.ok()) {
      const double predicted = double(valid_.size()) + in_flight * ExpectedValidPerLaunch();
      if (predicted >= target) break;
      if (PickWorker() < 0) break;
      if (!LaunchOne()) break;
      ++in_flight;
    }
  } else if (in_flight == 0 && static_cast<int64_t>(valid_.size()) < n && !training_) {
    // Naive dynamic sampling: a round of N groups behind a barrier.
    for (int64_t i = 0; i < n && failure_.ok(); ++i) {
      if (!LaunchOne()) break;
    }
  }
  return in_flight;
}

bool Orchestrator::LaunchOne() {
  if (launched_this_step_ >= GenerationCap()) return false;  // see CheckGenerationCap
  if (PickWorker() < 0) return false;
  Launch(LaunchKey::Train(NextPrompt()));
  return failure_.ok();
}

// The cap on generation: every launch it allowed has come back, and still too few groups
// were valid (pass rates of 0 or 1 everywhere: the data does not fit the model). False when
// the run failed on it.
bool Orchestrator::CheckGenerationCap(int64_t in_flight) {
  const int64_t n = config_.batch_groups;
  if (launched_this_step_ < GenerationCap() || in_flight != 0 ||
      static_cast<int64_t>(valid_.size()) >= n || training_) {
    return true;
  }
  std::string why;
  for (const auto& [k, v] : counters_) {
    if (k.rfind("scheduler/dropped_", 0) == 0 || k.rfind("scheduler/requeued_", 0) == 0) {
      absl::StrAppend(&why, why.empty() ? "" : ", ", k.substr(10), " ", v);
    }
  }
  // The likely cause, from what dropped most this step.
  const double reward_failed = Counter("scheduler/dropped_reward_failed");
  const double uniform =
      Counter("scheduler/dropped_all_pass") + Counter("scheduler/dropped_all_fail");
  const char* hint =
      reward_failed > uniform
          ? ". Most groups lost their rewards: the reward servers failed (see their logs)"
          : ". Pass rates of 0 or 1 everywhere mean the data is too easy or too hard for the model";
  Fail(absl::ResourceExhaustedError(absl::StrCat(
      "generated too many: ", launched_this_step_, " groups launched for step ", step_,
      " (max_launch_rounds ", config_.max_launch_rounds, " x ", n, ") but only ", valid_.size(),
      " of the ", n, " valid groups needed; this step: ", why.empty() ? "nothing dropped" : why,
      hint)));
  return false;
}

// Aborts only what was launched after the selected groups, and re-queues those prompts.
void Orchestrator::TerminateLaterLaunches(uint64_t last_selected) {
  const uint64_t cutoff = TerminationCutoff(last_selected);
  std::vector<std::string> later;
  for (const auto& [gid, run] : inflight_) {
    if (!run.key.eval && run.launch_seq > cutoff && !run.generation_done) later.push_back(gid);
  }
  if (later.empty()) return;
  AbortSpec spec;
  spec.by_launch_seq = true;
  spec.launched_after = cutoff;
  rollout_->Abort(spec);
  for (const std::string& gid : later) {
    GroupRun gone = std::move(inflight_[gid]);
    inflight_.erase(gid);
    --worker_load_[gone.worker];
    counters_["scheduler/early_terminated_groups"] += 1;
    Requeue(gone, "early_termination");
  }
  ScoreHeldSamples();
}

// With a lookahead, the earliest of the later launches that the next batches are predicted
// to need stay (FIFO still: what is aborted is always the latest launched).
uint64_t Orchestrator::TerminationCutoff(uint64_t last_selected) const {
  uint64_t cutoff = last_selected;
  if (Lookahead(/*training=*/false) <= 0) return cutoff;
  std::vector<uint64_t> seqs;
  for (const auto& [gid, run] : inflight_) {
    if (!run.key.eval && run.launch_seq > last_selected && !run.generation_done) {
      seqs.push_back(run.launch_seq);
    }
  }
  std::sort(seqs.begin(), seqs.end());
  double predicted = 0;  // valid groups the next batches already have
  for (const auto& [seq, run] : valid_) predicted += seq > last_selected;
  const double need = double(config_.batch_groups) * double(Lookahead(/*training=*/false));
  for (uint64_t seq : seqs) {
    if (predicted >= need) break;
    cutoff = seq;
    predicted += ExpectedValidPerLaunch();
  }
  return cutoff;
}

// Hands the selected groups to the learner on a thread of its own; OnTrained follows.
// The batch's samples go to the journal, and the state as of this step committed rides
// with it to the learner (run_journal.h, NOTE [step commit]).
void Orchestrator::StartTraining(const std::vector<uint64_t>& selected) {
  std::vector<std::string> uids;
  TrainCall call;
  call.step = step_;
  call.groups = TakeBatch(selected, &uids);
  call.commit_state = CommitState(uids).ToJson();
  if (journal_) {
    absl::Status recorded =
        journal_->RecordStep(step_, events_since_batch_, JournalSamples(call.groups, uids));
    if (!recorded.ok()) return Fail(recorded);
  }
  events_since_batch_.clear();
  training_ = true;
  if (trainer_.joinable()) trainer_.join();
  std::shared_ptr<EventQueue> events = events_;
  trainer_ = std::thread([this, events, call = std::move(call), uids = std::move(uids)] {
    const Clock::TimePoint start = clock_->Now();
    absl::StatusOr<TrainResult> result = learner_->Train(call);
    const double seconds = SecondsBetween(start, clock_->Now());
    events->Post([this, uids, seconds, result = std::move(result)]() mutable {
      OnTrained(uids, seconds, std::move(result));
    });
  });
}

// Moves the selected groups out of valid_ (their uids to `uids`), with the batch's means.
std::vector<TrainGroupData> Orchestrator::TakeBatch(const std::vector<uint64_t>& selected,
                                                    std::vector<std::string>* uids) {
  std::vector<TrainGroupData> batch;
  double reward_sum = 0, length_sum = 0, samples = 0;
  for (uint64_t seq : selected) {
    GroupRun run = std::move(valid_[seq]);
    valid_.erase(seq);
    TrainGroupData g;
    g.group_id = run.group_id;
    for (auto& t : run.samples) {
      reward_sum += t.score.reward;
      length_sum += static_cast<double>(t.sample.tokens.size());
      samples += 1;
    }
    g.samples = std::move(run.samples);
    batch.push_back(std::move(g));
    uids->push_back(run.key.uid);
  }
  counters_["critic/score/mean"] = samples > 0 ? reward_sum / samples : 0;
  counters_["response_length/mean"] = samples > 0 ? length_sum / samples : 0;
  return batch;
}

void Orchestrator::OnTrained(const std::vector<std::string>& uids, double train_seconds,
                             absl::StatusOr<TrainResult> result) {
  training_ = false;
  if (!result.ok()) return Fail(Annotate(result.status(), "learner"));
  for (const std::string& uid : uids) {
    absl::Status s = ledger_.Trained(uid, step_);
    if (!s.ok()) return Fail(s);
  }
  if (journal_) {
    absl::Status committed = journal_->Commit(step_);
    if (!committed.ok()) return Fail(committed);
  }
  policy_version_ = result->policy_version;
  ++step_;
  StepReport report = MakeStepReport(*result, train_seconds);
  counters_.clear();
  launched_this_step_ = 0;
  step_start_ = clock_->Now();
  const bool last_step = step_ >= config_.steps;
  if (last_step || (config_.eval_every > 0 && step_ % config_.eval_every == 0)) {
    double accuracy = 0;
    absl::Status s = Evaluate(step_, &accuracy);
    if (!s.ok()) return Fail(s);
    report.metrics["val/accuracy"] = accuracy;
  }
  absl::Status balanced = ledger_.CheckBalanced();
  if (!balanced.ok()) return Fail(balanced);
  if (on_step_) on_step_(report);
  PublishSnapshot(last_step ? "finishing" : "running");
}

double Orchestrator::Counter(const std::string& name) const {
  auto it = counters_.find(name);
  return it == counters_.end() ? 0 : it->second;
}

// The step just trained (step_), from the learner's metrics and this step's counters.
StepReport Orchestrator::MakeStepReport(const TrainResult& result, double train_seconds) const {
  StepReport report;
  report.step = step_;
  report.policy_version = policy_version_;
  report.metrics = result.metrics;
  const double step_seconds = SecondsBetween(step_start_, clock_->Now());
  for (const auto& [k, v] : counters_) {
    if (k == "scheduler/pass_rate_sum") continue;
    report.metrics[k] = v;
  }
  const double completed = Counter("scheduler/completed_groups");
  report.metrics["scheduler/pass_rate"] =
      completed > 0 ? Counter("scheduler/pass_rate_sum") / completed : 0;
  report.metrics["scheduler/valid_groups"] = double(config_.batch_groups);
  report.metrics["timing_s/step"] = step_seconds;
  report.metrics["timing_s/update_actor_total"] = train_seconds;
  // (A clock that did not move, in tests, gives no throughput rather than infinity.)
  report.metrics["perf/throughput"] =
      step_seconds > 0 ? Counter("rollout/generated_tokens") / step_seconds : 0;
  const double idle = rollout_->IdleFraction();
  if (idle >= 0) report.metrics["rollout/idle_fraction"] = idle;
  const LedgerSummary summary = ledger_.Summary();
  report.metrics["ledger/taken"] = double(summary.taken);
  report.metrics["ledger/trained"] = double(summary.trained);
  report.metrics["ledger/dropped"] = double(summary.dropped);
  report.metrics["ledger/pending"] =
      double(summary.queued + summary.generating + summary.scoring + summary.complete);
  return report;
}

absl::Status Orchestrator::Evaluate(int64_t step, double* accuracy) {
  if (val_ == nullptr || val_->records.empty()) {
    *accuracy = 0;
    return absl::OkStatus();
  }
  const int64_t n = std::min<int64_t>(config_.eval_prompts, val_->records.size());
  eval_pending_ = n;
  eval_passed_ = eval_total_ = 0;
  for (int64_t i = 0; i < n; ++i) Launch(LaunchKey::Eval(step, i));
  const auto deadline = clock_->Now() + std::chrono::minutes(10);
  while (eval_pending_ > 0 && failure_.ok()) {
    if (clock_->Now() > deadline)
      return absl::DeadlineExceededError("evaluation took over 10 minutes");
    // Prompts that found every worker down go out again once one is back.
    std::deque<LaunchKey> waiting;
    waiting.swap(eval_waiting_);
    for (const LaunchKey& key : waiting) Launch(key);
    events_->RunOne(milliseconds(200));
  }
  RETURN_IF_ERROR(failure_);
  *accuracy = eval_total_ > 0 ? double(eval_passed_) / eval_total_ : 0;
  return absl::OkStatus();
}

// Step 0's report: the held-out accuracy before any training.
absl::Status Orchestrator::EvaluateBeforeTraining() {
  double accuracy = 0;
  RETURN_IF_ERROR(Evaluate(0, &accuracy));
  StepReport report;
  report.step = 0;
  report.policy_version = policy_version_;
  report.metrics["val/accuracy"] = accuracy;
  if (on_step_) on_step_(report);
  step_start_ = clock_->Now();
  return absl::OkStatus();
}

void Orchestrator::PublishSnapshot(const std::string& state) {
  const double wall = SecondsBetween(run_start_, clock_->Now());
  const double idle = rollout_->IdleFraction();
  absl::MutexLock lock(&snapshot_mu_);
  snapshot_.step = step_;
  snapshot_.policy_version = policy_version_;
  snapshot_.ledger = ledger_.Summary();
  snapshot_.rollout_tokens_per_second = wall > 0 ? generated_tokens_total_ / wall : 0;
  snapshot_.idle_fraction = idle >= 0 ? idle : 0;
  snapshot_.state = state;
}

RunSnapshot Orchestrator::Snapshot() const {
  absl::MutexLock lock(&snapshot_mu_);
  return snapshot_;
}

// One loop iteration: Advance's decisions, then the events that came in (samples, scores,
// a trained step); once a second (by the clock), the leases.
absl::Status Orchestrator::Run() {
  run_start_ = step_start_ = clock_->Now();
  PublishSnapshot("running");
  if (step_ == 0) RETURN_IF_ERROR(EvaluateBeforeTraining());
  auto last_check = clock_->Now();
  while (step_ < config_.steps && failure_.ok()) {
    Advance();
    events_->RunOne(milliseconds(100));
    while (events_->RunOne(milliseconds(0))) {
    }
    if (clock_->Now() - last_check > std::chrono::seconds(1)) {
      CheckLeases();
      PublishSnapshot("running");
      last_check = clock_->Now();
    }
  }
  StopInFlight();
  if (trainer_.joinable()) trainer_.join();
  if (journal_ && failure_.ok()) {
    std::vector<std::string> pending;
    for (const LedgerEntry* e : ledger_.Pending()) pending.push_back(e->uid);
    absl::Status ended = journal_->End(step_, events_since_batch_, pending);
    if (!ended.ok()) Fail(ended);
  }
  PublishSnapshot(failure_.ok() ? "finished" : "failed");
  RETURN_IF_ERROR(failure_);
  return ledger_.CheckBalanced();
}

// Stops what is still generating: those prompts stay queued (pending) in the ledger.
void Orchestrator::StopInFlight() {
  std::vector<std::string> left;
  for (const auto& [gid, run] : inflight_) left.push_back(gid);
  if (!left.empty()) {
    AbortSpec spec;
    spec.group_ids = left;
    rollout_->Abort(spec);
  }
  for (const std::string& gid : left) {
    GroupRun gone = std::move(inflight_[gid]);
    inflight_.erase(gid);
    if (!gone.key.eval) Requeue(gone, "run_ended");
  }
}

SchedulerState Orchestrator::SaveState() const {
  SchedulerState state;
  state.step = step_;
  state.policy_version = policy_version_;
  state.sampler_epoch = sampler_.epoch();
  state.sampler_position = sampler_.position();
  state.easy_pool = easy_pool_;
  state.easy_takes = easy_takes_;
  state.next_launch_seq = next_launch_seq_;
  for (const LedgerEntry* e : ledger_.Pending()) {
    state.pending.push_back({e->uid, e->record, e->from_easy_pool});
  }
  state.ledger = ledger_.Summary();
  return state;
}

SchedulerState Orchestrator::CommitState(const std::vector<std::string>& batch) const {
  SchedulerState state = SaveState();
  const std::set<std::string> trained(batch.begin(), batch.end());
  std::vector<PendingPrompt> pending;
  for (PendingPrompt& p : state.pending) {
    if (!trained.count(p.uid)) pending.push_back(std::move(p));
  }
  state.pending = std::move(pending);
  state.step = step_ + 1;
  state.ledger.trained += static_cast<int64_t>(trained.size());
  state.ledger.complete -= static_cast<int64_t>(trained.size());
  return state;
}

std::vector<JournalSample> Orchestrator::JournalSamples(
    const std::vector<TrainGroupData>& groups, const std::vector<std::string>& uids) const {
  std::vector<JournalSample> out;
  for (size_t g = 0; g < groups.size(); ++g) {
    const LedgerEntry* entry = ledger_.Find(uids[g]);
    for (const TrainSample& t : groups[g].samples) {
      JournalSample s;
      s.uid = uids[g];
      s.record = entry ? entry->record : -1;
      s.sample = t.sample.index_in_group;
      const auto& v = t.sample.versions;
      s.min_version = v.empty() ? 0 : *std::min_element(v.begin(), v.end());
      s.max_version = v.empty() ? 0 : *std::max_element(v.begin(), v.end());
      s.reward = t.score.reward;
      out.push_back(std::move(s));
    }
  }
  return out;
}

absl::Status Orchestrator::RestoreState(const SchedulerState& state) {
  for (const PendingPrompt& p : state.pending) {
    if (p.record < 0 || p.record >= static_cast<int64_t>(train_->records.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("scheduler state: pending record ", p.record, " is not in the prompt data"));
    }
  }
  step_ = state.step;
  policy_version_ = state.policy_version;
  sampler_.Restore(state.sampler_epoch, state.sampler_position);
  easy_pool_ = state.easy_pool;
  easy_takes_ = state.easy_takes;
  next_launch_seq_ = state.next_launch_seq;
  // Taken again under their uids (they are not new takes: the journal has them already).
  LedgerSummary closed = state.ledger;
  for (const PendingPrompt& p : state.pending) {
    queue_.push_back(ledger_.Take(p.record, p.from_easy_pool, p.uid));
    --closed.taken;
    if (p.from_easy_pool) --closed.taken_from_easy_pool;
  }
  closed.queued = closed.generating = closed.scoring = closed.complete = 0;
  ledger_.RestoreClosed(closed);
  return absl::OkStatus();
}

}  // namespace seamless
