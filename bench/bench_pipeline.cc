// seamless bench pipeline: MiMo's Table 2 on this machine. One Orchestrator (scheduler/), the
// same long-tailed workload with a slow code-like reward (bench/pipeline_sim.h), and five
// configurations: (1) naive dynamic sampling (a generation barrier per round, rewards after
// the round), (2) + continuous rollout, (3) + asynchronous reward, (4) + FIFO early
// termination (MiMo's full system), (5) + next-batch lookahead (Seamless's, the "full" of the
// final JSON line; (4)'s figures are there too). Per configuration: step time and its speed-up over
// (1), the share of decode slots idle, and wasted (aborted) tokens.
//
//   default               real generation: RolloutEngines on the embedded default model in
//                         this process (eos off, so each prompt's answer length is its
//                         max_new_tokens); idle share = 1 - the engines' slot occupancy
//                         (RolloutEngine::Status().running sampled every 2 ms) integral.
//   --simulate-workers N  N virtual workers with decode slots, whose samples take length x
//                         token time, in scaled-down real time: the cluster-scale table, and
//                         the scheduler's own CPU time per sample.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/benches.h"
#include "bench/engine_rollout.h"
#include "bench/pipeline_sim.h"
#include "core/base/flags.h"
#include "core/base/status_macros.h"
#include "core/model/device.h"
#include "core/model/model_loading.h"
#include "nlohmann/json.hpp"
#include "rollout/continuous_batcher.h"
#include "rollout/rollout_engine.h"

