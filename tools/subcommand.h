// The `seamless` binary's subcommand table: one entry per role and tool.
#ifndef SEAMLESS_TOOLS_SUBCOMMAND_H_
#define SEAMLESS_TOOLS_SUBCOMMAND_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/base/flags.h"

namespace seamless {

struct Subcommand {
  const char* name;
  const char* summary;  // one line for `seamless --help`
  // Runs with the arguments after the subcommand name. A returned error is printed as one
  // line ("seamless NAME: error: ...") and the process exits 1.
  absl::Status (*run)(const std::vector<std::string>& args);
};

// The tools' commands, one file each in tools/. The roles' entry points are declared in their
// own folders (learner/learner_main.h, rollout/rollout_worker_main.h, reward/reward_main.h,
// scheduler/scheduler_main.h, scheduler/train_main.h) and the benchmarks' in bench/benches.h.
absl::Status RunGenerate(const std::vector<std::string>& args);
absl::Status RunTokenize(const std::vector<std::string>& args);
absl::Status RunInitModel(const std::vector<std::string>& args);
absl::Status RunInspectModel(const std::vector<std::string>& args);
absl::Status RunPlan(const std::vector<std::string>& args);
absl::Status RunReport(const std::vector<std::string>& args);
absl::Status RunAudit(const std::vector<std::string>& args);

const std::vector<Subcommand>& AllSubcommands();

// ParseFlagsOrHelp, HelpShown and IsHelpShown live in core/base/flags.h, so that each role's
// main (rollout/, reward/, learner/, scheduler/) and each benchmark (bench/) can parse flags
// without depending on tools/.

}  // namespace seamless

#endif  // SEAMLESS_TOOLS_SUBCOMMAND_H_
