// `seamless train`'s whole configuration: one resolved copy goes to RUN_DIR/config.yaml, and
// each role's section to the file that role is started with (`--config RUN_DIR/ROLE.yaml`).
#ifndef SEAMLESS_SCHEDULER_TRAIN_CONFIG_H_
#define SEAMLESS_SCHEDULER_TRAIN_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "learner/learner_config.h"
#include "reward/reward_config.h"
#include "rollout/worker_config.h"
#include "scheduler/builtin_task.h"
#include "scheduler/scheduler_config.h"

namespace seamless {

struct SftWarmStart {
  int64_t steps = 600;      // 0: no warm start (train from --model as it is)
  std::string data;         // prompt/response JSONL (`seamless sft --data`); empty: built-in
  int64_t examples = 4000;  // built-in task SFT examples
  int64_t batch_size = 32;
  double lr = 3e-3;
  int64_t warmup_steps = 10;
  // Constant, not cosine: a warm start whose rate decayed to 10% then sharpened under GRPO
  // about half as fast (40 GRPO steps: +22 points vs +39, README "Training runs").
  LrSchedule schedule = LrSchedule::kConstant;
  double mtp_loss_weight = 0.3;

  template <typename V>
  void VisitFields(V& v) {
    v("steps", steps, "SFT updates before RL (0: none)");
    v("data", data,
      "JSONL of {\"prompt\", \"response\"} pairs (as `seamless sft --data`); empty: the "
      "built-in task's");
    v("examples", examples, "SFT examples generated from the built-in task");
    v("batch_size", batch_size, "Sequences per SFT update");
    v("lr", lr, "SFT peak learning rate");
    v("warmup_steps", warmup_steps, "SFT linear warm-up steps");
    v("schedule", schedule, "SFT learning-rate schedule after warm-up: constant | cosine");
    v("mtp_loss_weight", mtp_loss_weight, "Weight of the MTP layer's loss in SFT");
  }
  absl::Status Validate() const;
};

// The defaults of `seamless train` are the best RL recipe measured on the built-in task (see
// README "Training runs"): GRPO lr 1e-4, G = 8, 32 valid groups per step, 4 updates per batch.
struct TrainConfig {
  TrainConfig() {
    task.worked_percent = 50;
    scheduler.steps = 120;
    scheduler.group_size = 8;
    scheduler.batch_groups = 32;
    scheduler.max_launch_rounds = 30;
    scheduler.eval_every = 10;
    scheduler.eval_prompts = 200;
    // Held-out accuracy of the policy RL trains: sampled at the rollout temperature, the mean
    // pass rate of 4 samples per prompt (mean@4, as MiMo reports pass@1 averaged over runs).
    scheduler.eval_temperature = 1.0;
    scheduler.eval_samples = 4;
    scheduler.sampling.max_new_tokens = 48;
    learner.trainer.optim.lr = 1e-4;
    learner.trainer.optim.warmup_steps = 5;
    learner.trainer.optim.schedule = LrSchedule::kCosine;  // total_steps 0: the whole run
    learner.trainer.optim.min_lr_ratio = 0.1;
    learner.trainer.mini_batch_groups = 8;
  }

  std::string model = "default";  // starting point: a Hugging Face directory or 'default'
  std::string train_data;         // verl JSONL; empty: the built-in arithmetic task
  std::string val_data;           // held-out JSONL; empty: the built-in task's test split
  ArithmeticTaskOptions task;
  int64_t task_train_prompts = 4000;
  int64_t task_val_prompts = 200;
  uint64_t seed = 0;
  SftWarmStart sft;
  int64_t rollout_workers = 2;
  int64_t reward_servers = 1;
  int64_t learner_ranks = 1;
  RolloutWorkerConfig rollout;
  RewardConfig reward;
  SchedulerConfig scheduler;
  LearnerConfig learner;

  // The Validate() hook (core/base/config.h) of the keys of this level and of the settings
  // `seamless train` owns; each section checks its own keys. ValidateConfig(config) checks
  // everything, with errors naming the key and its range, before anything starts. Needs no
  // model: the model-dependent checks are in train_plan.h.
  absl::Status Validate() const;

  template <typename V>
  void VisitFields(V& v) {
    v("model", model, "Initial model: a Hugging Face directory or 'default'");
    v("train_data", train_data, "Prompt JSONL (verl schema); empty: the built-in task");
    v("val_data", val_data, "Held-out prompt JSONL; empty: the built-in task's test split");
    v("task", task, "The built-in arithmetic task");
    v("task_train_prompts", task_train_prompts, "Built-in task: training prompts");
    v("task_val_prompts", task_val_prompts, "Built-in task: held-out prompts");
    v("seed", seed, "Seed of the data");
    v("sft", sft, "Supervised warm start before RL");
    v("rollout_workers", rollout_workers, "Rollout worker processes");
    v("reward_servers", reward_servers, "Reward server processes");
    v("learner_ranks", learner_ranks,
      "Learner processes (data-parallel ranks on loopback; rank 0 serves the scheduler)");
    v("rollout", rollout, "Each rollout worker (its --config)");
    v("reward", reward, "Each reward server (its --config)");
    v("scheduler", scheduler, "The scheduler (its --config)");
    v("learner", learner,
      "Every learner rank (its --config; model, checkpoint_dir, rollout_workers and resume "
      "are set by train)");
  }
};

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_TRAIN_CONFIG_H_