namespace seamless {
namespace {

bool HasFlag(const std::vector<std::string>& args, const std::string& name) {
  for (const std::string& a : args) {
    if (a == "--" + name || a.rfind("--" + name + "=", 0) == 0) return true;
  }
  return false;
}

}  // namespace

absl::Status RunBenchPipeline(const std::vector<std::string>& args) {
  const bool simulate = HasFlag(args, "simulate-workers");
  PipelineWorkload w;
  SchedulerConfig base;
  SimulationOptions sim;
  int64_t workers = 0, engines = 1, max_running = 64, warmup = 1, slots = 16, tokens_per_id = 16;
  std::string model_name = "default", device_name = "cpu";
  // Defaults: the real mode takes about a minute on 2 cores (one engine: two would fight over
  // the cores); the simulated one is a 256-worker cluster whose decode and sandbox times are
  // scaled down ~100x from a GPU's, about a minute in all. Both are generation-bound, as
  // MiMo's cluster is: the tiny model decodes so fast on a CPU that a 200 ms learner or 16
  // sandboxes would bound the real mode's step instead, and decode slots would sit idle
  // whatever the scheduler did (README: "Pipeline"). 16 steps, so that each measured step
  // averages over more of the rare long answers (the shared machine's own noise remains).
  base.steps = 16;
  base.group_size = 8;
  base.batch_groups = 8;
  base.max_inflight_per_worker = 8;
  base.max_launch_rounds = 50;
  w.short_tokens = 24;
  w.reward_slots = 64;
  w.train_ms = 50;
  double token_us = 100;
  if (simulate) {
    w.prompts = 16384;
    w.short_tokens = 512;
    w.reward_min_ms = 2.5;
    w.reward_max_ms = 10;
    w.reward_slots = 512;
    w.train_ms = 150;
    base.group_size = 16;
    base.batch_groups = 512;
    base.steps = 7;
  }
  FlagSet flags(
      "seamless bench pipeline [flags]",
      "MiMo's Table 2: the same Orchestrator and workload (long-tailed answer lengths, a slow\n"
      "code-like reward) under naive dynamic sampling, + continuous rollout, + asynchronous\n"
      "reward, + early termination (MiMo's four), + next-batch lookahead (the full system):\n"
      "step time speed-up, decode-slot idle share, wasted tokens.\n"
      "Default: real generation on in-process rollout engines (default model). With\n"
      "--simulate-workers N: N virtual workers in scaled-down time, and the scheduler's own CPU\n"
      "time per sample. Prints a table, then one JSON line.");
  flags.AddInt("simulate-workers", &workers,
               "Simulate this many rollout workers (0: real engines)");
  flags.AddInt("steps", &base.steps, "Training steps per configuration");
  flags.AddInt("warmup-steps", &warmup, "Leading steps not measured (pipeline fill)");
  flags.AddInt("group-size", &base.group_size, "G: samples per prompt");
  flags.AddInt("batch-groups", &base.batch_groups, "N: valid groups per training batch");
  flags.AddInt("max-inflight-per-worker", &base.max_inflight_per_worker,
               "Groups in flight per worker");
  flags.AddInt("max-launch-rounds", &base.max_launch_rounds, "Scheduler's generated-too-many cap");
  int64_t seed = 1;
  flags.AddInt("seed", &seed, "Seed of the data order, sampling and the workload");
  flags.AddInt("prompts", &w.prompts, "Prompts in the workload");
  flags.AddDouble("hard-share", &w.hard_share, "Share of prompts that never pass");
  flags.AddDouble("easy-share", &w.easy_share, "Share of prompts that always pass");
  flags.AddInt("short-tokens", &w.short_tokens, "Answer length of most prompts");
  flags.AddInt("long-factor", &w.long_factor, "Long answers are this many times longer");
  flags.AddDouble("long-share", &w.long_share, "Share of prompts with a long answer");
  flags.AddDouble("reward-min-ms", &w.reward_min_ms, "Sandbox time per sample: uniform from");
  flags.AddDouble("reward-max-ms", &w.reward_max_ms, "... to (5% of samples take 4x)");
  flags.AddInt("reward-slots", &w.reward_slots, "Sandboxes running at once");
  flags.AddDouble("train-ms", &w.train_ms, "The learner's time per step (it sleeps)");
  int64_t lookahead = 2;
  flags.AddInt("lookahead-batches", &lookahead,
               "Row 5: batches launched ahead (its max_staleness is one more)");
  flags.AddInt("engines", &engines, "Real mode: rollout engines (workers)");
  flags.AddInt("max-running", &max_running, "Real mode: decode slots per engine");
  flags.AddString("model", &model_name, "Real mode: model directory or 'default'");
  flags.AddString("device", &device_name, "Real mode: cpu, cuda, cuda:N or auto");
  flags.AddInt("slots", &slots, "Simulated: decode slots per worker");
  flags.AddDouble("token-us", &token_us, "Simulated: real microseconds per generated token");
  flags.AddInt("tokens-per-id", &tokens_per_id,
               "Simulated: workload tokens per token id carried (memory)");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  base.seed = static_cast<uint64_t>(seed);
  w.seed = static_cast<uint64_t>(seed);
  base.max_staleness = 1;
  base.lookahead_batches = lookahead;
  base.easy_pool_prob = 0.1;
  const std::vector<int64_t> lengths = PipelineAnswerLengths(w);
  const PromptDataset data = MakePipelineDataset(w);

  std::vector<PipelineResult> table;
  std::string setup;
  double engine_idle = -1;
  if (simulate) {
    if (workers <= 0) return absl::InvalidArgumentError("--simulate-workers must be positive");
    sim.workers = static_cast<int>(workers);
    sim.slots = static_cast<int>(slots);
    sim.token_us = token_us;
    sim.tokens_per_id = tokens_per_id;
    sim.warmup_steps = warmup;
    setup = absl::StrFormat("%d simulated workers x %d slots, %.1f us/token", sim.workers,
                            sim.slots, token_us);
    std::printf("pipeline: %s\n", setup.c_str());
    std::fflush(stdout);
    ASSIGN_OR_RETURN(table, RunSimulatedTable(w, base, sim));
  } else {
    ASSIGN_OR_RETURN(at::Device device, ParseDevice(device_name));
    PromptEncoder encode = [](const PromptRecord& r) -> absl::StatusOr<std::vector<int32_t>> {
      std::vector<int32_t> ids(8);
      for (int64_t i = 0; i < 8; ++i)
        ids[i] = static_cast<int32_t>(3 + (r.index * 7 + i * 13) % 90);
      return ids;
    };
    setup = absl::StrFormat("%lld engines x %lld slots, model %s on %s",
                            static_cast<long long>(engines), static_cast<long long>(max_running),
                            model_name, device.str());
    std::printf("pipeline: %s\n", setup.c_str());
    std::fflush(stdout);
    double idle_sum = 0;
    for (const auto& [name, config] : Table2Configs(base)) {
      std::vector<std::unique_ptr<RolloutEngine>> list;
      for (int64_t e = 0; e < engines; ++e) {
        ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelOrDefault(model_name));
        loaded.model->to(device);
        loaded.model->eval();
        EngineOptions options;
        options.max_running = max_running;
        options.speculative = Speculative::kOff;
        ASSIGN_OR_RETURN(auto batcher,
                         ContinuousBatcher::Create(loaded.model, options, /*eos_id=*/-1));
        list.push_back(RolloutEngine::Start(std::move(batcher), nullptr));
      }
      EngineRollout rollout(std::move(list), max_running, lengths);
      SleepReward reward(w);
      SleepLearner learner(w.train_ms / 1e3);
      ASSIGN_OR_RETURN(PipelineResult r, RunPipeline(name, config, data, encode, &rollout, &rollout,
                                                     &reward, w.reward_slots, &learner, warmup));
      idle_sum += rollout.EngineIdleFraction();
      std::printf("  %-26s %.2f s/step\n", name.c_str(), r.step_seconds);
      std::fflush(stdout);
      table.push_back(std::move(r));
    }
    engine_idle = idle_sum / double(table.size());
  }

