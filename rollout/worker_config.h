// Every setting of one rollout worker process (`seamless rollout-worker --config FILE`, and
// `rollout.*` in `seamless train`): where it runs plus its engine's options, at one level.
#ifndef SEAMLESS_ROLLOUT_WORKER_CONFIG_H_
#define SEAMLESS_ROLLOUT_WORKER_CONFIG_H_

#include <string>

#include "rollout/engine_options.h"

namespace seamless {

struct RolloutWorkerConfig {
  std::string device = "cpu";  // cpu, cuda, cuda:N or auto
  EngineOptions engine;

  template <typename V>
  void VisitFields(V& v) {
    v("device", device, "Where the worker serves: cpu, cuda, cuda:N or auto");
    engine.VisitFields(v);  // the engine's keys sit beside device (rollout.max_running, ...)
  }
  // The engine's keys are this level's, so it checks them (ValidateConfig does not see it).
  absl::Status Validate() const { return engine.Validate(); }
};

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_WORKER_CONFIG_H_
