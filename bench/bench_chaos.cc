// seamless bench chaos: runs of `seamless train` (the built-in task on a small warm-started
// model, real processes) with random faults — kill -9 or SIGSTOP (3 s, then SIGCONT) of a
// random role (learner, scheduler, a rollout worker, the reward server) at random steps, one
// to three per run — under supervision (--auto-resume, role restarts), then `seamless audit`
// of each run's journal. Prints faults injected, runs completed, samples lost and duplicated,
// and seconds from a fault to the next step.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/benches.h"
#include "core/base/child_process.h"
#include "core/base/file_util.h"
#include "core/base/flags.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"
#include "scheduler/journal_audit.h"

namespace seamless {
namespace {

constexpr char kSelf[] = "/proc/self/exe";
const char* const kRoles[] = {"learner", "scheduler", "rollout-0", "rollout-1", "reward-0"};

struct Fault {
  int64_t at_step = 1;
  std::string role;
  bool stop = false;  // SIGSTOP for 3 s, else SIGKILL
};

std::string TrainYaml(const std::string& model, int64_t sft_steps, int64_t steps) {
  return absl::StrCat("model: ", model, "\ntask:\n  max_operand: 9\ntask_train_prompts: 60\n",
                      "task_val_prompts: 16\nsft:\n  steps: ", sft_steps,
                      "\n  examples: 80\nscheduler:\n  steps: ", steps,
                      "\n  group_size: 4\n  batch_groups: 4\n  eval_prompts: 16\n",
                      "  eval_every: 0\n  max_launch_rounds: 30\n  sampling:\n",
                      "    max_new_tokens: 16\n");
}

// The step of a progress line "step   N/S | ...", or -1.
int64_t ProgressStep(const std::string& line) {
  const size_t at = line.find("step ");
  const size_t slash = line.find('/', at);
  int64_t step = -1;
  if (at != 0 || slash == std::string::npos) return -1;
  if (!absl::SimpleAtoi(line.substr(5, slash - 5), &step)) return -1;
  return step;
}

int RolePid(const std::string& run_dir, const std::string& role) {
  auto text = ReadFileToString(run_dir + "/pids.json");
  if (!text.ok()) return -1;
  const nlohmann::json pids = nlohmann::json::parse(*text, nullptr, false);
  return pids.is_object() ? pids.value(role, -1) : -1;
}

struct RunOutcome {
  bool completed = false;
  int64_t lost = 0, duplicated = 0, faults = 0;
  std::vector<double> recover_s;
};

// One run: starts it, injects `faults` as its steps go by, waits for its end, audits it.
absl::StatusOr<RunOutcome> ChaosRun(const std::string& config, const std::string& run_dir,
                                    std::vector<Fault> faults) {
  ASSIGN_OR_RETURN(ChildProcess train,
                   ChildProcess::Start({kSelf, "train", "--config", config, "--out", run_dir,
                                        "--auto-resume", "3"}));
  RunOutcome out;
  size_t next = 0;
  std::chrono::steady_clock::time_point fault_time;
  bool recovering = false;
  while (true) {
    auto line = train.WaitForLine("", std::chrono::minutes(5));
    if (!line.ok()) break;  // the pipe ended (or a 5-minute stall: the run is stuck)
    const int64_t step = ProgressStep(*line);
    if (step < 0) continue;
    if (recovering) {
      out.recover_s.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - fault_time).count());
      recovering = false;
    }
    if (next < faults.size() && step >= faults[next].at_step) {
      const Fault& f = faults[next++];
      const int pid = RolePid(run_dir, f.role);
      // A role that is down (restarting) cannot take a fault: it is skipped, not counted.
      if (pid <= 0 || kill(pid, 0) != 0) continue;
      std::printf("  step %lld: %s %s (pid %d)\n", static_cast<long long>(step),
                  f.stop ? "SIGSTOP 3 s" : "kill -9", f.role.c_str(), pid);
      std::fflush(stdout);
      fault_time = std::chrono::steady_clock::now();
      recovering = true;
      ++out.faults;
      if (f.stop) {
        kill(pid, SIGSTOP);
        std::this_thread::sleep_for(std::chrono::seconds(3));
        kill(pid, SIGCONT);
      } else {
        kill(pid, SIGKILL);
      }
    }
  }
  const int code = train.Wait();
  absl::StatusOr<JournalAudit> audit = AuditJournal(run_dir + "/journal.jsonl");
  if (audit.ok()) {
    // A run that did not finish has its last takes unaccounted (no end line): not lost,
    // the run failed, which `completed` says.
    out.lost = audit->ended ? audit->lost : 0;
    out.duplicated = audit->duplicated + audit->unknown;
    out.completed = code == 0 && audit->clean();
  }
  return out;
}