  const double naive = table[0].step_seconds;
  std::printf("\n%-26s %9s %8s %9s %12s %10s %9s %9s\n", "configuration", "step s", "speedup",
              "idle", "aborted tok", "untrained", "dropped", "sched us");
  nlohmann::json configs = nlohmann::json::array();
  for (const PipelineResult& r : table) {
    const double speedup = r.step_seconds > 0 ? naive / r.step_seconds : 0;
    const double untrained = r.generated_tokens > 0 ? 1 - r.trained_tokens / r.generated_tokens : 0;
    std::printf("%-26s %9.3f %7.2fx %8.1f%% %12.0f %9.1f%% %9.0f %9.1f\n", r.name.c_str(),
                r.step_seconds, speedup, 100 * r.idle_share, r.aborted_tokens, 100 * untrained,
                r.dropped_groups, r.scheduler_us_per_sample);
    configs.push_back({{"name", r.name},
                       {"step_seconds", r.step_seconds},
                       {"speedup", speedup},
                       {"idle", r.idle_share},
                       {"wasted_tokens", r.aborted_tokens},
                       {"wasted_per_step", r.steps > 0 ? r.aborted_tokens / r.steps : 0},
                       {"generated_tokens", r.generated_tokens},
                       {"trained_tokens", r.trained_tokens},
                       {"untrained_share", untrained},
                       {"dropped_groups", r.dropped_groups},
                       {"launched_groups", r.launched_groups},
                       {"early_terminated_groups", r.early_terminated_groups},
                       {"reward_busy", r.reward_busy_share},
                       {"scheduler_cpu_s", r.scheduler_cpu_seconds},
                       {"scheduler_us_per_sample", r.scheduler_us_per_sample},
                       {"samples", r.generated_samples},
                       {"measured_steps", r.steps}});
  }
  std::printf(
      "(step s: mean wall time of steps %lld..%lld; idle: share of decode slots empty;\n"
      " aborted tok: tokens of samples aborted or given up; untrained: generated tokens\n"
      " not in a trained batch (dropped groups, aborts, surplus); sched us: CPU time of\n"
      " the orchestrator's thread per sample, whole run)\n",
      static_cast<long long>(warmup) + 1, static_cast<long long>(base.steps));
  const PipelineResult& full = table.back();
  nlohmann::json out = {
      {"bench", "pipeline"},
      {"mode", simulate ? "simulated" : "real"},
      {"setup", setup},
      {"group_size", base.group_size},
      {"batch_groups", base.batch_groups},
      {"max_inflight_per_worker", base.max_inflight_per_worker},
      {"train_ms", w.train_ms},
      {"reward_ms", {w.reward_min_ms, w.reward_max_ms}},
      {"reward_slots", w.reward_slots},
      {"answer_tokens", {w.short_tokens, w.short_tokens * w.long_factor}},
      {"long_share", w.long_share},
      {"lookahead_batches", base.lookahead_batches},
      {"max_staleness_full", Table2Configs(base).back().second.max_staleness},
      {"speedup_full", full.step_seconds > 0 ? naive / full.step_seconds : 0},
      {"idle_full", full.idle_share},
      {"idle_naive", table[0].idle_share},
      // MiMo's full configuration (row 4), without the lookahead of the last row.
      {"speedup_early_termination", table[3].step_seconds > 0 ? naive / table[3].step_seconds : 0},
      {"idle_early_termination", table[3].idle_share},
      {"wasted_tokens_full", full.aborted_tokens},
      {"scheduler_us_per_sample", full.scheduler_us_per_sample},
      {"configs", configs}};
  if (engine_idle >= 0) out["engine_idle_fraction_mean"] = engine_idle;
  std::printf("%s\n", out.dump().c_str());
  return absl::OkStatus();
}

}  // namespace seamless
