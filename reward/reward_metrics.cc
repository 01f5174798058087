#include "reward/reward_metrics.h"

namespace seamless {

void RewardMetrics::CountRequest(const std::string& kind, const std::string& result) {
  registry_
      ->GetCounter("seamless_reward_requests_total", "Samples scored, by task kind and result",
                   {{"kind", kind}, {"result", result}})
      ->Increment();
}

void RewardMetrics::ObserveLatency(const std::string& kind, double seconds) {
  registry_
      ->GetHistogram("seamless_reward_latency_seconds",
                     "Time from a sample's arrival to its reward", LatencySecondsBuckets(),
                     {{"kind", kind}})
      ->Observe(seconds);
}

void RewardMetrics::CountTests(const std::string& outcome, int count) {
  registry_
      ->GetCounter("seamless_reward_code_tests_total", "Code tests run in the sandbox, by verdict",
                   {{"outcome", outcome}})
      ->Increment(count);
}

void RewardMetrics::CountSandboxTimeouts(int count) {
  Counter* counter = registry_->GetCounter("seamless_reward_sandbox_timeouts_total",
                                           "Sandboxed runs killed at their time limit");
  if (count > 0) counter->Increment(count);
}

void RewardMetrics::SetQueueDepth(int depth) {
  registry_->GetGauge("seamless_reward_queue_depth", "Samples waiting for a worker")->Set(depth);
}

}  // namespace seamless
