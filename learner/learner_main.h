// Entry points of `seamless learner` and `seamless sft` (learner_main.cc), called by the
// subcommand table (tools/main.cc) with the arguments after the subcommand name.
#ifndef SEAMLESS_LEARNER_LEARNER_MAIN_H_
#define SEAMLESS_LEARNER_LEARNER_MAIN_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace seamless {

// `seamless learner`: one GRPO rank (c10d data parallel); rank 0 serves LearnerService.
absl::Status RunLearner(const std::vector<std::string>& args);
// `seamless sft`: the supervised warm start on prompt/response JSONL.
absl::Status RunSft(const std::vector<std::string>& args);

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_LEARNER_MAIN_H_
