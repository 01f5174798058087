// Entry point of `seamless rollout-worker` (rollout_worker_main.cc), called by the subcommand
// table (tools/main.cc) with the arguments after the subcommand name.
#ifndef SEAMLESS_ROLLOUT_ROLLOUT_WORKER_MAIN_H_
#define SEAMLESS_ROLLOUT_ROLLOUT_WORKER_MAIN_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace seamless {

// Serves RolloutService over gRPC until SIGTERM or SIGINT.
absl::Status RunRolloutWorker(const std::vector<std::string>& args);

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_ROLLOUT_WORKER_MAIN_H_
