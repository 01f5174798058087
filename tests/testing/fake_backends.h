// In-process fakes of the orchestrator's backends (scheduler/backends.h), for the scheduler's
// tests and any bench that wants a scheduler without real workers.
//
// The workload: data record p is prompt "p<p>", encoded as the one token p + 3 (FakeEncoder);
// a sample passes when its one generated token is 1, which FakeRollout makes it with
// probability pass[p] (from the group's seed, so reproducible); FakeReward checks the text "1"
// against the ground truth "1".
#ifndef SEAMLESS_TESTS_TESTING_FAKE_BACKENDS_H_
#define SEAMLESS_TESTS_TESTING_FAKE_BACKENDS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "scheduler/backends.h"
#include "scheduler/orchestrator.h"
#include "scheduler/prompt_dataset.h"

namespace seamless {
namespace testing {

// `n` records "p0".."p<n-1>" of fake.jsonl, ground truth "1".
PromptDataset FakeDataset(int n);
// Record -> {index + 3}.
PromptEncoder FakeEncoder();

// Rollout workers. A group of prompt p takes duration_ms[p] milliseconds of real time on a
// thread of the fake's own; a duration of 0 answers inside Generate (no thread, no timing:
// with a fake clock, a run is then deterministic). Workers can be killed, and a hook can hold
// a group forever (a hung worker), until it is aborted.
class FakeRollout : public RolloutBackend {
 public:
  FakeRollout(int workers, std::vector<double> pass, std::vector<int> duration_ms);
  ~FakeRollout() override;

  int num_workers() const override { return workers_; }
  void Generate(int worker, GroupRequest request, std::function<void(RolloutSample)> on_sample,
                std::function<void(absl::Status)> on_done) override;
  // Answers the groups hit with aborted samples, then an OK on_done.
  void Abort(const AbortSpec& spec) override;
  std::string Detokenize(const std::vector<int32_t>& ids) override;

  // Fails the worker's groups (UNAVAILABLE) now and every later one, until Revive.
  void Kill(int worker);
  void Revive(int worker);
  // Runs first in every Generate (on the caller's thread, with no lock held); returning true
  // holds that group: it never finishes unless aborted.
  void set_on_generate(std::function<bool(int worker, const GroupRequest&)> hook);
  // The weight version a worker generates with, stamped on every token; without it samples
  // carry no versions. Set before the run.
  void set_token_version(std::function<int64_t(int worker)> version);
  // Checks each request as a worker's batcher would; an error fails the group at once.
  void set_validate(std::function<absl::Status(const GroupRequest&)> validate);

  int64_t generated_groups();
  // num_samples of every held-out request.
  std::vector<int> eval_num_samples();
  int64_t max_groups_in_flight();
  // How many held-out samples passed.
  int64_t eval_passes();

 private:
  struct Job {
    int worker;
    GroupRequest request;
    std::function<void(RolloutSample)> on_sample;
    std::function<void(absl::Status)> on_done;
    std::chrono::steady_clock::time_point due;
  };
  RolloutSample MakeSample(const Job& job, int i) const;
  void Answer(Job& job);  // every sample, then on_done; mu_ not held
  void Loop();
  bool Stopped() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; }

  const int workers_;
  const std::vector<double> pass_;
  const std::vector<int> duration_;
  std::function<bool(int, const GroupRequest&)> on_generate_;  // set before the run
  std::function<int64_t(int)> token_version_;                  // set before the run
  std::function<absl::Status(const GroupRequest&)> validate_;  // set before the run
  absl::Mutex mu_;
  std::vector<Job> jobs_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> dead_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int64_t generated_groups_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> eval_num_samples_ ABSL_GUARDED_BY(mu_);
  int64_t eval_passes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t max_jobs_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;  // only when some duration is above 0
};

// Passes "1" against the ground truth "1", inside Score; every job fails while fail_all.
class FakeReward : public RewardBackend {
 public:
  void Score(ScoreJob job, std::function<void(absl::StatusOr<ScoreResult>)> done) override;
  std::atomic<bool> fail_all{false};
};

// Records every batch; the policy version after step s is s + 1.
class FakeLearner : public LearnerBackend {
 public:
  absl::StatusOr<TrainResult> Train(const TrainCall& call) override;
  std::vector<std::vector<TrainGroupData>> batches() const;
  std::vector<int64_t> steps() const;              // the step of each batch
  std::vector<std::string> commit_states() const;  // of each batch

 private:
  mutable absl::Mutex mu_;
  std::vector<std::vector<TrainGroupData>> batches_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> steps_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> commit_states_ ABSL_GUARDED_BY(mu_);
};

// A small run for these fakes: groups of 4, batches of 3, 4 groups in flight per worker, no
// evaluation during training (`eval_prompts` for the one before it), seed 1.
SchedulerConfig FakeRunConfig(int64_t steps, int64_t eval_prompts);

}  // namespace testing
}  // namespace seamless

#endif  // SEAMLESS_TESTS_TESTING_FAKE_BACKENDS_H_
