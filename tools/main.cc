// seamless: one binary, one subcommand per role and tool. `seamless --help` lists them.
#include <c10/util/Exception.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "bench/benches.h"
#include "core/base/allocator_tuning.h"
#include "core/base/blas_check.h"
#include "core/base/log.h"
#include "learner/learner_main.h"
#include "reward/reward_main.h"
#include "rollout/rollout_worker_main.h"
#include "scheduler/scheduler_main.h"
#include "scheduler/train_main.h"
#include "tools/subcommand.h"

namespace seamless {

const std::vector<Subcommand>& AllSubcommands() {
  static const auto* table = new std::vector<Subcommand>{
      {"train", "Run GRPO training: scheduler, rollout workers, rewards and learner", RunTrain},
      {"rollout-worker", "Serve generation over gRPC (continuous batching, MTP)", RunRolloutWorker},
      {"reward-server", "Serve rule-based rewards over gRPC (math verifier, code sandbox)",
       RunRewardServer},
      {"reward", "Score JSON-lines samples locally; calibrate code-test difficulty levels",
       RunReward},
      {"learner", "Run a GRPO learner rank (c10d data parallel)", RunLearner},
      {"sft", "Supervised warm start on prompt/response JSONL, with the MTP loss", RunSft},
      {"scheduler", "Run the scheduler hub (prompts, ledger, batches)", RunScheduler},
      {"generate", "Generate text from a model directory or the embedded default", RunGenerate},
      {"tokenize", "Encode JSON-lines text to token ids, or decode ids back", RunTokenize},
      {"init-model", "Write the default model, or a random one of a published shape (--like)",
       RunInitModel},
      {"inspect-model", "Print a model directory's config and tensors", RunInspectModel},
      {"plan", "Memory per GPU of the learner and rollout workers for a model: does it fit?",
       RunPlan},
      {"report", "Write a run directory's report.html from its metrics.jsonl", RunReport},
      {"audit", "Check a run's journal: nothing lost, nothing trained twice", RunAudit},
      {"bench", "Benchmarks that print figures (bench model, ...)", RunBench},
  };
  return *table;
}

namespace {

void PrintUsage() {
  std::printf(
      "seamless: distributed GRPO training for language models (MiMo-style RL)\n\n"
      "usage: seamless SUBCOMMAND [flags]      (seamless SUBCOMMAND --help for its flags)\n\n"
      "subcommands:\n");
  for (const auto& cmd : AllSubcommands()) {
    std::printf("  %s\n", absl::StrFormat("%-16s %s", cmd.name, cmd.summary).c_str());
  }
}

}  // namespace
}  // namespace seamless

int main(int argc, char** argv) {
  using seamless::AllSubcommands;
  seamless::UseFastOpenBlasKernels(argv);  // may re-execute; see NOTE [OpenBLAS core detection]
  seamless::TuneAllocatorForTensors();
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    seamless::PrintUsage();
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  if (name == "--version") {
    std::printf("seamless %s\n", SEAMLESS_VERSION);
    return 0;
  }
  for (const auto& cmd : AllSubcommands()) {
    if (name != cmd.name) continue;
    seamless::SetLogRole(name);
    seamless::WarnIfReferenceBlas();
    std::vector<std::string> args(argv + 2, argv + argc);
    absl::Status status;
    try {
      status = cmd.run(args);
    } catch (const c10::Error& e) {  // LibTorch failures not caught closer to their source
      status = absl::InternalError(e.what_without_backtrace());
    } catch (const std::exception& e) {
      status = absl::InternalError(e.what());
    }
    if (status.ok() || seamless::IsHelpShown(status)) return 0;
    std::fprintf(stderr, "seamless %s: error: %s\n", cmd.name,
                 std::string(status.message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "seamless: error: unknown subcommand '%s' (see seamless --help)\n",
               name.c_str());
  return 2;
}
