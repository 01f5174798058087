#include "bench/recipe_experiment.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/status_macros.h"
#include "core/model/default_model.h"
#include "core/tokenizer/char_tokenizer.h"
#include "learner/collective.h"
#include "learner/trainer.h"
#include "reward/math_verifier.h"
#include "rollout/continuous_batcher.h"

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

// Runs every group to completion on a fresh batcher; returns samples by group index.
absl::StatusOr<std::vector<std::vector<RolloutSample>>> RunGroups(
    MimoModel model, int32_t eos_id, const EngineOptions& engine,
    std::vector<GroupRequest> groups) {
  EngineOptions options = engine;
  int64_t samples = 0;
  for (const GroupRequest& g : groups) samples += g.num_samples;
  options.max_queued_samples = std::max<int64_t>(1, samples);
  ASSIGN_OR_RETURN(auto batcher, ContinuousBatcher::Create(model, options, eos_id));
  for (size_t i = 0; i < groups.size(); ++i) {
    groups[i].group_id = absl::StrCat(i);
    groups[i].launch_seq = i;
    RETURN_IF_ERROR(batcher->Add(std::move(groups[i])));
  }
  std::vector<std::vector<RolloutSample>> out(groups.size());
  std::vector<RolloutSample> finished;
  while (batcher->HasWork()) {
    finished.clear();
    RETURN_IF_ERROR(batcher->Step(&finished));
    for (RolloutSample& s : finished) {
      size_t index = 0;
      if (!absl::SimpleAtoi(s.group_id, &index) || index >= out.size()) {
        return absl::InternalError("sample of an unknown group " + s.group_id);
      }
      out[index].push_back(std::move(s));
    }
  }
  for (auto& group : out) {  // samples finish in any order; keep the group's own order
    std::sort(group.begin(), group.end(), [](const RolloutSample& a, const RolloutSample& b) {
      return a.index_in_group < b.index_in_group;
    });
  }
  return out;
}

std::vector<ScoredPrompt> AsScored(const std::vector<ArithmeticProblem>& problems) {
  std::vector<ScoredPrompt> out;
  for (const ArithmeticProblem& p : problems) out.push_back({p.prompt, p.answer});
  return out;
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
  EngineOptions engine;
  engine.max_running = max_running;
  engine.speculative = speculative;
  std::vector<GroupRequest> groups;
  for (size_t i = 0; i < prompts.size(); ++i) {
    GroupRequest g;
    auto ids = tokenizer.Encode(prompts[i].prompt);
    if (!ids.ok()) return Annotate(ids.status(), absl::StrCat("prompt ", i));
    g.prompt = std::move(*ids);
    g.num_samples = int32_t(std::max<int64_t>(1, samples_per_prompt));
    g.sampling.temperature = temperature;
    g.sampling.max_new_tokens = max_new_tokens;
    g.sampling.seed = MixSeed(seed, int32_t(i));
    groups.push_back(std::move(g));
  }
  ASSIGN_OR_RETURN(auto results, RunGroups(model, tokenizer.eos_id(), engine, std::move(groups)));
  const MathVerifier verifier;
  double correct = 0, tokens = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    for (const RolloutSample& s : results[i]) {
      tokens += double(s.tokens.size());
      correct += verifier.Verify(ResponseText(tokenizer, s.tokens), prompts[i].ground_truth)
                     .equivalent;
    }
  }
  const double n = double(prompts.size()) * double(std::max<int64_t>(1, samples_per_prompt));
  report.accuracy = correct / n;
  report.mean_response_tokens = tokens / n;
  report.seconds = SecondsSince(start);
  return report;
}

