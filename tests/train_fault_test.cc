// Fault tolerance of `seamless train` with real processes: a rollout worker killed mid-run,
// a reward server that hangs, the learner killed and the run resumed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/base/file_util.h"
#include "nlohmann/json.hpp"
#include "tests/testing/child_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

using testing::ChildProcess;
using ::testing::HasSubstr;

// One SFT warm start shared by every test (the built-in task with one-digit operands, where a
// briefly trained model passes some samples of a group and fails others).
class TrainFaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::TestTempDir("train_fault"));
    const std::string config = *dir_ + "/base.yaml";
    ASSERT_TRUE(WriteFileAtomically(config, BaseYaml("default", 150, 1)).ok());
    auto r = testing::RunCommand(absl::StrCat(testing::SeamlessBinary(), " train --config ", config,
                                              " --out ", *dir_, "/base 2>&1"));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    model_ = *dir_ + "/base/sft_model";
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string BaseYaml(const std::string& model, int sft_steps, int steps,
                              const std::string& extra = "") {
    return absl::StrCat("model: ", model, "\ntask:\n  max_operand: 9\ntask_train_prompts: 60\n",
                        "task_val_prompts: 16\nsft:\n  steps: ", sft_steps,
                        "\n  examples: 80\nscheduler:\n  steps: ", steps,
                        "\n  group_size: 4\n  batch_groups: 4\n  eval_prompts: 16\n",
                        "  eval_every: 0\n  max_launch_rounds: 30\n  sampling:\n",
                        "    max_new_tokens: 16\n", extra);
  }

  // Starts `seamless train` on the shared warm start; returns the process.
  ChildProcess StartTrain(const std::string& name, int steps, const std::string& extra = "",
                          const std::string& top_level = "") {
    const std::string config = absl::StrCat(*dir_, "/", name, ".yaml");
    EXPECT_TRUE(WriteFileAtomically(config, top_level + BaseYaml(model_, 0, steps, extra)).ok());
    run_dir_ = absl::StrCat(*dir_, "/", name);
    auto child = ChildProcess::Start(
        {testing::SeamlessBinary(), "train", "--config", config, "--out", run_dir_});
    EXPECT_TRUE(child.ok());
    return std::move(*child);
  }

  int Pid(const std::string& role) {
    auto text = ReadFileToString(run_dir_ + "/pids.json");
    if (!text.ok()) return -1;
    return nlohmann::json::parse(*text).value(role, -1);
  }

  nlohmann::json LastJson(ChildProcess& child) {
    auto line = child.WaitForLine("\"run_dir\"", std::chrono::minutes(5));
    EXPECT_TRUE(line.ok()) << line.status();
    return line.ok() ? nlohmann::json::parse(*line) : nlohmann::json();
  }

  nlohmann::json SchedulerSummary() {
    auto log = ReadFileToString(run_dir_ + "/logs/scheduler.log");
    nlohmann::json last;
    if (!log.ok()) return last;
    for (absl::string_view line : absl::StrSplit(*log, '\n')) {
      if (absl::StartsWith(line, "{\"event\"")) last = nlohmann::json::parse(line);
    }
    return last;
  }

  // `seamless audit` of the run: its JSON line, after checking it found nothing.
  nlohmann::json ExpectAuditClean() {
    auto r = testing::RunCommand(
        absl::StrCat(testing::SeamlessBinary(), " audit ", run_dir_, " 2>/dev/null"));
    EXPECT_EQ(r.exit_code, 0) << r.out;
    nlohmann::json audit = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(audit.is_object()) << r.out;
    if (!audit.is_object()) return audit;
    EXPECT_EQ(audit["lost"], 0) << r.out;
    EXPECT_EQ(audit["duplicated"], 0) << r.out;
    EXPECT_TRUE(audit["clean"].get<bool>()) << r.out;
    return audit;
  }

  // Each step of metrics.jsonl once, 1..steps.
  void ExpectEachStepOnce(int steps) {
    auto metrics = ReadFileToString(run_dir_ + "/metrics.jsonl");
    ASSERT_TRUE(metrics.ok());
    std::map<int64_t, int> seen;
    for (absl::string_view line : absl::StrSplit(*metrics, '\n', absl::SkipEmpty())) {
      ++seen[nlohmann::json::parse(line).value("step", int64_t{-1})];
    }
    for (int step = 1; step <= steps; ++step) EXPECT_EQ(seen[step], 1) << "step " << step;
  }

  static void ExpectBalanced(const nlohmann::json& summary) {
    const auto& l = summary["ledger"];
    EXPECT_EQ(l["taken"].get<int64_t>(), l["trained"].get<int64_t>() + l["dropped"].get<int64_t>() +
                                             l["pending"].get<int64_t>())
        << summary.dump();
  }

  static std::string* dir_;
  static std::string model_;
  std::string run_dir_;
};

