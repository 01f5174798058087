// The orchestrator on a fake clock and fakes that answer inside Generate: leases, the easy
// pool, staleness and resume, deterministic and without sleeping.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "scheduler/ledger.h"
#include "scheduler/orchestrator.h"
#include "scheduler/prompt_dataset.h"
#include "scheduler/scheduler_state.h"
#include "tests/testing/fake_backends.h"
#include "tests/testing/fake_clock.h"

namespace seamless {
namespace {

using testing::FakeClock;
using testing::FakeDataset;
using testing::FakeEncoder;
using testing::FakeLearner;
using testing::FakeReward;
using testing::FakeRollout;
using ::testing::HasSubstr;

// Durations of 0: every group is answered inside Generate.
std::vector<int> Instant(int n) { return std::vector<int>(n, 0); }

SchedulerConfig Config(int64_t steps) { return testing::FakeRunConfig(steps, /*eval_prompts=*/3); }

OrchestratorOptions On(const FakeClock& clock) {
  OrchestratorOptions options;
  options.clock = &clock;
  return options;
}

// The ledger uid of a trained group id ("<uid>#<launch>").
std::string Uid(const std::string& group_id) { return group_id.substr(0, group_id.find('#')); }

// `trained_before`: the groups a resumed run's ledger counts from before it.
void ExpectBalancedAndNoDuplicates(const Orchestrator& o, const FakeLearner& learner,
                                   int64_t trained_before = 0) {
  EXPECT_TRUE(o.ledger().CheckBalanced().ok());
  std::set<std::string> trained;
  int64_t groups = 0;
  for (const auto& batch : learner.batches()) {
    for (const auto& g : batch) {
      EXPECT_TRUE(trained.insert(Uid(g.group_id)).second) << g.group_id << " trained twice";
      ++groups;
    }
  }
  EXPECT_EQ(o.ledger().Summary().trained, trained_before + groups);
}

TEST(OrchestratorFakeClockTest, AnExpiredLeaseRequeuesTheGroupAndTheRunCompletes) {
  const int n = 30;
  PromptDataset train = FakeDataset(n), val = FakeDataset(3);
  FakeRollout rollout(2, std::vector<double>(n, 0.5), Instant(n));
  FakeReward reward;
  FakeLearner learner;
  FakeClock clock;
  SchedulerConfig c = Config(3);
  c.lease_seconds = 30;
  // The first training group hangs on its worker, and the clock moves past its lease.
  std::string hung;
  rollout.set_on_generate([&](int, const GroupRequest& request) {
    if (request.launch_seq != 1) return false;
    hung = request.group_id;
    clock.Advance(std::chrono::seconds(31));
    return true;
  });
  Orchestrator o(c, &train, &val, FakeEncoder(), &rollout, &reward, &learner, On(clock));
  ASSERT_TRUE(o.Run().ok());
  ASSERT_FALSE(hung.empty());
  EXPECT_EQ(learner.batches().size(), 3u);
  ExpectBalancedAndNoDuplicates(o, learner);
  LedgerSummary s = o.ledger().Summary();
  EXPECT_EQ(s.requeued_by_reason["lease_expired"], 1);
  // The prompt was launched again (FIFO waited for it: nothing later could train before).
  const LedgerEntry* e = o.ledger().Find(Uid(hung));
  ASSERT_NE(e, nullptr);
  EXPECT_GE(e->launches, 2);
  for (const auto& batch : learner.batches()) {
    for (const auto& g : batch) EXPECT_NE(g.group_id, hung) << "the hung launch was trained";
  }
}

TEST(OrchestratorFakeClockTest, TheEasyPoolIsDrawnWithProbabilityAlpha) {
  const int n = 40;
  PromptDataset train = FakeDataset(n);
  const std::set<int64_t> pool = {5, 6, 7};
  for (double alpha : {0.0, 0.3, 1.0}) {
    FakeRollout rollout(2, std::vector<double>(n, 0.5), Instant(n));
    FakeReward reward;
    FakeLearner learner;
    FakeClock clock;
    SchedulerConfig c = Config(100);
    c.dynamic_sampling = false;  // the pool stays as restored
    c.easy_pool_prob = alpha;
    Orchestrator o(c, &train, /*val=*/nullptr, FakeEncoder(), &rollout, &reward, &learner,
                   On(clock));
    SchedulerState state;
    state.easy_pool.assign(pool.begin(), pool.end());
    ASSERT_TRUE(o.RestoreState(state).ok());
    ASSERT_TRUE(o.Run().ok());
    ExpectBalancedAndNoDuplicates(o, learner);
    const LedgerSummary s = o.ledger().Summary();
    ASSERT_GE(s.taken, 300);
    // Each take is a Bernoulli(α) draw: within 3 standard deviations at 300 takes.
    EXPECT_NEAR(double(s.taken_from_easy_pool) / s.taken, alpha, 0.08) << "alpha " << alpha;
    if (alpha == 0.0) EXPECT_EQ(s.taken_from_easy_pool, 0);
    if (alpha == 1.0) EXPECT_EQ(s.taken_from_easy_pool, s.taken);
    // An easy take ("e<n>.<record>") is always of a pool record.
    for (const auto& batch : learner.batches()) {
      for (const auto& g : batch) {
        if (g.group_id[0] != 'e') continue;
        const std::string uid = Uid(g.group_id);
        const int64_t record = std::stoll(uid.substr(uid.find('.') + 1));
        EXPECT_TRUE(pool.count(record)) << g.group_id;
      }
    }
  }
}

TEST(OrchestratorFakeClockTest, ValidGroupsThatTurnStaleAreDroppedNotTrained) {
  // Every group is valid, so more than a batch completes at once; at staleness 0 the extra
  // groups may not train on the next version.
  const int n = 60;
  PromptDataset train = FakeDataset(n);
  FakeRollout rollout(2, std::vector<double>(n, 0.5), Instant(n));
  FakeReward reward;
  FakeLearner learner;
  FakeClock clock;
  SchedulerConfig c = Config(5);
  c.dynamic_sampling = false;
  c.max_staleness = 0;
  Orchestrator o(c, &train, /*val=*/nullptr, FakeEncoder(), &rollout, &reward, &learner, On(clock));
  std::vector<StepReport> reports;
  o.set_on_step([&](const StepReport& r) { reports.push_back(r); });
  ASSERT_TRUE(o.Run().ok());
  EXPECT_EQ(learner.batches().size(), 5u);
  ExpectBalancedAndNoDuplicates(o, learner);
  LedgerSummary s = o.ledger().Summary();
  EXPECT_GT(s.dropped_by_reason["stale"], 0);
  double reported = 0;
  for (const StepReport& r : reports) {
    auto it = r.metrics.find("scheduler/dropped_stale");
    if (it != r.metrics.end()) reported += it->second;
  }
  EXPECT_EQ(reported, double(s.dropped_by_reason["stale"]));
  // Every trained group was launched within max_staleness versions of the step it trained.
  for (const auto& batch : learner.batches()) {
    for (const auto& g : batch) {
      const LedgerEntry* e = o.ledger().Find(Uid(g.group_id));
      ASSERT_NE(e, nullptr);
      EXPECT_GE(e->version, e->trained_step - c.max_staleness) << g.group_id;
    }
  }
}

// The resume tests' workload: a third of the prompts always pass (they fill the easy pool),
// and a lookahead batch keeps valid groups beyond the one training (pending when saved).
constexpr int kResumePrompts = 30;
std::vector<double> ResumePass() {
  std::vector<double> pass(kResumePrompts);
  for (int i = 0; i < kResumePrompts; ++i) pass[i] = i % 3 == 1 ? 1.0 : 0.5;
  return pass;
}
SchedulerConfig ResumeConfig(int64_t steps) {
  SchedulerConfig c = Config(steps);
  c.lookahead_batches = 1;
  return c;
}

// A two-step run and what the loop held when step 2 was reported (where SaveState is called).
struct SavedRun {
  SchedulerState state;
  std::vector<PendingPrompt> pending;  // the ledger's pending prompts, in take order
  LedgerSummary ledger;
  double launched = 0;  // training launches, summed over the step reports
};
SavedRun RunTwoStepsAndSave(const PromptDataset& train, const FakeClock& clock) {
  SavedRun saved;
  FakeRollout rollout(2, ResumePass(), Instant(kResumePrompts));
  FakeReward reward;
  FakeLearner learner;
  Orchestrator o(ResumeConfig(2), &train, /*val=*/nullptr, FakeEncoder(), &rollout, &reward,
                 &learner, On(clock));
  o.set_on_step([&](const StepReport& r) {
    auto it = r.metrics.find("scheduler/launched_groups");
    if (it != r.metrics.end()) saved.launched += it->second;
    if (r.step != 2) return;
    saved.state = o.SaveState();
    for (const LedgerEntry* e : o.ledger().Pending()) {
      saved.pending.push_back({e->uid, e->record, e->from_easy_pool});
    }
    saved.ledger = o.ledger().Summary();
  });
  EXPECT_TRUE(o.Run().ok());
  return saved;
}

TEST(OrchestratorFakeClockTest, SaveStateHoldsTheRunsPlace) {
  PromptDataset train = FakeDataset(kResumePrompts);
  FakeClock clock;
  const SavedRun saved = RunTwoStepsAndSave(train, clock);
  const SchedulerState& s = saved.state;
  EXPECT_EQ(s.step, 2);
  EXPECT_EQ(s.policy_version, 2);
  ASSERT_FALSE(saved.pending.empty());
  EXPECT_EQ(s.pending, saved.pending);
  EXPECT_EQ(s.next_launch_seq, static_cast<uint64_t>(saved.launched) + 1);
  // The sampler's place counts the takes from the data (not those from the easy pool).
  EXPECT_EQ(s.sampler_epoch * kResumePrompts + s.sampler_position,
            saved.ledger.taken - saved.ledger.taken_from_easy_pool);
  EXPECT_FALSE(s.easy_pool.empty());
  for (int64_t record : s.easy_pool) EXPECT_EQ(record % 3, 1) << "not an all-pass prompt";
  EXPECT_EQ(s.ledger.taken, saved.ledger.taken);
  EXPECT_EQ(s.ledger.trained, 6);  // two batches of 3
  EXPECT_EQ(s.ledger.dropped, saved.ledger.dropped);
  EXPECT_EQ(s.ledger.dropped_by_reason, saved.ledger.dropped_by_reason);
}

TEST(OrchestratorFakeClockTest, RestoreStateResumesWhereTheRunWas) {
  PromptDataset train = FakeDataset(kResumePrompts);
  FakeClock clock;
  const SavedRun saved = RunTwoStepsAndSave(train, clock);
  ASSERT_FALSE(saved.pending.empty());
  // Through the file's JSON into a fresh orchestrator.
  absl::StatusOr<SchedulerState> read = SchedulerState::FromJson(saved.state.ToJson());
  ASSERT_TRUE(read.ok()) << read.status();
  FakeRollout rollout(2, ResumePass(), Instant(kResumePrompts));
  FakeReward reward;
  FakeLearner learner;
  std::vector<std::string> launches;
  rollout.set_on_generate([&](int, const GroupRequest& request) {
    launches.push_back(request.group_id);
    return false;
  });
  Orchestrator o(ResumeConfig(4), &train, /*val=*/nullptr, FakeEncoder(), &rollout, &reward,
                 &learner, On(clock));
  ASSERT_TRUE(o.RestoreState(*read).ok());
  // Before running: the pending prompts are taken again and queued, and the ledger's totals
  // count on from the saved run's; the state reads back.
  const int64_t pending = static_cast<int64_t>(saved.pending.size());
  EXPECT_EQ(o.ledger().Summary().taken, saved.ledger.taken);
  EXPECT_EQ(o.ledger().Summary().trained, saved.ledger.trained);
  EXPECT_EQ(o.ledger().Summary().dropped, saved.ledger.dropped);
  EXPECT_EQ(o.ledger().Summary().queued, pending);
  const SchedulerState again = o.SaveState();
  EXPECT_EQ(again.step, 2);
  EXPECT_EQ(again.policy_version, 2);
  EXPECT_EQ(again.sampler_epoch, saved.state.sampler_epoch);
  EXPECT_EQ(again.sampler_position, saved.state.sampler_position);
  EXPECT_EQ(again.easy_pool, saved.state.easy_pool);
  EXPECT_EQ(again.next_launch_seq, saved.state.next_launch_seq);
  EXPECT_EQ(again.pending, saved.pending);
  EXPECT_EQ(again.easy_takes, saved.state.easy_takes);

  std::vector<StepReport> reports;
  o.set_on_step([&](const StepReport& r) { reports.push_back(r); });
  ASSERT_TRUE(o.Run().ok());
  // Steps 3 and 4 only (no evaluation before training on a resume), from version 2.
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].step, 3);
  EXPECT_EQ(reports[1].step, 4);
  EXPECT_EQ(reports[1].policy_version, 4);
  EXPECT_EQ(learner.steps(), (std::vector<int64_t>{2, 3}));
  ExpectBalancedAndNoDuplicates(o, learner, saved.ledger.trained);
  // The pending prompts went out first, in their order, under their uids, numbered after the
  // saved launches.
  ASSERT_GE(launches.size(), saved.pending.size());
  for (size_t i = 0; i < saved.pending.size(); ++i) {
    EXPECT_EQ(launches[i], saved.pending[i].uid + "#1") << i;
  }
  EXPECT_EQ(o.ledger().Summary().trained, saved.ledger.trained + 6);
  for (const auto& batch : learner.batches()) {
    for (const auto& g : batch) {
      EXPECT_GE(g.samples[0].sample.launch_seq, saved.state.next_launch_seq) << g.group_id;
    }
  }
}

