// The run journal and its audit: synthetic journals for each finding, then real orchestrator
// runs over the fakes, including a crash after a step that the learner never committed and
// the resume from the learner's commit state.
#include "scheduler/journal_audit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "core/base/file_util.h"
#include "nlohmann/json.hpp"
#include "scheduler/orchestrator.h"
#include "scheduler/prompt_dataset.h"
#include "scheduler/run_journal.h"
#include "scheduler/scheduler_state.h"
#include "tests/testing/fake_backends.h"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;

JournalAudit Audit(const std::string& path) {
  absl::StatusOr<JournalAudit> audit = AuditJournal(path);
  EXPECT_TRUE(audit.ok()) << audit.status();
  return audit.ok() ? *audit : JournalAudit();
}

std::vector<JournalSample> Group(const std::string& uid, int64_t record, int samples) {
  std::vector<JournalSample> out;
  out.reserve(samples);
  for (int i = 0; i < samples; ++i) out.push_back({uid, record, i, 0, 0, 1.0});
  return out;
}

JournalEvents Takes(std::vector<std::pair<std::string, int64_t>> takes,
                    std::vector<std::pair<std::string, std::string>> drops = {}) {
  JournalEvents e;
  e.takes = std::move(takes);
  e.drops = std::move(drops);
  return e;
}

TEST(JournalAuditTest, ACleanRunAndEachKindOfFinding) {
  const std::string dir = testing::TestTempDir();
  {  // clean: one take trained, one dropped, one pending
    auto j = RunJournal::Open(dir + "/clean.jsonl");
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->RecordStep(0, Takes({{"d0.1", 1}, {"d0.2", 2}}, {{"d0.2", "all_passed"}}),
                                 Group("d0.1", 1, 4))
                    .ok());
    ASSERT_TRUE((*j)->Commit(0).ok());
    ASSERT_TRUE((*j)->End(1, Takes({{"d0.3", 3}}), {"d0.3"}).ok());
  }
  JournalAudit clean = Audit(dir + "/clean.jsonl");
  EXPECT_TRUE(clean.clean()) << clean.problems.size();
  EXPECT_EQ(clean.steps, 1);
  EXPECT_EQ(clean.samples, 4);
  EXPECT_EQ(clean.taken, 3);
  EXPECT_EQ(clean.trained, 1);
  EXPECT_EQ(clean.dropped, 1);
  EXPECT_EQ(clean.pending, 1);

  {  // lost (d0.2 vanishes), trained twice (d0.1), never committed (step 1)
    auto j = RunJournal::Open(dir + "/bad.jsonl");
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->RecordStep(0, Takes({{"d0.1", 1}, {"d0.2", 2}}), Group("d0.1", 1, 2)).ok());
    ASSERT_TRUE((*j)->Commit(0).ok());
    ASSERT_TRUE((*j)->RecordStep(1, Takes({}), Group("d0.1", 1, 2)).ok());
    ASSERT_TRUE((*j)->End(2, Takes({}), {}).ok());
  }
  JournalAudit bad = Audit(dir + "/bad.jsonl");
  EXPECT_FALSE(bad.clean());
  EXPECT_EQ(bad.lost, 1);
  EXPECT_GE(bad.duplicated, 1);
  EXPECT_EQ(bad.uncommitted, 1);
  EXPECT_THAT(bad.problems, ::testing::Contains(HasSubstr("d0.2 taken, never trained")));
  EXPECT_THAT(bad.problems, ::testing::Contains(HasSubstr("d0.1 trained in step 0 and step 1")));

  {  // a resume voids the lost step 1 (and the end line before it); the retrained one stands
    auto j = RunJournal::Open(dir + "/resumed.jsonl");
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->RecordStep(0, Takes({{"d0.1", 1}, {"d0.2", 2}}), Group("d0.1", 1, 2)).ok());
    ASSERT_TRUE((*j)->RecordStep(1, Takes({{"d0.3", 3}}), Group("d0.2", 2, 2)).ok());
    ASSERT_TRUE((*j)->Resume(1).ok());  // the learner's checkpoint holds step 0 (uncommitted here)
    ASSERT_TRUE((*j)->RecordStep(1, Takes({{"d0.3", 3}}), Group("d0.3", 3, 2)).ok());
    ASSERT_TRUE((*j)->Commit(1).ok());
    ASSERT_TRUE((*j)->End(2, Takes({}), {"d0.2"}).ok());
  }
  JournalAudit resumed = Audit(dir + "/resumed.jsonl");
  EXPECT_TRUE(resumed.clean()) << (resumed.problems.empty() ? "" : resumed.problems[0]);
  EXPECT_EQ(resumed.steps, 2);
  EXPECT_EQ(resumed.voided_steps, 1);
  EXPECT_EQ(resumed.resumes, 1);

  { std::ofstream(dir + "/junk.jsonl") << "{\"type\":\"step\",\"step\":0}\n{\"type\":\"what\"}\n"; }
  absl::StatusOr<JournalAudit> junk = AuditJournal(dir + "/junk.jsonl");
  ASSERT_FALSE(junk.ok());
  EXPECT_THAT(junk.status().message(), HasSubstr("junk.jsonl:1"));
}