std::string* TrainFaultTest::dir_ = nullptr;
std::string TrainFaultTest::model_;

TEST_F(TrainFaultTest, AKilledRolloutWorkerLosesNoPrompt) {
  ChildProcess train = StartTrain("kill_worker", 6);
  ASSERT_TRUE(train.WaitForLine("step   1/6", std::chrono::minutes(3)).ok());
  const int pid = Pid("rollout-0");
  ASSERT_GT(pid, 0);
  kill(pid, SIGKILL);
  nlohmann::json result = LastJson(train);
  EXPECT_EQ(train.Wait(), 0);
  EXPECT_TRUE(result["ok"].get<bool>()) << result.dump();
  nlohmann::json summary = SchedulerSummary();
  EXPECT_EQ(summary["event"], "finished");
  EXPECT_EQ(summary["steps"], 6);
  ExpectBalanced(summary);
  // The run directory a user gets: resolved config, verl-format metrics, report, checkpoints.
  for (const char* file : {"config.yaml", "metrics.jsonl", "report.html", "checkpoints/latest",
                           "logs/scheduler.log", "pids.json"}) {
    EXPECT_TRUE(FileExists(run_dir_ + "/" + file)) << file;
  }
  auto metrics = ReadFileToString(run_dir_ + "/metrics.jsonl");
  ASSERT_TRUE(metrics.ok());
  int steps_seen = 0;
  for (absl::string_view line : absl::StrSplit(*metrics, '\n', absl::SkipEmpty())) {
    nlohmann::json row = nlohmann::json::parse(line);
    ASSERT_TRUE(row.contains("step") && row["data"].is_object()) << line;
    if (row["step"].get<int>() > 0) {
      ++steps_seen;
      EXPECT_TRUE(row["data"].contains("critic/score/mean")) << line;
      EXPECT_TRUE(row["data"].contains("actor/pg_loss")) << line;
    }
  }
  EXPECT_EQ(steps_seen, 6);
  EXPECT_GE(result["start_accuracy"].get<double>(), 0.0);
  EXPECT_GE(result["final_accuracy"].get<double>(), 0.0);
  EXPECT_LT(result["peak_rss_mb"].get<double>(), 4096.0) << "all processes under 4 GiB";
}

TEST_F(TrainFaultTest, AHangingRewardServerIsRetriedElsewhere) {
  ChildProcess train =
      StartTrain("hang_reward", 5, "  reward_deadline_seconds: 1\n", "reward_servers: 2\n");
  ASSERT_TRUE(train.WaitForLine("step   1/5", std::chrono::minutes(3)).ok());
  const int pid = Pid("reward-0");
  ASSERT_GT(pid, 0);
  kill(pid, SIGSTOP);  // alive but silent: only deadlines notice
  // Steps go on past the silent server; it wakes up before the run ends (a stopped process
  // cannot take the SIGTERM that ends the run).
  ASSERT_TRUE(train.WaitForLine("step   3/5", std::chrono::minutes(3)).ok());
  kill(pid, SIGCONT);
  nlohmann::json result = LastJson(train);
  EXPECT_EQ(train.Wait(), 0);
  EXPECT_TRUE(result["ok"].get<bool>()) << result.dump();
  nlohmann::json summary = SchedulerSummary();
  EXPECT_EQ(summary["steps"], 5);
  ExpectBalanced(summary);
}

TEST_F(TrainFaultTest, AKilledLearnerResumesFromTheLastCheckpoint) {
  ChildProcess train = StartTrain("kill_learner", 6);
  ASSERT_TRUE(train.WaitForLine("step   2/6", std::chrono::minutes(3)).ok());
  const int pid = Pid("learner");
  ASSERT_GT(pid, 0);
  kill(pid, SIGKILL);
  nlohmann::json failed = LastJson(train);
  EXPECT_NE(train.Wait(), 0);
  EXPECT_FALSE(failed["ok"].get<bool>());

  auto resumed = ChildProcess::Start({testing::SeamlessBinary(), "train", "--resume", run_dir_});
  ASSERT_TRUE(resumed.ok());
  nlohmann::json result = LastJson(*resumed);
  EXPECT_EQ(resumed->Wait(), 0);
  EXPECT_TRUE(result["ok"].get<bool>()) << result.dump();
  // Every step once across both processes, every sample journalled once, and the ledger's
  // counts carried across the resume (6 steps of 4 groups trained in all).
  ExpectEachStepOnce(6);
  nlohmann::json audit = ExpectAuditClean();
  EXPECT_EQ(audit["steps"], 6);
  EXPECT_EQ(audit["resumes"], 1);
  nlohmann::json summary = SchedulerSummary();
  EXPECT_EQ(summary["event"], "finished");
  EXPECT_EQ(summary["steps"], 6);
  EXPECT_EQ(summary["ledger"]["trained"], 24) << summary.dump();
  ExpectBalanced(summary);
}

