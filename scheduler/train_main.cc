// `seamless train`: a whole RL run on one machine, every role its own process on loopback:
// data (the built-in task unless given), an SFT warm start, then reward servers, rollout
// workers, learner rank 0 and the scheduler; a progress line per step; a run directory with
// config.yaml, metrics.jsonl, checkpoints, logs and report.html.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/base/config.h"
#include "core/base/file_util.h"
#include "core/base/flags.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/service/grpc_server.h"
#include "nlohmann/json.hpp"
#include "scheduler/builtin_task.h"
#include "scheduler/role_process.h"
#include "scheduler/run_report.h"
#include "scheduler/train_config.h"
#include "tools/subcommand.h"

namespace seamless {
namespace {

std::string SelfBinary() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  std::string self = n > 0 ? std::string(path, n) : "seamless";
  // A rebuild replaces the file while a run goes on: start roles from the path, not the inode.
  const std::string deleted = " (deleted)";
  if (absl::EndsWith(self, deleted)) self.resize(self.size() - deleted.size());
  return self;
}

std::string DefaultRunDir() {
  char stamp[64];
  std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
  return absl::StrCat("runs/", stamp);
}

// Writes the built-in task's train / held-out prompts and SFT examples under RUN/data.
absl::Status WriteBuiltinData(const TrainConfig& c, const std::string& run_dir,
                              std::string* train, std::string* val, std::string* sft) {
  RETURN_IF_ERROR(MakeDirectories(run_dir + "/data"));
  *train = run_dir + "/data/train.jsonl";
  *val = run_dir + "/data/val.jsonl";
  *sft = run_dir + "/data/sft.jsonl";
  ASSIGN_OR_RETURN(auto train_problems, GenerateArithmeticTask(c.seed, c.task_train_prompts,
                                                               TaskSplit::kTrain, c.task));
  ASSIGN_OR_RETURN(auto val_problems, GenerateArithmeticTask(c.seed + 1, c.task_val_prompts,
                                                             TaskSplit::kTest, c.task));
  ASSIGN_OR_RETURN(auto sft_problems, GenerateArithmeticTask(c.seed + 2, c.sft.examples,
                                                             TaskSplit::kTrain, c.task));
  RETURN_IF_ERROR(WriteRlPromptsFile(*train, train_problems));
  RETURN_IF_ERROR(WriteRlPromptsFile(*val, val_problems));
  return WriteSftFile(*sft, sft_problems);
}

class Run {
 public:
  Run(TrainConfig config, std::string run_dir) : c_(std::move(config)), dir_(std::move(run_dir)) {}
  ~Run() { StopAll(); }

  absl::StatusOr<std::unique_ptr<RoleProcess>> Start(const std::string& name,
                                                     const std::vector<std::string>& args) {
    return RoleProcess::Start(name, SelfBinary(), args, absl::StrCat(dir_, "/logs/", name, ".log"));
  }

  void Track(RoleProcess* p) { tracked_.push_back(p); }
  int64_t ResidentBytes() const {
    int64_t total = 0;
    for (RoleProcess* p : tracked_) total += p->ResidentBytes();
    return total;
  }
  void StopAll() {
    for (auto it = tracked_.rbegin(); it != tracked_.rend(); ++it) {
      (*it)->Terminate(std::chrono::seconds(5));
    }
    tracked_.clear();
  }

  const TrainConfig& c_ref() const { return c_; }

 private:
  TrainConfig c_;
  std::string dir_;
  std::vector<RoleProcess*> tracked_;
};

}  // namespace

