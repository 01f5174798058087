// Every knob of the scheduler (config key `scheduler`).
#ifndef SEAMLESS_SCHEDULER_SCHEDULER_CONFIG_H_
#define SEAMLESS_SCHEDULER_SCHEDULER_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "rollout/sampling_options.h"

namespace seamless {

struct SchedulerConfig {
  int64_t steps = 20;             // training steps
  int64_t group_size = 8;         // G: samples per prompt
  int64_t batch_groups = 8;       // N: valid groups per training batch
  int64_t max_launch_rounds = 8;  // groups launched per step <= this x N, else an error
  int64_t max_inflight_per_worker = 8;
  double easy_pool_prob = 0.1;    // α: draw from the pass-rate-1 pool with this probability
  int64_t max_staleness = 1;      // samples older than this many versions are dropped
  bool dynamic_sampling = true;   // drop groups with pass rate 0 or 1
  bool continuous = true;         // false: barrier — launch a whole round, wait, filter
  bool async_reward = true;       // false: score after the generation round
  bool early_termination = true;  // FIFO early termination (docs/DESIGN.md §4)
  // Batches beyond the current one whose work is kept in flight (0: MiMo's rule exactly).
  // With 1, launching goes on for the next batch once the current one is predicted full,
  // and early termination spares the earliest of the later launches that the next batch
  // needs, so decode slots do not drain at the end of every step. Needs early_termination;
  // capped by staleness: batch k trains at version k, so work for a batch may only be
  // launched at a version within max_staleness of it (with 1, not while the learner trains).
  int64_t lookahead_batches = 0;
  double lease_seconds = 600;  // a generating group's lease on its worker
  double reward_deadline_seconds = 30;
  int64_t reward_retries = 2;
  int64_t eval_every = 5;           // held-out evaluation every k steps (0: start and end only)
  int64_t eval_prompts = 100;       // held-out prompts per evaluation
  double eval_temperature = 0;      // 0: greedy accuracy
  int64_t eval_samples = 1;         // samples per held-out prompt when eval_temperature > 0
  int64_t eval_max_new_tokens = 0;  // 0: sampling.max_new_tokens
  uint64_t seed = 0;
  SamplingOptions sampling;  // rollout sampling (seeds are derived per group)

  template <typename V>
  void VisitFields(V& v) {
    v("steps", steps, "Training steps");
    v("group_size", group_size, "G: samples per prompt");
    v("batch_groups", batch_groups, "N: valid prompt groups per training batch");
    v("max_launch_rounds", max_launch_rounds,
      "Groups launched per step at most this many times N ('generated too many' error)");
    v("max_inflight_per_worker", max_inflight_per_worker, "Groups in flight per rollout worker");
    v("easy_pool_prob", easy_pool_prob, "Probability of drawing a prompt from the easy pool");
    v("max_staleness", max_staleness, "Drop samples more than this many policy versions old");
    v("dynamic_sampling", dynamic_sampling, "Drop groups whose pass rate is 0 or 1");
    v("continuous", continuous, "Continuous rollout (false: generation barrier per round)");
    v("async_reward", async_reward, "Score each sample as soon as it finishes");
    v("early_termination", early_termination, "Abort work launched after the selected groups");
    v("lookahead_batches", lookahead_batches,
      "Keep work for this many next batches in flight (needs early_termination, max_staleness >= "
      "1)");
    v("lease_seconds", lease_seconds, "Lease of a generating group on its worker (seconds)");
    v("reward_deadline_seconds", reward_deadline_seconds, "Deadline of one reward call");
    v("reward_retries", reward_retries, "Retries of a failed reward call on other servers");
    v("eval_every", eval_every, "Held-out evaluation every k steps (0: start and end only)");
    v("eval_prompts", eval_prompts, "Held-out prompts per evaluation");
    v("eval_temperature", eval_temperature, "Sampling temperature of evaluation (0: greedy)");
    v("eval_samples", eval_samples,
      "Samples per held-out prompt when sampling; accuracy is their mean pass rate (mean@k)");
    v("eval_max_new_tokens", eval_max_new_tokens, "Evaluation response limit (0: as rollout)");
    v("seed", seed, "Seed of the data order and of sampling");
    v("sampling", sampling, "Rollout sampling");
  }
  // Every key in its valid range (the sampling options check their own).
  absl::Status Validate() const;
};

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_SCHEDULER_CONFIG_H_
