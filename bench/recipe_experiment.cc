#include "bench/recipe_experiment.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/engine_rollout.h"
#include "bench/in_process_backends.h"
#include "core/base/config.h"
#include "core/base/status_macros.h"
#include "core/model/default_model.h"
#include "core/model/model_files.h"
#include "core/tensors/dtype.h"
#include "core/tokenizer/char_tokenizer.h"
#include "core/tokenizer/chat_format.h"
#include "learner/collective.h"
#include "learner/trainer.h"
#include "reward/math_verifier.h"
#include "rollout/batch_generator.h"
#include "rollout/continuous_batcher.h"
#include "rollout/rollout_engine.h"
#include "scheduler/orchestrator.h"
#include "scheduler/prompt_dataset.h"

namespace seamless {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The generated tokens without the stop token, as text ("" for ids the tokenizer refuses,
// which then simply fail verification).
std::string ResponseText(const Tokenizer& tokenizer, const std::vector<int32_t>& tokens) {
  std::vector<int32_t> ids = tokens;
  if (!ids.empty() && ids.back() == tokenizer.eos_id()) ids.pop_back();
  auto text = tokenizer.Decode(ids);
  return text.ok() ? *text : std::string();
}

std::vector<ScoredPrompt> AsScored(const std::vector<ArithmeticProblem>& problems) {
  std::vector<ScoredPrompt> out;
  out.reserve(problems.size());
  for (const ArithmeticProblem& p : problems) out.push_back({p.prompt, p.answer});
  return out;
}

// The problems as the scheduler's prompt data: the JSONL `seamless train` writes for the
// built-in task, parsed as `seamless scheduler` reads it.
absl::StatusOr<PromptDataset> AsPromptDataset(const std::vector<ArithmeticProblem>& problems,
                                              const std::string& name) {
  PromptDataset data;
  data.path = name;
  const std::vector<std::string> lines =
      absl::StrSplit(RlPromptJsonl(problems), '\n', absl::SkipEmpty());
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSIGN_OR_RETURN(PromptRecord record, ParsePromptRecord(lines[i], int64_t(i) + 1, name));
    record.index = int64_t(i);
    data.records.push_back(std::move(record));
  }
  return data;
}

}  // namespace

absl::StatusOr<AccuracyReport> EvaluateAccuracy(MimoModel model, const Tokenizer& tokenizer,
                                                const std::vector<ScoredPrompt>& prompts,
                                                double temperature, int64_t max_new_tokens,
                                                uint64_t seed, int64_t max_running,
                                                Speculative speculative,
                                                int64_t samples_per_prompt) {
  const auto start = std::chrono::steady_clock::now();
  AccuracyReport report;
  if (prompts.empty()) return report;
  const int64_t per_prompt = std::max<int64_t>(1, samples_per_prompt);
  std::vector<GenerationRequest> requests;
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto ids = tokenizer.Encode(prompts[i].prompt);
    if (!ids.ok()) return Annotate(ids.status(), absl::StrCat("prompt ", i));
    for (int64_t j = 0; j < per_prompt; ++j) {
      GenerationRequest r;
      r.prompt = *ids;
      r.sampling.temperature = temperature;
      r.sampling.max_new_tokens = max_new_tokens;
      r.sampling.seed = MixSeed(seed, int32_t(int64_t(i) * per_prompt + j));
      requests.push_back(std::move(r));
    }
  }
  BatchGenerator generator(model, max_running, /*max_len=*/0, tokenizer.eos_id(), speculative);
  ASSIGN_OR_RETURN(std::vector<GenerationResult> results, generator.Generate(requests));
  const MathVerifier verifier;
  double correct = 0, tokens = 0;
  for (size_t k = 0; k < results.size(); ++k) {
    tokens += double(results[k].tokens.size());
    const auto& prompt = prompts[k / size_t(per_prompt)];  // the k-th sample's prompt
    correct +=
        verifier.Verify(ResponseText(tokenizer, results[k].tokens), prompt.ground_truth).equivalent;
  }
  report.accuracy = correct / double(results.size());
  report.mean_response_tokens = tokens / double(results.size());
  report.seconds = SecondsSince(start);
  return report;
}

