// The RL recipe experiment behind `seamless bench recipe`: SFT warm start, then GRPO on the
// built-in arithmetic task, all in one process on a small CPU machine. It exists to find
// settings under which held-out accuracy rises well above the SFT start within minutes,
// before the distributed `seamless train` uses them, and is the yardstick the distributed
// run's curve should match: the RL loop is the Orchestrator itself (scheduler/orchestrator.h,
// dynamic sampling, continuous rollout, asynchronous reward, FIFO early termination,
// staleness, held-out evaluation), the code `seamless scheduler` runs, with its backends in
// this process instead of over gRPC (bench/engine_rollout.h, bench/in_process_backends.h):
//
//   rollout  RolloutEngines on their own copy of the model, fed the learner's weights after
//            each step (swapped in between two decode steps, as a worker receives them);
//   reward   the reward role's RewardEngine (math verifier);
//   learner  GrpoTrainer on a single-rank collective.
#ifndef SEAMLESS_BENCH_RECIPE_EXPERIMENT_H_
#define SEAMLESS_BENCH_RECIPE_EXPERIMENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/mimo_model.h"
#include "core/tokenizer/tokenizer.h"
#include "learner/learner_config.h"
#include "learner/sft.h"
#include "rollout/engine_options.h"
#include "scheduler/builtin_task.h"
#include "scheduler/scheduler_config.h"

namespace seamless {

struct RecipeConfig {
  ArithmeticTaskOptions task;
  uint64_t seed = 1;             // also the scheduler's (scheduler.seed is replaced by it)
  int64_t train_prompts = 4000;  // RL prompts (train split)
  int64_t sft_examples = 4000;   // SFT pairs (train split, another seed)
  int64_t test_prompts = 200;    // held-out prompts (test split)
  // SFT steps and the response limit as `seamless train`'s (scheduler/train_config.h): the
  // worked "columns" answers need more than 24 tokens, and fewer steps leave too few groups
  // with a right answer for the scheduler to fill a batch.
  SftConfig sft = [] {
    SftConfig s;
    s.steps = 600;
    s.batch_size = 32;
    s.optim.lr = 3e-3;
    s.optim.warmup_steps = 10;
    return s;
  }();
  TrainerConfig trainer = [] {
    TrainerConfig t;
    t.optim.lr = 3e-4;
    t.micro_batch_size = 0;
    return t;
  }();
  // The RL loop's settings, as `seamless scheduler` takes them: steps, G (group_size), N
  // (batch_groups), rollout sampling, evaluation (val/accuracy every eval_every steps on at
  // most eval_prompts held-out prompts, greedy unless eval_temperature > 0), staleness and
  // the pipeline's switches. Where not set here, the scheduler's own defaults.
  SchedulerConfig scheduler = [] {
    SchedulerConfig s;
    s.steps = 60;
    s.batch_groups = 16;
    s.sampling.max_new_tokens = 48;
    s.max_launch_rounds = 30;
    s.eval_prompts = 200;
    return s;
  }();
  int64_t rollout_engines = 1;  // rollout workers: engines in this process
  int64_t max_running = 64;     // decode slots of each engine
  Speculative speculative = Speculative::kAuto;
  double rl_time_limit_s = 0;  // stop RL at the first step asked for after this many seconds
  bool eval_sampled = true;    // also sampled pass@1 at the rollout temperature, start and end
  int64_t eval_samples = 4;    // samples per held-out prompt for the sampled pass@1
  int64_t sft_eval_every = 0;  // SFT steps between greedy evaluations (0: none), for tuning

  template <typename V>
  void VisitFields(V& v) {
    v("task", task, "The arithmetic task");
    v("seed", seed, "Seed of data, model initialisation, the prompt order and sampling");
    v("train_prompts", train_prompts, "RL prompts drawn from the train split");
    v("sft_examples", sft_examples, "SFT examples drawn from the train split");
    v("test_prompts", test_prompts, "Held-out prompts (test split)");
    v("sft", sft, "The SFT warm start");
    v("trainer", trainer, "The GRPO trainer");
    v("scheduler", scheduler, "The RL loop (the Orchestrator's settings, as seamless scheduler)");
    v("rollout_engines", rollout_engines, "Rollout workers (engines in this process)");
    v("max_running", max_running, "Decode slots of each engine");
    v("speculative", speculative, "MTP speculative decoding: auto | on | off");
    v("rl_time_limit_s", rl_time_limit_s, "Stop RL after this many seconds (0: no limit)");
    v("eval_sampled", eval_sampled, "Also measure sampled pass@1 at the rollout temperature");
    v("eval_samples", eval_samples, "Samples per held-out prompt for the sampled pass@1");
    v("sft_eval_every", sft_eval_every, "SFT steps between greedy evaluations (0: none)");
  }
};

// One prompt with its ground truth, for evaluation.
struct ScoredPrompt {
  std::string prompt;
  std::string ground_truth;
};

struct AccuracyReport {
  double accuracy = 0;  // share of responses that verify (pass@1)
  double mean_response_tokens = 0;
  double seconds = 0;
};

// Generates `samples_per_prompt` responses per prompt (greedy when temperature is 0) with the
// engine core (BatchGenerator) and scores them with the math verifier; accuracy is the mean
// over all of them (pass@1). Plain text prompts, encoded by `tokenizer`.
absl::StatusOr<AccuracyReport> EvaluateAccuracy(MimoModel model, const Tokenizer& tokenizer,
                                                const std::vector<ScoredPrompt>& prompts,
                                                double temperature, int64_t max_new_tokens,
                                                uint64_t seed, int64_t max_running = 64,
                                                Speculative speculative = Speculative::kAuto,
                                                int64_t samples_per_prompt = 1);

struct RecipePoint {
  int64_t step = 0;              // GRPO steps done (0: right after SFT)
  double elapsed_s = 0;          // seconds since GRPO started (the run's evaluations included)
  double greedy_accuracy = 0;    // the run's val/accuracy (greedy unless eval_temperature > 0)
  double sampled_accuracy = -1;  // -1 when not measured (measured at the start and the end)
};

struct RecipeResult {
  double sft_seconds = 0;
  double rl_seconds = 0;    // GRPO wall time (the Orchestrator's run)
  double eval_seconds = 0;  // the sampled evaluations outside the run
  int64_t rl_steps = 0;
  std::vector<RecipePoint> curve;
};

// Runs the experiment on the default model. `on_line` gets one readable line per SFT
// milestone, GRPO step and evaluation; `on_metrics` gets each step's StepReport metrics in
// verl's names, as `seamless scheduler` writes them to metrics.jsonl (evaluation steps with
// val/accuracy, step 0 for the evaluation after SFT).
absl::StatusOr<RecipeResult> RunRecipeExperiment(
    const RecipeConfig& config, const std::function<void(const std::string&)>& on_line,
    const std::function<void(int64_t step, const std::map<std::string, double>&)>& on_metrics = {});

}  // namespace seamless

#endif  // SEAMLESS_BENCH_RECIPE_EXPERIMENT_H_
