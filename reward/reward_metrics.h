// The reward role's Prometheus metrics, registered once per registry.
#ifndef SEAMLESS_REWARD_REWARD_METRICS_H_
#define SEAMLESS_REWARD_REWARD_METRICS_H_

#include <string>

#include "core/metrics/metrics.h"

namespace seamless {

class RewardMetrics {
 public:
  explicit RewardMetrics(MetricsRegistry* registry) : registry_(registry) {}

  // seamless_reward_requests_total{kind, result}: result is ok, invalid_argument,
  // resource_exhausted, deadline_exceeded or error.
  void CountRequest(const std::string& kind, const std::string& result);
  // seamless_reward_latency_seconds{kind}: from arrival to the answer.
  void ObserveLatency(const std::string& kind, double seconds);
  // seamless_reward_sandbox_timeouts_total and seamless_reward_code_tests_total{outcome}.
  void CountTests(const std::string& outcome, int count = 1);
  void CountSandboxTimeouts(int count);
  // seamless_reward_queue_depth.
  void SetQueueDepth(int depth);

 private:
  MetricsRegistry* registry_;
};

}  // namespace seamless

#endif  // SEAMLESS_REWARD_REWARD_METRICS_H_