TEST(SchedulerStateTest, JsonRoundTripAndRefusals) {
  SchedulerState s;
  s.step = 7;
  s.policy_version = 7;
  s.sampler_epoch = 1;
  s.sampler_position = 4;
  s.easy_pool = {3, 9};
  s.next_launch_seq = 42;
  s.easy_takes = 3;
  s.pending = {{"d1.5", 5, false}, {"e2.1", 1, true}, {"d1.4", 4, false}};
  s.ledger.taken = 60;
  s.ledger.trained = 21;
  s.ledger.dropped = 30;
  s.ledger.dropped_by_reason = {{"all_passed", 20}, {"all_failed", 10}};
  absl::StatusOr<SchedulerState> back = SchedulerState::FromJson(s.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->step, 7);
  EXPECT_EQ(back->policy_version, 7);
  EXPECT_EQ(back->sampler_epoch, 1);
  EXPECT_EQ(back->sampler_position, 4);
  EXPECT_EQ(back->easy_pool, s.easy_pool);
  EXPECT_EQ(back->next_launch_seq, 42u);
  EXPECT_EQ(back->easy_takes, 3);
  EXPECT_EQ(back->pending, s.pending);
  EXPECT_EQ(back->ledger.taken, 60);
  EXPECT_EQ(back->ledger.trained, 21);
  EXPECT_EQ(back->ledger.dropped, 30);
  EXPECT_EQ(back->ledger.dropped_by_reason, s.ledger.dropped_by_reason);
  EXPECT_THAT(s.ToJson(), HasSubstr("\"ledger\""));

  EXPECT_EQ(SchedulerState::FromJson("{").status().code(), absl::StatusCode::kDataLoss);
  absl::StatusOr<SchedulerState> partial = SchedulerState::FromJson(R"({"step": 1})");
  ASSERT_FALSE(partial.ok());
  EXPECT_EQ(partial.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(partial.status().message(), HasSubstr("scheduler state"));

  // A pending record outside the prompt data is refused by the orchestrator.
  PromptDataset train = FakeDataset(10);
  FakeRollout rollout(1, std::vector<double>(10, 0.5), Instant(10));
  FakeReward reward;
  FakeLearner learner;
  Orchestrator o(Config(1), &train, nullptr, FakeEncoder(), &rollout, &reward, &learner);
  SchedulerState bad;
  bad.pending = {{"d0.99", 99, false}};
  absl::Status refused = o.RestoreState(bad);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("pending record 99"));
  EXPECT_EQ(o.ledger().Summary().taken, 0);
}