// A journal's lines without its end line: what a crash mid-run leaves.
void DropEndLine(const std::string& path) {
  auto text = ReadFileToString(path);
  ASSERT_TRUE(text.ok());
  std::string kept;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"type\":\"end\"") == std::string::npos) kept += line + "\n";
  }
  ASSERT_TRUE(WriteFileAtomically(path, kept).ok());
}

// A 3-step orchestrator run over the fakes (two instant workers) journalling into `path`.
struct JournaledRun {
  JournaledRun(const PromptDataset& train, const std::vector<double>& pass, const std::string& path)
      : rollout(2, pass, std::vector<int>(pass.size(), 0)),
        journal(RunJournal::Open(path)),
        orchestrator(testing::FakeRunConfig(3, 0), &train, nullptr, testing::FakeEncoder(),
                     &rollout, &reward, &learner) {
    if (journal.ok()) orchestrator.set_journal(journal->get());
  }
  testing::FakeRollout rollout;
  testing::FakeReward reward;
  testing::FakeLearner learner;
  absl::StatusOr<std::unique_ptr<RunJournal>> journal;
  Orchestrator orchestrator;
};

// The orchestrator journals a run that audits clean; killed after step 2 with only step 1
// committed by the learner, it resumes from the learner's commit state of step 1, trains
// steps 2 and 3 again from the same prompts, and the journal still audits clean.
TEST(JournalAuditTest, AnOrchestratorRunAndAResumeAfterALostStepAuditClean) {
  const int n = 40;
  PromptDataset train = testing::FakeDataset(n);
  std::vector<double> pass(n);
  for (int i = 0; i < n; ++i) pass[i] = i % 4 == 0 ? 1.0 : 0.5;  // some all-pass drops
  const std::string path = testing::TestTempDir() + "/journal.jsonl";
  std::vector<std::string> commit_states;
  {
    JournaledRun run(train, pass, path);
    ASSERT_TRUE(run.journal.ok());
    ASSERT_TRUE(run.orchestrator.Run().ok());
    commit_states = run.learner.commit_states();
    JournalAudit audit = Audit(path);
    EXPECT_TRUE(audit.clean()) << (audit.problems.empty() ? "" : audit.problems[0]);
    EXPECT_EQ(audit.steps, 3);
    EXPECT_EQ(audit.samples, 3 * 3 * 4);  // 3 steps x 3 groups x 4 samples
    EXPECT_EQ(audit.trained + audit.dropped + audit.pending, audit.taken);
    EXPECT_GT(audit.dropped, 0);
  }
  ASSERT_EQ(commit_states.size(), 3u);
  DropEndLine(path);
  // The learner kept step 1 (its checkpoint); steps 2 and 3 were lost.
  absl::StatusOr<SchedulerState> state = SchedulerState::FromJson(commit_states[0]);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->step, 1);
  JournaledRun run(train, pass, path);
  ASSERT_TRUE(run.journal.ok());
  ASSERT_TRUE(run.orchestrator.RestoreState(*state).ok());
  ASSERT_TRUE((*run.journal)->Resume(1).ok());
  ASSERT_TRUE(run.orchestrator.Run().ok());
  EXPECT_EQ(run.learner.steps(), (std::vector<int64_t>{1, 2}));
  JournalAudit audit = Audit(path);
  EXPECT_TRUE(audit.clean()) << (audit.problems.empty() ? "" : audit.problems[0]);
  EXPECT_EQ(audit.steps, 3);
  EXPECT_EQ(audit.voided_steps, 2);
  EXPECT_EQ(audit.samples, 3 * 3 * 4);
  // The ledger counts on from the first run's committed step.
  EXPECT_EQ(run.orchestrator.ledger().Summary().trained, 3 * 3);
}

}  // namespace
}  // namespace seamless
