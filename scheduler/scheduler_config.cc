#include "scheduler/scheduler_config.h"

#include "core/base/config.h"
#include "core/base/status_macros.h"

namespace seamless {

absl::Status SchedulerConfig::Validate() const {
  // Durations become int64 milliseconds or clock ticks: 1e300 s overflows (undefined, and in
  // practice a deadline already past). 1e6 s (11.6 days) is past any real lease or call.
  constexpr double kMaxSeconds = 1e6;
  RETURN_IF_ERROR(CheckRange("steps", steps, 0, 1e9));
  // GRPO's advantage compares samples of one prompt: one sample has no group to compare with.
  RETURN_IF_ERROR(CheckRange("group_size", group_size, 2, 4096));
  RETURN_IF_ERROR(CheckRange("batch_groups", batch_groups, 1, 1e6));
  RETURN_IF_ERROR(CheckRange("max_launch_rounds", max_launch_rounds, 1, 1e6));
  RETURN_IF_ERROR(CheckRange("max_inflight_per_worker", max_inflight_per_worker, 1, 1e6));
  RETURN_IF_ERROR(CheckRange("easy_pool_prob", easy_pool_prob, 0, 1));
  RETURN_IF_ERROR(CheckRange("max_staleness", max_staleness, 0, 1e6));
  RETURN_IF_ERROR(CheckRange("lookahead_batches", lookahead_batches, 0, 1e6));
  RETURN_IF_ERROR(CheckRange("lease_seconds", lease_seconds, 1e-3, kMaxSeconds));
  RETURN_IF_ERROR(
      CheckRange("reward_deadline_seconds", reward_deadline_seconds, 1e-3, kMaxSeconds));
  RETURN_IF_ERROR(CheckRange("reward_retries", reward_retries, 0, 1000));
  RETURN_IF_ERROR(CheckRange("eval_every", eval_every, 0, 1e9));
  RETURN_IF_ERROR(CheckRange("eval_prompts", eval_prompts, 0, 1e9));
  RETURN_IF_ERROR(CheckRange("eval_temperature", eval_temperature, 0, 100));
  RETURN_IF_ERROR(CheckRange("eval_samples", eval_samples, 1, 4096));
  return CheckRange("eval_max_new_tokens", eval_max_new_tokens, 0, 1e7);
}

}  // namespace seamless
