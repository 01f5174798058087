// `seamless train`: a whole RL run on one machine, every role its own process on loopback:
// data (the built-in task unless given), an SFT warm start, then reward servers, rollout
// workers, the learner ranks and the scheduler; a progress line per step; a run directory
// with config.yaml, each role's config file, metrics.jsonl, checkpoints, logs and report.html.
// Every role gets its settings one way: `--config RUN_DIR/ROLE.yaml`, its section of
// config.yaml as resolved here (`--print-config` writes them and stops).
#include "scheduler/train_main.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
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
#include "core/model/capacity_plan.h"
#include "core/tokenizer/char_tokenizer.h"
#include "core/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"
#include "scheduler/builtin_task.h"
#include "scheduler/role_process.h"
#include "scheduler/run_report.h"
#include "scheduler/train_config.h"
#include "scheduler/train_plan.h"

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
absl::Status WriteBuiltinData(const TrainConfig& c, const std::string& run_dir, std::string* train,
                              std::string* val, std::string* sft) {
  RETURN_IF_ERROR(MakeDirectories(run_dir + "/data"));
  *train = run_dir + "/data/train.jsonl";
  *val = run_dir + "/data/val.jsonl";
  *sft = run_dir + "/data/sft.jsonl";
  ASSIGN_OR_RETURN(auto train_problems,
                   GenerateArithmeticTask(c.seed, c.task_train_prompts, TaskSplit::kTrain, c.task));
  ASSIGN_OR_RETURN(auto val_problems, GenerateArithmeticTask(c.seed + 1, c.task_val_prompts,
                                                             TaskSplit::kTest, c.task));
  ASSIGN_OR_RETURN(auto sft_problems,
                   GenerateArithmeticTask(c.seed + 2, c.sft.examples, TaskSplit::kTrain, c.task));
  RETURN_IF_ERROR(WriteRlPromptsFile(*train, train_problems));
  RETURN_IF_ERROR(WriteRlPromptsFile(*val, val_problems));
  return WriteSftFile(*sft, sft_problems);
}

// A free TCP port on loopback for the learner ranks' rendezvous (MASTER_PORT), as a launcher
// such as PyTorchJob picks one; rank 0 binds it again a moment later.
absl::StatusOr<int> FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError("cannot bind a loopback port");
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

// The roles' processes, their resident memory sampled while they run.
class Run {
 public:
  explicit Run(std::string run_dir) : dir_(std::move(run_dir)) {}
  ~Run() { StopAll(); }

  // Starts `seamless args...` as the role `name` (logs/NAME.log); `key` names it in
  // peak_rss_mb_by_role.
  absl::StatusOr<std::unique_ptr<RoleProcess>> Start(const std::string& name,
                                                     const std::string& key,
                                                     const std::vector<std::string>& args,
                                                     const std::vector<std::string>& env = {}) {
    ASSIGN_OR_RETURN(auto p, RoleProcess::Start(name, SelfBinary(), args,
                                                absl::StrCat(dir_, "/logs/", name, ".log"), env));
    tracked_.push_back({p.get(), key});
    return p;
  }
  // Stops sampling `p` (it ended, e.g. SFT).
  void Untrack(RoleProcess* p) {
    Sample();
    for (auto it = tracked_.begin(); it != tracked_.end(); ++it) {
      if (it->process == p) {
        tracked_.erase(it);
        break;
      }
    }
  }
  // Samples every process: the sum of resident memory now, and each one's peak (VmHWM).
  void Sample() {
    int64_t total = 0;
    for (auto& t : tracked_) {
      total += t.process->ResidentBytes();
      int64_t& peak = peak_by_role_[t.key];
      peak = std::max(peak, t.process->PeakResidentBytes());
    }
    peak_total_ = std::max(peak_total_, total);
  }
  // Waits for a role's "listening on" line while sampling; fails early when any of
  // `also_alive` exits (a learner rank that died will never let rank 0 listen).
  absl::StatusOr<std::string> WaitForAddress(RoleProcess* p, std::chrono::seconds timeout,
                                             const std::vector<RoleProcess*>& also_alive = {}) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      Sample();
      auto address = p->WaitForAddress(std::chrono::seconds(1));
      if (address.ok() || !absl::IsDeadlineExceeded(address.status())) return address;
      for (RoleProcess* other : also_alive) {
        if (!other->Running()) {
          return absl::UnavailableError(absl::StrCat(other->name(), " exited with code ",
                                                     other->exit_code(), "; see ", dir_, "/logs/",
                                                     other->name(), ".log"));
        }
      }
      if (std::chrono::steady_clock::now() > deadline) return address;
    }
  }
  void StopAll() {
    Sample();
    for (auto it = tracked_.rbegin(); it != tracked_.rend(); ++it) {
      it->process->Terminate(std::chrono::seconds(5));
    }
    tracked_.clear();
  }
  int64_t peak_total() const { return peak_total_; }
  const std::map<std::string, int64_t>& peak_by_role() const { return peak_by_role_; }

 private:
  struct Tracked {
    RoleProcess* process;
    std::string key;
  };
  std::string dir_;
  std::vector<Tracked> tracked_;
  int64_t peak_total_ = 0;
  std::map<std::string, int64_t> peak_by_role_;
};

