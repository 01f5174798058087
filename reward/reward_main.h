// Entry points of `seamless reward-server` and `seamless reward` (reward_main.cc), called by
// the subcommand table (tools/main.cc) with the arguments after the subcommand name.
#ifndef SEAMLESS_REWARD_REWARD_MAIN_H_
#define SEAMLESS_REWARD_REWARD_MAIN_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace seamless {

// `seamless reward-server`: serves RewardService over gRPC until SIGTERM or SIGINT.
absl::Status RunRewardServer(const std::vector<std::string>& args);
// `seamless reward score` scores JSON-lines samples here, as the server would; `seamless
// reward calibrate` measures code-test difficulty levels.
absl::Status RunReward(const std::vector<std::string>& args);

}  // namespace seamless

#endif  // SEAMLESS_REWARD_REWARD_MAIN_H_