absl::StatusOr<RecipeResult> RunRecipeExperiment(
    const RecipeConfig& config, const std::function<void(const std::string&)>& on_line,
    const std::function<void(int64_t, const std::map<std::string, double>&)>& on_metrics) {
  if (config.rollout_engines < 1) return absl::InvalidArgumentError("rollout_engines must be >= 1");
  SchedulerConfig scheduler = config.scheduler;
  scheduler.seed = config.seed;
  RETURN_IF_ERROR(ValidateConfig(scheduler));  // again: the flags may have changed it
  auto say = [&](const std::string& line) {
    if (on_line) on_line(line);
  };
  const CharTokenizer tokenizer;
  ASSIGN_OR_RETURN(auto train, GenerateArithmeticTask(config.seed, config.train_prompts,
                                                      TaskSplit::kTrain, config.task));
  ASSIGN_OR_RETURN(auto sft_problems, GenerateArithmeticTask(config.seed + 1, config.sft_examples,
                                                             TaskSplit::kTrain, config.task));
  ASSIGN_OR_RETURN(auto test, GenerateArithmeticTask(config.seed, config.test_prompts,
                                                     TaskSplit::kTest, config.task));
  const std::vector<ScoredPrompt> test_prompts = AsScored(test);

  MimoModel model = CreateDefaultModel(config.seed);
  const int64_t max_len = model->config().max_position_embeddings;
  auto collective = SingleRankCollective();
  RecipeResult result;

  // 1. SFT warm start.
  std::vector<RolloutSequence> sft_data;
  for (const ArithmeticProblem& p : sft_problems) {
    RolloutSequence s;
    ASSIGN_OR_RETURN(s.prompt_ids, tokenizer.Encode(p.prompt));
    ASSIGN_OR_RETURN(s.response_ids, tokenizer.Encode(p.solution));
    s.response_ids.push_back(tokenizer.eos_id());
    if (int64_t(s.prompt_ids.size() + s.response_ids.size()) > max_len) {
      return absl::InvalidArgumentError("an SFT example exceeds the model's context");
    }
    sft_data.push_back(std::move(s));
  }
  {
    const auto start = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(auto sft,
                     SftTrainer::Create(model, config.sft, collective.get(), std::move(sft_data)));
    for (int64_t i = 0; i < config.sft.steps; ++i) {
      ASSIGN_OR_RETURN(StepOutcome out, sft->Step());
      if ((i + 1) % 50 == 0 || i + 1 == config.sft.steps) {
        say(absl::StrFormat("sft step %d/%d  loss %.4f  %.1f s", i + 1, config.sft.steps,
                            out.metrics["sft/loss"], SecondsSince(start)));
      }
      if (config.sft_eval_every > 0 && (i + 1) % config.sft_eval_every == 0) {
        ASSIGN_OR_RETURN(
            AccuracyReport a,
            EvaluateAccuracy(model, tokenizer, test_prompts, 0.0, scheduler.sampling.max_new_tokens,
                             config.seed, config.max_running, config.speculative));
        say(absl::StrFormat("sft step %d  greedy held-out accuracy %.3f", i + 1, a.accuracy));
      }
    }
    result.sft_seconds = SecondsSince(start);
  }

  // Sampled pass@1 of the current weights (outside the run), if configured: -1 otherwise.
  auto sampled = [&](int64_t step) -> absl::StatusOr<double> {
    if (!config.eval_sampled) return -1.0;
    ASSIGN_OR_RETURN(
        AccuracyReport a,
        EvaluateAccuracy(model, tokenizer, test_prompts, scheduler.sampling.temperature,
                         scheduler.sampling.max_new_tokens, config.seed + 99 + uint64_t(step),
                         config.max_running, config.speculative, config.eval_samples));
    result.eval_seconds += a.seconds;
    say(absl::StrFormat("eval step %3d  sampled(T=%.2f) %.3f  (%.1f s, %.1f response tokens)", step,
                        scheduler.sampling.temperature, a.accuracy, a.seconds,
                        a.mean_response_tokens));
    return a.accuracy;
  };
  ASSIGN_OR_RETURN(const double start_sampled, sampled(0));

  // 2. GRPO: the Orchestrator, its backends in this process.
  TrainerConfig trainer_config = config.trainer;
  // Log-probs of the tempered policy the rollouts sample from.
  trainer_config.grpo.temperature = scheduler.sampling.temperature;
  ASSIGN_OR_RETURN(auto trainer, GrpoTrainer::Create(model, trainer_config, collective.get()));
  ASSIGN_OR_RETURN(RawTensorMap sft_weights, trainer->ExportWeights(DType::kF32));
  EngineOptions engine;
  engine.max_running = config.max_running;
  engine.speculative = config.speculative;
  std::vector<std::unique_ptr<RolloutEngine>> engines;
  std::vector<RolloutEngine*> workers;
  for (int64_t i = 0; i < config.rollout_engines; ++i) {
    // Each worker's own copy of the model, version 0 = the SFT weights.
    MimoModel copy = CreateDefaultModel(config.seed);
    RETURN_IF_ERROR(ImportWeights(copy, sft_weights, "the SFT weights"));
    copy->eval();
    ASSIGN_OR_RETURN(auto batcher, ContinuousBatcher::Create(copy, engine, tokenizer.eos_id()));
    engines.push_back(RolloutEngine::Start(std::move(batcher), nullptr));
    workers.push_back(engines.back().get());
  }
  EngineRollout rollout(std::move(engines), config.max_running, /*lengths=*/{}, &tokenizer);
  RewardConfig reward_config;
  reward_config.code_enabled = false;
  ASSIGN_OR_RETURN(std::unique_ptr<RewardEngine> reward_engine,
                   RewardEngine::Create(reward_config));
  EngineReward reward(reward_engine.get());
  ASSIGN_OR_RETURN(const PromptDataset train_data, AsPromptDataset(train, "recipe-train"));
  ASSIGN_OR_RETURN(const PromptDataset val_data, AsPromptDataset(test, "recipe-test"));
  PromptEncoder encode =
      [&tokenizer](const PromptRecord& r) -> absl::StatusOr<std::vector<int32_t>> {
    ASSIGN_OR_RETURN(std::string text, RenderPrompt(tokenizer, r.prompt, ChatOptions(),
                                                    absl::StrCat("prompt on line ", r.line)));
    return tokenizer.Encode(text);
  };

  const auto rl_start = std::chrono::steady_clock::now();
  const auto deadline =
      config.rl_time_limit_s > 0
          ? rl_start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(config.rl_time_limit_s))
          : std::chrono::steady_clock::time_point::max();
  TrainerLearner learner(trainer.get(), workers, deadline);
  Orchestrator orchestrator(scheduler, &train_data, &val_data, encode, &rollout, &reward, &learner);
  orchestrator.set_on_step([&](const StepReport& r) {
    const double elapsed = SecondsSince(rl_start);
    std::map<std::string, double> m = r.metrics;
    m["time/elapsed_s"] = elapsed;
    auto get = [&m](const char* k) {
      auto it = m.find(k);
      return it == m.end() ? 0.0 : it->second;
    };
    if (r.step > 0) {
      ++result.rl_steps;
      say(absl::StrFormat(
          "step %3d  t=%6.1f s  score %.3f  launched %3d groups (dropped all-right %d, "
          "all-wrong %d, stale %d)  len %.1f  clip %.3f  entropy %.3f  step %.2f s  train %.2f s",
          r.step, elapsed, get("critic/score/mean"), int(get("scheduler/launched_groups")),
          int(get("scheduler/dropped_all_pass")), int(get("scheduler/dropped_all_fail")),
          int(get("scheduler/dropped_stale")), get("response_length/mean"),
          get("actor/pg_clipfrac"), get("actor/entropy"), get("timing_s/step"),
          get("timing_s/update_actor_total")));
    }
    auto accuracy = m.find("val/accuracy");
    if (accuracy != m.end()) {
      RecipePoint point;
      point.step = r.step;
      point.elapsed_s = elapsed;
      point.greedy_accuracy = accuracy->second;
      result.curve.push_back(point);
      say(absl::StrFormat("eval step %3d  t=%6.1f s  val/accuracy %.3f", r.step, elapsed,
                          accuracy->second));
    }
    if (on_metrics) on_metrics(r.step, m);
  });
  absl::Status run = orchestrator.Run();
  result.rl_seconds = SecondsSince(rl_start);
  const bool time_limit = learner.deadline_passed() && absl::IsCancelled(run);
  if (!run.ok() && !time_limit) return run;
  if (time_limit) say(absl::StrFormat("time limit: GRPO stopped after %d steps", result.rl_steps));

  // The end: a run stopped by the time limit had no last evaluation of its own.
  std::map<std::string, double> end_metrics;
  if (result.curve.empty() || result.curve.back().step != result.rl_steps) {
    ASSIGN_OR_RETURN(
        AccuracyReport greedy,
        EvaluateAccuracy(model, tokenizer, test_prompts, 0.0, scheduler.sampling.max_new_tokens,
                         config.seed, config.max_running, config.speculative));
    result.eval_seconds += greedy.seconds;
    RecipePoint point;
    point.step = result.rl_steps;
    point.elapsed_s = result.rl_seconds;
    point.greedy_accuracy = greedy.accuracy;
    result.curve.push_back(point);
    end_metrics["val/accuracy"] = greedy.accuracy;
    say(absl::StrFormat("eval step %3d  greedy %.3f (after the run)", point.step, greedy.accuracy));
  }
  ASSIGN_OR_RETURN(const double end_sampled, sampled(result.rl_steps));
  result.curve.front().sampled_accuracy = start_sampled;
  if (end_sampled >= 0) {
    result.curve.back().sampled_accuracy = end_sampled;
    end_metrics["val/accuracy_sampled"] = end_sampled;
  }
  if (on_metrics && !end_metrics.empty()) on_metrics(result.rl_steps, end_metrics);
  return result;
}

}  // namespace seamless