// Built-in task prompts are a few characters ("34+57="); their SFT answers a few dozen.
constexpr int64_t kBuiltinPromptTokens = 32;
constexpr int64_t kBuiltinSftTokens = 128;

absl::StatusOr<std::unique_ptr<Tokenizer>> ModelTokenizer(const std::string& model) {
  if (model.empty() || model == "default") return std::unique_ptr<Tokenizer>(new CharTokenizer());
  return LoadTokenizer(model);
}

// The learner's config as every rank reads it: train's `learner` section plus what train
// decides (the model it starts from, the run's checkpoints, the workers it started).
LearnerConfig ResolveLearner(const TrainConfig& config, const std::string& model,
                             const std::string& run_dir, bool resuming,
                             const std::string& workers) {
  LearnerConfig learner = config.learner;
  learner.model = model;
  OptimizerConfig& optim = learner.trainer.optim;
  if (optim.schedule == LrSchedule::kCosine && optim.total_steps == 0) {
    // The run's whole length in optimizer updates.
    optim.total_steps =
        config.scheduler.steps * learner.trainer.UpdatesPerBatch(config.scheduler.batch_groups);
  }
  learner.checkpoint_dir = run_dir + "/checkpoints";
  if (learner.checkpoint_every <= 0) learner.checkpoint_every = 1;
  learner.rollout_workers = workers;
  learner.resume = resuming;
  return learner;
}

std::string SftYaml(const TrainConfig& config) {
  return absl::StrFormat(
      "steps: %d\nbatch_size: %d\nmtp_loss_weight: %g\nseed: %d\noptim:\n"
      "  lr: %g\n  warmup_steps: %d\n  schedule: %s\n  total_steps: %d\n"
      "  min_lr_ratio: 0.1\n",
      config.sft.steps, config.sft.batch_size, config.sft.mtp_loss_weight, config.seed,
      config.sft.lr, config.sft.warmup_steps, EnumToString(config.sft.schedule), config.sft.steps);
}

double Mb(int64_t bytes) { return bytes / 1048576.0; }

}  // namespace

