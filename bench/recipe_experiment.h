// The RL recipe experiment behind `seamless bench recipe`: SFT warm start, then GRPO with
// dynamic sampling, all in one process and one thread of control (no gRPC, no scheduler), on
// the built-in arithmetic task. It exists to find settings under which held-out accuracy
// rises well above the SFT start within minutes on a small CPU machine, before the distributed
// `seamless train` uses them; the same loop is the yardstick the distributed run's curve
// should match (it has the same algorithm, minus the process overheads).
//
// The rollout side drives the real engine core (ContinuousBatcher, one group per prompt,
// shared prefill, behaviour log-probs recorded), the reward is the real math verifier, and the
// update is GrpoTrainer::Step on a single-rank collective. Generation and training share the
// model's weights, so every step is on-policy (policy version lag 0).
#ifndef SEAMLESS_BENCH_RECIPE_EXPERIMENT_H_
#define SEAMLESS_BENCH_RECIPE_EXPERIMENT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/mimo_model.h"
#include "core/tokenizer/tokenizer.h"
#include "learner/learner_config.h"
#include "learner/sft.h"
#include "rollout/engine_options.h"
#include "scheduler/builtin_task.h"

namespace seamless {

struct RecipeConfig {
  ArithmeticTaskOptions task;
  uint64_t seed = 1;
  int64_t train_prompts = 4000;  // RL prompts (train split)
  int64_t sft_examples = 4000;   // SFT pairs (train split, another seed)
  int64_t test_prompts = 200;    // held-out prompts (test split)
  SftConfig sft = [] {
    SftConfig s;
    s.steps = 150;
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
  int64_t group_size = 8;        // G samples per prompt
  int64_t groups_per_step = 16;  // valid groups per training batch
  // Prompts launched per generation round; the step's batch takes the earliest valid groups.
  int64_t prompts_per_round = 24;
  int64_t max_rounds = 4;  // rounds per step before training on the valid groups found so far
  double temperature = 1.0;
  int64_t max_new_tokens = 24;
  int64_t max_running = 64;  // decode slots of the engine
  Speculative speculative = Speculative::kAuto;
  int64_t rl_steps = 60;
  double rl_time_limit_s = 0;  // stop RL after this many seconds (0: no limit)
  int64_t eval_every = 5;      // RL steps between held-out evaluations
  bool eval_sampled = true;    // also measure temperature-`temperature` pass@1
  int64_t eval_samples = 4;    // samples per held-out prompt for the sampled pass@1
  int64_t sft_eval_every = 0;  // SFT steps between greedy evaluations (0: none), for tuning

  template <typename V>
  void VisitFields(V& v) {
    v("task", task, "The arithmetic task");
    v("seed", seed, "Seed of data, model initialisation and sampling");
    v("train_prompts", train_prompts, "RL prompts drawn from the train split");
    v("sft_examples", sft_examples, "SFT examples drawn from the train split");
    v("test_prompts", test_prompts, "Held-out prompts (test split)");
    v("sft", sft, "The SFT warm start");
    v("trainer", trainer, "The GRPO trainer");
    v("group_size", group_size, "Samples per prompt (G)");
    v("groups_per_step", groups_per_step, "Valid groups per training batch");
    v("prompts_per_round", prompts_per_round, "Prompts launched per generation round");
    v("max_rounds", max_rounds, "Generation rounds per step at most");
    v("temperature", temperature, "Rollout sampling temperature");
    v("max_new_tokens", max_new_tokens, "Response tokens at most");
    v("max_running", max_running, "Engine decode slots");
    v("speculative", speculative, "MTP speculative decoding: auto | on | off");
    v("rl_steps", rl_steps, "GRPO steps");
    v("rl_time_limit_s", rl_time_limit_s, "Stop RL after this many seconds (0: no limit)");
    v("eval_every", eval_every, "GRPO steps between held-out evaluations");
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
  double accuracy = 0;            // share of responses that verify (pass@1)
  double mean_response_tokens = 0;
  double seconds = 0;
};

// Generates `samples_per_prompt` responses per prompt (greedy when temperature is 0) with the
// engine core and scores them with the math verifier; accuracy is the mean over all of them
// (pass@1). Plain text prompts, encoded by `tokenizer`.
absl::StatusOr<AccuracyReport> EvaluateAccuracy(MimoModel model, const Tokenizer& tokenizer,
                                                const std::vector<ScoredPrompt>& prompts,
                                                double temperature, int64_t max_new_tokens,
                                                uint64_t seed, int64_t max_running = 64,
                                                Speculative speculative = Speculative::kAuto,
                                                int64_t samples_per_prompt = 1);

struct RecipePoint {
  int64_t step = 0;         // GRPO steps done (0: right after SFT)
  double elapsed_s = 0;     // seconds since GRPO started (evaluation time excluded)
  double greedy_accuracy = 0;
  double sampled_accuracy = -1;  // -1 when not measured
};

struct RecipeResult {
  double sft_seconds = 0;
  double rl_seconds = 0;  // GRPO wall time, evaluations excluded
  double eval_seconds = 0;
  int64_t rl_steps = 0;
  std::vector<RecipePoint> curve;
};

// Runs the experiment on the default model. `on_line` gets one readable line per SFT
// milestone, GRPO step and evaluation; `on_metrics` gets each GRPO step's metrics in verl's
// names (for a metrics.jsonl), evaluation steps with val/accuracy.
absl::StatusOr<RecipeResult> RunRecipeExperiment(
    const RecipeConfig& config, const std::function<void(const std::string&)>& on_line,
    const std::function<void(int64_t step, const std::map<std::string, double>&)>& on_metrics =
        {});

}  // namespace seamless

#endif  // SEAMLESS_BENCH_RECIPE_EXPERIMENT_H_
