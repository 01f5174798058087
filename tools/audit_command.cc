// seamless audit RUN_DIR: checks RUN_DIR/journal.jsonl for what exactly-once promises
// (scheduler/journal_audit.h) and prints the findings as one JSON line.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"
#include "scheduler/journal_audit.h"
#include "tools/subcommand.h"

namespace seamless {

absl::Status RunAudit(const std::vector<std::string>& args) {
  FlagSet flags("seamless audit [flags] RUN_DIR",
                "Checks a run's journal (RUN_DIR/journal.jsonl, one line per trained sample,\n"
                "per step and per commit) and prints one JSON line: lost (a prompt taken and\n"
                "never trained, dropped or left pending), duplicated (a prompt trained twice,\n"
                "a sample line twice), unknown (trained or dropped, never taken),\n"
                "uncommitted (a step the learner never answered), the counts of steps,\n"
                "samples, takes and resumes, and the first problems by uid. Steps lost with a\n"
                "crash and trained again after a resume are set aside first. Exits 1 unless\n"
                "the run finished and nothing was found.");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  if (flags.positional().size() != 1) {
    return absl::InvalidArgumentError("expected exactly one RUN_DIR (see --help)");
  }
  const std::string journal = flags.positional()[0] + "/journal.jsonl";
  ASSIGN_OR_RETURN(const JournalAudit audit, AuditJournal(journal));
  nlohmann::json out;
  audit.ToJson(&out);
  std::printf("%s\n", out.dump().c_str());
  std::fflush(stdout);
  if (audit.clean()) return absl::OkStatus();
  return absl::DataLossError(
      audit.ended
          ? absl::StrCat(journal, ": ", audit.lost, " lost, ", audit.duplicated, " duplicated, ",
                         audit.unknown, " unknown, ", audit.uncommitted, " uncommitted")
          : absl::StrCat(journal, ": the run has not finished (no end line); resume it"));
}

}  // namespace seamless