absl::Status RunTrain(const std::vector<std::string>& args) {
  TrainConfig config;
  std::string config_file, out, resume, model_flag, train_flag, val_flag;
  int64_t steps = -1;
  bool print_config = false;
  FlagSet flags(
      "seamless train [--config FILE] [--model DIR] [--train-data FILE] "
      "[--val-data FILE] [--out RUN_DIR] [--resume RUN_DIR] [--steps N]",
      "Trains a model with GRPO on one machine, every role its own process on\n"
      "loopback: reward server(s), rollout workers, the learner rank(s) and the\n"
      "scheduler. Without a config: the embedded default model, warm-started by SFT\n"
      "on the built-in arithmetic task, then RL on that task scored by the math\n"
      "verifier. Data, settings and memory are checked before anything starts.\n"
      "Writes RUN_DIR/{config.yaml, ROLE.yaml, metrics.jsonl, checkpoints/, logs/,\n"
      "report.html}; the last line printed is a JSON summary.");
  flags.AddString("config", &config_file, "YAML/JSON with the keys below");
  flags.AddString("model", &model_flag, "Initial model directory (overrides model:)");
  flags.AddString("train-data", &train_flag, "Prompt JSONL, verl schema (overrides train_data:)");
  flags.AddString("val-data", &val_flag, "Held-out prompt JSONL (overrides val_data:)");
  flags.AddString("out", &out, "Run directory (default runs/YYYYmmdd-HHMMSS)");
  flags.AddString("resume", &resume, "Continue the run in this directory from its last checkpoint");
  flags.AddInt("steps", &steps, "Training steps (overrides scheduler.steps)");
  flags.AddBool("print-config", &print_config,
                "Check, write config.yaml and every role's config file, print them, start nothing");
  flags.SetEpilog("config keys:\n" + DescribeConfig(config));
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  const bool resuming = !resume.empty();
  std::string run_dir = resuming ? resume : (out.empty() ? DefaultRunDir() : out);
  if (resuming) {
    RETURN_IF_ERROR(LoadConfigFile(run_dir + "/config.yaml", &config));
  } else if (!config_file.empty()) {
    RETURN_IF_ERROR(LoadConfigFile(config_file, &config));
  }
  if (flags.WasSet("model")) config.model = model_flag;
  if (flags.WasSet("train-data")) config.train_data = train_flag;
  if (flags.WasSet("val-data")) config.val_data = val_flag;
  if (steps >= 0) config.scheduler.steps = steps;

  // Checks before anything starts: settings, the model's shape, the data against its
  // tokenizer and context, and the memory of every process against this machine.
  RETURN_IF_ERROR(ValidateConfig(config));  // again: the flags may have changed it
  if (!resuming && config.sft.steps > 0 && config.sft.data.empty() && !config.train_data.empty()) {
    return absl::InvalidArgumentError(
        "sft.steps > 0 with your own train_data needs sft.data (a JSONL of prompt/response "
        "pairs, as `seamless sft --data` reads), or sft.steps: 0");
  }
  ASSIGN_OR_RETURN(const ModelConfig model_config, ReadTrainModelConfig(config.model));
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, ModelTokenizer(config.model));
  const int64_t sequence_limit = RolloutSequenceLimit(config.rollout, model_config);
  const int64_t max_new = config.scheduler.sampling.max_new_tokens;
  int64_t longest_prompt = kBuiltinPromptTokens;
  for (const std::string& path : {config.train_data, config.val_data}) {
    if (path.empty()) continue;
    ASSIGN_OR_RETURN(DataFit fit, CheckPromptData(path, *tokenizer, model_config.vocab_size,
                                                  sequence_limit, max_new));
    longest_prompt =
        path == config.train_data ? fit.longest : std::max(longest_prompt, fit.longest);
  }
  int64_t longest_sft = 0;
  if (!resuming && config.sft.steps > 0) {
    longest_sft = kBuiltinSftTokens;
    if (!config.sft.data.empty()) {
      ASSIGN_OR_RETURN(DataFit fit,
                       CheckSftData(config.sft.data, *tokenizer, model_config.vocab_size,
                                    model_config.max_position_embeddings));
      longest_sft = fit.longest;
    }
  }
  const TrainMemoryPlan memory =
      PlanTrainMemory(config, model_config, longest_prompt, longest_sft, resuming);
  const uint64_t available = MemAvailableBytes();
  RETURN_IF_ERROR(CheckTrainFits(config, model_config, memory, available, config.model));
  tokenizer.reset();

  RETURN_IF_ERROR(MakeDirectories(run_dir + "/logs"));
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  std::printf("run directory: %s\n", run_dir.c_str());
  std::printf("memory plan: %.1f GiB of %.1f GiB available\n%s", memory.total() / kGiB,
              available / kGiB, memory.Describe().c_str());

  // Data.
  std::string train = config.train_data, val = config.val_data, sft_data = config.sft.data;
  if (train.empty()) {
    std::string builtin_val, builtin_sft;
    RETURN_IF_ERROR(WriteBuiltinData(config, run_dir, &train, &builtin_val, &builtin_sft));
    if (val.empty()) val = builtin_val;
    if (sft_data.empty()) sft_data = builtin_sft;
  }
  if (!resuming)
    RETURN_IF_ERROR(WriteFileAtomically(run_dir + "/config.yaml", ConfigToYaml(config)));

  // Each role's config file.
  std::string model = config.model;
  const std::string sft_model = run_dir + "/sft_model";
  const bool run_sft = !resuming && config.sft.steps > 0;
  if (run_sft || (resuming && FileExists(sft_model + "/config.json"))) model = sft_model;
  const std::string rollout_yaml = run_dir + "/rollout.yaml",
                    reward_yaml = run_dir + "/reward.yaml",
                    learner_yaml = run_dir + "/learner.yaml",
                    scheduler_yaml = run_dir + "/scheduler.yaml", sft_yaml = run_dir + "/sft.yaml";
  RETURN_IF_ERROR(WriteFileAtomically(rollout_yaml, ConfigToYaml(config.rollout)));
  RETURN_IF_ERROR(WriteFileAtomically(reward_yaml, ConfigToYaml(config.reward)));
  RETURN_IF_ERROR(WriteFileAtomically(scheduler_yaml, ConfigToYaml(config.scheduler)));
  // The workers' addresses are known once they listen; until then the file has none.
  RETURN_IF_ERROR(WriteFileAtomically(
      learner_yaml, ConfigToYaml(ResolveLearner(config, model, run_dir, resuming, ""))));
  if (run_sft) RETURN_IF_ERROR(WriteFileAtomically(sft_yaml, SftYaml(config)));
  if (print_config) {
    nlohmann::json roles = {{"rollout", rollout_yaml},
                            {"reward", reward_yaml},
                            {"learner", learner_yaml},
                            {"scheduler", scheduler_yaml}};
    if (run_sft) roles["sft"] = sft_yaml;
    nlohmann::json plan;
    for (const auto& r : memory.roles) plan[r.name] = {{"count", r.count}, {"gib", r.bytes / kGiB}};
    std::printf("%s\n", nlohmann::json{{"config", run_dir + "/config.yaml"},
                                       {"roles", roles},
                                       {"memory_plan_gib", memory.total() / kGiB},
                                       {"memory_plan", plan},
                                       {"mem_available_gib", available / kGiB}}
                            .dump()
                            .c_str());
    return absl::OkStatus();
  }

  Run run(run_dir);
  // SFT warm start (skipped on resume: the checkpoints hold the trained model).
  if (run_sft) {
    std::printf("SFT warm start: %lld steps on %s\n", static_cast<long long>(config.sft.steps),
                sft_data.c_str());
    std::fflush(stdout);
    ASSIGN_OR_RETURN(auto sft,
                     run.Start("sft", "sft",
                               {"sft", "--config", sft_yaml, "--model", config.model, "--data",
                                sft_data, "--out", sft_model, "--log-every", "25"}));
    while (sft->Running()) {
      for (const auto& line : sft->NewLines()) {
        if (line.find("step") != std::string::npos) std::printf("  sft: %s\n", line.c_str());
      }
      std::fflush(stdout);
      run.Sample();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    run.Untrack(sft.get());
    if (sft->exit_code() != 0) {
      return absl::InternalError(
          absl::StrCat("SFT failed (exit ", sft->exit_code(), "); see ", run_dir, "/logs/sft.log"));
    }
    std::printf("SFT done in %.0f s\n", elapsed());
  }

  // Roles.
  std::vector<std::unique_ptr<RoleProcess>> rewards, workers, learners;
  std::vector<std::string> reward_addresses, worker_addresses;
  for (int64_t i = 0; i < config.reward_servers; ++i) {
    ASSIGN_OR_RETURN(
        auto p, run.Start(absl::StrCat("reward-", i), absl::StrCat("reward", i),
                          {"reward-server", "--listen", "127.0.0.1:0", "--config", reward_yaml}));
    rewards.push_back(std::move(p));
  }
  for (int64_t i = 0; i < config.rollout_workers; ++i) {
    ASSIGN_OR_RETURN(auto p,
                     run.Start(absl::StrCat("rollout-", i), absl::StrCat("rollout_worker", i),
                               {"rollout-worker", "--listen", "127.0.0.1:0", "--model", model,
                                "--config", rollout_yaml}));
    workers.push_back(std::move(p));
  }
  for (auto& p : rewards) {
    ASSIGN_OR_RETURN(std::string a, run.WaitForAddress(p.get(), std::chrono::seconds(120)));
    reward_addresses.push_back(a);
  }
  for (auto& p : workers) {
    ASSIGN_OR_RETURN(std::string a, run.WaitForAddress(p.get(), std::chrono::seconds(600)));
    worker_addresses.push_back(a);
  }
  RETURN_IF_ERROR(WriteFileAtomically(
      learner_yaml, ConfigToYaml(ResolveLearner(config, model, run_dir, resuming,
                                                absl::StrJoin(worker_addresses, ",")))));
  // The ranks rendezvous as under PyTorchJob: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT.
  ASSIGN_OR_RETURN(const int master_port, FreeLoopbackPort());
  std::vector<RoleProcess*> learner_ptrs;
  for (int64_t r = 0; r < config.learner_ranks; ++r) {
    ASSIGN_OR_RETURN(
        auto p,
        run.Start(r == 0 ? "learner" : absl::StrCat("learner-", r), absl::StrCat("learner_rank", r),
                  {"learner", "--config", learner_yaml, "--listen", "127.0.0.1:0",
                   "--metrics-jsonl", run_dir + "/learner_metrics.jsonl"},
                  {absl::StrCat("RANK=", r), absl::StrCat("WORLD_SIZE=", config.learner_ranks),
                   "MASTER_ADDR=127.0.0.1", absl::StrCat("MASTER_PORT=", master_port)}));
    learner_ptrs.push_back(p.get());
    learners.push_back(std::move(p));
  }
  RoleProcess* learner_process = learners[0].get();
  ASSIGN_OR_RETURN(std::string learner_address,
                   run.WaitForAddress(learner_process, std::chrono::seconds(1200), learner_ptrs));
  std::vector<std::string> scheduler_args = {"scheduler",
                                             "--config",
                                             scheduler_yaml,
                                             "--train-data",
                                             train,
                                             "--model",
                                             model,
                                             "--rollout-workers",
                                             absl::StrJoin(worker_addresses, ","),
                                             "--reward-servers",
                                             absl::StrJoin(reward_addresses, ","),
                                             "--learner",
                                             learner_address,
                                             "--run-dir",
                                             run_dir};
  if (!val.empty()) {
    scheduler_args.push_back("--val-data");
    scheduler_args.push_back(val);
  }
  if (resuming) scheduler_args.push_back("--resume");
  ASSIGN_OR_RETURN(auto scheduler, run.Start("scheduler", "scheduler", scheduler_args));
  {
    // Which process is which, for operators (and the fault-injection tests).
    nlohmann::json pids;
    for (auto& p : rewards) pids[p->name()] = p->pid();
    for (auto& p : workers) pids[p->name()] = p->pid();
    for (auto& p : learners) pids[p->name()] = p->pid();
    pids["scheduler"] = scheduler->pid();
    RETURN_IF_ERROR(WriteFileAtomically(run_dir + "/pids.json", pids.dump(1)));
  }
  std::printf(
      "roles up after %.0f s: %zu reward server(s), %zu rollout workers, %zu learner "
      "rank(s), rank 0 at %s\n",
      elapsed(), reward_addresses.size(), worker_addresses.size(), learners.size(),
      learner_address.c_str());
  std::fflush(stdout);

  // Watch: relay the scheduler's progress; a learner rank that dies ends the run (resume later).
  std::string failure;
  auto relay = [&] {
    for (const auto& line : scheduler->NewLines()) {
      if (line.rfind("step", 0) == 0 || line.rfind("{\"event\"", 0) == 0) {
        std::printf("%s\n", line.c_str());
      }
    }
    std::fflush(stdout);
  };
  while (scheduler->Running()) {
    relay();
    run.Sample();
    for (auto& p : learners) {
      if (!p->Running()) {
        failure = absl::StrCat("the learner ", p->name(), " exited (code ", p->exit_code(),
                               "); continue with: seamless train --resume ", run_dir);
        break;
      }
    }
    if (!failure.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  relay();
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
  nlohmann::json by_role = nlohmann::json::object();
  for (const auto& [key, bytes] : run.peak_by_role()) by_role[key] = Mb(bytes);
  nlohmann::json result = {{"run_dir", run_dir},
                           {"start_accuracy", start_accuracy},
                           {"final_accuracy", final_accuracy},
                           {"wall_s", elapsed()},
                           {"peak_rss_mb", Mb(run.peak_total())},
                           {"peak_rss_mb_by_role", by_role},
                           {"memory_plan_mb", Mb(static_cast<int64_t>(memory.total()))},
                           {"report", report.ok() ? *report : ""},
                           {"ok", failure.empty()}};
  std::printf("%s\n", result.dump().c_str());
  std::fflush(stdout);
  if (!failure.empty()) return absl::AbortedError(failure);
  return absl::OkStatus();
}

}  // namespace seamless
