// seamless bench recipe: the RL recipe experiment (bench/recipe_experiment.h) — SFT warm
// start of the default model on the built-in arithmetic task, then GRPO by the Orchestrator
// with its roles in this process — printing held-out accuracy against GRPO wall time. It is how the
// `seamless train` defaults were chosen (notes in README "Training recipe"). Readable lines,
// then one JSON line with the start/final accuracies and times.
#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/benches.h"
#include "bench/recipe_experiment.h"
#include "core/base/config.h"
#include "core/base/file_util.h"
#include "core/base/flags.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"
#include "scheduler/run_report.h"

namespace seamless {

absl::Status RunBenchRecipe(const std::vector<std::string>& args) {
  RecipeConfig config;
  std::string config_file, out_dir;
  int64_t sft_steps = -1, rl_steps = -1, group_size = -1, groups = -1, max_new_tokens = -1;
  double rl_lr = -1, sft_lr = -1, temperature = -1, time_limit = -1;
  FlagSet flags("seamless bench recipe [flags]",
                "SFT warm start of the default model on the built-in arithmetic task, then GRPO\n"
                "by the scheduler's Orchestrator with the roles in this process (rollout\n"
                "engines, the reward engine, GrpoTrainer), printing held-out accuracy (greedy,\n"
                "and sampled pass@1 at the start and end) against GRPO wall time. Flags\n"
                "override the config file.");
  flags.AddString("config", &config_file, "YAML/JSON config (keys below)");
  flags.AddString("out", &out_dir, "Write metrics.jsonl, config.yaml and report.html here");
  flags.AddInt("sft-steps", &sft_steps, "SFT updates");
  flags.AddDouble("sft-lr", &sft_lr, "SFT learning rate");
  flags.AddInt("rl-steps", &rl_steps, "GRPO steps");
  flags.AddDouble("rl-lr", &rl_lr, "GRPO learning rate");
  flags.AddDouble("time-limit", &time_limit, "Stop GRPO after this many seconds");
  flags.AddInt("group-size", &group_size, "Samples per prompt (G)");
  flags.AddInt("groups", &groups, "Valid groups per GRPO batch");
  flags.AddDouble("temperature", &temperature, "Rollout temperature");
  flags.AddInt("max-new-tokens", &max_new_tokens, "Response tokens at most");
  flags.SetEpilog("config keys:\n" + DescribeConfig(RecipeConfig{}));
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  if (!config_file.empty()) RETURN_IF_ERROR(LoadConfigFile(config_file, &config));
  if (sft_steps >= 0) config.sft.steps = sft_steps;
  if (sft_lr > 0) config.sft.optim.lr = sft_lr;
  if (rl_steps >= 0) config.scheduler.steps = rl_steps;
  if (rl_lr > 0) config.trainer.optim.lr = rl_lr;
  if (time_limit >= 0) config.rl_time_limit_s = time_limit;
  if (group_size > 0) config.scheduler.group_size = group_size;
  if (groups > 0) config.scheduler.batch_groups = groups;
  if (temperature >= 0) config.scheduler.sampling.temperature = temperature;
  if (max_new_tokens > 0) config.scheduler.sampling.max_new_tokens = max_new_tokens;

  std::unique_ptr<std::ofstream> metrics;
  if (!out_dir.empty()) {
    RETURN_IF_ERROR(MakeDirectories(out_dir));
    RETURN_IF_ERROR(WriteFileAtomically(out_dir + "/config.yaml", ConfigToYaml(config)));
    metrics = std::make_unique<std::ofstream>(out_dir + "/metrics.jsonl");
    if (!*metrics) return absl::UnavailableError("cannot write " + out_dir + "/metrics.jsonl");
  }
  auto on_line = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  auto on_metrics = [&](int64_t step, const std::map<std::string, double>& m) {
    if (!metrics) return;
    nlohmann::json data(m);
    *metrics << nlohmann::json{{"step", step}, {"data", data}}.dump() << "\n";
    metrics->flush();
  };
  ASSIGN_OR_RETURN(RecipeResult r, RunRecipeExperiment(config, on_line, on_metrics));
  if (metrics) {
    metrics->close();
    ASSIGN_OR_RETURN(std::string report, WriteRunReport(out_dir));
    std::printf("report: %s\n", report.c_str());
  }
  const RecipePoint& start = r.curve.front();
  const RecipePoint& end = r.curve.back();
  double best = 0, first_25 = -1;
  for (const RecipePoint& p : r.curve) {
    best = std::max(best, p.greedy_accuracy);
    if (first_25 < 0 && p.greedy_accuracy >= start.greedy_accuracy + 0.25) first_25 = p.elapsed_s;
  }
  std::printf(
      "sft %.1f s; GRPO %lld steps in %.1f s (+%.1f s evaluating); greedy %.3f -> %.3f"
      " (best %.3f)\n",
      r.sft_seconds, static_cast<long long>(r.rl_steps), r.rl_seconds, r.eval_seconds,
      start.greedy_accuracy, end.greedy_accuracy, best);
  nlohmann::json j{{"sft_seconds", r.sft_seconds},
                   {"rl_seconds", r.rl_seconds},
                   {"rl_steps", r.rl_steps},
                   {"start_accuracy", start.greedy_accuracy},
                   {"final_accuracy", end.greedy_accuracy},
                   {"best_accuracy", best},
                   {"rise_points", 100 * (end.greedy_accuracy - start.greedy_accuracy)},
                   {"seconds_to_plus25", first_25}};
  if (start.sampled_accuracy >= 0) {
    j["start_sampled_accuracy"] = start.sampled_accuracy;
    j["final_sampled_accuracy"] = end.sampled_accuracy;
  }
  std::printf("%s\n", j.dump().c_str());
  return absl::OkStatus();
}

}  // namespace seamless