std::vector<Fault> RandomFaults(std::mt19937_64& rng, int64_t steps) {
  std::uniform_int_distribution<int> count(1, 3), role(0, 4), kind(0, 2);
  std::uniform_int_distribution<int64_t> at(1, steps - 2);
  std::vector<Fault> faults(count(rng));
  for (Fault& f : faults) {
    f.at_step = at(rng);
    f.role = kRoles[role(rng)];
    f.stop = kind(rng) == 0;  // a third stalls, two thirds die
  }
  std::sort(faults.begin(), faults.end(),
            [](const Fault& a, const Fault& b) { return a.at_step < b.at_step; });
  return faults;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * double(v.size())))];
}

}  // namespace

absl::Status RunBenchChaos(const std::vector<std::string>& args) {
  int64_t runs = 5, steps = 10, seed = 1;  // seed 3 is the README's
  std::string dir = "/tmp/seamless-chaos";
  FlagSet flags("seamless bench chaos [--runs N] [--steps S] [--dir DIR]",
                "Runs of `seamless train` (real processes, the built-in task) with one to three\n"
                "random faults each: kill -9 or a 3 s SIGSTOP of the learner, the scheduler, a\n"
                "rollout worker or the reward server at a random step, under --auto-resume\n"
                "and role restarts; each run's journal is then audited. Prints faults, runs\n"
                "completed, samples lost and duplicated, seconds from a fault to the next step.");
  flags.AddInt("runs", &runs, "Runs");
  flags.AddInt("steps", &steps, "Steps per run");
  flags.AddInt("seed", &seed, "Seed of the faults");
  flags.AddString("dir", &dir, "Where the runs go (emptied first)");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  if (runs < 1 || runs > 1000) return absl::InvalidArgumentError("--runs: valid range [1, 1000]");
  if (steps < 4 || steps > 1000)
    return absl::InvalidArgumentError("--steps: valid range [4, 1000]");
  RETURN_IF_ERROR(MakeDirectories(dir));
  // One warm start shared by every run.
  const std::string base_yaml = dir + "/base.yaml";
  RETURN_IF_ERROR(WriteFileAtomically(base_yaml, TrainYaml("default", 150, 1)));
  {
    std::printf("warm start: %s\n", (dir + "/base").c_str());
    std::fflush(stdout);
    ASSIGN_OR_RETURN(ChildProcess base, ChildProcess::Start({kSelf, "train", "--config", base_yaml,
                                                             "--out", dir + "/base"}));
    while (base.WaitForLine("\"run_dir\"", std::chrono::minutes(10)).ok()) {
    }
    if (base.Wait() != 0) return absl::InternalError("the warm-start run failed");
  }
  const std::string config = dir + "/chaos.yaml";
  RETURN_IF_ERROR(WriteFileAtomically(config, TrainYaml(dir + "/base/sft_model", 0, steps)));
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  int64_t completed = 0, faults = 0, lost = 0, duplicated = 0;
  std::vector<double> recover;
  for (int64_t r = 0; r < runs; ++r) {
    const std::string run_dir = absl::StrCat(dir, "/run", r);
    std::printf("run %lld:\n", static_cast<long long>(r));
    std::fflush(stdout);
    ASSIGN_OR_RETURN(RunOutcome o, ChaosRun(config, run_dir, RandomFaults(rng, steps)));
    std::printf("  %s: lost %lld, duplicated %lld\n", o.completed ? "completed" : "NOT completed",
                static_cast<long long>(o.lost), static_cast<long long>(o.duplicated));
    completed += o.completed;
    faults += o.faults;
    lost += o.lost;
    duplicated += o.duplicated;
    recover.insert(recover.end(), o.recover_s.begin(), o.recover_s.end());
  }
  std::printf(
      "%lld faults in %lld runs: %lld completed, %lld samples lost, %lld duplicated; "
      "fault to next step: median %.1f s, max %.1f s\n",
      static_cast<long long>(faults), static_cast<long long>(runs),
      static_cast<long long>(completed), static_cast<long long>(lost),
      static_cast<long long>(duplicated), Percentile(recover, 0.5), Percentile(recover, 1.0));
  std::printf("%s\n", nlohmann::json{{"bench", "chaos"},
                                     {"runs", runs},
                                     {"completed", completed},
                                     {"faults", faults},
                                     {"lost", lost},
                                     {"duplicated", duplicated},
                                     {"recover_s_median", Percentile(recover, 0.5)},
                                     {"recover_s_max", Percentile(recover, 1.0)}}
                          .dump()
                          .c_str());
  if (completed != runs || lost != 0 || duplicated != 0) {
    return absl::DataLossError("some runs did not complete clean (see above)");
  }
  return absl::OkStatus();
}

}  // namespace seamless
