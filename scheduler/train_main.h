// Entry point of `seamless train` (train_main.cc), called by the subcommand table
// (tools/main.cc) with the arguments after the subcommand name.
#ifndef SEAMLESS_SCHEDULER_TRAIN_MAIN_H_
#define SEAMLESS_SCHEDULER_TRAIN_MAIN_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace seamless {

// A whole RL run on this machine, every role its own process (RoleProcess) on loopback.
absl::Status RunTrain(const std::vector<std::string>& args);

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_TRAIN_MAIN_H_