TEST(LedgerTest, LeasesExpireOnlyPastTheirExpiryAndOnlyWhileGenerating) {
  FakeClock clock;
  Ledger ledger;
  const auto t0 = clock.Now();
  const std::string a = ledger.Take(1, false, "d0.1");
  const std::string b = ledger.Take(2, false, "d0.2");
  const std::string c = ledger.Take(3, false, "d0.3");
  ASSERT_TRUE(ledger.Launch(a, "d0.1#1", 0, 1, 0, t0 + std::chrono::seconds(10)).ok());
  ASSERT_TRUE(ledger.Launch(b, "d0.2#1", 1, 2, 0, t0 + std::chrono::seconds(20)).ok());
  ASSERT_TRUE(ledger.Launch(c, "d0.3#1", 1, 3, 0, t0 + std::chrono::seconds(10)).ok());
  ASSERT_TRUE(ledger.StartScoring(c).ok());  // all samples back: no lease to expire
  EXPECT_TRUE(ledger.ExpiredLeases(clock.Now()).empty());
  clock.Advance(std::chrono::seconds(10));
  EXPECT_TRUE(ledger.ExpiredLeases(clock.Now()).empty()) << "expires after, not at, its time";
  clock.Advance(std::chrono::milliseconds(1));
  EXPECT_EQ(ledger.ExpiredLeases(clock.Now()), std::vector<std::string>{a});
  clock.Advance(std::chrono::seconds(10));
  EXPECT_EQ(ledger.ExpiredLeases(clock.Now()), (std::vector<std::string>{a, b}));
  ASSERT_TRUE(ledger.Requeue(a, "lease_expired").ok());
  EXPECT_EQ(ledger.ExpiredLeases(clock.Now()), std::vector<std::string>{b});
}

}  // namespace
}  // namespace seamless
