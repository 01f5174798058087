// seamless report RUN_DIR: (re)writes RUN_DIR/report.html from RUN_DIR/metrics.jsonl and
// RUN_DIR/config.yaml (scheduler/run_report.h).
#include <cstdio>

#include "core/base/status_macros.h"
#include "scheduler/run_report.h"
#include "tools/subcommand.h"

namespace seamless {

absl::Status RunReport(const std::vector<std::string>& args) {
  FlagSet flags("seamless report [flags] RUN_DIR",
                "Writes RUN_DIR/report.html: a self-contained page with plots of reward,\n"
                "held-out accuracy, response length, clip fraction and throughput from\n"
                "RUN_DIR/metrics.jsonl (verl's {\"step\": N, \"data\": {...}} lines), and a\n"
                "summary table with the resolved config.yaml.");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  if (flags.positional().size() != 1) {
    return absl::InvalidArgumentError("expected exactly one RUN_DIR (see --help)");
  }
  ASSIGN_OR_RETURN(std::string path, WriteRunReport(flags.positional()[0]));
  std::printf("%s\n", path.c_str());
  return absl::OkStatus();
}

}  // namespace seamless