// kill -9 of the scheduler: the learner may be a step ahead of anything the scheduler wrote;
// the resumed scheduler continues from the learner's commit state, so no step is trained
// twice or skipped.
TEST_F(TrainFaultTest, AKilledSchedulerResumesFromTheLearnersCommittedStep) {
  ChildProcess train = StartTrain("kill_scheduler", 5);
  ASSERT_TRUE(train.WaitForLine("step   2/5", std::chrono::minutes(3)).ok());
  const int pid = Pid("scheduler");
  ASSERT_GT(pid, 0);
  kill(pid, SIGKILL);
  EXPECT_NE(train.Wait(), 0);
  auto resumed = ChildProcess::Start({testing::SeamlessBinary(), "train", "--resume", run_dir_});
  ASSERT_TRUE(resumed.ok());
  nlohmann::json result = LastJson(*resumed);
  EXPECT_EQ(resumed->Wait(), 0);
  EXPECT_TRUE(result["ok"].get<bool>()) << result.dump();
  ExpectEachStepOnce(5);
  nlohmann::json audit = ExpectAuditClean();
  EXPECT_EQ(audit["steps"], 5);
  EXPECT_EQ(SchedulerSummary()["ledger"]["trained"], 20);
}

// The run: the learner killed at step 4 and a rollout worker at step 8, under
// supervision: the run resumes by itself, the worker is restarted, and every step is logged
// once, every sample journalled once (16 steps: the restart comes before the end).
TEST_F(TrainFaultTest, ASupervisedRunSurvivesALearnerAndAWorkerKilled) {
  const std::string config = *dir_ + "/supervised.yaml";
  ASSERT_TRUE(WriteFileAtomically(config, BaseYaml(model_, 0, 16)).ok());
  run_dir_ = *dir_ + "/supervised";
  auto train = ChildProcess::Start({testing::SeamlessBinary(), "train", "--config", config, "--out",
                                    run_dir_, "--auto-resume", "2"});
  ASSERT_TRUE(train.ok());
  ASSERT_TRUE(train->WaitForLine("step   4/16", std::chrono::minutes(3)).ok());
  const int learner = Pid("learner");
  ASSERT_GT(learner, 0);
  kill(learner, SIGKILL);
  ASSERT_TRUE(train->WaitForLine("auto-resume 1 of 2", std::chrono::minutes(1)).ok());
  ASSERT_TRUE(train->WaitForLine("step   8/16", std::chrono::minutes(3)).ok());
  const int worker = Pid("rollout-0");
  ASSERT_GT(worker, 0);
  ASSERT_NE(worker, learner);
  kill(worker, SIGKILL);
  EXPECT_TRUE(train->WaitForLine("restarted rollout-0", std::chrono::minutes(1)).ok());
  // pids.json follows the restart (it is written right after the line).
  int restarted = worker;
  for (int i = 0; i < 100 && restarted == worker; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    restarted = Pid("rollout-0");
  }
  EXPECT_NE(restarted, worker);
  EXPECT_GT(restarted, 0);
  nlohmann::json result = LastJson(*train);
  EXPECT_EQ(train->Wait(), 0);
  EXPECT_TRUE(result["ok"].get<bool>()) << result.dump();
  ExpectEachStepOnce(16);
  nlohmann::json audit = ExpectAuditClean();
  EXPECT_EQ(audit["steps"], 16);
  EXPECT_EQ(audit["resumes"], 1);
  EXPECT_EQ(SchedulerSummary()["ledger"]["trained"], 64);
}

// SIGTERM to `seamless train` stops every role (none is left running), and the directory is
// held while the run goes: a second run into it is refused.
TEST_F(TrainFaultTest, SigtermStopsEveryRoleAndTheRunDirectoryIsLocked) {
  ChildProcess train = StartTrain("sigterm", 30);
  ASSERT_TRUE(train.WaitForLine("step   1/30", std::chrono::minutes(3)).ok());
  auto second = testing::RunCommand(
      absl::StrCat(testing::SeamlessBinary(), " train --out ", run_dir_, " --steps 1 2>&1"));
  EXPECT_NE(second.exit_code, 0);
  EXPECT_THAT(second.out, HasSubstr("is in use by another process"));
  auto pids = ReadFileToString(run_dir_ + "/pids.json");
  ASSERT_TRUE(pids.ok());
  train.Signal(SIGTERM);
  EXPECT_NE(train.Wait(), 0);
  const nlohmann::json roles = nlohmann::json::parse(*pids);
  for (const auto& [role, pid] : roles.items()) {
    // Reaped by `seamless train` before it exited: the pid is gone (or reused, not ours).
    const std::string cmdline =
        ReadFileToString(absl::StrCat("/proc/", pid.get<int>(), "/cmdline")).value_or("");
    EXPECT_EQ(cmdline.find(run_dir_), std::string::npos) << role << " is still running";
  }
}

}  // namespace
}  // namespace seamless