absl::Status RunTrain(const std::vector<std::string>& args) {
  TrainConfig config;
  std::string config_file, out, resume;
  int64_t steps = -1;
  FlagSet flags("seamless train [--config FILE] [--out RUN_DIR] [--resume RUN_DIR] [--steps N]",
                "Trains a model with GRPO on one machine, every role its own process on\n"
                "loopback: reward server(s), rollout workers, the learner and the scheduler.\n"
                "Without a config: the embedded default model, warm-started by SFT on the\n"
                "built-in arithmetic task, then RL on that task scored by the math verifier.\n"
                "Writes RUN_DIR/{config.yaml, metrics.jsonl, checkpoints/, logs/, report.html};\n"
                "the last line printed is a JSON summary.");
  flags.AddString("config", &config_file, "YAML/JSON with the keys below");
  flags.AddString("out", &out, "Run directory (default runs/YYYYmmdd-HHMMSS)");
  flags.AddString("resume", &resume, "Continue the run in this directory from its last checkpoint");
  flags.AddInt("steps", &steps, "Training steps (overrides scheduler.steps)");
  flags.SetEpilog("config keys:\n" + DescribeConfig(config));
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  const bool resuming = !resume.empty();
  std::string run_dir = resuming ? resume : (out.empty() ? DefaultRunDir() : out);
  if (resuming) {
    RETURN_IF_ERROR(LoadConfigFile(run_dir + "/config.yaml", &config));
  } else if (!config_file.empty()) {
    RETURN_IF_ERROR(LoadConfigFile(config_file, &config));
  }
  if (steps >= 0) config.scheduler.steps = steps;
  RETURN_IF_ERROR(config.rollout.Validate());
  RETURN_IF_ERROR(config.task.Validate());
  if (config.rollout_workers < 1 || config.reward_servers < 1) {
    return absl::InvalidArgumentError("rollout_workers and reward_servers must be at least 1");
  }
  RETURN_IF_ERROR(MakeDirectories(run_dir + "/logs"));
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  std::printf("run directory: %s\n", run_dir.c_str());

  // Data.
  std::string train = config.train_data, val = config.val_data, sft_data;
  if (train.empty()) {
    std::string builtin_val;
    RETURN_IF_ERROR(WriteBuiltinData(config, run_dir, &train, &builtin_val, &sft_data));
    if (val.empty()) val = builtin_val;
  }
  if (!resuming) RETURN_IF_ERROR(WriteFileAtomically(run_dir + "/config.yaml", ConfigToYaml(config)));

  Run run(config, run_dir);
  // SFT warm start (skipped on resume: the checkpoints hold the trained model).
  std::string model = config.model;
  const std::string sft_model = run_dir + "/sft_model";
  if (resuming && FileExists(sft_model + "/config.json")) model = sft_model;
  if (!resuming && config.sft.steps > 0) {
    if (sft_data.empty()) {
      return absl::InvalidArgumentError("sft.steps > 0 needs the built-in task (train_data empty)");
    }
    RETURN_IF_ERROR(WriteFileAtomically(
        run_dir + "/sft.yaml",
        absl::StrFormat("steps: %d\nbatch_size: %d\nmtp_loss_weight: %g\nseed: %d\noptim:\n"
                        "  lr: %g\n  warmup_steps: %d\n  schedule: %s\n  total_steps: %d\n"
                        "  min_lr_ratio: 0.1\n",
                        config.sft.steps, config.sft.batch_size, config.sft.mtp_loss_weight,
                        config.seed, config.sft.lr, config.sft.warmup_steps, config.sft.schedule,
                        config.sft.steps)));
    std::printf("SFT warm start: %lld steps on %s\n", static_cast<long long>(config.sft.steps),
                sft_data.c_str());
    std::fflush(stdout);
    ASSIGN_OR_RETURN(auto sft, run.Start("sft", {"sft", "--config", run_dir + "/sft.yaml", "--model",
                                                 config.model, "--data", sft_data, "--out",
                                                 sft_model, "--log-every", "25"}));
    while (sft->Running()) {
      for (const auto& line : sft->NewLines()) {
        if (line.find("step") != std::string::npos) std::printf("  sft: %s\n", line.c_str());
      }
      std::fflush(stdout);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (sft->exit_code() != 0) {
      return absl::InternalError(absl::StrCat("SFT failed (exit ", sft->exit_code(), "); see ",
                                              run_dir, "/logs/sft.log"));
    }
    model = sft_model;
    std::printf("SFT done in %.0f s\n", elapsed());
  }

  // Roles.
  std::vector<std::unique_ptr<RoleProcess>> rewards, workers;
  std::vector<std::string> reward_addresses, worker_addresses;
  for (int64_t i = 0; i < config.reward_servers; ++i) {
    ASSIGN_OR_RETURN(auto p, run.Start(absl::StrCat("reward-", i),
                                       {"reward-server", "--listen", "127.0.0.1:0"}));
    run.Track(p.get());
    rewards.push_back(std::move(p));
  }
  const EngineOptions& e = config.rollout;
  for (int64_t i = 0; i < config.rollout_workers; ++i) {
    ASSIGN_OR_RETURN(
        auto p, run.Start(absl::StrCat("rollout-", i),
                          {"rollout-worker", "--listen", "127.0.0.1:0", "--model", model,
                           "--max-running", absl::StrCat(e.max_running), "--max-len",
                           absl::StrCat(e.max_len), "--max-queued",
                           absl::StrCat(e.max_queued_samples), "--speculative", e.speculative}));
    run.Track(p.get());
    workers.push_back(std::move(p));
  }
  for (auto& p : rewards) {
    ASSIGN_OR_RETURN(std::string a, p->WaitForAddress(std::chrono::seconds(120)));
    reward_addresses.push_back(a);
  }
  for (auto& p : workers) {
    ASSIGN_OR_RETURN(std::string a, p->WaitForAddress(std::chrono::seconds(120)));
    worker_addresses.push_back(a);
  }
  LearnerConfig learner = config.learner;
  learner.model = model;
  OptimizerConfig& optim = learner.trainer.optim;
  if (optim.schedule == "cosine" && optim.total_steps == 0) {
    // The run's whole length in optimizer updates.
    optim.total_steps =
        config.scheduler.steps * learner.trainer.UpdatesPerBatch(config.scheduler.batch_groups);
  }
  learner.checkpoint_dir = run_dir + "/checkpoints";
  if (learner.checkpoint_every <= 0) learner.checkpoint_every = 1;
  learner.rollout_workers = absl::StrJoin(worker_addresses, ",");
  learner.resume = resuming;
  RETURN_IF_ERROR(WriteFileAtomically(run_dir + "/learner.yaml", ConfigToYaml(learner)));
  ASSIGN_OR_RETURN(auto learner_process,
                   run.Start("learner", {"learner", "--config", run_dir + "/learner.yaml",
                                         "--listen", "127.0.0.1:0", "--metrics-jsonl",
                                         run_dir + "/learner_metrics.jsonl"}));
  run.Track(learner_process.get());
  ASSIGN_OR_RETURN(std::string learner_address,
                   learner_process->WaitForAddress(std::chrono::seconds(120)));
  RETURN_IF_ERROR(WriteFileAtomically(run_dir + "/scheduler.yaml", ConfigToYaml(config.scheduler)));
  std::vector<std::string> scheduler_args = {
      "scheduler", "--config", run_dir + "/scheduler.yaml", "--train-data", train,
      "--model", model, "--rollout-workers", absl::StrJoin(worker_addresses, ","),
      "--reward-servers", absl::StrJoin(reward_addresses, ","), "--learner", learner_address,
      "--run-dir", run_dir};
  if (!val.empty()) {
    scheduler_args.push_back("--val-data");
    scheduler_args.push_back(val);
  }
  if (resuming) scheduler_args.push_back("--resume");
  ASSIGN_OR_RETURN(auto scheduler, run.Start("scheduler", scheduler_args));
  run.Track(scheduler.get());
  {
    // Which process is which, for operators (and the fault-injection tests).
    nlohmann::json pids;
    for (auto& p : rewards) pids[p->name()] = p->pid();
    for (auto& p : workers) pids[p->name()] = p->pid();
    pids["learner"] = learner_process->pid();
    pids["scheduler"] = scheduler->pid();
    RETURN_IF_ERROR(WriteFileAtomically(run_dir + "/pids.json", pids.dump(1)));
  }
  std::printf("roles up after %.0f s: %zu reward server(s), %zu rollout workers, learner %s\n",
              elapsed(), reward_addresses.size(), worker_addresses.size(),
              learner_address.c_str());
  std::fflush(stdout);

  // Watch: relay the scheduler's progress; a learner that dies ends the run (resume later).
  int64_t peak_rss = 0;
  std::string failure;
  while (scheduler->Running()) {
    for (const auto& line : scheduler->NewLines()) {
      if (line.rfind("step", 0) == 0 || line.rfind("{\"event\"", 0) == 0) {
        std::printf("%s\n", line.c_str());
      }
    }
    std::fflush(stdout);
    peak_rss = std::max(peak_rss, run.ResidentBytes() + 0);
    if (!learner_process->Running()) {
      failure = absl::StrCat("the learner exited (code ", learner_process->exit_code(),
                             "); continue with: seamless train --resume ", run_dir);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  for (const auto& line : scheduler->NewLines()) {
    if (line.rfind("step", 0) == 0 || line.rfind("{\"event\"", 0) == 0) std::printf("%s\n", line.c_str());
  }
  const int scheduler_code = scheduler->Running() ? -1 : scheduler->exit_code();
  run.StopAll();
  if (failure.empty() && scheduler_code != 0) {
    failure = absl::StrCat("the scheduler failed (exit ", scheduler_code, "); see ", run_dir,
                           "/logs/scheduler.log");
  }

  // Report and summary.
  auto report = WriteRunReport(run_dir);
  if (!report.ok()) {
    SLOG(WARNING) << "report: " << report.status().message();
  }
  double start_accuracy = -1, final_accuracy = -1;
  auto rows = ReadMetricsJsonl(run_dir + "/metrics.jsonl");
  if (rows.ok()) {
    RunSummary summary = SummarizeRun(*rows);
    start_accuracy = summary.start_accuracy;
    final_accuracy = summary.final_accuracy;
  }
  nlohmann::json result = {{"run_dir", run_dir},
                           {"start_accuracy", start_accuracy},
                           {"final_accuracy", final_accuracy},
                           {"wall_s", elapsed()},
                           {"peak_rss_mb", peak_rss / 1048576.0},
                           {"report", report.ok() ? *report : ""},
                           {"ok", failure.empty()}};
  std::printf("%s\n", result.dump().c_str());
  std::fflush(stdout);
  if (!failure.empty()) return absl::AbortedError(failure);
  return absl::OkStatus();
}

}  // namespace seamless