absl::StatusOr<RecipeResult> RunRecipeExperiment(
    const RecipeConfig& config, const std::function<void(const std::string&)>& on_line,
    const std::function<void(int64_t, const std::map<std::string, double>&)>& on_metrics) {
  if (config.group_size < 2) return absl::InvalidArgumentError("group_size must be >= 2");
  if (config.groups_per_step < 1) return absl::InvalidArgumentError("groups_per_step must be >= 1");
  if (config.prompts_per_round < 1) {
    return absl::InvalidArgumentError("prompts_per_round must be >= 1");
  }
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
    ASSIGN_OR_RETURN(auto sft, SftTrainer::Create(model, config.sft, collective.get(),
                                                  std::move(sft_data)));
    for (int64_t i = 0; i < config.sft.steps; ++i) {
      ASSIGN_OR_RETURN(StepOutcome out, sft->Step());
      if ((i + 1) % 50 == 0 || i + 1 == config.sft.steps) {
        say(absl::StrFormat("sft step %d/%d  loss %.4f  %.1f s", i + 1, config.sft.steps,
                            out.metrics["sft/loss"], SecondsSince(start)));
      }
      if (config.sft_eval_every > 0 && (i + 1) % config.sft_eval_every == 0) {
        ASSIGN_OR_RETURN(AccuracyReport a,
                         EvaluateAccuracy(model, tokenizer, test_prompts, 0.0,
                                          config.max_new_tokens, config.seed, config.max_running,
                                          config.speculative));
        say(absl::StrFormat("sft step %d  greedy held-out accuracy %.3f", i + 1, a.accuracy));
      }
    }
    result.sft_seconds = SecondsSince(start);
  }

  // Evaluation of the current weights: greedy, and sampled pass@1 if configured.
  // Returns the evaluation's metrics (val/accuracy is the greedy accuracy).
  auto evaluate = [&](int64_t step,
                      double elapsed) -> absl::StatusOr<std::map<std::string, double>> {
    ASSIGN_OR_RETURN(AccuracyReport greedy,
                     EvaluateAccuracy(model, tokenizer, test_prompts, 0.0, config.max_new_tokens,
                                      config.seed, config.max_running, config.speculative));
    RecipePoint point;
    point.step = step;
    point.elapsed_s = elapsed;
    point.greedy_accuracy = greedy.accuracy;
    result.eval_seconds += greedy.seconds;
    std::string line = absl::StrFormat("eval step %3d  t=%6.1f s  greedy %.3f", step, elapsed,
                                       greedy.accuracy);
    if (config.eval_sampled) {
      ASSIGN_OR_RETURN(AccuracyReport sampled,
                       EvaluateAccuracy(model, tokenizer, test_prompts, config.temperature,
                                        config.max_new_tokens, config.seed + 99 + uint64_t(step),
                                        config.max_running, config.speculative,
                                        config.eval_samples));
      point.sampled_accuracy = sampled.accuracy;
      result.eval_seconds += sampled.seconds;
      absl::StrAppendFormat(&line, "  sampled(T=%.2f) %.3f", config.temperature,
                            sampled.accuracy);
    }
    absl::StrAppendFormat(&line, "  (%.1f s, %.1f response tokens)", greedy.seconds,
                          greedy.mean_response_tokens);
    say(line);
    result.curve.push_back(point);
    std::map<std::string, double> m{{"val/accuracy", point.greedy_accuracy}};
    if (point.sampled_accuracy >= 0) m["val/accuracy_sampled"] = point.sampled_accuracy;
    m["time/elapsed_s"] = elapsed;
    return m;
  };
  {
    ASSIGN_OR_RETURN(auto m, evaluate(0, 0));
    if (on_metrics) on_metrics(0, m);
  }

  // 2. GRPO with dynamic sampling.
  TrainerConfig trainer_config = config.trainer;
  trainer_config.grpo.temperature = config.temperature;  // log-probs of the tempered policy
  ASSIGN_OR_RETURN(auto trainer, GrpoTrainer::Create(model, trainer_config, collective.get()));
  EngineOptions engine;
  engine.max_running = config.max_running;
  engine.speculative = config.speculative;
  const MathVerifier verifier;
  std::vector<int64_t> order(train.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int64_t(i);
  std::mt19937_64 rng(config.seed * 7 + 3);
  for (int64_t i = int64_t(order.size()) - 1; i > 0; --i) {
    std::swap(order[size_t(i)], order[rng() % uint64_t(i + 1)]);
  }
  int64_t cursor = 0, launched = 0;
  double valid_rate = 0.5;  // running estimate of the share of groups that are valid
  double rl_elapsed = 0;
  for (int64_t step = 1; step <= config.rl_steps; ++step) {
    if (config.rl_time_limit_s > 0 && rl_elapsed >= config.rl_time_limit_s) break;
    const auto step_start = std::chrono::steady_clock::now();
    RolloutBatch batch;
    batch.step = step;
    int64_t rounds = 0, groups_seen = 0, samples_seen = 0, dropped_all0 = 0, dropped_all1 = 0;
    double reward_sum = 0, gen_tokens = 0;
    double gen_s = 0;
    while (int64_t(batch.groups.size()) < config.groups_per_step && rounds < config.max_rounds) {
      const int64_t need = config.groups_per_step - int64_t(batch.groups.size());
      const int64_t launch =
          rounds == 0 ? config.prompts_per_round
                      : std::min<int64_t>(config.prompts_per_round,
                                          int64_t(std::ceil(1.25 * double(need) /
                                                            std::max(valid_rate, 0.2))));
      std::vector<GroupRequest> requests;
      std::vector<const ArithmeticProblem*> problems;
      for (int64_t i = 0; i < launch; ++i) {
        const ArithmeticProblem& p = train[size_t(order[size_t(cursor++ % int64_t(order.size()))])];
        GroupRequest g;
        ASSIGN_OR_RETURN(g.prompt, tokenizer.Encode(p.prompt));
        g.num_samples = int32_t(config.group_size);
        g.sampling.temperature = config.temperature;
        g.sampling.max_new_tokens = config.max_new_tokens;
        g.sampling.seed = MixSeed(config.seed * 1000003 + 17, int32_t(launched++));
        requests.push_back(std::move(g));
        problems.push_back(&p);
      }
      const auto gen_start = std::chrono::steady_clock::now();
      ASSIGN_OR_RETURN(auto results, RunGroups(model, tokenizer.eos_id(), engine,
                                               std::move(requests)));
      gen_s += SecondsSince(gen_start);
      int64_t valid_now = 0;
      for (size_t g = 0; g < results.size(); ++g) {
        RolloutGroup group;
        group.group_id = absl::StrCat(step, "/", rounds, "/", g);
        int64_t passed = 0;
        for (RolloutSample& s : results[g]) {
          RolloutSequence seq;
          seq.prompt_ids = s.prompt;
          seq.response_ids = s.tokens;
          seq.behaviour_logprobs = s.logprobs;
          seq.reward = verifier.Verify(ResponseText(tokenizer, s.tokens), problems[g]->answer)
                           .equivalent
                           ? 1.0
                           : 0.0;
          passed += seq.reward > 0;
          reward_sum += seq.reward;
          gen_tokens += double(s.tokens.size());
          ++samples_seen;
          group.sequences.push_back(std::move(seq));
        }
        ++groups_seen;
        if (passed == 0) {
          ++dropped_all0;
        } else if (passed == int64_t(group.sequences.size())) {
          ++dropped_all1;
        } else {
          ++valid_now;
          // FIFO: the earliest-launched valid groups fill the batch; later ones are surplus.
          if (int64_t(batch.groups.size()) < config.groups_per_step) {
            batch.groups.push_back(std::move(group));
          }
        }
      }
      valid_rate = 0.7 * valid_rate + 0.3 * double(valid_now) / double(results.size());
      ++rounds;
    }
    std::map<std::string, double> m;
    if (!batch.groups.empty()) {
      ASSIGN_OR_RETURN(StepOutcome out, trainer->Step(batch));
      m = out.metrics;
    } else {
      say(absl::StrFormat("step %d: no valid group in %d rounds; no update", step, rounds));
    }
    const double step_s = SecondsSince(step_start);
    rl_elapsed += step_s;
    m["rollout/score_all"] = reward_sum / std::max<double>(1, double(samples_seen));
    m["batch/valid_groups"] = double(batch.groups.size());
    m["batch/dropped_all_correct"] = double(dropped_all1);
    m["batch/dropped_all_wrong"] = double(dropped_all0);
    m["batch/generation_rounds"] = double(rounds);
    m["timing_s/gen"] = gen_s;
    m["timing_s/step"] = step_s;
    m["perf/rollout_tokens_per_s"] = gen_tokens / std::max(gen_s, 1e-9);
    m["time/elapsed_s"] = rl_elapsed;
    say(absl::StrFormat(
        "step %3d  t=%6.1f s  reward(all) %.3f  valid %2d/%3d groups (all-right %d, all-wrong %d)"
        "  len %.1f  clip %.3f  entropy %.3f  gen %.2f s  train %.2f s",
        step, rl_elapsed, m["rollout/score_all"], int(batch.groups.size()), int(groups_seen),
        int(dropped_all1), int(dropped_all0), gen_tokens / std::max<double>(1, samples_seen),
        m["actor/pg_clipfrac"], m["actor/entropy"], gen_s, m["timing_s/update_actor"]));
    ++result.rl_steps;
    const bool last = step == config.rl_steps ||
                      (config.rl_time_limit_s > 0 && rl_elapsed >= config.rl_time_limit_s);
    if ((config.eval_every > 0 && step % config.eval_every == 0) || last) {
      ASSIGN_OR_RETURN(auto eval, evaluate(step, rl_elapsed));
      m.insert(eval.begin(), eval.end());
    }
    if (on_metrics) on_metrics(step, m);
  }
  result.rl_seconds = rl_elapsed;
  return result;
}

}  // namespace seamless
