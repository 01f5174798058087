// The roles' subcommands. Each role lands with its own issue; until then its subcommand
// explains what it will do and fails clearly instead of pretending.
#include "absl/strings/str_cat.h"
#include "tools/subcommand.h"

namespace seamless {
namespace {

absl::Status NotYet(const char* usage, const char* summary, const char* lands_with,
                    const std::vector<std::string>& args) {
  FlagSet flags(usage, summary);
  absl::Status parsed = flags.Parse(args);
  if (flags.help_requested()) {
    std::fputs(flags.Help().c_str(), stdout);
    return HelpShown();
  }
  (void)parsed;
  return absl::UnimplementedError(
      absl::StrCat("not available in this build yet (lands with the ", lands_with, " issue)"));
}

}  // namespace

absl::Status RunTrain(const std::vector<std::string>& args) {
  return NotYet("seamless train [--config FILE] [--out RUN_DIR] [--resume RUN_DIR]",
                "Starts the scheduler, rollout workers, reward servers and the learner as\n"
                "separate processes on loopback and trains the model with GRPO.",
                "Scheduler and `seamless train`", args);
}
absl::Status RunScheduler(const std::vector<std::string>& args) {
  return NotYet("seamless scheduler [--config FILE]",
                "Runs the scheduler hub: prompt data, ledger, dynamic sampling, batches.",
                "Scheduler and `seamless train`", args);
}

}  // namespace seamless
