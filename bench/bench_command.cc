// seamless bench WHAT: dispatches to the benchmark files listed in bench/benches.h.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench/benches.h"
#include "core/base/flags.h"

namespace seamless {
namespace {

struct Bench {
  const char* name;
  const char* summary;
  absl::Status (*run)(const std::vector<std::string>& args);
};

const std::vector<Bench>& AllBenches() {
  static const auto* table = new std::vector<Bench>{
      {"model", "matmul ceiling, forward and decode tokens/s of the model", RunBenchModel},
      {"learner",
       "training tokens/s and FLOP share, Gloo all-reduce share, checkpoint and publish times",
       RunBenchLearner},
      {"learner-memory",
       "peak RSS per learner rank by component, any sharding (a process per rank)",
       RunBenchLearnerMemory},
      {"reward", "math checks/s, sandboxed vs bare program launches/s", RunBenchReward},
      {"chaos", "runs of seamless train under random kills and stalls, audited", RunBenchChaos},
      {"rollout", "continuous vs static batching, decode FLOP/s, MTP speed-up, weight swap",
       RunBenchRollout},
      {"tokenizer", "encode MB/s of the C++ tokenizer vs Hugging Face's tokenizers",
       RunBenchTokenizer},
      {"recipe",
       "SFT then GRPO (the Orchestrator, its roles in-process) on the arithmetic "
       "task: held-out accuracy vs time",
       RunBenchRecipe},
      {"pipeline",
       "MiMo's Table 2: naive dynamic sampling vs continuous rollout, async reward, "
       "early termination (real engines or --simulate-workers N)",
       RunBenchPipeline},
  };
  return *table;
}

std::string Usage() {
  std::string out =
      "usage: seamless bench WHAT [flags]     (seamless bench WHAT --help for its flags)\n\n"
      "Benchmarks print readable lines, then one JSON line with the figures.\n\nbenchmarks:\n";
  for (const Bench& b : AllBenches()) absl::StrAppend(&out, "  ", b.name, "\t", b.summary, "\n");
  return out;
}

}  // namespace

absl::Status RunBench(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(Usage().c_str(), stdout);
    return args.empty() ? absl::InvalidArgumentError("which benchmark? see the list above")
                        : HelpShown();
  }
  std::vector<std::string> names;
  for (const Bench& b : AllBenches()) {
    if (args[0] == b.name) return b.run({args.begin() + 1, args.end()});
    names.push_back(b.name);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown benchmark '", args[0], "' (available: ", absl::StrJoin(names, ", "), ")"));
}

}  // namespace seamless
