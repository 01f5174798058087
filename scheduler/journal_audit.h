// `seamless audit RUN_DIR`: checks a run journal (scheduler/run_journal.h) for what exactly-
// once promises. Lines of steps voided by a resume are set aside first; then
//   lost:        a take that is neither trained, dropped nor pending at the end;
//   duplicated:  a take trained in two steps, a sample line twice, a take taken twice, or a
//                take both trained and dropped;
//   unknown:     a sample or drop of a uid never taken;
//   uncommitted: a step (not voided) whose commit line never came.
#ifndef SEAMLESS_SCHEDULER_JOURNAL_AUDIT_H_
#define SEAMLESS_SCHEDULER_JOURNAL_AUDIT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace seamless {

struct JournalAudit {
  int64_t steps = 0;    // committed steps that stand
  int64_t samples = 0;  // trained samples of those steps
  int64_t taken = 0, trained = 0, dropped = 0, pending = 0;
  int64_t lost = 0, duplicated = 0, unknown = 0, uncommitted = 0;
  int64_t resumes = 0;
  int64_t voided_steps = 0;           // step lines set aside by resumes
  bool ended = false;                 // the end line is there (the run finished)
  std::vector<std::string> problems;  // the first few, each naming the uid and step

  // Nothing wrong, and the run finished (a run cut short has its last takes unaccounted).
  bool clean() const {
    return ended && lost == 0 && duplicated == 0 && unknown == 0 && uncommitted == 0;
  }
  void ToJson(nlohmann::json* out) const;
};

// Errors name the file and line of a line that is not a journal line.
absl::StatusOr<JournalAudit> AuditJournal(const std::string& path);

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_JOURNAL_AUDIT_H_
