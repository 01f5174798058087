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
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "core/base/config.h"
#include "core/base/dir_lock.h"
#include "core/base/file_util.h"
#include "core/base/flags.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/base/stop_signal.h"
#include "core/model/capacity_plan.h"
#include "core/tokenizer/char_tokenizer.h"
#include "core/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"
#include "scheduler/builtin_task.h"
#include "scheduler/role_process.h"
#include "scheduler/role_set.h"
#include "scheduler/role_supervisor.h"
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

// Now, as YYYYmmdd-HHMMSS.
std::string TimeStamp() {
  char stamp[64];
  std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
  return stamp;
}

std::string DefaultRunDir() { return absl::StrCat("runs/", TimeStamp()); }

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
                             const std::string& run_dir, bool resuming, const std::string& workers,
                             const std::string& run_id) {
  LearnerConfig learner = config.learner;
  learner.run_id = run_id;
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

// What the command line asks for.
struct TrainRequest {
  TrainConfig config;
  std::string run_dir;
  bool resuming = false;
  bool print_config = false;
  int64_t auto_resume = 0;    // restarts of the whole run after a learner or scheduler death
  int64_t role_restarts = 5;  // restarts of each rollout worker and reward server
};

absl::StatusOr<TrainRequest> ParseTrainRequest(const std::vector<std::string>& args) {
  TrainRequest request;
  TrainConfig& config = request.config;
  std::string config_file, out, resume, model_flag, train_flag, val_flag;
  int64_t steps = -1;
  FlagSet flags(
      "seamless train [--config FILE] [--model DIR] [--train-data FILE] "
      "[--val-data FILE] [--out RUN_DIR] [--resume RUN_DIR] [--steps N]",
      "Trains a model with GRPO on one machine, every role its own process on\n"
      "loopback: reward server(s), rollout workers, the learner rank(s) and the\n"
      "scheduler. Without a config: the embedded default model, warm-started by SFT\n"
      "on the built-in arithmetic task, then RL on that task scored by the math\n"
      "verifier. Data, settings and memory are checked before anything starts.\n"
      "Writes RUN_DIR/{config.yaml, ROLE.yaml, metrics.jsonl, checkpoints/, logs/,\n"
      "report.html}; the last line printed is a JSON summary. One run at a time\n"
      "holds RUN_DIR (RUN_DIR/.lock); SIGINT or SIGTERM stops every role and leaves\n"
      "the directory resumable; no role outlives this process.");
  flags.AddString("config", &config_file, "YAML/JSON with the keys below");
  flags.AddString("model", &model_flag, "Initial model directory (overrides model:)");
  flags.AddString("train-data", &train_flag, "Prompt JSONL, verl schema (overrides train_data:)");
  flags.AddString("val-data", &val_flag, "Held-out prompt JSONL (overrides val_data:)");
  flags.AddString("out", &out, "Run directory (default runs/YYYYmmdd-HHMMSS)");
  flags.AddString("resume", &resume, "Continue the run in this directory from its last checkpoint");
  flags.AddInt("steps", &steps, "Training steps (overrides scheduler.steps)");
  flags.AddInt("auto-resume", &request.auto_resume,
               "When the learner or the scheduler dies, stop every role and resume the run, up "
               "to N times (0: print the --resume command and stop)");
  flags.AddInt("role-restarts", &request.role_restarts,
               "Restart a rollout worker or reward server that dies, on its port, with back-off "
               "(0.25 s doubling to 30 s), up to N times each");
  flags.AddBool("print-config", &request.print_config,
                "Check, write config.yaml and every role's config file, print them, start nothing");
  flags.SetEpilog("config keys:\n" + DescribeConfig(config));
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  request.resuming = !resume.empty();
  request.run_dir = request.resuming ? resume : (out.empty() ? DefaultRunDir() : out);
  if (request.resuming) {
    RETURN_IF_ERROR(LoadConfigFile(request.run_dir + "/config.yaml", &config));
  } else if (!config_file.empty()) {
    RETURN_IF_ERROR(LoadConfigFile(config_file, &config));
  }
  if (flags.WasSet("model")) config.model = model_flag;
  if (flags.WasSet("train-data")) config.train_data = train_flag;
  if (flags.WasSet("val-data")) config.val_data = val_flag;
  if (steps >= 0) config.scheduler.steps = steps;
  RETURN_IF_ERROR(ValidateConfig(config));  // again: the flags may have changed it
  if (request.auto_resume < 0 || request.auto_resume > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auto-resume is ", request.auto_resume, "; valid range [0, 100]"));
  }
  if (request.role_restarts < 0 || request.role_restarts > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--role-restarts is ", request.role_restarts, "; valid range [0, 1000]"));
  }
  if (!request.resuming && config.sft.steps > 0 && config.sft.data.empty() &&
      !config.train_data.empty()) {
    return absl::InvalidArgumentError(
        "sft.steps > 0 with your own train_data needs sft.data (a JSONL of prompt/response "
        "pairs, as `seamless sft --data` reads), or sft.steps: 0");
  }
  return request;
}

// The checks before anything starts: the model's shape, the data against its tokenizer and
// context, and the memory of every process against this machine.
struct CheckedTrain {
  TrainMemoryPlan memory;
  uint64_t available = 0;  // MemAvailable when checked
};

absl::StatusOr<CheckedTrain> CheckTrain(const TrainRequest& request) {
  const TrainConfig& config = request.config;
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
  if (!request.resuming && config.sft.steps > 0) {
    longest_sft = kBuiltinSftTokens;
    if (!config.sft.data.empty()) {
      ASSIGN_OR_RETURN(DataFit fit,
                       CheckSftData(config.sft.data, *tokenizer, model_config.vocab_size,
                                    model_config.max_position_embeddings));
      longest_sft = fit.longest;
    }
  }
  CheckedTrain checked;
  checked.memory =
      PlanTrainMemory(config, model_config, longest_prompt, longest_sft, request.resuming);
  checked.available = MemAvailableBytes();
  RETURN_IF_ERROR(
      CheckTrainFits(config, model_config, checked.memory, checked.available, config.model));
  return checked;
}

// A fresh run's id (time and randomness: unique across machines), kept in RUN_DIR/run_id;
// a resumed run reads it back ("" for a directory from before run ids: no check).
absl::StatusOr<std::string> RunId(const std::string& run_dir, bool resuming) {
  const std::string path = run_dir + "/run_id";
  if (resuming) {
    if (!FileExists(path)) return std::string();
    ASSIGN_OR_RETURN(std::string id, ReadFileToString(path));
    return std::string(absl::StripAsciiWhitespace(id));
  }
  std::random_device random;
  const std::string id = absl::StrFormat("%s-%08x", TimeStamp(), static_cast<uint32_t>(random()));
  RETURN_IF_ERROR(WriteFileAtomically(path, id + "\n"));
  return id;
}

// The files of RUN_DIR the roles read: data, and each role's config.
struct RunFiles {
  std::string run_id;  // RUN_DIR/run_id: the learner refuses TrainStep of any other run
  std::string train, val, sft_data;
  std::string model;      // what the RL roles start from (the SFT result once there is one)
  std::string sft_model;  // RUN_DIR/sft_model
  bool run_sft = false;
  std::string rollout_yaml, reward_yaml, learner_yaml, scheduler_yaml, sft_yaml;
};

absl::StatusOr<RunFiles> WriteRunFiles(const TrainRequest& request) {
  const TrainConfig& config = request.config;
  const std::string& run_dir = request.run_dir;
  RunFiles f;
  ASSIGN_OR_RETURN(f.run_id, RunId(run_dir, request.resuming));
  f.train = config.train_data;
  f.val = config.val_data;
  f.sft_data = config.sft.data;
  if (f.train.empty()) {
    std::string builtin_val, builtin_sft;
    RETURN_IF_ERROR(WriteBuiltinData(config, run_dir, &f.train, &builtin_val, &builtin_sft));
    if (f.val.empty()) f.val = builtin_val;
    if (f.sft_data.empty()) f.sft_data = builtin_sft;
  }
  if (!request.resuming) {
    RETURN_IF_ERROR(WriteFileAtomically(run_dir + "/config.yaml", ConfigToYaml(config)));
  }
  f.model = config.model;
  f.sft_model = run_dir + "/sft_model";
  f.run_sft = !request.resuming && config.sft.steps > 0;
  if (f.run_sft || (request.resuming && FileExists(f.sft_model + "/config.json"))) {
    f.model = f.sft_model;
  }
  f.rollout_yaml = run_dir + "/rollout.yaml";
  f.reward_yaml = run_dir + "/reward.yaml";
  f.learner_yaml = run_dir + "/learner.yaml";
  f.scheduler_yaml = run_dir + "/scheduler.yaml";
  f.sft_yaml = run_dir + "/sft.yaml";
  RETURN_IF_ERROR(WriteFileAtomically(f.rollout_yaml, ConfigToYaml(config.rollout)));
  RETURN_IF_ERROR(WriteFileAtomically(f.reward_yaml, ConfigToYaml(config.reward)));
  RETURN_IF_ERROR(WriteFileAtomically(f.scheduler_yaml, ConfigToYaml(config.scheduler)));
  // The workers' addresses are known once they listen; until then the file has none.
  RETURN_IF_ERROR(WriteFileAtomically(
      f.learner_yaml,
      ConfigToYaml(ResolveLearner(config, f.model, run_dir, request.resuming, "", f.run_id))));
  if (f.run_sft) RETURN_IF_ERROR(WriteFileAtomically(f.sft_yaml, SftYaml(config)));
  return f;
}

// --print-config: what would run, as one JSON line.
void PrintRunFiles(const TrainRequest& request, const RunFiles& f, const CheckedTrain& checked) {
  nlohmann::json roles = {{"rollout", f.rollout_yaml},
                          {"reward", f.reward_yaml},
                          {"learner", f.learner_yaml},
                          {"scheduler", f.scheduler_yaml}};
  if (f.run_sft) roles["sft"] = f.sft_yaml;
  nlohmann::json plan;
  for (const auto& r : checked.memory.roles) {
    plan[r.name] = {{"count", r.count}, {"gib", r.bytes / kGiB}};
  }
  std::printf("%s\n", nlohmann::json{{"config", request.run_dir + "/config.yaml"},
                                     {"roles", roles},
                                     {"memory_plan_gib", checked.memory.total() / kGiB},
                                     {"memory_plan", plan},
                                     {"mem_available_gib", checked.available / kGiB}}
                          .dump()
                          .c_str());
}

// Seconds since the run started.
class RunClock {
 public:
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// The SFT warm start, its progress relayed (skipped on resume: the checkpoints hold the
// trained model).
absl::Status RunSftWarmStart(RoleSet& roles, const TrainRequest& request, const RunFiles& f,
                             const RunClock& clock) {
  std::printf("SFT warm start: %lld steps on %s\n",
              static_cast<long long>(request.config.sft.steps), f.sft_data.c_str());
  std::fflush(stdout);
  ASSIGN_OR_RETURN(auto sft,
                   roles.Start("sft", "sft",
                               {"sft", "--config", f.sft_yaml, "--model", request.config.model,
                                "--data", f.sft_data, "--out", f.sft_model, "--log-every", "25"}));
  while (sft->Running()) {
    if (const int signal = StopSignalReceived()) return StoppedBySignal(signal, request.run_dir);
    for (const auto& line : sft->NewLines()) {
      if (line.find("step") != std::string::npos) std::printf("  sft: %s\n", line.c_str());
    }
    std::fflush(stdout);
    roles.Sample();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  roles.Untrack(sft.get());
  if (sft->exit_code() != 0) {
    return absl::InternalError(absl::StrCat("SFT failed (exit ", sft->exit_code(), "); see ",
                                            request.run_dir, "/logs/sft.log"));
  }
  std::printf("SFT done in %.0f s\n", clock.elapsed());
  return absl::OkStatus();
}

// The RL roles of a run, once every one is up.
struct RunRoles {
  explicit RunRoles(RoleSupervisor::Options restarts) : supervisor(restarts) {}
  std::vector<std::unique_ptr<RoleProcess>> rewards, workers, learners;
  std::unique_ptr<RoleProcess> scheduler;
  std::vector<std::string> reward_addresses, worker_addresses;
  std::string learner_address;
  RoleSupervisor supervisor;  // of the rewards and workers, once they listen
};

// Reward servers and rollout workers, started together, then waited for.
absl::Status StartServers(RoleSet& roles, const TrainRequest& request, const RunFiles& f,
                          RunRoles* run) {
  const TrainConfig& config = request.config;
  const std::vector<std::string> reward_args = {"reward-server", "--listen", "127.0.0.1:0",
                                                "--config", f.reward_yaml};
  const std::vector<std::string> worker_args = {
      "rollout-worker", "--listen", "127.0.0.1:0", "--model", f.model, "--config", f.rollout_yaml};
  for (int64_t i = 0; i < config.reward_servers; ++i) {
    ASSIGN_OR_RETURN(
        auto p, roles.Start(absl::StrCat("reward-", i), absl::StrCat("reward", i), reward_args));
    run->rewards.push_back(std::move(p));
  }
  for (int64_t i = 0; i < config.rollout_workers; ++i) {
    ASSIGN_OR_RETURN(auto p, roles.Start(absl::StrCat("rollout-", i),
                                         absl::StrCat("rollout_worker", i), worker_args));
    run->workers.push_back(std::move(p));
  }
  for (size_t i = 0; i < run->rewards.size(); ++i) {
    auto& p = run->rewards[i];
    ASSIGN_OR_RETURN(std::string a, roles.WaitForAddress(p.get(), std::chrono::seconds(120)));
    run->reward_addresses.push_back(a);
    run->supervisor.Watch(&p, p->name(), absl::StrCat("reward", i),
                          WithListenAddress(reward_args, a));
  }
  for (size_t i = 0; i < run->workers.size(); ++i) {
    auto& p = run->workers[i];
    ASSIGN_OR_RETURN(std::string a, roles.WaitForAddress(p.get(), std::chrono::seconds(600)));
    run->worker_addresses.push_back(a);
    run->supervisor.Watch(&p, p->name(), absl::StrCat("rollout_worker", i),
                          WithListenAddress(worker_args, a));
  }
  return absl::OkStatus();
}

// The learner ranks, told the workers' addresses; waits for rank 0.
absl::Status StartLearners(RoleSet& roles, const TrainRequest& request, const RunFiles& f,
                           RunRoles* run) {
  const TrainConfig& config = request.config;
  RETURN_IF_ERROR(WriteFileAtomically(
      f.learner_yaml,
      ConfigToYaml(ResolveLearner(config, f.model, request.run_dir, request.resuming,
                                  absl::StrJoin(run->worker_addresses, ","), f.run_id))));
  // The ranks rendezvous as under PyTorchJob: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT.
  ASSIGN_OR_RETURN(const int master_port, FreeLoopbackPort());
  std::vector<RoleProcess*> ranks;
  for (int64_t r = 0; r < config.learner_ranks; ++r) {
    ASSIGN_OR_RETURN(
        auto p,
        roles.Start(r == 0 ? "learner" : absl::StrCat("learner-", r),
                    absl::StrCat("learner_rank", r),
                    {"learner", "--config", f.learner_yaml, "--listen", "127.0.0.1:0",
                     "--metrics-jsonl", request.run_dir + "/learner_metrics.jsonl"},
                    {absl::StrCat("RANK=", r), absl::StrCat("WORLD_SIZE=", config.learner_ranks),
                     "MASTER_ADDR=127.0.0.1", absl::StrCat("MASTER_PORT=", master_port)}));
    ranks.push_back(p.get());
    run->learners.push_back(std::move(p));
  }
  ASSIGN_OR_RETURN(run->learner_address,
                   roles.WaitForAddress(ranks[0], std::chrono::seconds(1200), ranks));
  return absl::OkStatus();
}

// RUN_DIR/pids.json: which process is which, for operators (and the fault-injection tests);
// written again after every restart.
absl::Status WritePids(const std::string& run_dir, const RunRoles& run) {
  nlohmann::json pids;
  for (const auto& p : run.rewards) pids[p->name()] = p->pid();
  for (const auto& p : run.workers) pids[p->name()] = p->pid();
  for (const auto& p : run.learners) pids[p->name()] = p->pid();
  if (run.scheduler) pids["scheduler"] = run.scheduler->pid();
  return WriteFileAtomically(run_dir + "/pids.json", pids.dump(1));
}

// The scheduler, which drives the run; then RUN_DIR/pids.json says which process is which.
absl::Status StartScheduler(RoleSet& roles, const TrainRequest& request, const RunFiles& f,
                            RunRoles* run) {
  std::vector<std::string> args = {"scheduler",
                                   "--config",
                                   f.scheduler_yaml,
                                   "--train-data",
                                   f.train,
                                   "--model",
                                   f.model,
                                   "--rollout-workers",
                                   absl::StrJoin(run->worker_addresses, ","),
                                   "--reward-servers",
                                   absl::StrJoin(run->reward_addresses, ","),
                                   "--learner",
                                   run->learner_address,
                                   "--run-dir",
                                   request.run_dir,
                                   "--run-id",
                                   f.run_id};
  if (!f.val.empty()) {
    args.push_back("--val-data");
    args.push_back(f.val);
  }
  if (request.resuming) args.push_back("--resume");
  ASSIGN_OR_RETURN(run->scheduler, roles.Start("scheduler", "scheduler", args));
  return WritePids(request.run_dir, *run);
}

// How a run ended.
struct RunEnd {
  std::string failure;     // "" when the scheduler finished
  bool resumable = false;  // a role died (not a stop signal, not the scheduler's own error)
};

// Relays the scheduler's progress until it exits, restarting dead rollout workers and reward
// servers; a learner rank that dies or a stop signal ends the run early (resume later).
RunEnd WatchRun(RoleSet& roles, RunRoles& run, const std::string& run_dir) {
  auto relay = [&] {
    for (const auto& line : run.scheduler->NewLines()) {
      if (line.rfind("step", 0) == 0 || line.rfind("{\"event\"", 0) == 0) {
        std::printf("%s\n", line.c_str());
      }
    }
    std::fflush(stdout);
  };
  RunEnd end;
  bool learner_died = false;
  while (run.scheduler->Running() && end.failure.empty()) {
    relay();
    roles.Sample();
    if (run.supervisor.Check(roles, std::chrono::steady_clock::now()) > 0) {
      absl::Status written = WritePids(run_dir, run);
      if (!written.ok()) SLOG(WARNING) << written.message();
    }
    if (const int signal = StopSignalReceived()) {
      end.failure = std::string(StoppedBySignal(signal, run_dir).message());
    }
    for (auto& p : run.learners) {
      if (end.failure.empty() && !p->Running()) {
        learner_died = true;
        end.failure = absl::StrCat("the learner ", p->name(), " exited (code ", p->exit_code(),
                                   "); continue with: seamless train --resume ", run_dir);
      }
    }
    if (end.failure.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  relay();
  const int scheduler_code = run.scheduler->Running() ? -1 : run.scheduler->exit_code();
  roles.StopAll();
  end.resumable = learner_died;
  if (end.failure.empty() && scheduler_code != 0) {
    end.failure = absl::StrCat("the scheduler failed (exit ", scheduler_code, "); see ", run_dir,
                               "/logs/scheduler.log");
    // Killed (128 + signal), not an error of its own: resuming continues the run.
    end.resumable = scheduler_code > 128;
  }
  return end;
}

// The report, and the summary line (the last line printed).
void PrintSummary(const RoleSet& roles, const std::string& run_dir, const CheckedTrain& checked,
                  const RunClock& clock, bool ok) {
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
  for (const auto& [key, bytes] : roles.peak_by_role()) by_role[key] = Mb(bytes);
  nlohmann::json result = {{"run_dir", run_dir},
                           {"start_accuracy", start_accuracy},
                           {"final_accuracy", final_accuracy},
                           {"wall_s", clock.elapsed()},
                           {"peak_rss_mb", Mb(roles.peak_total())},
                           {"peak_rss_mb_by_role", by_role},
                           {"memory_plan_mb", Mb(static_cast<int64_t>(checked.memory.total()))},
                           {"report", report.ok() ? *report : ""},
                           {"ok", ok}};
  std::printf("%s\n", result.dump().c_str());
  std::fflush(stdout);
}

// Starts the RL roles and watches them until the run ends.
RunEnd RunRolesOnce(RoleSet& roles, const TrainRequest& request, const RunFiles& files,
                    const RunClock& clock) {
  RoleSupervisor::Options restarts;
  restarts.max_restarts = static_cast<int>(request.role_restarts);
  RunRoles run(restarts);
  absl::Status started = StartServers(roles, request, files, &run);
  if (started.ok()) started = StartLearners(roles, request, files, &run);
  if (started.ok()) started = StartScheduler(roles, request, files, &run);
  if (!started.ok()) {
    roles.StopAll();
    return RunEnd{std::string(started.message()), false};
  }
  std::printf(
      "roles up after %.0f s: %zu reward server(s), %zu rollout workers, %zu learner "
      "rank(s), rank 0 at %s\n",
      clock.elapsed(), run.reward_addresses.size(), run.worker_addresses.size(),
      run.learners.size(), run.learner_address.c_str());
  std::fflush(stdout);
  return WatchRun(roles, run, request.run_dir);
}

}  // namespace

absl::Status RunTrain(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(const TrainRequest request, ParseTrainRequest(args));
  ASSIGN_OR_RETURN(const CheckedTrain checked, CheckTrain(request));
  const std::string& run_dir = request.run_dir;
  RETURN_IF_ERROR(MakeDirectories(run_dir + "/logs"));
  // Before anything in the directory is written: one run at a time.
  ASSIGN_OR_RETURN(const DirLock lock, DirLock::Acquire(run_dir, "seamless train"));
  const RunClock clock;
  std::printf("run directory: %s\n", run_dir.c_str());
  std::printf("memory plan: %.1f GiB of %.1f GiB available\n%s", checked.memory.total() / kGiB,
              checked.available / kGiB, checked.memory.Describe().c_str());
  ASSIGN_OR_RETURN(const RunFiles files, WriteRunFiles(request));
  if (request.print_config) {
    PrintRunFiles(request, files, checked);
    return absl::OkStatus();
  }
  InstallStopSignals();
  RoleSet roles(run_dir, SelfBinary());
  if (files.run_sft) RETURN_IF_ERROR(RunSftWarmStart(roles, request, files, clock));
  RunEnd end;
  TrainRequest current = request;
  RunFiles current_files = files;
  for (int64_t resumes = 0;; ++resumes) {
    end = RunRolesOnce(roles, current, current_files, clock);
    if (end.failure.empty() || !end.resumable || resumes >= request.auto_resume ||
        StopSignalReceived()) {
      break;
    }
    std::printf("auto-resume %lld of %lld: %s\n", static_cast<long long>(resumes) + 1,
                static_cast<long long>(request.auto_resume), end.failure.c_str());
    std::fflush(stdout);
    current.resuming = true;
    ASSIGN_OR_RETURN(current_files, WriteRunFiles(current));
  }
  PrintSummary(roles, run_dir, checked, clock, end.failure.empty());
  if (!end.failure.empty()) return absl::AbortedError(end.failure);
  return absl::OkStatus();
}

}  // namespace seamless
