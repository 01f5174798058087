// The reward role's core, with no gRPC types: scores one sample (math or code) in the data's
// own terms. The gRPC service, `seamless reward score` and the benchmark all call this, so a
// reward can be debugged on a laptop exactly as the cluster computes it. Thread-safe.
#ifndef SEAMLESS_REWARD_REWARD_ENGINE_H_
#define SEAMLESS_REWARD_REWARD_ENGINE_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "reward/code_runner.h"
#include "reward/difficulty_reward.h"
#include "reward/math_verifier.h"
#include "reward/reward_config.h"
#include "reward/reward_metrics.h"
#include "reward/sandbox.h"

namespace seamless {

enum class TaskKind { kMath, kCode };
std::optional<TaskKind> ParseTaskKind(std::string_view name);  // "math" | "code"
const char* TaskKindName(TaskKind kind);

struct RewardTask {
  TaskKind kind = TaskKind::kMath;
  std::string response;      // the model's text
  std::string ground_truth;  // math: the answer; code: JSON test cases (code_task.h)
  // Per-task options, a JSON object (unknown keys are ignored, so a data set's extra_info can
  // be passed as is): answer_markers, language, comparison, float_tolerance,
  // time_limit_seconds, reward_mode, level_weights, run_all_tests.
  std::string options_json;
};

struct RewardResult {
  double reward = 0;
  bool passed = false;       // math: equivalent; code: every test passed
  std::string detail;        // one readable line
  std::string details_json;  // extracted answer, per-test verdicts and timings
  double seconds = 0;
};

class RewardEngine {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts the sandbox (and self-tests it) when config.code_enabled. `metrics` may be null.
  static absl::StatusOr<std::unique_ptr<RewardEngine>> Create(const RewardConfig& config,
                                                              MetricsRegistry* metrics = nullptr);

  // INVALID_ARGUMENT for a malformed ground truth or option (naming the field),
  // DEADLINE_EXCEEDED when `deadline` passed before scoring could start, FAILED_PRECONDITION
  // for code when code is disabled, UNAVAILABLE when the sandbox itself fails.
  absl::StatusOr<RewardResult> Score(const RewardTask& task,
                                     Clock::time_point deadline = Clock::time_point::max()) const;

  // For shutdown: kills the sandboxed runs in progress; they and later code samples fail
  // UNAVAILABLE (Sandbox::CancelRuns). Math samples are unaffected.
  void CancelRuns() const {
    if (sandbox_) sandbox_->CancelRuns();
  }

  // For calibration: which tests `program` passes (every test is run).
  absl::StatusOr<std::vector<bool>> PassedTests(const Program& program,
                                                const CodeTests& tests) const;

  const RewardConfig& config() const { return config_; }
  Sandbox* sandbox() const { return sandbox_.get(); }

 private:
  explicit RewardEngine(const RewardConfig& config) : config_(config) {}
  absl::StatusOr<RewardResult> ScoreMath(const RewardTask& task) const;
  absl::StatusOr<RewardResult> ScoreCode(const RewardTask& task, Clock::time_point deadline) const;

  RewardConfig config_;
  MathVerifier math_;
  std::unique_ptr<Sandbox> sandbox_;
  std::unique_ptr<CodeRunner> runner_;
  std::unique_ptr<RewardMetrics> metrics_;
};

}  // namespace seamless

#endif  // SEAMLESS_REWARD_REWARD_ENGINE_H_
