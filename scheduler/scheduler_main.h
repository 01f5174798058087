// Entry point of `seamless scheduler` (scheduler_main.cc), called by the subcommand table
// (tools/main.cc) with the arguments after the subcommand name.
#ifndef SEAMLESS_SCHEDULER_SCHEDULER_MAIN_H_
#define SEAMLESS_SCHEDULER_SCHEDULER_MAIN_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace seamless {

// Runs the scheduler hub: prompts, ledger, batches, SchedulerService.
absl::Status RunScheduler(const std::vector<std::string>& args);

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_SCHEDULER_MAIN_H_
