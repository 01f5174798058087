// Every setting of the reward role, with defaults: `seamless reward-server --config FILE`
// and `seamless reward score --config FILE` read the same keys.
#ifndef SEAMLESS_REWARD_REWARD_CONFIG_H_
#define SEAMLESS_REWARD_REWARD_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "reward/code_runner.h"
#include "reward/difficulty_reward.h"
#include "reward/math_verifier.h"
#include "reward/output_compare.h"
#include "reward/sandbox.h"

namespace seamless {

struct CodeRewardOptions {
  RewardMode mode = RewardMode::kSoft;
  std::vector<double> level_weights = {1.0, 2.0, 3.0};  // weight of level 0 (easiest), 1, ...
  CompareMode comparison = CompareMode::kFloat;
  double float_tolerance = 1e-6;
  bool stop_after_failure = true;  // strict/all-or-nothing: skip tests that cannot matter

  template <typename V>
  void VisitFields(V& v) {
    v("mode", mode, "Code reward: strict, soft, pass_rate or all_or_nothing");
    v("level_weights", level_weights, "Weight of each difficulty level, easiest first");
    v("comparison", comparison, "Output check: exact, whitespace or float");
    v("float_tolerance", float_tolerance, "Absolute/relative tolerance of the float check");
    v("stop_after_failure", stop_after_failure,
      "Strict and all-or-nothing: skip the remaining tests after a failure");
  }
  absl::Status Validate() const;
};

struct RewardConfig {
  int64_t workers = 0;           // 0: one per CPU core
  int64_t queue_capacity = 256;  // waiting samples beyond the workers; then RESOURCE_EXHAUSTED
  double default_deadline_seconds = 120;  // per sample, when the request gives none
  bool code_enabled = true;               // false: math only, no sandbox needed
  MathVerifierOptions math;
  CodeRewardOptions code;
  CodeRunnerOptions runner;
  SandboxOptions sandbox;

  template <typename V>
  void VisitFields(V& v) {
    v("workers", workers, "Samples scored at once; 0 = one per CPU core");
    v("queue_capacity", queue_capacity, "Samples waiting at most before RESOURCE_EXHAUSTED");
    v("default_deadline_seconds", default_deadline_seconds, "Per-sample deadline by default");
    v("code_enabled", code_enabled, "Score code samples (needs bubblewrap)");
    v("math", math, "Math verifier");
    v("code", code, "Code reward");
    v("runner", runner, "Code runner limits and toolchain");
    v("sandbox", sandbox, "bubblewrap sandbox");
  }
  absl::Status Validate() const;
};

}  // namespace seamless

#endif  // SEAMLESS_REWARD_REWARD_CONFIG_H_
