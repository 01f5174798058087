// The run journal (RUN_DIR/journal.jsonl): the append-only record of what a run trained, the
// ground truth `seamless audit` checks. One JSON object per line, fsynced per step:
//
//   {"type":"step","step":K,"takes":[[uid,record],...],"drops":[[uid,reason],...]}
//       what the ledger took and dropped since the previous step's batch was formed, written
//       when step K's batch is formed and before it is sent;
//   {"type":"sample","step":K,"uid":U,"record":R,"sample":I,"min_version":A,"max_version":B,
//    "reward":X}
//       one per trained sample of step K (its group's ledger uid, its data record, its index
//       in the group, the weight versions its tokens were generated with);
//   {"type":"commit","step":K}   the learner answered step K;
//   {"type":"resume","steps":S}  a resumed run continues after S committed steps (the
//       learner's checkpoint): every line of a step >= S before it is void — those steps
//       were lost with a crash and are trained again, from the same prompts;
//   {"type":"end","steps":N,"takes":[...],"drops":[...],"pending":[uid,...]}
//       the run ended: what happened after the last batch, and the prompts taken but neither
//       trained nor dropped (they stay pending, and a longer run takes them first).
//
// NOTE [step commit]: the scheduler's state as of step K committed rides in step K's
// TrainStep, and the learner keeps it with the checkpoint of step K; a resume takes the
// learner's last checkpoint and that state together, so the learner, the scheduler and this
// journal agree on which steps happened. A step line whose commit never came is then either
// covered by that checkpoint or voided by the resume line.
#ifndef SEAMLESS_SCHEDULER_RUN_JOURNAL_H_
#define SEAMLESS_SCHEDULER_RUN_JOURNAL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace seamless {

struct JournalSample {
  std::string uid;
  int64_t record = 0;
  int32_t sample = 0;
  int64_t min_version = 0, max_version = 0;
  double reward = 0;
};

// Ledger events between two batches.
struct JournalEvents {
  std::vector<std::pair<std::string, int64_t>> takes;      // uid, record
  std::vector<std::pair<std::string, std::string>> drops;  // uid, reason
  bool empty() const { return takes.empty() && drops.empty(); }
  void clear() {
    takes.clear();
    drops.clear();
  }
};

class RunJournal {
 public:
  // Opens `path` for appending (creating it).
  static absl::StatusOr<std::unique_ptr<RunJournal>> Open(const std::string& path);
  ~RunJournal();

  // The step line and its samples, then fsync.
  absl::Status RecordStep(int64_t step, const JournalEvents& events,
                          const std::vector<JournalSample>& samples);
  absl::Status Commit(int64_t step);
  absl::Status Resume(int64_t steps_committed);
  absl::Status End(int64_t steps, const JournalEvents& events,
                   const std::vector<std::string>& pending);
  const std::string& path() const { return path_; }

 private:
  RunJournal(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  absl::Status Append(const std::string& lines);  // write + fsync

  std::string path_;
  int fd_ = -1;
};

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_RUN_JOURNAL_H_
