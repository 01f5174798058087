#include "tools/subcommand.h"

#include <cstdio>

namespace seamless {
namespace {
constexpr char kHelpShown[] = "seamless:help-shown";
}

absl::Status HelpShown() { return absl::CancelledError(kHelpShown); }
bool IsHelpShown(const absl::Status& status) {
  return status.code() == absl::StatusCode::kCancelled && status.message() == kHelpShown;
}

absl::Status ParseFlagsOrHelp(FlagSet& flags, const std::vector<std::string>& args) {
  absl::Status status = flags.Parse(args);
  if (!status.ok()) return status;
  if (flags.help_requested()) {
    std::fputs(flags.Help().c_str(), stdout);
    return HelpShown();
  }
  return absl::OkStatus();
}

}  // namespace seamless
